"""The Runs tab on real run folders: the project's runs and its sweep trials (marked with their study), curves
overlaid, a run's graph opened in a window, and the canvas replaced by a run's graph after asking."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from editor.training.run_history import project_runs
from engine.graph import Graph
from engine.runs import create_run, open_run
from engine.sweep import run_sweep
from engine.train.trainer import Trainer

PROJECT = "iris runs"
STUDY = "width"
COLUMN_STATUS, COLUMN_EPOCHS = 2, 3


def iris_mlp(name: str = PROJECT, units: int = 16) -> Graph:
    """Input(4) -> Dense(units) -> ReLU -> Dense(3) -> Output on iris, 2 quiet epochs, a grid sweep over the width."""
    graph = Graph(name=name, data={"source": "builtin", "name": "iris"},
                  training={"epochs": 2, "batch_size": 32, "schedule": "none",
                            "events": {"summaries": False, "batch_rate_hz": 1.0}},
                  sweep={"name": STUDY, "dimensions": [{"target": "hidden.units", "choices": [4, 8]}],
                         "sampler": "grid", "objective": {"metric": "val_accuracy"}, "epochs": 1})
    chain = [graph.add_node("Input", "features", {"kind": "features", "features": 4}),
             graph.add_node("Dense", "hidden", {"units": units}), graph.add_node("ReLU", "act"),
             graph.add_node("Dense", "logits", {"units": 3}), graph.add_node("Output", "species", {"task": "multiclass"})]
    for a, b in zip(chain, chain[1:], strict=False):
        graph.connect(a.id, b.id)
    return graph


def train_run(graph: Graph, run_dir: Path) -> Path:
    """A real run folder: `graph` trained for its epochs the way `deepwire train` does."""
    run = create_run(graph, run_dir)
    Trainer(graph, run=run).fit()
    return run.path


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """Two runs and a two-trial sweep of PROJECT, plus a run and a trial folder of another project."""
    root = tmp_path_factory.mktemp("project")
    run_dir = root / "runs"
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train_run(iris_mlp(), run_dir)
        train_run(iris_mlp(units=24), run_dir)
        rows = run_sweep(iris_mlp(), root).rows
        assert [r.state for r in rows] == ["COMPLETE", "COMPLETE"]
        other = iris_mlp("other net")
        train_run(other, run_dir)
        create_run(other, run_dir / "sweep-other-net", "trial-0000")  # the layout the sweep worker writes
    finally:
        torch.set_num_threads(before)
    return run_dir


def runs_tab(window, run_dir: Path, graph: Graph | None = None):
    """The main window's Runs tab in front, on `run_dir`, with PROJECT (or `graph`) on the canvas."""
    window.controller.load_graph(graph or iris_mlp())
    ws = window.training
    ws.views_dock.show()
    ws.tabs.setCurrentIndex(next(i for i in range(ws.tabs.count()) if ws.tabs.tabText(i) == "Runs"))
    ws.history.set_run_dir(run_dir)
    return ws.history


def row_of(history, sweep: str) -> int:
    """The table row whose sweep column reads `sweep` ('width · trial 1'; '–' is a plain run)."""
    column = [history.table.horizontalHeaderItem(c).text() for c in range(history.table.columnCount())].index("sweep")
    rows = [r for r in range(history.table.rowCount()) if history.table.item(r, column).text() == sweep]
    assert len(rows) == 1 or sweep == "–", f"{sweep!r} in {rows}"
    return rows[0]


def click(qtbot, button) -> None:
    assert button.isEnabled() and button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_project_runs_include_the_projects_sweep_trials_and_nothing_of_other_projects(runs):
    found = project_runs(runs, PROJECT)
    plain = [r for r in found if r.study is None]
    trials = [r for r in found if r.study is not None]
    assert len(plain) == 2 and all("iris-runs" in r.id for r in plain)
    assert sorted(r.graph.by_name("hidden").params["units"] for r in trials) == [4, 8]
    assert {r.study for r in trials} == {STUDY} and all(r.path.parent.name == f"sweep-{STUDY}" for r in trials)
    assert [r.id for r in found] == sorted(r.id for r in found), "oldest first"
    other = project_runs(runs, "other net")
    assert [r.study for r in other] == [None, "other-net"]


def test_the_runs_tab_lists_trials_with_their_study_and_overlays_them_with_runs(window, runs):
    history = runs_tab(window, runs)
    assert history.table.rowCount() == 4
    assert "2 run(s) and 2 sweep trial(s) of “iris runs”" in history.where.text()
    trial = row_of(history, f"{STUDY} · trial 1")
    run = row_of(history, "–")
    assert history.table.item(trial, 0).text().endswith("-trial-0001")
    assert history.table.item(trial, COLUMN_STATUS).text() == "completed"
    assert history.table.item(trial, COLUMN_EPOCHS).text() == "1"
    assert history.table.item(run, COLUMN_EPOCHS).text() == "2"

    history.select_rows([trial, run])
    history.metric_box.setCurrentText("val_loss")
    curves = {item.name(): list(item.getData()[0]) for item in history.plot.getPlotItem().listDataItems()
              if item.name()}
    assert curves == {f"sweep {STUDY} · trial 1": [1], history.table.item(run, 0).text(): [1, 2]}
    assert "val_loss of 2 run(s)" in history.plot.getPlotItem().titleLabel.text

    history.trials_box.setChecked(False)
    assert history.table.rowCount() == 2
    assert all(history.table.item(r, 1).text() == "–" for r in range(2))
    assert "2 sweep trial(s) (hidden)" in history.where.text()
    history.trials_box.setChecked(True)
    assert history.table.rowCount() == 4


