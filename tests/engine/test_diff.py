"""`engine.diff` and `deepwire diff`: one node added, one param changed, one removed; settings and metrics."""

from __future__ import annotations

import json

import pytest
from train_helpers import iris_mlp, single_thread

from engine.cli import main as cli_main
from engine.diff import diff, diff_graphs, diff_settings
from engine.errors import TrainingError
from engine.runs import create_run
from engine.train.trainer import Trainer


def _edited(graph):
    """`graph` with a Dropout added after the ReLU, dense1 widened to 32 and ... the ReLU removed."""
    g = graph.copy()
    relu, dense1, dense3 = g.by_name("relu2"), g.by_name("dense1"), g.by_name("dense3")
    g.remove_node(relu.id)
    drop = g.add_node("Dropout", "drop", {"p": 0.2})
    g.connect(dense1.id, drop.id)
    g.connect(drop.id, dense3.id)
    g.set_param(dense1.id, "units", 32)
    g.training = {**g.training, "lr": 0.02}
    return g, relu, drop, dense1


def test_graph_diff_names_the_added_the_removed_and_the_changed_node():
    before = iris_mlp({"epochs": 2})
    after, relu, drop, dense1 = _edited(before)
    d = diff_graphs(before, after)
    assert [(n.kind, n.name) for n in d.of_kind("added")] == [("added", "drop")]
    assert [(n.kind, n.name) for n in d.of_kind("removed")] == [("removed", relu.name)]
    [changed] = d.of_kind("changed")
    assert changed.node_id == dense1.id and changed.changes == {"units": (16, 32)}
    assert (changed.weights_before, changed.weights_after) == (4 * 16 + 16, 4 * 32 + 32)
    assert d.weights_after - d.weights_before == (4 * 32 + 32 + 32 * 3 + 3) - (4 * 16 + 16 + 16 * 3 + 3)
    assert len(d.wires_added) == 2 and len(d.wires_removed) == 2
    assert diff_graphs(before, before.copy()).empty


def test_settings_diff_fills_defaults_so_only_real_changes_show():
    a = iris_mlp({"epochs": 2})
    b = iris_mlp({"epochs": 2, "lr": 0.001, "optimizer": "sgd"})  # lr 0.001 is the default: no change
    assert [(s.section, s.key, s.before, s.after) for s in diff_settings(a, b)] == [
        ("training", "optimizer", "adam", "sgd")]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    before = iris_mlp({"epochs": 3, "batch_size": 16, "lr": 0.01})
    after, *_ = _edited(before)
    runs = []
    with single_thread():
        for graph in (before, after):
            run = create_run(graph, root)
            Trainer(graph, run=run).fit()
            runs.append(run)
    return runs, after


def test_diff_of_two_runs_has_the_final_metrics_side_by_side(two_runs):
    (a, b), _ = two_runs
    result = diff(a.path, b.path)
    assert result.a.label == a.id and [n.kind for n in result.graph.nodes] == ["changed", "removed", "added"]
    metrics = {name: (x, y) for name, x, y in result.metrics}
    assert metrics["val_accuracy"] == (a.metrics()["final"]["val_accuracy"], b.metrics()["final"]["val_accuracy"])
    assert [s.key for s in result.settings] == ["lr"]
    assert len(result.a.history) == 3


def test_deepwire_diff_json_and_text(two_runs, capsys, tmp_path):
    (a, b), after = two_runs
    assert cli_main(["diff", str(a.path), str(b.path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    kinds = {n["name"]: n["kind"] for n in doc["graph"]["nodes"]}
    assert kinds == {"dense1": "changed", "relu2": "removed", "drop": "added"}
    assert doc["settings"] == [{"section": "training", "key": "lr", "before": 0.01, "after": 0.02}]
    row = next(m for m in doc["metrics"] if m["name"] == "val_loss")
    assert row["change"] == pytest.approx(row["b"] - row["a"])
    assert cli_main(["diff", str(a.path), str(b.path)]) == 0
    text = capsys.readouterr().out
    assert "units 16 → 32" in text and "drop" in text and "val_loss" in text


def test_a_run_against_a_project_file(two_runs, capsys, tmp_path):
    (a, _), after = two_runs
    project = tmp_path / "edited.json"
    after.save(project)
    assert cli_main(["diff", str(a.path), str(project), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["b"] == "edited.json" and len(doc["graph"]["nodes"]) == 3
    assert all(m["b"] is None for m in doc["metrics"])
    assert cli_main(["diff", str(a.path), str(tmp_path / "missing.json")]) == 2
    assert "neither a run folder" in capsys.readouterr().err


def test_deepwire_doctor_prints_the_diagnoses_of_a_run(tmp_path, capsys):
    graph = iris_mlp({"epochs": 10, "batch_size": 16, "lr": 10.0, "optimizer": "sgd"})
    run = create_run(graph, tmp_path)
    with single_thread(), pytest.raises(TrainingError, match="diverged"):  # the divergence guard stops it
        Trainer(graph, run=run).fit()
    assert cli_main(["doctor", str(run.path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "diverging" in [d["id"] for d in doc]
    assert cli_main(["doctor", str(run.path)]) == 0
    text = capsys.readouterr().out
    assert "Loss diverging" in text and "Lower the learning rate" in text
