"""Reading a CSV table: whether its first row is a header (a row of numbers is data, with a warning) and
clear errors for files pandas cannot parse."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

from engine import safeio
from engine.errors import DataError, DataWarning


def header_flag(section: dict) -> bool | str:
    """The section's `header`: true, false or "auto" (the default)."""
    header = section.get("header", "auto")
    if header not in (True, False, "auto"):
        raise DataError(f"CSV '{section.get('path')}': header must be true, false or \"auto\", not {header!r}.")
    return header


def first_row(path: Path, delimiter: str) -> list[str]:
    """The cells of the file's first line (empty for an empty or unreadable file)."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            line = fh.readline()
    except OSError:
        return []
    return next(csv.reader(io.StringIO(line), delimiter=delimiter), [])


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def has_header(path: Path, section: dict) -> bool:
    """True unless `header` is false, or "auto" and every cell of the first row is a number (then warns)."""
    header = header_flag(section)
    if header != "auto":
        return bool(header)
    cells = first_row(path, section.get("delimiter", ","))
    if not cells or not all(c.strip() and _number(c.strip()) for c in cells):
        return True
    shown = ", ".join(cells[:4]) + (", ..." if len(cells) > 4 else "")
    warnings.warn(f"CSV '{path}': the first row ({shown}) is all numbers, so it is read as data and the columns are "
                  f"named {', '.join(column_names(min(len(cells), 3)))}{', ...' if len(cells) > 3 else ''}; set "
                  "\"header\": true in the data section if it holds the column names", DataWarning, stacklevel=2)
    return False


def column_names(count: int) -> list[str]:
    """Names of the columns of a CSV without a header row: col1, col2, ..."""
    return [f"col{i + 1}" for i in range(count)]


def read_table(path: Path, section: dict):
    """The whole CSV as a DataFrame, with a header row or (detected or set) without one."""
    sep = section.get("delimiter", ",")
    if has_header(path, section):
        return safeio.read_csv(path, sep=sep)
    frame = safeio.read_csv(path, sep=sep, header=None)
    frame.columns = column_names(frame.shape[1])
    return frame


def header_columns(path: Path, section: dict) -> tuple[list[str], bool]:
    """(column names, whether the first line is a header) without reading the whole file."""
    sep = section.get("delimiter", ",")
    if has_header(path, section):
        return [str(c) for c in safeio.read_csv(path, nrows=0, sep=sep).columns], True
    return column_names(len(first_row(path, sep))), False
