"""Sweeps: grid and TPE searches train real runs, bad trials fail alone, workers share storage, reports."""

from __future__ import annotations

import threading
import time

import optuna
import pytest
import torch

from engine.cli import main
from engine.graph import Graph
from engine.runs import open_run, read_json
from engine.sweep import SweepConfig, SweepError, TrialRow, load_sweep, pareto_front, run_sweep
from engine.templates import load_project
from engine.validate import validate

QUIET = {"events": {"summaries": False, "batch_rate_hz": 1.0}}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train fastest on one thread (and CI has two cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def iris_mlp(sweep: dict, epochs: int = 2) -> Graph:
    graph = load_project("mlp")
    graph.training.update(epochs=epochs, batch_size=32, **QUIET)
    graph.sweep = sweep
    return graph


def digits_net(sweep: dict, conv: bool = False, epochs: int = 2) -> Graph:
    """Input (1, 8, 8) -> [Conv -> ReLU ->] Flatten -> Dense(hidden) -> ReLU -> Dense(10) -> Output."""
    g = Graph(name="digits net", data={"source": "builtin", "name": "digits"},
              training={"epochs": epochs, "batch_size": 64, "lr": 0.01, **QUIET}, sweep=sweep)
    chain = [g.add_node("Input", "image", {"kind": "image", "channels": 1, "height": 8, "width": 8})]
    if conv:
        chain += [g.add_node("Conv2d", "conv1", {"out_channels": 4, "padding": "valid"}), g.add_node("ReLU", "act0")]
    chain += [g.add_node("Flatten", "flatten"), g.add_node("Dense", "hidden", {"units": 16}),
              g.add_node("ReLU", "act1"), g.add_node("Dense", "logits", {"units": 10}),
              g.add_node("Output", "digit", {"task": "multiclass"})]
    for a, b in zip(chain, chain[1:], strict=False):
        g.connect(a.id, b.id)
    return g


def test_grid_sweep_over_dense_width_runs_and_records_both_trials(tmp_path):
    graph = iris_mlp({"dimensions": [{"target": "fc1.units", "choices": [4, 32]}], "sampler": "grid",
                      "objective": {"metric": "val_accuracy"}})
    seen: list[TrialRow] = []
    result = run_sweep(graph, tmp_path, on_trial=seen.append)

    assert [r.state for r in result.rows] == ["COMPLETE", "COMPLETE"]
    assert [r.params["fc1.units"] for r in result.rows] == [4, 32]
    assert [r.number for r in seen] == [0, 1]
    for row in result.rows:
        run = open_run(row.run_dir)
        assert run.path.parent.parent == tmp_path / "runs"
        assert run.graph.by_name("fc1").params["units"] == row.params["fc1.units"]
        expected = graph.copy()
        expected.set_param(expected.by_name("fc1").id, "units", row.params["fc1.units"])
        assert row.params_count == validate(expected).total_params
        assert (run.path / "best.safetensors").exists()
        history = read_json(run.path / "metrics.json", {})["history"]
        assert len(history) == 2
        assert row.value == pytest.approx(max(h["val"]["accuracy"] for h in history))
    assert load_sweep(graph, tmp_path) == result.rows
    # The same sweep again finds its grid done: nothing new runs.
    assert len(run_sweep(graph, tmp_path).rows) == 2


def test_tpe_sweep_on_digits_improves_on_its_worst_trial(tmp_path):
    graph = digits_net({"dimensions": [{"target": "training.lr", "low": 1e-5, "high": 0.05, "log": True},
                                       {"target": "hidden.units", "low": 4, "high": 32}],
                        "objective": {"metric": "val_accuracy", "direction": "maximize"},
                        "sampler": "tpe", "budget": {"trials": 6}, "pruning": False, "seed": 3})
    result = run_sweep(graph, tmp_path)

    done = [r for r in result.rows if r.state == "COMPLETE"]
    assert len(result.rows) == 6 and len(done) == 6
    worst = min(r.value for r in done)
    assert result.best.value > 0.8
    assert result.best.value >= worst + 0.2
    best_run = open_run(result.best.run_dir).graph
    assert best_run.training["lr"] == pytest.approx(result.best.params["training.lr"])
    assert best_run.by_name("hidden").params["units"] == result.best.params["hidden.units"]


def test_trial_with_an_invalid_shape_fails_and_the_sweep_goes_on(tmp_path):
    graph = digits_net({"dimensions": [{"target": "conv1.kernel_size", "choices": [12, 3]}], "sampler": "grid"},
                       conv=True, epochs=1)
    result = run_sweep(graph, tmp_path)

    bad, good = result.rows
    assert (bad.state, bad.params) == ("FAIL", {"conv1.kernel_size": 12})
    assert "invalid for these values" in bad.error and "conv1" in bad.error
    assert bad.run_dir is None
    assert (good.state, good.params) == ("COMPLETE", {"conv1.kernel_size": 3})
    assert good.value is not None and open_run(good.run_dir).graph.by_name("conv1").params["kernel_size"] == 3


def test_two_worker_processes_share_one_sqlite_storage_without_duplicates(tmp_path):
    graph = iris_mlp({"dimensions": [{"target": "fc1.units", "choices": [2, 3, 4, 5]}], "sampler": "grid",
                      "budget": {"trials": 3}, "pruning": False})
    seen: list[TrialRow] = []
    result = run_sweep(graph, tmp_path, workers=2, on_trial=seen.append)

    ran = [r for r in result.rows if r.state != "WAITING"]
    assert len(ran) == 3 and all(r.state == "COMPLETE" for r in ran)
    assert len({r.params["fc1.units"] for r in ran}) == 3
    assert [r.state for r in result.rows].count("WAITING") == 1
    assert len({r.worker for r in ran}) == 2
    assert sorted(r.number for r in seen) == sorted(r.number for r in ran)
    assert len({r.run_dir for r in ran}) == 3


def test_pruner_stops_a_trial_that_learns_nothing(tmp_path):
    graph = iris_mlp({"dimensions": [{"target": "lr", "choices": [0.02, 0.01, 1e-7]}], "sampler": "grid",
                      "objective": {"metric": "val_loss"}}, epochs=30)
    result = run_sweep(graph, tmp_path)

    assert [r.state for r in result.rows] == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert result.rows[2].epochs < 30
    assert result.rows[2].run_dir is not None


def test_stop_token_ends_the_sweep_and_the_stopped_trial_does_not_count(tmp_path):
    graph = iris_mlp({"dimensions": [{"target": "fc1.units", "choices": [4, 8, 16]}], "sampler": "grid"},
                     epochs=1000)
    stop = threading.Event()

    def stop_after_first_epoch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
                r.state == "RUNNING" and r.value is not None for r in load_sweep(graph, tmp_path)):
            time.sleep(0.05)
        stop.set()

    watcher = threading.Thread(target=stop_after_first_epoch, daemon=True)
    watcher.start()
    result = run_sweep(graph, tmp_path, stop=stop)

    stopped = [r for r in result.rows if r.state == "FAIL"]
    assert len(stopped) == 1 and stopped[0].error == "stopped before it finished"
    assert 1 <= stopped[0].epochs < 1000
    # Its grid point is queued again, so the next run of the sweep still visits every width.
    waiting = {r.params["fc1.units"] for r in result.rows if r.state == "WAITING"}
    assert waiting == {4, 8, 16}


