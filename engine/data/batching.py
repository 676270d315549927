"""Three ways to batch, one interface: device-resident index batches, a DataLoader over in-memory
tensors (workers, pinned memory), and re-batched chunks of a streamed file. All yield tuples of tensors."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset

Tensors = tuple[torch.Tensor, ...]


def order(n: int, shuffle: bool, generator: torch.Generator | None, rank: int = 0, world_size: int = 1,
          device: torch.device | None = None) -> torch.Tensor | None:
    """Sample order for one epoch and one process (None = 0..n-1 in place, so batches are plain slices).

    With `world_size` > 1 the order is padded by wrapping around (as DistributedSampler does) so that
    every process gets the same number of samples; all processes must pass equally seeded generators.
    """
    if not shuffle and world_size == 1:
        return None
    gen_device = generator.device if generator is not None else torch.device("cpu")
    idx = torch.randperm(n, generator=generator, device=gen_device) if shuffle else torch.arange(n)
    if world_size > 1:
        per_rank = -(-n // world_size)
        idx = torch.cat([idx, idx[: per_rank * world_size - n]])[rank::world_size]
    return idx.to(device) if device is not None else idx


def shard_size(n: int, world_size: int) -> int:
    """Samples each process sees per epoch."""
    return -(-n // world_size)


def index_batches(tensors: Tensors, batch_size: int, idx: torch.Tensor | None) -> Iterator[Tensors]:
    """Batches of tensors that already live on the target device, by slicing or by gathering `idx`."""
    n = len(tensors[0]) if idx is None else len(idx)
    for start in range(0, n, batch_size):
        if idx is None:
            yield tuple(t[start: start + batch_size] for t in tensors)
        else:
            rows = idx[start: start + batch_size]
            yield tuple(t.index_select(0, rows) for t in tensors)


class _Rows(Dataset):
    """In-memory tensors indexed by a whole batch of row numbers at once (no per-sample collation)."""

    def __init__(self, tensors: Tensors) -> None:
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, rows: torch.Tensor) -> Tensors:
        return tuple(t.index_select(0, rows) for t in self.tensors)


def loader_batches(tensors: Tensors, batch_size: int, idx: torch.Tensor | None, device: torch.device,
                   workers: int) -> Iterator[Tensors]:
    """Batches gathered by DataLoader workers from host memory, pinned and copied asynchronously on CUDA."""
    idx = torch.arange(len(tensors[0])) if idx is None else idx.cpu()
    loader = DataLoader(_Rows(tensors), sampler=list(idx.split(batch_size)), batch_size=None,
                        num_workers=workers, pin_memory=device.type == "cuda")
    for batch in loader:
        yield tuple(t.to(device, non_blocking=True) for t in batch)


def rebatch(chunks: Iterator[Tensors], batch_size: int) -> Iterator[Tensors]:
    """Cut a stream of variable-size chunks into batches of exactly `batch_size` (the last may be smaller)."""
    pending: list[Tensors] = []
    have = 0
    for chunk in chunks:
        pending.append(chunk)
        have += len(chunk[0])
        while have >= batch_size:
            joined = _join(pending)
            yield tuple(t[:batch_size] for t in joined)
            pending = [tuple(t[batch_size:] for t in joined)]
            have -= batch_size
    if have:
        yield _join(pending)


def _join(parts: list[Tensors]) -> Tensors:
    return parts[0] if len(parts) == 1 else tuple(torch.cat(ts) for ts in zip(*parts, strict=True))


def stream_batches(dataset, batch_size: int, device: torch.device, workers: int) -> Iterator[Tensors]:
    """Batches from an IterableDataset of chunks ((inputs...), target), read by DataLoader workers."""
    loader = DataLoader(dataset, batch_size=None, num_workers=workers, pin_memory=device.type == "cuda")
    chunks = ((*inputs, target) for inputs, target in loader)
    for batch in rebatch(chunks, batch_size):
        yield tuple(t.to(device, non_blocking=True) for t in batch)
