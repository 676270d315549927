"""Predict warns when a file's values lie on another scale than the training data (issue 16, item 9): raw 0-16
digits for a model trained on digits scaled to 0-1, as a plain `deepwire predict` warning line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from engine.cli import main as cli_main
from engine.graph import Graph
from engine.predict import load_predictor, scale_warning, training_range
from engine.runs import create_run
from engine.train.trainer import Trainer


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    """A real one-epoch run of a tiny dense classifier on the built-in digits (pixels scaled to 0-1)."""
    graph = Graph(name="digits scale", data={"source": "builtin", "name": "digits"},
                  training={"epochs": 1, "batch_size": 64, "schedule": "none",
                            "events": {"summaries": False, "batch_rate_hz": 1.0}})
    prev = graph.add_node("Input", "input", {"kind": "image", "channels": 1, "height": 8, "width": 8}).id
    for type_id, params in (("Flatten", {}), ("Dense", {"units": 10})):
        node = graph.add_node(type_id, type_id.lower(), params)
        graph.connect(prev, node.id)
        prev = node.id
    graph.connect(prev, graph.add_node("Output", "output", {"task": "multiclass"}).id)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = create_run(graph, tmp_path_factory.mktemp("digits") / "runs")
        Trainer(graph, run=run).fit()
    finally:
        torch.set_num_threads(before)
    return run.path


def _digits_file(folder: Path, name: str, scale: float) -> Path:
    path = folder / name
    np.save(path, (load_digits().images[:5, None] * scale).astype(np.float32))
    return path


def test_the_run_records_the_span_of_its_training_inputs(digits_run):
    assert training_range(load_predictor(digits_run).record) == (0.0, 1.0)


def test_cli_predict_warns_about_raw_digits_naming_the_file_and_both_ranges(digits_run, tmp_path, capsys):
    raw = _digits_file(tmp_path, "raw16.npy", 1.0)
    assert cli_main(["predict", str(digits_run), str(raw)]) == 0
    err = capsys.readouterr().err
    warning = next(line for line in err.splitlines() if line.startswith("deepwire: warning:"))
    assert "raw16.npy" in warning and "values span 0 to 16" in warning and "trained on 0 to 1" in warning
    assert "scale them the same way" in warning


def test_cli_predict_is_quiet_on_inputs_scaled_like_the_training_data(digits_run, tmp_path, capsys):
    scaled = _digits_file(tmp_path, "scaled.npy", 1 / 16)
    assert cli_main(["predict", str(digits_run), str(scaled)]) == 0
    assert "warning" not in capsys.readouterr().err


def test_inputs_squeezed_into_a_sliver_of_the_training_span_are_flagged_too(digits_run):
    record = load_predictor(digits_run).record
    tiny = [load_digits().images[:5, None].astype(np.float32) / (16 * 255)]
    assert "trained on 0 to 1" in scale_warning(record, tiny, "tiny.npy")
    assert scale_warning(record, [np.zeros((2, 1, 8, 8), np.float32)], "blank.npy") is None
    assert scale_warning({"normalization": {"method": "none"}, "inputs": []}, tiny, "x") is None
