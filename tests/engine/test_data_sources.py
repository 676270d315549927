"""The data-source registry: every source is one `DataSource` record, and a new one is only its record."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import load_data, preview
from engine.data.sources import DATA_SOURCES, source_of
from engine.errors import DataError
from engine.predict import read_input
from engine.sections import DATA, section_problems
from tests.engine.tsv_source import TSV, write_tsv


def test_every_source_has_a_reader_and_a_panel_entry():
    for name, record in DATA_SOURCES.items():
        assert record.name == name and record.title and callable(record.read)
        assert record.panel_as is None or DATA_SOURCES[record.panel_as].panel_as is None
    assert list(DATA.key("source").choices) == list(DATA_SOURCES)
    assert {s.name for s in DATA_SOURCES.values() if s.stream} == {"csv", "npy", "npz", "image_folder"}


def test_a_new_data_source_is_one_record(tmp_path, monkeypatch):
    """A .tsv source registered in a test loads, previews, validates and predicts, with nothing else touched."""
    path = tmp_path / "table.tsv"
    x = write_tsv(path)
    monkeypatch.setitem(DATA_SOURCES, "tsv", TSV)
    section = {"source": "tsv", "path": str(path), "split": {"val": 0.2, "test": 0.2, "seed": 0}}
    data = load_data(section)
    assert data.class_names == ["no", "yes"] and data.input_shapes == ((3,),)
    assert sum(len(part.target) for part in (data.train, data.val, data.test)) == len(x)
    assert data.source == "tsv 'table.tsv'"
    samples = preview(section, n=8)
    assert len(samples) == 8
    for sample in samples:
        row = int(np.flatnonzero((np.abs(x - sample.inputs[0]) < 1e-6).all(axis=1))[0])
        assert sample.label == ("yes" if x[row, 0] > 0 else "no")
    assert section_problems("data", {**section, "comment": "#"}) == []  # the record's own key is known for tsv
    assert "data.comment is not a known setting" in section_problems("data", {"source": "csv", "comment": "#"})[0].message
    assert source_of(section) is TSV
    spec = {"name": "in", "kind": "features", "shape": [3], "dtype": "float32"}
    np.testing.assert_allclose(read_input(path, {"inputs": [spec]})[0], x, atol=1e-6)
    with pytest.raises(DataError, match="Streaming works for .*not 'tsv'"):
        load_data({**section, "stream": True})


def test_an_unknown_source_names_the_registered_ones():
    with pytest.raises(DataError, match="Unknown data source 'parquet'.*'csv'"):
        load_data({"source": "parquet", "path": "x.parquet"})
    assert "parquet" in section_problems("data", {"source": "parquet"})[0].message