def test_open_shows_a_trials_graph_in_a_new_window_and_leaves_the_canvas_alone(window, qtbot, runs):
    history = runs_tab(window, runs)
    before = window.controller.graph.to_dict()
    assert not history.open_button.isEnabled(), "nothing selected"
    history.select_rows([0, 1])
    assert not history.open_button.isEnabled(), "two selected"

    trial = row_of(history, f"{STUDY} · trial 0")
    history.select_rows([trial])
    click(qtbot, history.open_button)
    assert len(history.windows) == 1
    opened = history.windows[0]
    qtbot.waitExposed(opened)
    snapshot = open_run(history.summaries[trial].run.path).graph
    assert opened.controller.graph.to_dict() == snapshot.to_dict()
    assert opened.controller.graph.by_name("hidden").params["units"] == 4
    assert opened.windowTitle() == f"Run snapshot: sweep {STUDY} · trial 0"
    assert window.controller.graph.to_dict() == before

    history.select_rows([row_of(history, "–")])
    click(qtbot, history.open_button)
    assert len(history.windows) == 2 and history.windows[1] is not opened
    title = history.windows[1].windowTitle()
    assert title.startswith("Run snapshot: ") and title.endswith(history.summaries[row_of(history, "–")].run.id)


def edited_canvas(window) -> dict:
    """Make one undoable edit on the canvas (hidden units 16 -> 20); the graph as it is then."""
    hidden = window.controller.graph.by_name("hidden").id
    window.controller.set_param(hidden, "units", 20)
    assert window.controller.undo_stack.canUndo() and window.document.modified
    return window.controller.graph.to_dict()


def test_replace_cancelled_keeps_the_graph_and_its_undo_history(window, qtbot, answers, runs):
    history = runs_tab(window, runs)
    edited = edited_canvas(window)
    history.select_rows([row_of(history, f"{STUDY} · trial 1")])
    answers.queue.append(QMessageBox.StandardButton.No)
    click(qtbot, history.replace_button)
    assert answers.asked == [f"Replace the current graph?: Replace the graph on the canvas with the snapshot of run "
                             f"sweep {STUDY} · trial 1? This cannot be undone: the canvas's undo history is cleared. "
                             "The project file changes only when you save."]
    assert window.controller.graph.to_dict() == edited
    window.controller.undo()
    assert window.controller.graph.by_name("hidden").params["units"] == 16, "the edit can still be undone"


def test_replace_accepted_loads_the_runs_graph_as_unsaved_work_that_undo_does_not_revert(window, qtbot, answers,
                                                                                          runs):
    history = runs_tab(window, runs)
    edited_canvas(window)
    trial = row_of(history, f"{STUDY} · trial 1")
    history.select_rows([trial])
    snapshot = open_run(history.summaries[trial].run.path).graph
    answers.queue.append(QMessageBox.StandardButton.Yes)
    click(qtbot, history.replace_button)
    assert len(answers.asked) == 1
    graph = window.controller.graph
    assert graph.to_dict() == snapshot.to_dict()
    assert graph.by_name("hidden").params["units"] == 8 and graph.training["epochs"] == 1
    assert set(window.controller.view.nodes) == set(graph.nodes), "the canvas shows the run's nodes"
    # as the question says: not undoable, and unsaved until the user saves
    assert not window.controller.undo_stack.canUndo()
    window.controller.undo()
    assert window.controller.graph.to_dict() == snapshot.to_dict()
    assert window.document.modified and "*" in window.windowTitle()
    assert history.table.rowCount() == 4, "the trial's graph is still the same project: its runs stay listed"


def test_the_runs_tab_shows_each_runs_state_with_the_reason_and_keeps_a_corrupt_one(tmp_path):
    from editor.training.run_history import summarize
    from engine import runstate

    done = open_run(train_run(iris_mlp(), tmp_path))
    nodata = iris_mlp()
    nodata.data = {}
    never = create_run(nodata, tmp_path)
    with pytest.raises(Exception, match="no data section"):
        Trainer(nodata, run=never)
    broken = create_run(iris_mlp(), tmp_path)
    (broken.path / "project.json").write_text("{ cut")
    summaries = {s.run.path: s for s in map(summarize, (done, never, broken))}
    assert summaries[done.path].status == "completed" and summaries[done.path].epochs_done == 2
    assert summaries[never.path].status == "failed" and "no data section" in summaries[never.path].message
    assert summaries[broken.path].status == "corrupt" and "project.json" in summaries[broken.path].message
    assert runstate.read_state(never).state == "failed"
