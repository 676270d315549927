"""`Split` and `PreparedData`: split, normalized tensors and the one batching interface the trainer uses."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from engine.data import augment as aug
from engine.data import preprocess
from engine.errors import DataError
from engine.lazy import LazyModule

torch = LazyModule("torch")
batching = LazyModule("engine.data.batching")

Batch = tuple[tuple["torch.Tensor", ...], "torch.Tensor"]


@dataclass
class Split:
    """One in-memory split: normalized CPU tensors, first dim = samples (autoencoder: target is inputs[0])."""

    inputs: tuple[torch.Tensor, ...]
    target: torch.Tensor

    def __len__(self) -> int:
        return len(self.target)

    def nbytes(self) -> int:
        tensors = {id(t): t for t in (*self.inputs, self.target)}.values()
        return sum(t.element_size() * t.nelement() for t in tensors)


@dataclass
class StreamSplit:
    """One split of a file read in chunks: only its length is known; iterate it with `PreparedData.batches`."""

    size: int
    dataset: torch.utils.data.IterableDataset

    def __len__(self) -> int:
        return self.size

    @property
    def inputs(self) -> tuple[torch.Tensor, ...]:
        raise _not_in_memory()

    @property
    def target(self) -> torch.Tensor:
        raise _not_in_memory()


def _not_in_memory() -> DataError:
    return DataError("This dataset is streamed from disk and has no in-memory tensors; use PreparedData.batches().")


@dataclass
class PreparedData:
    """Everything a trainer needs from the data section. `streaming` data has `StreamSplit` splits."""

    train: Split | StreamSplit
    val: Split | StreamSplit
    test: Split | StreamSplit
    task: str
    input_shapes: tuple[tuple[int, ...], ...]
    input_dtypes: tuple[str, ...]
    target_shape: tuple[int, ...]
    num_classes: int | None
    class_names: list[str] | None
    normalization: dict
    vocab_sizes: tuple[int | None, ...]
    augment_options: dict = field(default_factory=lambda: dict(aug.DEFAULTS))
    source: str = ""
    resident_max_mb: float = 1024.0
    workers: int = 2
    text: dict | None = None
    """For a CSV text column: {'column', 'seq_len', 'vocab'} (ids: 0 padding, 1 unknown, 2... vocab words)."""
    target_fields: dict[str, tuple[int, int]] | None = None
    """For a multitask target: field name -> [start, stop) columns of the target (see RawData)."""
    field_classes: dict[str, list[str]] | None = None
    _resident: dict = field(default_factory=dict, repr=False)

    @property
    def vocab_size(self) -> int | None:
        """Number of ids of the first token input (max id + 1); `vocab_sizes` has one entry per input."""
        return next((v for v in self.vocab_sizes if v is not None), None)

    @property
    def streaming(self) -> bool:
        return isinstance(self.train, StreamSplit)

    def split(self, name: str) -> Split | StreamSplit:
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', not {name!r}")
        return getattr(self, name)

    def num_batches(self, split: str, batch_size: int, *, world_size: int = 1) -> int:
        """Batches per epoch of `split` for one process (the last batch may be smaller)."""
        return math.ceil(batching.shard_size(len(self.split(split)), world_size) / batch_size)

    def batches(self, split: str, batch_size: int, *, shuffle: bool, device: torch.device,
                generator: torch.Generator | None = None, augment: bool = False,
                rank: int = 0, world_size: int = 1) -> Iterator[Batch]:
        """One epoch of ((inputs...), target) batches on `device`; augmentation only on the train split.

        Small in-memory splits are copied to `device` once and batched there; larger ones go through a
        DataLoader (workers, pinned memory on CUDA); streamed ones are read chunk by chunk. `rank` and
        `world_size` shard the epoch across DDP processes (in-memory data only).
        """
        device = torch.device(device)
        if augment and split != "train":
            raise ValueError("augmentation applies to the train split only")
        data = self.split(split)
        seed = int(torch.randint(2**62, (1,), generator=generator, device=_gen_device(generator)))
        if isinstance(data, StreamSplit):
            if world_size > 1:
                raise DataError("Streamed data cannot be sharded across processes yet; train it in one process.")
            data.dataset.shuffle, data.dataset.epoch_seed = shuffle, seed
            raw = batching.stream_batches(data.dataset, batch_size, device, self.workers)
        else:
            tensors = data.inputs if self.task == "autoencoder" else (*data.inputs, data.target)
            if data.nbytes() <= self.resident_max_mb * 2**20:
                idx = batching.order(len(data), shuffle, generator, rank, world_size, device)
                raw = batching.index_batches(self._on_device(split, tensors, device), batch_size, idx)
            else:
                idx = batching.order(len(data), shuffle, generator, rank, world_size)
                raw = batching.loader_batches(tensors, batch_size, idx, device, self.workers)
        augmenting = augment and aug.is_active(self.augment_options)
        gen = torch.Generator(device=device).manual_seed(seed) if augmenting else None
        for batch in raw:
            yield self._finish(batch, gen)

    def _finish(self, batch: tuple[torch.Tensor, ...], gen: torch.Generator | None) -> Batch:
        if self.task == "autoencoder":
            inputs, target = batch, batch[0]
        else:
            inputs, target = batch[:-1], batch[-1]
        if gen is None:
            return inputs, target
        if self.task == "autoencoder":
            geometric, noise = aug.split_noise(self.augment_options)
            target = aug.augment(inputs[0], geometric, gen)
            return (aug.augment(target, noise, gen), *inputs[1:]), target
        return tuple(aug.augment(x, self.augment_options, gen) for x in inputs), target

    def _on_device(self, split: str, tensors: tuple[torch.Tensor, ...], device: torch.device):
        key = (split, str(device))
        if key not in self._resident:
            self._resident[key] = tuple(t.to(device) for t in tensors)
        return self._resident[key]

    def describe(self, vocab: bool = True) -> dict:
        """JSON-serialisable summary for the editor's data panel, the CLI and the run folder (without the
        text vocabulary when `vocab` is False: live events need only its size)."""
        text = self.text if vocab or self.text is None else {k: v for k, v in self.text.items() if k != "vocab"}
        return {
            "source": self.source, "task": self.task,
            "splits": {name: len(self.split(name)) for name in ("train", "val", "test")},
            "input_shapes": [list(s) for s in self.input_shapes], "input_dtypes": list(self.input_dtypes),
            "target_shape": list(self.target_shape), "num_classes": self.num_classes,
            "class_names": self.class_names, "vocab_size": self.vocab_size, "vocab_sizes": list(self.vocab_sizes),
            "normalization": self.normalization, "streaming": self.streaming, "text": text,
            "target_fields": None if self.target_fields is None else {k: list(v) for k, v in self.target_fields.items()},
            "field_classes": self.field_classes,
        }

    def apply_preprocessing(self, x: np.ndarray | torch.Tensor, input_index: int = 0) -> torch.Tensor:
        """New raw samples (one, or a batch with a leading axis) as the model's input `input_index`."""
        shape = self.input_shapes[input_index]
        x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
        if x.shape == shape:
            x = x.unsqueeze(0)
        if tuple(x.shape[1:]) != shape:
            raise DataError(f"Input {input_index} must have per-sample shape {shape}, got {tuple(x.shape)}.")
        if self.input_dtypes[input_index] == "int64":
            return x.long()
        return preprocess.apply(self.normalization, x.float())

    def denormalize_target(self, y: torch.Tensor) -> torch.Tensor:
        """Regression targets or predictions back in data units (identity when targets were not scaled)."""
        return preprocess.invert(self.normalization.get("target", {}), y)


def _gen_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")
