"""Data larger than memory: CSV (by byte offsets of line chunks) and .npy (memory-mapped) read in chunks.

A first pass (`scan`) counts rows, assigns each row to train/val/test by a seeded hash of its row
number (proportional in expectation, not stratified), fits normalization on train rows only and
collects the classes. `ChunkDataset` then yields one split's rows chunk by chunk, in a shuffled chunk
order and shuffled within each chunk; workers take disjoint chunks, so every row comes once per epoch.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from engine.data import preprocess
from engine.data.files import csv_columns, existing_file, infer_task
from engine.errors import DataError

SPLITS = ("train", "val", "test")
_MAX_CLASSES = 1000


def row_splits(rows: np.ndarray, seed: int, val: float, test: float) -> np.ndarray:
    """0/1/2 (train/val/test) per global row number, from a splitmix64 hash of (row, seed)."""
    z = rows.astype(np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) / float(2**53)
    return np.searchsorted([1 - val - test, 1 - test], u, side="right")


@dataclass
class CsvChunks:
    """A CSV file cut into chunks of whole lines (one record per line; no quoted line breaks)."""

    path: Path
    features: list[str]
    targets: list[str]
    chunk_rows: int
    delimiter: str = ","
    columns: list[str] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)  # byte offset of each chunk, plus the end

    def first_pass(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """Yield (x, y) for every chunk while recording the chunk offsets."""
        with open(self.path, "rb") as f:
            pos = len(f.readline())
            self.offsets = [pos]
            while lines := list(itertools.islice(f, self.chunk_rows)):
                pos += sum(map(len, lines))
                self.offsets.append(pos)
                yield self._parse(b"".join(lines))

    def read(self, chunk: int) -> tuple[np.ndarray, np.ndarray | None]:
        with open(self.path, "rb") as f:
            f.seek(self.offsets[chunk])
            return self._parse(f.read(self.offsets[chunk + 1] - self.offsets[chunk]))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def _parse(self, data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
        import pandas as pd

        frame = pd.read_csv(io.BytesIO(data), header=None, names=self.columns, sep=self.delimiter)
        x = frame[self.features]
        if any(k not in "iufb" for k in x.dtypes.map(lambda d: d.kind)) or x.isna().any().any():
            raise DataError(f"CSV '{self.path}': feature columns {self.features} must be numeric with no empty "
                            "cells for streaming; clean the file or choose other 'features'.")
        y = None
        if self.targets:
            y = frame[self.targets[0]].to_numpy() if len(self.targets) == 1 else frame[self.targets].to_numpy()
        return x.to_numpy(np.float32), y


@dataclass
class NpyChunks:
    """A .npy input array (and optional target array) read through a memory map, `chunk_rows` at a time."""

    x_path: Path
    y_path: Path | None
    chunk_rows: int

    def __post_init__(self) -> None:
        x = np.load(self.x_path, mmap_mode="r")
        self.rows, self.sample_shape = len(x), tuple(x.shape[1:])
        if self.y_path is not None and len(np.load(self.y_path, mmap_mode="r")) != self.rows:
            raise DataError(f"'{self.x_path}' and '{self.y_path}' have different numbers of samples.")

    def first_pass(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        return (self.read(k) for k in range(len(self)))

    def read(self, chunk: int) -> tuple[np.ndarray, np.ndarray | None]:
        rows = slice(chunk * self.chunk_rows, (chunk + 1) * self.chunk_rows)
        x = np.asarray(np.load(self.x_path, mmap_mode="r")[rows], dtype=np.float32)
        y = None if self.y_path is None else np.asarray(np.load(self.y_path, mmap_mode="r")[rows])
        return x, y

    def __len__(self) -> int:
        return -(-self.rows // self.chunk_rows)


def open_chunks(section: dict) -> CsvChunks | NpyChunks:
    """The chunked reader for a streaming section (source 'csv' or 'npy')."""
    rows = int(section["chunk_rows"])
    if section["source"] == "csv":
        import pandas as pd

        path = existing_file(section.get("path"), "path")
        delimiter = section.get("delimiter", ",")
        columns = [str(c) for c in pd.read_csv(path, nrows=0, sep=delimiter).columns]
        features, targets = csv_columns(section, columns, path)
        return CsvChunks(path, features, targets, rows, delimiter, columns)
    if section["source"] == "npy":
        x_path = existing_file(section.get("x_path") or section.get("path"), "x_path")
        y_path = existing_file(section["y_path"], "y_path") if section.get("y_path") else None
        return NpyChunks(x_path, y_path, rows)
    raise DataError(f"Streaming works for 'csv' and 'npy' sources, not '{section['source']}'. "
                    "Save large arrays as .npy files (x_path, y_path) to stream them.")


@dataclass
class Scan:
    """What the first pass learned: rows per chunk and split, normalization, task and classes."""

    chunk_starts: list[int]
    counts: dict[str, int]
    normalization: dict
    task: str
    classes: np.ndarray | None
    sample_shape: tuple[int, ...]
    head: tuple[np.ndarray, np.ndarray | None]


def scan(chunks: CsvChunks | NpyChunks, section: dict, seed: int) -> Scan:
    """Read every chunk once; fit normalization on train rows; count rows; collect target values."""
    split = section["split"]
    stats, starts, counts, uniques, head, next_start = None, [], np.zeros(3, np.int64), set(), None, 0
    for x, y in chunks.first_pass():
        starts.append(next_start)
        which = row_splits(np.arange(next_start, next_start + len(x)), seed, split["val"], split["test"])
        next_start += len(x)
        counts += np.bincount(which, minlength=3)
        if stats is None:
            axis = preprocess.stat_axis(section["normalize"], x.shape[1:], bool(section.get("channels_last")))
            stats, head = preprocess.RunningStats(section["normalize"], axis), (x, y)
        stats.update(x[which == 0])
        if y is not None and len(uniques) <= _MAX_CLASSES:
            uniques.update(np.unique(y).tolist())
    if not starts:
        raise DataError(f"No rows found in the streamed data ({section.get('path') or section.get('x_path')}).")
    values = np.array(sorted(uniques)) if uniques else None
    task = section.get("task") or ("autoencoder" if head[1] is None else
                                   "regression" if len(uniques) > _MAX_CLASSES else infer_task(values))
    if task in ("multiclass", "binary") and len(uniques) > _MAX_CLASSES:
        raise DataError(f"The target has more than {_MAX_CLASSES} distinct values; it cannot be a {task} target.")
    classes = values if task in ("multiclass", "binary") else None
    if task == "binary" and len(classes) != 2:
        raise DataError(f"A binary task needs exactly 2 target values, found {len(classes)}.")
    return Scan(starts, dict(zip(SPLITS, counts.tolist(), strict=True)), stats.result(), task, classes,
                tuple(head[0].shape[1:]), head)


def encode(y: np.ndarray | None, x: np.ndarray, task: str, classes: np.ndarray | None) -> np.ndarray:
    """A chunk's target in training form (class ids, 0/1 column, float values, or x for autoencoders)."""
    if task == "autoencoder" or y is None:
        return x
    if classes is not None:
        ids = np.searchsorted(classes, y)
        return ids.astype(np.float32)[:, None] if task == "binary" else ids.astype(np.int64)
    y = y.astype(np.float32)
    return y[:, None] if y.ndim == 1 else y


