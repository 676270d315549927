"""A data source that exists only in the tests: tab-separated files, registered as one `DataSource` record."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.data import files
from engine.data.raw import RawData
from engine.data.sources import DataSource


def read_tsv(section: dict, seed: int | None) -> RawData:
    """Features from every column but the last, the class from the last (the first line names the columns; lines
    that start with the section's own key `comment` are skipped)."""
    path = files.existing_file(section.get("path"), "path")
    comment = section.get("comment", "#")
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line.strip()
            and not line.startswith(comment)]
    x = np.array([[float(v) for v in row[:-1]] for row in rows], np.float32)
    return files.finish(x, np.array([row[-1] for row in rows]), section.get("task"), f"TSV '{path}'")


def tsv_inputs(path: Path, specs: list[dict]) -> list[np.ndarray]:
    """The feature columns of a .tsv file for predict."""
    return [read_tsv({"path": str(path)}, None).inputs[0]]


TSV = DataSource("tsv", "Tab-separated file", read_tsv, keys=("path", "comment"), predict_suffixes=(".tsv",),
                 predict_read=tsv_inputs, page_keys=("dropna",), pattern="TSV (*.tsv)")


def write_tsv(path: Path, n: int = 60) -> np.ndarray:
    """A two-class table of `n` rows; its features."""
    x = np.random.default_rng(0).normal(size=(n, 3)).round(3)
    lines = ["a\tb\tc\tlabel"] + ["\t".join([*(f"{v:.3f}" for v in row), "yes" if row[0] > 0 else "no"]) for row in x]
    path.write_text("\n".join([lines[0], "# written by the tests", *lines[1:]]) + "\n")
    return x
