"""Distributed data parallel (DDP) helpers for ``torchrun``.

Launch a run on N processes with::

    torchrun --nproc_per_node=N -m kronos_plugins.training --config CONFIG.yaml

`setup` reads the ``torchrun`` environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``) and joins the process group: backend ``nccl`` when the run uses CUDA (one GPU per process,
``cuda:LOCAL_RANK``), ``gloo`` on CPU. Without ``WORLD_SIZE`` > 1 it returns a single-process context and
nothing is distributed. A process group created by the caller beforehand (as tests do) is used as is.

Every process draws its own rows of the same global batch (`kronos_plugins.training.data.WindowSampler`),
gradients are averaged by `torch.nn.parallel.DistributedDataParallel`, and only rank 0 writes logs and
checkpoints. Resuming needs the output directory on a file system every process can read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["DistContext", "all_reduce_sum", "barrier", "setup", "teardown", "wrap"]


@dataclass
class DistContext:
    """Where this process runs and its place in the process group."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None  # None when not distributed
    owns_group: bool = False  # True when `setup` created the process group (and `teardown` destroys it)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the process that writes files (rank 0)."""
        return self.rank == 0


def _resolve_device(device: str, local_rank: int, distributed: bool) -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"`device` {device!r} was requested but CUDA is not available; use 'cpu' or 'auto'."
            )
        if distributed:  # one GPU per process
            return torch.device("cuda", local_rank)
    return torch.device(device)


def setup(device: str = "auto") -> DistContext:
    """Join the ``torchrun`` process group if there is one, and pick this process's device.

    Parameters
    ----------
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; under DDP with CUDA each
        process uses ``cuda:LOCAL_RANK``.

    Returns
    -------
    DistContext
    """
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
        local = int(os.environ.get("LOCAL_RANK", rank))
        dev = _resolve_device(device, local, world > 1)
        return DistContext(rank, world, local, dev, dist.get_backend(), owns_group=False)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(device=_resolve_device(device, 0, False))
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    dev = _resolve_device(device, local, True)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistContext(rank, world, local, dev, backend, owns_group=True)


def teardown(ctx: DistContext) -> None:
    """Leave the process group if `setup` created it."""
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def wrap(module: nn.Module, ctx: DistContext) -> nn.Module:
    """`module` wrapped in DistributedDataParallel when distributed, else unchanged."""
    if not ctx.distributed:
        return module
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids)


def all_reduce_sum(tensor: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Sum `tensor` over all processes (in place; returned for convenience)."""
    if ctx.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def barrier(ctx: DistContext) -> None:
    """Wait for every process (a no-op when not distributed)."""
    if ctx.distributed:
        if ctx.backend == "nccl":
            dist.barrier(device_ids=[ctx.device.index])
        else:
            dist.barrier()