class ChunkDataset(IterableDataset):
    """One split of a streamed file, yielding normalized (inputs, target) chunks of numpy-backed tensors."""

    def __init__(self, chunks: CsvChunks | NpyChunks, info: Scan, section: dict, split: str, seed: int) -> None:
        self.chunks, self.info, self.split_id = chunks, info, SPLITS.index(split)
        self.fractions = (section["split"]["val"], section["split"]["test"])
        self.seed, self.shuffle, self.epoch_seed = seed, False, 0

    def __iter__(self):
        order = np.arange(len(self.chunks))
        rng = np.random.default_rng(self.epoch_seed)
        if self.shuffle:
            order = rng.permutation(order)
        worker = get_worker_info()
        if worker is not None:
            order = order[worker.id:: worker.num_workers]
        for chunk in order:
            x, y = self.chunks.read(int(chunk))
            start = self.info.chunk_starts[chunk]
            keep = row_splits(np.arange(start, start + len(x)), self.seed, *self.fractions) == self.split_id
            if self.shuffle:
                keep = np.random.default_rng([self.epoch_seed, int(chunk)]).permutation(np.flatnonzero(keep))
            x = preprocess.apply(self.info.normalization, x[keep])
            target = encode(None if y is None else y[keep], x, self.info.task, self.info.classes)
            if len(x):
                yield (torch.from_numpy(np.ascontiguousarray(x)),), torch.from_numpy(np.ascontiguousarray(target))
