"""Several processes, one job: the little torch.distributed plumbing training and prediction share.

``torchrun --nproc_per_node N -m stance ...`` (or ``accelerate launch -m stance ...``) starts N
copies of a command with ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` set. Nothing here launches
processes or moves tensors itself: accelerate's ``PartialState`` joins the process group (gloo on
CPUs, NCCL on GPUs), the very group the transformers ``Trainer`` then trains with DDP, and the
helpers below are thin calls to ``torch.distributed`` for what the toolkit adds around it: rank 0
creates the run folder and tells the others its path; prediction shards a file by rank and rank
0 merges the parts. A plain single process never imports torch.distributed.
"""

from __future__ import annotations

import os
from typing import Any


def world_size() -> int:
    """How many processes the launcher started (1 without a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's rank, 0 to ``world_size() - 1``."""
    return int(os.environ.get("RANK", "0"))


def is_distributed() -> bool:
    """Whether this process is one of several started by torchrun or accelerate launch."""
    return world_size() > 1


def is_main_process() -> bool:
    """Rank 0: the process that writes run folders, manifests and merged outputs."""
    return rank() == 0


def init() -> None:
    """Join the process group (once; nothing for a single process).

    Through accelerate, as the Trainer does, so that both use one group: gloo on CPUs, NCCL with
    one GPU per process (``LOCAL_RANK``) where torch sees GPUs.
    """
    if not is_distributed():
        return
    import torch
    from accelerate import PartialState

    PartialState(cpu=not torch.cuda.is_available())


def device() -> Any:
    """This process's device: its own GPU under a launcher, else the GPU or the CPU."""
    import torch

    if is_distributed():
        from accelerate import PartialState

        init()
        return PartialState().device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def describe() -> dict[str, Any]:
    """What a run manifest records about the job: processes and the process group's backend."""
    import torch.distributed as dist

    init()
    return {"processes": world_size(), "backend": dist.get_backend() if dist.is_initialized() else None}


def broadcast(value: Any) -> Any:
    """Rank 0's ``value``, on every rank (any picklable value)."""
    if not is_distributed():
        return value
    import torch.distributed as dist

    init()
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_gather(value: Any) -> list[Any]:
    """Every rank's ``value``, in rank order, on every rank; also a barrier."""
    if not is_distributed():
        return [value]
    import torch.distributed as dist

    init()
    gathered: list[Any] = [None] * world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def shard_bounds(total: int, ranks: int | None = None, this_rank: int | None = None) -> tuple[int, int]:
    """The contiguous ``[start, stop)`` of ``total`` rows that ``this_rank`` handles.

    Sizes differ by at most one row, larger shards first: 10 rows over 3 ranks are 0-4, 4-7, 7-10.
    """
    ranks = world_size() if ranks is None else ranks
    this_rank = rank() if this_rank is None else this_rank
    base, extra = divmod(total, ranks)
    start = this_rank * base + min(this_rank, extra)
    return start, start + base + (1 if this_rank < extra else 0)
