"""Checked readers for the files DeepWire opens: any failure becomes a DeepWire error naming the file,
what is wrong with it and what to do. Nothing here unpickles objects or runs code from a file."""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import BadFileError, DataError, DeepWireError

_MISSING = object()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def read_json(path: Path, what: str, default: Any = _MISSING, kind: type | None = dict,
              error: type[DeepWireError] = BadFileError) -> Any:
    """The parsed JSON of `path` (of type `kind` when given); `default` when it is missing, if given."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if default is not _MISSING:
            return default
        raise error(f"{path}: no such file ({what})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: the {what} cannot be read ({_reason(exc)}); the file is damaged") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path}: the {what} is not valid JSON ({exc.msg}, line {exc.lineno}); the file may be cut off "
                    "or edited by hand") from None
    except RecursionError:
        raise error(f"{path}: the {what} is JSON nested too deeply to be DeepWire's") from None
    if kind is not None and not isinstance(doc, kind):
        raise error(f"{path}: the {what} holds a JSON {type(doc).__name__}, not the {kind.__name__} DeepWire "
                    "writes; the file is damaged or not DeepWire's")
    return doc


def load_safetensors(path: Path, what: str = "weights", todo: str = "",
                     error: type[DeepWireError] = BadFileError) -> dict:
    """The tensors of a safetensors file (CPU)."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: no such file ({what})")
    try:
        return load_file(str(path))
    except Exception as exc:  # noqa: BLE001  SafetensorError and friends for any damaged file
        raise error(f"{path}: the {what} file is cut off or damaged ({_reason(exc)}). "
                    f"{todo or 'Replace it with a good copy.'}") from None


def load_tensors(path: Path, what: str, todo: str = "", error: type[DeepWireError] = BadFileError) -> Any:
    """A `torch.save` file of tensors and plain values, read with `weights_only=True` (never unpickles objects)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: no such file ({what})")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  PytorchStreamReader, UnpicklingError, EOFError...: a damaged file
        raise error(f"{path}: the {what} is cut off or damaged ({_reason(exc)}). "
                    f"{todo or 'Replace it with a good copy.'}") from None


def load_state_dict(model, state: dict, path: Path, todo: str, error: type[DeepWireError] = BadFileError) -> None:
    """Load `state` into `model`; a mismatch names the file and a few of the names that differ."""
    model_keys = set(model.state_dict())
    missing, extra = sorted(model_keys - set(state)), sorted(set(state) - model_keys)
    if missing or extra:
        raise error(f"{path}: the weights do not fit the project (missing {missing[:3]}, unexpected {extra[:3]}). "
                    f"{todo}")
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise error(f"{path}: the weights do not fit the project ({_reason(exc)}). {todo}") from None


def load_npy(path: Path, what: str = "array", mmap: bool = False) -> np.ndarray:
    """A numeric .npy array; DataError for an empty, cut-off, pickled/object or non-.npy file."""
    path = Path(path)
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file ({what})") from None
    except Exception as exc:  # noqa: BLE001  a damaged header raises ValueError, EOFError, TokenError, SyntaxError...
        raise DataError(f"{path}: not a readable .npy array ({_npy_reason(path, exc)}). Save it with numpy.save "
                        "from a numeric array.") from None
    if not isinstance(array, np.ndarray):
        raise DataError(f"{path}: holds a .npz archive, not one .npy array; use source 'npz' for it.")
    return check_numeric(array, path)


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of a .npz archive (loaded now, so the file is closed again)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not hasattr(archive, "files"):
                raise DataError(f"{path}: holds one .npy array, not a .npz archive; use source 'npy' for it.")
            return {key: check_numeric(archive[key], path, key) for key in archive.files}
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except DeepWireError:
        raise
    except Exception as exc:  # noqa: BLE001  BadZipFile, zlib errors, ValueError...: a damaged archive
        raise DataError(f"{path}: not a readable .npz archive ({_npy_reason(path, exc)}). Save it with "
                        "numpy.savez from numeric arrays.") from None


def zip_names(path: Path) -> list[str]:
    """The member names of a zip (.npz) archive; DataError when it is not one."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({_npy_reason(Path(path), exc)}).") from None


def zip_size(path: Path) -> int:
    """Bytes the members of a zip (.npz) archive take once unpacked."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({_npy_reason(Path(path), exc)}).") from None


def _npy_reason(path: Path, exc: BaseException) -> str:
    with contextlib.suppress(OSError):
        size = path.stat().st_size
        if size == 0:
            return "the file is empty"
        with open(path, "rb") as fh:
            head = fh.read(64)
        if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
            return "it is a text file (CSV?), not a binary numpy file; use source 'csv' for a table"
        if "Object arrays" in str(exc) or (head.startswith(b"\x93NUMPY") and "pickle" in str(exc)):
            return "it holds Python objects, which DeepWire never unpickles; save numbers instead"
        if "pickle" in str(exc):
            return "it is not a numpy file (no .npy header)"
    return _reason(exc)


def check_numeric(array: np.ndarray, path: Path, key: str | None = None) -> np.ndarray:
    """`array` if it holds numbers or booleans; DataError naming the file otherwise."""
    if array.dtype.kind not in "biuf":
        where = f"{path}" + (f" (array '{key}')" if key else "")
        raise DataError(f"{where}: holds {array.dtype} values, not numbers; convert it to a numeric array.")
    return array


def read_csv(path: Path, **kwargs) -> Any:
    """pandas.read_csv with every parse failure (empty, binary, ragged rows) as a DataError naming the file."""
    import pandas as pd

    path = Path(path)
    try:
        return pd.read_csv(path, **kwargs)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"CSV '{path}' is empty; it needs a header row and data rows.") from None
    except UnicodeDecodeError:
        raise DataError(f"CSV '{path}' is not UTF-8 text (a binary file?); save it as a UTF-8 CSV.") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"Cannot read CSV '{path}': {_reason(exc)}. Check that every row has the same "
                        "number of cells and the delimiter is right.") from None


def load_image(path: Path) -> Any:
    """A fully decoded PIL image (the file is closed again); a damaged file or a decompression bomb is a
    DataError naming it."""
    from PIL import Image

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                return img.copy()
    except FileNotFoundError:
        raise DataError(f"Image '{path}': no such file") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(f"Image '{path}' is too large to decode safely ({_reason(exc)}); it may be a "
                        "decompression bomb. Shrink or remove the file.") from None
    except Exception as exc:  # noqa: BLE001  UnidentifiedImageError, OSError, SyntaxError...: a damaged image
        raise DataError(f"Cannot read image '{path}': {_reason(exc)}. Remove or replace the file.") from None
