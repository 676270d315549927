"""Reading a CSV table: whether its first row is a header (a row of numbers is data, with a warning) and
clear errors for files pandas cannot parse."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from engine import safeio
from engine.data import notes
from engine.errors import DataError


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
    if len(delimiter) != 1:  # a regular expression such as "\\s+"
        return [c for c in re.split(delimiter, line.strip()) if c] if line.strip() else []
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
    numeric = [c for c in cells if c.strip() and _number(c.strip())]
    if not cells or len(numeric) < len(cells):
        if numeric:
            notes.warn(f"CSV '{path}': its header row has numbers as column names ({', '.join(numeric[:4])}); if "
                       "that row is data (or a note such as sample counts), remove it or set \"header\": false")
        return True
    shown = ", ".join(cells[:4]) + (", ..." if len(cells) > 4 else "")
    notes.warn(f"CSV '{path}': the first row ({shown}) is all numbers, so it is read as data and the columns are "
               f"named {', '.join(column_names(min(len(cells), 3)))}{', ...' if len(cells) > 3 else ''}; set "
               "\"header\": true in the data section if it holds the column names")
    return False


def column_names(count: int) -> list[str]:
    """Names of the columns of a CSV without a header row: col1, col2, ..."""
    return [f"col{i + 1}" for i in range(count)]


def read_table(path: Path, section: dict):
    """The whole CSV as a DataFrame, with a header row or (detected or set) without one."""
    sep = section.get("delimiter", ",")
    if "delimiter" not in section:
        _check_delimiter(path)
    if has_header(path, section):
        return safeio.read_csv(path, sep=sep)
    frame = safeio.read_csv(path, sep=sep, header=None)
    frame.columns = column_names(frame.shape[1])
    return frame


def _check_delimiter(path: Path) -> None:
    """DataError when a file without commas is clearly split by another character (tab, ';', '|', space)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = [fh.readline().rstrip("\r\n") for _ in range(2)]
    except OSError:
        return
    if not lines[0] or any("," in line for line in lines):
        return
    for sep, name in (("\t", "a tab (\"\\t\")"), (";", "';'"), ("|", "'|'"), (" ", "spaces")):
        counts = {len(line.split(sep)) for line in lines if line}
        if len(counts) == 1 and counts.pop() > 1:
            raise DataError(f"CSV '{path}' has no commas; its columns look separated by {name}. Set \"delimiter\" "
                            "in the data section" + (" (\"\\\\s+\" for spaces)" if sep == " " else "") + ".")


def header_columns(path: Path, section: dict) -> tuple[list[str], bool]:
    """(column names, whether the first line is a header) without reading the whole file."""
    sep = section.get("delimiter", ",")
    if has_header(path, section):
        return [str(c) for c in safeio.read_csv(path, nrows=0, sep=sep).columns], True
    return column_names(len(first_row(path, sep))), False
