"""User data that fits in memory: CSV tables, image folders (one sub-folder per class), .npy/.npz arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine import safeio
from engine.data import images
from engine.data.csvfile import read_table
from engine.data.raw import RawData
from engine.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def existing_file(path: str | Path | None, what: str) -> Path:
    """`path` as a Path; DataError naming it when it is missing."""
    if not path:
        raise DataError(f"The data section has no '{what}' yet; set it to your file.")
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"Data file not found: '{p}' ({what}). Check the path in the data section.")
    return p


def infer_task(y: np.ndarray) -> str:
    """'binary' for two classes, 'multiclass' for strings or few integer values, else 'regression'."""
    if y.dtype.kind in "OUSb" or (y.dtype.kind in "iu" and len(np.unique(y)) <= 20):
        return "binary" if len(np.unique(y)) == 2 else "multiclass"
    return "regression"


def encode_target(y: np.ndarray, task: str, source: str) -> tuple[np.ndarray, list[str] | None]:
    """Target array in the dtype/shape the task trains on, with class names for classification."""
    if task in ("multiclass", "binary"):
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        classes, ids = np.unique(y, return_inverse=True)
        ids, names = ids.reshape(y.shape), [str(c) for c in classes]
        if task == "multiclass":
            return ids.astype(np.int64), names
        if len(classes) != 2 or y.ndim != 1:
            raise DataError(f"{source}: a binary task needs one target column with exactly 2 classes, "
                            f"found {len(classes)}: {names[:10]}.")
        return ids.astype(np.float32)[:, None], names
    if y.dtype.kind not in "iufb":
        raise DataError(f"{source}: a {task} target must be numeric, found {y.dtype} values.")
    if task == "multilabel" and not np.isin(y, (0, 1)).all():
        raise DataError(f"{source}: a multilabel target must hold only 0 and 1 in each column.")
    y = y.astype(np.float32)
    return (y[:, None] if y.ndim == 1 and task in ("regression", "multilabel") else y), None


def as_inputs(x: np.ndarray, tokens: bool) -> np.ndarray:
    """int64 token ids when `tokens`, else float32 features."""
    return x.astype(np.int64) if tokens else x.astype(np.float32)


def finish(x: np.ndarray, y: np.ndarray | None, task: str | None, source: str, tokens: bool = False) -> RawData:
    """Build RawData from features and an optional raw target, inferring the task when not given."""
    x = as_inputs(x, tokens)
    if y is None or task == "autoencoder":
        if task not in (None, "autoencoder", "gan"):
            raise DataError(f"{source}: task '{task}' needs a target; give one or use task 'autoencoder'.")
        task = task or "autoencoder"
        return RawData((x,), x if task == "autoencoder" else np.zeros(len(x), np.int64), task)
    if len(y) != len(x):
        raise DataError(f"{source}: inputs have {len(x)} samples but the target has {len(y)}; they must match.")
    task = task or infer_task(y)
    target, names = encode_target(y, task, source)
    return RawData((x,), target, task, class_names=names)


def multitask_data(x: np.ndarray, frame, targets: list[str], source: str) -> RawData:
    """Several target columns for several Output nodes: each column is a field named after it; text columns
    become class ids (their classes kept per field), numeric columns stay numbers."""
    if not targets:
        raise DataError(f"{source}: task 'multitask' needs target columns; list them in 'target'.")
    columns, classes = [], {}
    for name in targets:
        values = frame[name].to_numpy()
        if values.dtype.kind in "OUSb":
            ids, classes[name] = encode_target(values, "multiclass", source)
            values = ids
        elif frame[name].isna().any():
            raise DataError(f"{source}: target column '{name}' has empty cells; fill them or set \"dropna\": true.")
        columns.append(values.astype(np.float32))
    fields = {name: (i, i + 1) for i, name in enumerate(targets)}
    return RawData((x.astype(np.float32),), np.stack(columns, axis=1), "multitask", target_fields=fields,
                   field_classes=classes or None)


def load_csv(section: dict) -> RawData:
    """A CSV table: numeric `features` columns (default: all but the target) and a `target` column (or list)."""
    path = existing_file(section.get("path"), "path")
    frame = read_table(path, section)
    if section.get("text"):
        return _csv_text(frame, section, path)
    features, targets = csv_columns(section, list(frame.columns), path)
    if section.get("dropna"):
        frame = frame.dropna(subset=features + targets)
    for col in features:
        if frame[col].dtype.kind not in "iufb":
            raise DataError(f"CSV '{path}': feature column '{col}' is not numeric ({frame[col].dtype}); "
                            "encode it as numbers or leave it out of 'features'.")
        if frame[col].isna().any():
            raise DataError(f"CSV '{path}': feature column '{col}' has empty cells; fill them or set \"dropna\": true.")
    if section.get("task") == "multitask":
        return multitask_data(frame[features].to_numpy(), frame, targets, f"CSV '{path}'")
    y = None
    if targets:
        y = frame[targets[0]].to_numpy() if len(targets) == 1 else frame[targets].to_numpy()
    return finish(frame[features].to_numpy(), y, section.get("task"), f"CSV '{path}'", bool(section.get("tokens")))


def _csv_text(frame, section: dict, path: Path) -> RawData:
    """A CSV whose `text` column holds raw text (tokenized later, with the training split's vocabulary)."""
    column = str(section["text"])
    target = section.get("target", next((c for c in frame.columns if c != column), None))
    missing = [c for c in (column, target) if c is not None and c not in frame.columns]
    if missing:
        raise DataError(f"CSV '{path}' has no column(s) {missing}; its columns are {list(frame.columns)}. "
                        "Fix 'text'/'target' in the data section.")
    if target is None:
        raise DataError(f"CSV '{path}': a text column needs a target column (a label per text) next to it.")
    if section.get("dropna"):
        frame = frame.dropna(subset=[target])
    task = section.get("task") or infer_task(frame[target].to_numpy())
    y, names = encode_target(frame[target].to_numpy(), task, f"CSV '{path}'")
    texts = frame[column].fillna("").astype(str).to_numpy(dtype=object)
    return RawData((), y, task, class_names=names, texts=texts)


def csv_columns(section: dict, columns: list[str], path: Path) -> tuple[list[str], list[str]]:
    """The feature and target column names, checked against the file's header."""
    target = section.get("target", columns[-1] if section.get("task") != "autoencoder" else None)
    targets = [target] if isinstance(target, str) else list(target or [])
    if section.get("task") == "multitask" and isinstance(target, str):  # "kind, size": one column per Output
        targets = [t.strip() for t in target.split(",") if t.strip()]
    features = list(section.get("features") or [c for c in columns if c not in targets])
    missing = [c for c in features + targets if c not in columns]
    if missing:
        raise DataError(f"CSV '{path}' has no column(s) {missing}; its columns are {columns}. "
                        "Fix 'features'/'target' in the data section.")
    if not features:
        raise DataError(f"CSV '{path}': no feature columns left; list them in 'features'.")
    return features, targets


def image_files(section: dict) -> list[tuple[Path, str]]:
    """(file, class name) of every image under `path/<class name>/`, in name order."""
    root = existing_file(section.get("path"), "path")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"Image folder '{root}' has no sub-folders; put each class's images in its own sub-folder.")
    listing = [(file, name) for name in classes for file in sorted((root / name).iterdir())
               if file.suffix.lower() in IMAGE_SUFFIXES]
    if not listing:
        raise DataError(f"Image folder '{root}' has no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in its sub-folders.")
    return listing