def test_sweep_report_prints_the_trials_table_and_the_pareto_front(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    graph = iris_mlp({"dimensions": [{"target": "fc1.units", "choices": [2, 8, 32]}], "sampler": "grid"}, epochs=3)
    path = tmp_path / "iris.json"
    graph.save(path)
    assert main(["sweep", str(path), "--trials", "3"]) == 0
    capsys.readouterr()

    assert main(["sweep-report", str(path)]) == 0
    out = capsys.readouterr().out
    rows = load_sweep(graph, tmp_path)
    assert len(rows) == 3
    table, front = out.split("Pareto front")
    for row in rows:
        assert f"{row.params_count:,}" in table and f"{row.value:.4g}" in table
    front_rows = [line for line in front.splitlines() if line.startswith("│")]
    expected = pareto_front(rows, "minimize")  # the objective defaults to the monitor, val_loss
    assert [line.split("│")[1].strip() for line in front_rows] == [str(r.number) for r in expected]


def test_pareto_front_keeps_only_undominated_trials():
    rows = [TrialRow(0, "COMPLETE", 0.90, params_count=1000), TrialRow(1, "COMPLETE", 0.85, params_count=200),
            TrialRow(2, "COMPLETE", 0.80, params_count=500), TrialRow(3, "COMPLETE", 0.95, params_count=5000),
            TrialRow(4, "FAIL", None, params_count=10), TrialRow(5, "COMPLETE", 0.90, params_count=1000)]
    assert [r.number for r in pareto_front(rows)] == [1, 0, 5, 3]
    assert [r.number for r in pareto_front(rows, "minimize")] == [1, 2]


def test_sweep_section_errors_name_the_problem():
    with pytest.raises(SweepError, match="no node named or with id 'nope'"):
        SweepConfig.from_graph(iris_mlp({"dimensions": [{"target": "nope.units", "low": 1, "high": 4}]}))
    with pytest.raises(SweepError, match="has no param 'width'"):
        SweepConfig.from_graph(iris_mlp({"dimensions": [{"target": "fc1.width", "low": 1, "high": 4}]}))
    with pytest.raises(SweepError, match="grid sweep needs"):
        SweepConfig.from_graph(iris_mlp({"dimensions": [{"target": "lr", "low": 0.001, "high": 0.1}],
                                         "sampler": "grid"}))
    config = SweepConfig.from_graph(iris_mlp({"dimensions": [{"target": "n2.units", "low": 4, "high": 64, "log": True},
                                                             {"target": "lr", "low": 1e-4, "high": 0.1}]}))
    assert [d.target for d in config.dimensions] == ["fc1.units", "training.lr"]
    assert [d.kind for d in config.dimensions] == ["int", "float"]
    assert (config.metric, config.direction, config.trials) == ("val_loss", "minimize", 20)


def test_a_changed_search_space_does_not_mix_into_an_existing_sweep(tmp_path):
    graph = iris_mlp({"dimensions": [{"target": "fc1.units", "choices": [4]}], "sampler": "grid"}, epochs=1)
    run_sweep(graph, tmp_path)
    graph.sweep["dimensions"][0]["choices"] = [4, 8]
    with pytest.raises(SweepError, match="another search space"):
        run_sweep(graph, tmp_path)
    graph.sweep["name"] = "wider"
    assert [r.params["fc1.units"] for r in run_sweep(graph, tmp_path).rows] == [4, 8]
    names = optuna.get_all_study_names(f"sqlite:///{tmp_path / 'runs' / 'sweeps.db'}")
    assert sorted(names) == ["mlp-classifier-iris", "wider"]
