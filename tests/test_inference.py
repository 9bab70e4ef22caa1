"""stance.models.inference: batching by length, padding, the CPU probes and the one list of precisions."""

from __future__ import annotations

from stance.config import PredictConfig
from stance.models import inference as inference_module
from stance.models.inference import DEVICE_PATTERN, PRECISIONS, is_device, pad_batch, token_batches


# ----------------------------------------------------------------------------------------------
# Batching and padding


def test_token_batches_sort_by_length_and_respect_both_caps():
    lengths = [5, 3, 9, 3, 1]
    # Shortest first, ties in input order (3 at index 1 before 3 at index 3).
    assert [b.tolist() for b in token_batches(lengths, 2)] == [[4, 1], [3, 0], [2]]
    # Budget 9 tokens: [1, 3, 3] pads to 3 x 3 = 9; adding 5 would pad to 4 x 5 = 20.
    assert [b.tolist() for b in token_batches(lengths, 10, max_tokens=9)] == [[4, 1, 3], [0], [2]]
    # An input longer than the budget still gets a batch of its own.
    assert [b.tolist() for b in token_batches([20, 2], 10, max_tokens=8)] == [[1], [0]]


def test_pad_batch_pads_rows_to_their_longest_with_the_pad_id():
    class Tok:
        pad_token_id, pad_token_type_id, padding_side = 7, 0, "right"

    encoded = {"input_ids": [[1, 2, 3], [4], [5, 6]], "attention_mask": [[1, 1, 1], [1], [1, 1]]}
    batch = pad_batch(encoded, [1, 2], Tok())
    assert batch["input_ids"].tolist() == [[4, 7], [5, 6]]
    assert batch["attention_mask"].tolist() == [[1, 0], [1, 1]]
    Tok.padding_side = "left"
    assert pad_batch(encoded, [1, 2], Tok())["input_ids"].tolist() == [[7, 4], [5, 6]]


def test_cpu_has_fast_bf16_reads_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(inference_module, "cpu_flags", lambda: {"avx2"})
    assert not inference_module.cpu_has_fast_bf16()
    monkeypatch.setattr(inference_module, "cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    assert inference_module.cpu_has_fast_bf16()


def test_config_precision_choices_are_the_ones_the_model_knows():
    choices = PredictConfig.model_fields["precision"].annotation.__args__
    assert tuple(choices) == PRECISIONS


def test_config_device_pattern_is_the_one_the_model_knows():
    assert PredictConfig.model_fields["device"].metadata[0].pattern == DEVICE_PATTERN
    assert all(is_device(d) for d in ("auto", "cpu", "cuda", "cuda:1"))
    assert not any(is_device(d) for d in ("gpu", "cuda:", "cuda:x", "mps"))
