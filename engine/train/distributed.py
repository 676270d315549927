"""DistributedDataParallel under torchrun: process group from the environment, metric sums across ranks."""

from __future__ import annotations

import os
from dataclasses import dataclass

from engine.lazy import LazyModule

torch = LazyModule("torch")
dist = LazyModule("torch.distributed")
nn = LazyModule("torch.nn")



@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def from_env() -> Dist:
    """The process's place in a torchrun job (a single process outside one)."""
    return Dist(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0)))


def setup(info: Dist, device: torch.device) -> torch.device:
    """Join the process group (nccl on CUDA, gloo otherwise); returns this rank's device."""
    if not info.enabled:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def wrap(model: nn.Module, info: Dist, device: torch.device) -> nn.Module:
    if not info.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)


def broadcast_state(module: nn.Module, info: Dist, params: bool = True) -> None:
    """Copy rank 0's parameters (with `params`) and buffers to every rank, as DDP does for the models it wraps."""
    if not info.enabled:
        return
    with torch.no_grad():
        for tensor in [*(module.parameters() if params else ()), *module.buffers()]:
            dist.broadcast(tensor, 0)


def average_gradients(params: list[nn.Parameter], info: Dist) -> None:
    """Average the gradients of `params` over all ranks in one all-reduce (for models DDP does not wrap)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not info.enabled or not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset: offset + g.numel()].view_as(g))
        offset += g.numel()


def sum_across(tensors: dict[str, torch.Tensor], info: Dist) -> None:
    """Sum every tensor over all ranks, in place."""
    if info.enabled:
        for t in tensors.values():
            dist.all_reduce(t)


def shutdown(info: Dist) -> None:
    if info.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
