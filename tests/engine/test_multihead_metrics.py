"""Per-head metric names: what the graph says a run will report is what the trainer reports, and a sweep on a
project with two heads optimises one head's metric."""

from __future__ import annotations

import pytest

from engine.runs import open_run, read_json
from engine.sweep import SweepConfig, run_sweep
from engine.templates import load_project
from engine.train.metric_names import expected_metrics
from engine.train.trainer import Trainer
from tests.engine.test_train_multihead import classifier_with_box_head
from tests.engine.train_helpers import single_thread


def _small(graph, options: dict):
    graph.data["options"] = options
    return graph


@pytest.mark.parametrize("graph", [
    _small(classifier_with_box_head(), {"n_samples": 200}),
    _small(load_project("detector"), {"n_samples": 60}),
    _small(load_project("two_stage_detector"), {"n_samples": 60}),
    load_project("mlp"),
    load_project("siamese"),
], ids=["classifier+box", "detector", "two_stage_detector", "mlp", "siamese"])
def test_the_expected_metric_names_are_the_trainers(graph):
    assert expected_metrics(graph) == list(Trainer(graph).metric_names)


def test_a_sweep_on_two_heads_targets_one_heads_metric(tmp_path):
    graph = classifier_with_box_head(epochs=2)
    graph.data["options"] = {"n_samples": 400}
    graph.training["events"] = {"summaries": False, "batch_rate_hz": 1.0}
    graph.sweep = {"dimensions": [{"target": "l7.units", "choices": [8, 32]}], "sampler": "grid",
                   "objective": {"metric": "val_box_mae"}}
    assert SweepConfig.from_graph(graph).direction == "minimize"
    with single_thread():
        result = run_sweep(graph, tmp_path)
    assert result.metric == "val_box_mae" and [r.state for r in result.rows] == ["COMPLETE", "COMPLETE"]
    for row in result.rows:
        history = read_json(open_run(row.run_dir).path / "metrics.json", {})["history"]
        assert row.value == pytest.approx(min(h["val"]["box_mae"] for h in history))
        assert "digit_accuracy" in history[-1]["val"]
    graph.sweep["objective"] = {"metric": "val_digit_accuracy"}
    assert SweepConfig.from_graph(graph).direction == "maximize"
