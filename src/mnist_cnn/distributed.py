"""Data-parallel training with PyTorch's own engine (chapter "Applications and
outlook", section "More than one process").

``torchrun --nproc_per_node=N -m mnist_cnn train ...`` starts N copies of the
same program and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``
and ``MASTER_PORT`` for each. :func:`context` reads them, joins the process
group (gloo on CPUs, NCCL on CUDA GPUs) and picks each process's device;
:func:`mnist_cnn.training.fit` then wraps the model in
``DistributedDataParallel``, gives each process its shard of every batch
(:func:`mnist_cnn.data.batch_indices`), and sums the metrics over the
processes. Without those variables everything is a single process and nothing
here does anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = [
    "Context",
    "context",
    "wrap",
    "all_reduce_sum",
    "average_buffers",
    "barrier",
    "shutdown",
]


@dataclass(frozen=True)
class Context:
    """Where this process stands: its ``rank`` among ``world_size`` processes
    (0 of 1 alone)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Only the main process (rank 0) prints and writes files."""
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"environment variable {name}={value!r}: expected an integer "
            "(set by torchrun)."
        ) from None


def context(device: torch.device) -> tuple[Context, torch.device]:
    """This process's :class:`Context` and device; joins the process group on
    first use.

    Under torchrun on CUDA each process takes GPU ``LOCAL_RANK`` (NCCL); on a
    CPU the processes talk through gloo. Returns ``(Context(), device)``
    unchanged when not started by torchrun.
    """
    world_size = _env_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return Context(), device
    rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ValueError(
                f"LOCAL_RANK={local_rank}: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s); "
                "start at most that many processes per node "
                "(--nproc_per_node)."
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(
            backend="nccl" if device.type == "cuda" else "gloo"
        )
    return Context(rank, world_size, local_rank), device


def wrap(
    model: torch.nn.Module, ctx: Context, device: torch.device
) -> torch.nn.Module:
    """The model as each process trains it: under torchrun, wrapped in
    DistributedDataParallel, which starts by copying rank 0's weights to every
    process and averages the gradients after every backward pass, so the
    copies stay identical; otherwise the model itself."""
    if not ctx.active:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def all_reduce_sum(tensor: torch.Tensor, ctx: Context) -> torch.Tensor:
    """The sum of ``tensor`` over all processes (in place; a no-op for one process)."""
    if ctx.active:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def average_buffers(model: torch.nn.Module, ctx: Context) -> None:
    """Average the floating-point buffers (batch norm's running mean and
    variance) over the processes. DDP keeps the *parameters* identical by
    averaging gradients; it copies process 0's buffers to the others before
    every forward pass, and each process then updates its copy from its own
    shard. After this every process holds the same model: process 0's
    statistics, with the last step's update averaged over all the shards."""
    if not ctx.active:
        return
    for buffer in model.buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
            buffer.div_(ctx.world_size)


def barrier(ctx: Context) -> None:
    """Wait until every process gets here (a no-op for one process)."""
    if ctx.active:
        dist.barrier()


def shutdown() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
