"""Data sources: one `DataSource` record each (reader, streaming reader, size, predict inputs, panel page).

`DATA_SOURCES` is the registry: `load_data`, `preview`, streaming, the data section's declaration, `deepwire
predict` and the editor's Data panel read it, so a new source is one more record (`register_source`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import safeio
from engine.data import files
from engine.data.builtin import load_builtin
from engine.data.detection_folder import annotated_image_bytes, load_detection_folder
from engine.data.raw import RawData
from engine.errors import DataError
from engine.lazy import LazyModule

streaming = LazyModule("engine.data.streaming")

IMAGE_SUFFIXES = files.IMAGE_SUFFIXES


@dataclass(frozen=True)
class DataSource:
    """How one kind of data is read, streamed, sized, predicted on and shown in the Data panel.

    `keys`: the data-section keys the source reads; one not declared in engine/sections.py is accepted (not warned
    about) for this source only. `page` names a hand-written page of the Data panel; without one the panel builds a page of a path row
    (`folder` or a file matching `pattern`) and a form of `page_keys` (declared data keys). `panel_as`: the
    source whose panel entry this one shares (npy files are chosen on the npz page).
    """

    name: str
    title: str
    read: Callable[[dict, int | None], RawData]
    stream: Callable[[dict], object] | None = None
    size: Callable[[dict], int] = lambda section: 0
    keys: tuple[str, ...] = ()
    predict_suffixes: tuple[str, ...] = ()
    predict_read: Callable[[Path, list[dict]], list[np.ndarray]] | None = None
    predict_label: str = ""
    page: str | None = None
    page_keys: tuple[str, ...] = ()
    pattern: str = ""
    folder: bool = False
    panel_as: str | None = None

    def describe(self, section: dict) -> str:
        """The source as the data summary and errors name it."""
        if self.name == "builtin":
            return f"built-in '{section['name']}'"
        path = section.get("path") or section.get("x_path")
        return f"{self.name} '{Path(path).name if path else '?'}'"

    @property
    def predict_files(self) -> str:
        """The files predict reads with this source, as its error message lists them."""
        return self.predict_label or "/".join(self.predict_suffixes)


def _file_bytes(section: dict) -> int:
    return files.existing_file(section.get("x_path") or section.get("path"), "path").stat().st_size


def _arrays(section: dict, seed: int | None) -> RawData:
    raw = files.load_arrays(section)
    raw.channels_last = bool(section.get("channels_last"))
    return raw


def _npy_input(path: Path, specs: list[dict]) -> list[np.ndarray]:
    return [safeio.load_npy(path)]


def _npz_input(path: Path, specs: list[dict]) -> list[np.ndarray]:
    archive = safeio.load_npz(path)
    keys = ["x"] if len(specs) == 1 and "x" in archive else [f"x{i}" for i in range(len(specs))]
    missing = [k for k in keys if k not in archive]
    if missing:
        raise DataError(f"{path}: no array(s) {missing}; its keys are {list(archive)}")
    return [archive[k] for k in keys]


def _csv_input(path: Path, specs: list[dict]) -> list[np.ndarray]:
    from engine.data import csvfile

    spec = specs[0]
    frame = csvfile.read_table(path, {}).select_dtypes("number")
    width = int(np.prod(spec["shape"]))
    if frame.shape[1] < width:
        raise DataError(f"{path}: {frame.shape[1]} numeric column(s), but the model needs {width} per sample")
    values = frame.iloc[:, :width].to_numpy(dtype=np.int64 if spec["dtype"].startswith("int") else np.float32)
    return [values.reshape(len(values), *spec["shape"])]


def _image_input(path: Path, specs: list[dict]) -> list[np.ndarray]:
    from engine.data import images

    spec = specs[0]
    if spec["kind"] != "image":
        raise DataError(f"{path}: the model's input '{spec['name']}' is {spec['kind']}, not an image")
    channels, height, width = spec["shape"]
    return [images.read_image(path, (height, width), channels)[None]]


DATA_SOURCES: dict[str, DataSource] = {}


class _SourceNames(Sequence):
    """The registered sources' names, read live (the data section's `source` choices follow the registry)."""

    def __getitem__(self, index):
        return list(DATA_SOURCES)[index]

    def __len__(self) -> int:
        return len(DATA_SOURCES)

    def __repr__(self) -> str:
        return repr(tuple(DATA_SOURCES))


SOURCE_NAMES: Sequence[str] = _SourceNames()


def register_source(source: DataSource) -> DataSource:
    """Add a data source to the registry (a later record of the same name replaces the earlier one)."""
    DATA_SOURCES[source.name] = source
    return source


def source_of(section: dict) -> DataSource:
    """The record of a section's source; DataError naming the known ones for an unknown source."""
    name = section.get("source", "builtin")
    if name not in DATA_SOURCES:
        raise DataError(f"Unknown data source '{name}'; use one of {list(DATA_SOURCES)}.")
    return DATA_SOURCES[name]


def predict_files() -> str:
    """What predict reads, for messages: '.csv, image, .npz, .npy'."""
    return ", ".join(s.predict_files for s in DATA_SOURCES.values() if s.predict_read)


def predict_source(suffix: str) -> DataSource | None:
    """The source whose predict reader takes files of this suffix (lower case, with the dot)."""
    return next((s for s in DATA_SOURCES.values() if suffix in s.predict_suffixes and s.predict_read), None)


def _streamed(reader: str) -> Callable:
    """The streaming module's `reader`, imported (with PyTorch) on the first streamed read."""
    return lambda *args, **kwargs: getattr(streaming, reader)(*args, **kwargs)


register_source(DataSource(
    "builtin", "Built-in dataset",
    lambda s, seed: load_builtin(s["name"], s["options"], s.get("task"), seed),
    keys=("name", "options"), page="builtin"))
register_source(DataSource(
    "csv", "CSV file", lambda s, seed: files.load_csv(s), _streamed("csv_chunks"), _file_bytes,
    keys=("path", "target", "features", "text", "tokens", "delimiter", "dropna", "max_words", "min_count",
          "text_length"),
    predict_suffixes=(".csv",), predict_read=_csv_input, page="csv", pattern="CSV (*.csv *.tsv *.txt)"))
register_source(DataSource(
    "image_folder", "Image folder", lambda s, seed: files.load_image_folder(s), _streamed("image_chunks"),
    files.decoded_image_bytes, keys=("path", "size", "color"), predict_suffixes=tuple(sorted(IMAGE_SUFFIXES)),
    predict_read=_image_input, predict_label="image", page="images", folder=True))
register_source(DataSource(
    "npz", "NumPy file (.npz / .npy)", _arrays, _streamed("npz_chunks"),
    lambda s: safeio.zip_size(files.existing_file(s.get("path"), "path")),
    keys=("path", "x_key", "y_key", "channels_last", "tokens"), predict_suffixes=(".npz",), predict_read=_npz_input,
    page="arrays", pattern="NumPy (*.npz *.npy)"))
register_source(DataSource(
    "npy", "NumPy arrays (.npy)", _arrays, _streamed("npy_chunks"), _file_bytes,
    keys=("path", "x_path", "y_path", "channels_last", "tokens"), predict_suffixes=(".npy",), predict_read=_npy_input,
    page="arrays", panel_as="npz"))
register_source(DataSource(
    "detection_folder", "Detection images + boxes", load_detection_folder, size=annotated_image_bytes,
    keys=("path", "annotations", "image_size", "color"), page_keys=("annotations", "image_size", "color"),
    folder=True))