IMAGE_SIZE = (28, 28)
"""The (height, width) images are resized to when the data section does not say."""
COLORS = ("grayscale", "rgb")


def image_size(section: dict) -> tuple[int, int]:
    """The (height, width) every image is resized to."""
    height, width = (int(v) for v in section.get("size", IMAGE_SIZE))
    if height < 1 or width < 1:
        raise DataError(f"Image folder '{section.get('path')}': size must be two positive numbers, not {[height, width]}.")
    return height, width


def image_color(section: dict) -> str:
    """'grayscale' (1 channel) or 'rgb' (3 channels)."""
    color = section.get("color", COLORS[0])
    if color not in COLORS:
        raise DataError(f"Image folder '{section.get('path')}': color must be 'grayscale' or 'rgb', not '{color}'.")
    return color


def read_image(path: Path, size: tuple[int, int], color: str) -> np.ndarray:
    """One image as float32 (channels, height, width) in [0, 1]; DataError naming the file it cannot read."""
    return images.read_image(path, size, 1 if color == "grayscale" else 3)


def load_image_folder(section: dict) -> RawData:
    """Images under `path/<class name>/`, resized to `size` [H, W], grayscale or RGB, scaled to [0, 1]."""
    listing = image_files(section)
    size, color = image_size(section), image_color(section)
    classes = sorted({name for _, name in listing})
    x = np.stack([read_image(path, size, color) for path, _ in listing])
    y = np.searchsorted(classes, [name for _, name in listing]).astype(np.int64)
    task = section.get("task") or ("binary" if len(classes) == 2 else "multiclass")
    target = x if task == "autoencoder" else (y.astype(np.float32)[:, None] if task == "binary" else y)
    return RawData((np.ascontiguousarray(x),), target, task, class_names=classes, class_ids=y)


def decoded_image_bytes(section: dict) -> int:
    """Memory the image folder takes once decoded (float32), from the file count alone."""
    height, width = image_size(section)
    return len(image_files(section)) * 4 * (1 if image_color(section) == "grayscale" else 3) * height * width


def load_arrays(section: dict) -> RawData:
    """Arrays from one .npz (`x_key`, `y_key`) or from .npy files (`x_path`, optional `y_path`)."""
    if section["source"] == "npz":
        path = existing_file(section.get("path"), "path")
        archive = safeio.load_npz(path)
        x_key, y_key = section.get("x_key", "x"), section.get("y_key", "y")
        if x_key not in archive:
            raise DataError(f"'{path}' has no array '{x_key}'; its keys are {list(archive)}. Set 'x_key'.")
        x, y = archive[x_key], archive.get(y_key)
        source = f"'{path}'"
    else:
        x_path = existing_file(section.get("x_path") or section.get("path"), "x_path")
        x = safeio.load_npy(x_path, "x_path")
        y = safeio.load_npy(existing_file(section["y_path"], "y_path"), "y_path") if section.get("y_path") else None
        source = f"'{x_path}'"
    if y is None and section.get("task") not in (None, "autoencoder", "gan"):
        raise DataError(f"{source} has no target array; add one (y_key / y_path) or use task 'autoencoder'.")
    if x.ndim < 2:
        raise DataError(f"{source}: inputs must have shape (samples, ...) with at least 2 dimensions, got {x.shape}.")
    return finish(x, y, section.get("task"), source, bool(section.get("tokens")))
