"""A mean-pooling classification head on any Hugging Face encoder, as an ordinary transformers model.

``AutoModelForSequenceClassification`` puts its head on the encoder's ``[CLS]`` vector (BERT: the
pooler, ``tanh(W·h_cls)``). Sentence-embedding encoders such as the packaged all-MiniLM-L6-v2 were
trained to represent a sentence by the *mean* of its token vectors instead; their ``[CLS]`` vector
and pooler were never trained for that, so a ``[CLS]`` head has to learn the sentence representation
from scratch on a few hundred statements. :class:`MeanPoolingForSequenceClassification` keeps what
the encoder learnt: a linear layer on the attention-masked mean of the last hidden states, exactly
the representation the frozen-embedding baseline uses (``experiments/README.md`` measures the
difference).

It is a regular ``PreTrainedModel``: the Trainer fine-tunes it, ``save_pretrained`` writes
safetensors and a ``config.json`` whose ``model_type`` is ``stance_mean_pooling`` with the
encoder's own config nested under ``encoder``. :func:`register_auto_classes` makes the Auto classes
know that type, so after ``import stance.models.pooling`` (stance does it whenever it loads a
transformer) ``AutoModelForSequenceClassification.from_pretrained(folder)`` and
``transformers.pipeline("text-classification", model=folder)`` load a saved run's model as usual.
Without the registration transformers refuses the folder ("unrecognized model type") rather than
silently putting a ``[CLS]`` head on it.
"""

from __future__ import annotations

from typing import Any

import torch
from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, PreTrainedModel
from transformers.configuration_utils import PreTrainedConfig, SubConfigSpec
from transformers.modeling_outputs import SequenceClassifierOutput

#: ``model_type`` written into a saved model's config.json.
MODEL_TYPE = "stance_mean_pooling"


@strict
class MeanPoolingConfig(PreTrainedConfig):
    """Config of :class:`MeanPoolingForSequenceClassification`: the encoder's config, nested."""

    model_type = MODEL_TYPE
    sub_configs_defaults = {"encoder": SubConfigSpec(config_class=AutoConfig, model_type="bert")}

    encoder: PreTrainedConfig | dict | None = None
    classifier_dropout: float = 0.1


class MeanPoolingForSequenceClassification(PreTrainedModel):
    """Encoder → attention-masked mean of the last hidden states → dropout → linear layer."""

    config_class = MeanPoolingConfig
    base_model_prefix = "encoder"
    # No keyword arguments beyond the inputs: the Trainer then averages the loss itself.
    accepts_loss_kwargs = False

    def __init__(self, config: MeanPoolingConfig) -> None:
        super().__init__(config)
        self.encoder = _without_pooler(AutoModel.from_config(config.encoder))
        self.dropout = torch.nn.Dropout(config.classifier_dropout)
        self.classifier = torch.nn.Linear(config.encoder.hidden_size, config.num_labels)
        self.post_init()

    @classmethod
    def from_encoder(cls, source: str, *, id2label: dict[int, str],
                     label2id: dict[str, int]) -> MeanPoolingForSequenceClassification:
        """A new head (seeded by the caller's ``set_seed``) on the pretrained encoder at ``source``
        (safetensors weights only; no code from the folder is run)."""
        encoder = AutoModel.from_pretrained(source, use_safetensors=True, trust_remote_code=False)
        config = MeanPoolingConfig(encoder=encoder.config.to_dict(), num_labels=len(id2label),
                                   id2label=id2label, label2id=label2id)
        model = cls(config)
        model.encoder = _without_pooler(encoder)
        return model

    def _init_weights(self, module: torch.nn.Module) -> None:
        if module is getattr(self, "classifier", None):
            std = getattr(self.config.encoder, "initializer_range", 0.02)
            torch.nn.init.normal_(module.weight, std=std)
            torch.nn.init.zeros_(module.bias)
        elif isinstance(getattr(self, "encoder", None), PreTrainedModel):
            self.encoder._init_weights(module)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **_: Any,
    ) -> SequenceClassifierOutput:
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        hidden = self.encoder(**{k: v for k, v in inputs.items() if v is not None}).last_hidden_state
        pooled = mean_pool(hidden, attention_mask)
        logits = self.classifier(self.dropout(pooled))
        loss = torch.nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """The mean of ``hidden`` (batch × tokens × width) over the tokens the mask keeps (all, without one)."""
    if attention_mask is None:
        return hidden.mean(dim=1)
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def _without_pooler(encoder: torch.nn.Module) -> torch.nn.Module:
    # BERT-style encoders carry a [CLS] pooler that mean pooling never uses; left in, its weights
    # would get no gradient, which DDP (find_unused_parameters=False) refuses.
    if getattr(encoder, "pooler", None) is not None:
        encoder.pooler = None
    return encoder


def register_auto_classes() -> None:
    """Teach ``AutoConfig`` and ``AutoModelForSequenceClassification`` the ``stance_mean_pooling`` type."""
    try:
        AutoConfig.register(MODEL_TYPE, MeanPoolingConfig)
        AutoModelForSequenceClassification.register(MeanPoolingConfig, MeanPoolingForSequenceClassification)
    except ValueError:  # already registered (the module was imported before)
        pass


register_auto_classes()
