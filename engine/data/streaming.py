"""Data larger than memory, read in chunks: CSV (by byte offsets of line chunks), .npy and uncompressed
.npz arrays (memory-mapped), image folders (decoded a chunk of files at a time).

A first pass (`scan`) counts rows, assigns each row to train/val/test by a seeded hash of its row
number (proportional in expectation, not stratified), fits normalization on train rows only and
collects the classes. `ChunkDataset` then yields one split's rows chunk by chunk, in a shuffled chunk
order and shuffled within each chunk; workers take disjoint chunks, so every row comes once per epoch.
"""

from __future__ import annotations

import io
import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from engine import safeio
from engine.data import csvfile, files, preprocess
from engine.data.files import csv_columns, existing_file, infer_task
from engine.errors import DataError

SPLITS = ("train", "val", "test")
_MAX_CLASSES = 1000
CHUNK_BYTES = 64 * 2**20
"""A chunk of decoded float32 samples stays under this size (fewer rows than `chunk_rows` for big samples)."""


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
    header: bool = True
    offsets: list[int] = field(default_factory=list)  # byte offset of each chunk, plus the end

    def first_pass(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """Yield (x, y) for every chunk while recording the chunk offsets."""
        with open(self.path, "rb") as f:
            pos = len(f.readline()) if self.header else 0
            f.seek(pos)
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

        try:
            frame = pd.read_csv(io.BytesIO(data), header=None, names=self.columns, sep=self.delimiter)
        except (ValueError, pd.errors.ParserError) as exc:  # a ragged or binary line inside the file
            raise DataError(f"CSV '{self.path}': a chunk of rows cannot be read ({str(exc).strip()[:200]}); check "
                            "that every row has the same number of cells") from None
        x = frame[self.features]
        if any(k not in "iufb" for k in x.dtypes.map(lambda d: d.kind)) or x.isna().any().any():
            raise DataError(f"CSV '{self.path}': feature columns {self.features} must be numeric with no empty "
                            "cells for streaming; clean the file or choose other 'features'.")
        y = None
        if self.targets:
            y = frame[self.targets[0]].to_numpy() if len(self.targets) == 1 else frame[self.targets].to_numpy()
        return x.to_numpy(np.float32), y


@dataclass(frozen=True)
class MappedArray:
    """Where an array lives on disk: a .npy file, or member `key` of an uncompressed .npz archive."""

    path: Path
    key: str | None = None

    def open(self) -> np.ndarray:
        """A read-only memory map of the array (opened per read, so worker processes never share a handle)."""
        return safeio.load_npy(self.path, mmap=True) if self.key is None else npz_member(self.path, self.key)


@dataclass
class ArrayChunks:
    """An input array (and optional target array) read through memory maps, `chunk_rows` at a time."""

    x: MappedArray
    y: MappedArray | None
    chunk_rows: int
    tokens: bool = False
    """Inputs are int64 token ids (not normalized) instead of float32 features."""

    def __post_init__(self) -> None:
        x = self.x.open()
        if x.ndim < 2:
            raise DataError(f"'{self.x.path}': inputs must have shape (samples, ...), got {x.shape}.")
        self.rows, self.sample_shape = len(x), tuple(x.shape[1:])
        self.chunk_rows = rows_per_chunk(self.chunk_rows, (8 if self.tokens else 4) * int(np.prod(self.sample_shape)))
        if self.y is not None and len(self.y.open()) != self.rows:
            raise DataError(f"'{self.x.path}': the inputs and the target have different numbers of samples.")

    def first_pass(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        return (self.read(k) for k in range(len(self)))

    def read(self, chunk: int) -> tuple[np.ndarray, np.ndarray | None]:
        rows = slice(chunk * self.chunk_rows, (chunk + 1) * self.chunk_rows)
        x = np.asarray(self.x.open()[rows], dtype=np.int64 if self.tokens else np.float32)
        y = None if self.y is None else np.asarray(self.y.open()[rows])
        return x, y

    def __len__(self) -> int:
        return -(-self.rows // self.chunk_rows)


def rows_per_chunk(chunk_rows: int, sample_bytes: int) -> int:
    """`chunk_rows`, lowered so that one chunk of decoded float32 samples stays under CHUNK_BYTES."""
    return max(1, min(chunk_rows, CHUNK_BYTES // max(sample_bytes, 1)))


def npz_member(path: Path, key: str) -> np.ndarray:
    """A read-only memory map of array `key` inside an uncompressed .npz (np.savez) archive."""
    try:
        return _npz_member(path, key)
    except DataError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DataError(f"'{path}': not a readable .npz archive ({exc}). Save it with numpy.savez.") from None


def _npz_member(path: Path, key: str) -> np.ndarray:
    with zipfile.ZipFile(path) as archive:
        names = [n.removesuffix(".npy") for n in archive.namelist()]
        if key not in names:
            raise DataError(f"'{path}' has no array '{key}'; its keys are {names}. Set 'x_key' / 'y_key'.")
        info = archive.getinfo(f"{key}.npy")
    if info.compress_type != zipfile.ZIP_STORED:
        raise DataError(f"'{path}' is compressed (np.savez_compressed), so it cannot be read in chunks. Save it "
                        "with np.savez or as .npy files to stream it, or set \"stream\": false to load it whole.")
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        f.seek(info.header_offset + 30 + int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little"))
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
        offset = f.tell()
    if dtype.kind not in "biuf":
        raise DataError(f"'{path}': array '{key}' holds {dtype} values, not numbers; save numbers only.")
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")


@dataclass
class ImageChunks:
    """An image folder (one sub-folder per class) decoded `chunk_rows` files at a time.

    The file list is shuffled once with the split seed, so every chunk mixes the classes; the target of
    each image is its class folder's name.
    """

    listing: list[tuple[Path, str]]
    size: tuple[int, int]
    color: str
    chunk_rows: int

    def __post_init__(self) -> None:
        channels = 1 if self.color == "grayscale" else 3
        self.sample_shape = (channels, *self.size)
        self.chunk_rows = rows_per_chunk(self.chunk_rows, 4 * channels * self.size[0] * self.size[1])

    def first_pass(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        return (self.read(k) for k in range(len(self)))

    def read(self, chunk: int) -> tuple[np.ndarray, np.ndarray | None]:
        part = self.listing[chunk * self.chunk_rows: (chunk + 1) * self.chunk_rows]
        x = np.stack([files.read_image(path, self.size, self.color) for path, _ in part])
        return x, np.array([label for _, label in part])

    def __len__(self) -> int:
        return -(-len(self.listing) // self.chunk_rows)


def open_chunks(section: dict) -> CsvChunks | ArrayChunks | ImageChunks:
    """The chunked reader of a streaming section, from its data source's record (engine/data/sources.py)."""
    from engine.data.sources import DATA_SOURCES, source_of

    record = source_of(section)
    if record.stream is None:
        streamable = ", ".join(name for name, s in DATA_SOURCES.items() if s.stream is not None)
        raise DataError(f"Streaming works for {streamable} sources, not '{record.name}'; set \"stream\": false.")
    return record.stream(section)


def csv_chunks(section: dict) -> CsvChunks:
    """A CSV file in chunks of rows (a text column is read into memory, never streamed)."""
    path = existing_file(section.get("path"), "path")
    if section.get("text"):
        raise DataError(f"CSV '{path}': a text column is read into memory (its vocabulary comes from the "
                        "training split), not in chunks; set \"stream\": false.")
    delimiter = section.get("delimiter", ",")
    columns, header = csvfile.header_columns(path, section)
    features, targets = csv_columns(section, columns, path)
    return CsvChunks(path, features, targets, int(section["chunk_rows"]), delimiter, columns, header)


def npy_chunks(section: dict) -> ArrayChunks:
    """Memory-mapped .npy inputs (and targets) in chunks."""
    x_path = existing_file(section.get("x_path") or section.get("path"), "x_path")
    y_path = existing_file(section["y_path"], "y_path") if section.get("y_path") else None
    return ArrayChunks(MappedArray(x_path), None if y_path is None else MappedArray(y_path),
                       int(section["chunk_rows"]), bool(section.get("tokens")))


def npz_chunks(section: dict) -> ArrayChunks:
    """Memory-mapped arrays of an uncompressed .npz in chunks."""
    path = existing_file(section.get("path"), "path")
    x_key, y_key = section.get("x_key", "x"), section.get("y_key", "y")
    has_y = f"{y_key}.npy" in safeio.zip_names(path)
    return ArrayChunks(MappedArray(path, x_key), MappedArray(path, y_key) if has_y else None,
                       int(section["chunk_rows"]), bool(section.get("tokens")))


def image_chunks(section: dict) -> ImageChunks:
    """An image folder's files in a seeded order, decoded a chunk at a time."""
    listing = files.image_files(section)
    order = np.random.default_rng(int(section["split"]["seed"])).permutation(len(listing))
    return ImageChunks([listing[i] for i in order], files.image_size(section), files.image_color(section),
                       int(section["chunk_rows"]))


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


def scan(chunks: CsvChunks | ArrayChunks | ImageChunks, section: dict, seed: int) -> Scan:
    """Read every chunk once; fit normalization on train rows; count rows; collect target values."""
    split = section["split"]
    stats, starts, counts, uniques, head, next_start = None, [], np.zeros(3, np.int64), set(), None, 0
    for x, y in chunks.first_pass():
        starts.append(next_start)
        which = row_splits(np.arange(next_start, next_start + len(x)), seed, split["val"], split["test"])
        next_start += len(x)
        counts += np.bincount(which, minlength=3)
        if stats is None:
            method = "none" if x.dtype.kind in "iu" else section["normalize"]  # token ids are not normalized
            axis = preprocess.stat_axis(method, x.shape[1:], bool(section.get("channels_last")))
            stats, head = preprocess.RunningStats(method, axis), (x, y)
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

    def __init__(self, chunks: CsvChunks | ArrayChunks | ImageChunks, info: Scan, section: dict, split: str, seed: int) -> None:
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
