"""Sweeps from the editor: the dialog edits the sweep section undoably, runs a tiny grid sweep on iris with
live rows, stops, and opens a trial; the results view marks the Pareto front; "sweep this" adds a dimension."""

from __future__ import annotations

import math
import os
import signal
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from editor.files import data_dir
from editor.sweep.results import ResultsView
from engine.runs import open_run
from engine.sweep import TrialRow
from engine.templates import load_project

TIMEOUT_MS = 120_000
QUIET = {"events": {"summaries": False, "batch_rate_hz": 1.0}}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train fastest on one thread (and CI has two cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def dialog(window, qtbot):
    """The sweep dialog over the iris MLP (one epoch per trial unless a test says otherwise)."""
    graph = load_project("mlp")
    graph.training.update(epochs=1, batch_size=32, **QUIET)
    window.document.new(graph)
    dlg = window.sweeps.show_dialog()
    qtbot.waitExposed(dlg)
    yield dlg
    dlg.shutdown()


def settle(qtbot) -> None:
    qtbot.wait(20)  # the dialog refreshes on a zero-delay timer after each edit


def pick(combo, data) -> None:
    """Choose the item holding `data` (or showing it) as a user would: the activated signal fires."""
    index = combo.findData(data)
    index = index if index >= 0 else combo.findText(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def add_width_grid(dlg, qtbot, choices: str = "4, 32") -> None:
    """Through the widgets: add fc1.units, make it a list of choices, grid sampler."""
    pick(dlg.add_target, "fc1.units")
    qtbot.mouseClick(dlg.add_button, Qt.MouseButton.LeftButton)
    settle(qtbot)
    pick(dlg.dimensions.cellWidget(0, 1), "choices")
    settle(qtbot)
    edit = dlg.dimensions.cellWidget(0, 5)
    edit.setText(choices)
    edit.editingFinished.emit()
    pick(dlg.sampler, "grid")
    settle(qtbot)


def test_dialog_runs_a_grid_of_two_dense_widths_and_the_table_fills_live(dialog, window, qtbot, answers):
    add_width_grid(dialog, qtbot)
    assert window.controller.graph.sweep == {"dimensions": [{"target": "fc1.units", "choices": [4, 32]}],
                                             "sampler": "grid"}
    assert "grid of 2 points" in dialog.status.text()
    live: list[TrialRow] = []
    dialog.job.trial_finished.connect(live.append)

    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.job.busy and not dialog.start_button.isEnabled() and dialog.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.job.busy, timeout=TIMEOUT_MS)

    assert [r.number for r in live] == [0, 1]
    table = dialog.results.table.model()
    assert table.rowCount() == 2
    cells = [[table.index(r, c).data() for c in range(table.columnCount())] for r in range(2)]
    headers = [table.headerData(c, Qt.Orientation.Horizontal) for c in range(table.columnCount())]
    assert headers[-1] == "fc1.units"
    assert [row[-1] for row in cells] == ["4", "32"]
    assert all(row[1].startswith("COMPLETE") for row in cells)
    rows = dialog.results.rows
    assert rows[0].params_count < rows[1].params_count
    for row in rows:
        run = open_run(row.run_dir)
        assert Path(row.run_dir).is_relative_to(data_dir() / "runs")  # unsaved project: the user data folder
        assert run.graph.by_name("fc1").params["units"] == row.params["fc1.units"]
    assert "Done: 2 trial(s)" in dialog.status.text()
    assert dialog.start_button.isEnabled() and not dialog.stop_button.isEnabled()

    # "open this trial": the unsaved dialog edits are offered for saving first, then the trial's graph is shown
    dialog.results.select_trial(1)
    assert dialog.results.open_button.isEnabled()
    qtbot.mouseClick(dialog.results.open_button, Qt.MouseButton.LeftButton)
    assert any(q.startswith("Unsaved changes") for q in answers.asked)
    assert window.controller.graph.by_name("fc1").params["units"] == 32
    assert window.training.selected_run == Path(rows[1].run_dir)
    assert window.document.modified


def test_stop_ends_the_running_trial_and_the_sweep(dialog, window, qtbot):
    add_width_grid(dialog, qtbot)
    dialog.epochs.setValue(500)  # far longer than the test waits
    assert window.controller.graph.sweep["epochs"] == 500
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    trials = data_dir() / "runs"
    qtbot.waitUntil(lambda: any(p.name.startswith("sweep-") and any(p.iterdir())
                                for p in trials.glob("sweep-*")), timeout=TIMEOUT_MS)
    qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
    assert "Stopping" in dialog.status.text() and not dialog.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.job.busy, timeout=TIMEOUT_MS)

    stopped = [r for r in dialog.results.rows if r.state == "FAIL"]
    assert len(stopped) == 1 and "stopped" in stopped[0].error
    assert not [r for r in dialog.results.rows if r.state == "COMPLETE"]
    assert dialog.start_button.isEnabled()


def test_sweep_this_param_adds_a_dimension_for_the_selected_node(window, qtbot):
    window.document.new(load_project("mlp"))
    fc2 = window.controller.graph.by_name("fc2")
    window.controller.select_node(fc2.id)
    label = next(w for w in window.properties.findChildren(QLabel)
                 if w.text() == "units" and w.actions())
    action = label.actions()[0]
    assert action.text() == "Sweep this param…"
    action.trigger()
    dlg = window.sweeps.dialog
    assert dlg is not None and dlg.isVisible()
    assert window.controller.graph.sweep["dimensions"] == [
        {"target": "fc2.units", "type": "int", "low": 8, "high": 32, "log": False}]
    settle(qtbot)
    assert dlg.dimensions.rowCount() == 1
    assert dlg.dimensions.cellWidget(0, 0).currentData() == "fc2.units"
    assert dlg.dimensions.cellWidget(0, 2).text() == "8"

    action.trigger()  # a second time: the same dimension, not a duplicate
    assert len(window.controller.graph.sweep["dimensions"]) == 1
    window.controller.undo()
    assert window.controller.graph.sweep == {}
    settle(qtbot)
    assert dlg.dimensions.rowCount() == 0
    dlg.shutdown()


def test_dialog_edits_are_undoable_and_the_fields_follow(dialog, window, qtbot):
    c = window.controller
    add_width_grid(dialog, qtbot)
    edits = c.undo_stack.count()
    dialog.trials.setValue(7)
    dialog.pruning.setChecked(False)
    dialog.storage.setText("sqlite:////tmp/elsewhere.db")
    dialog.storage.editingFinished.emit()
    pick(dialog.direction, "maximize")
    settle(qtbot)
    sweep = c.graph.sweep
    assert sweep["budget"] == {"trials": 7, "minutes": None}
    assert sweep["pruning"] is False and sweep["storage"] == "sqlite:////tmp/elsewhere.db"
    assert sweep["objective"] == {"metric": "val_loss", "direction": "maximize"}
    assert c.undo_stack.count() == edits + 4

    for _ in range(4):
        c.undo()
    settle(qtbot)
    assert set(c.graph.sweep) == {"dimensions", "sampler"}
    assert dialog.trials.value() == 20 and dialog.pruning.isChecked() and dialog.storage.text() == ""
    assert dialog.direction.currentText() == "minimize"
    c.undo()  # the grid sampler
    c.undo()  # the choices
    settle(qtbot)
    assert c.graph.sweep["dimensions"] == [{"target": "fc1.units", "choices": [8, 32]}]
    assert dialog.dimensions.cellWidget(0, 5).text() == "8, 32"
    c.redo()
    settle(qtbot)
    assert dialog.dimensions.cellWidget(0, 5).text() == "4, 32"


def test_an_empty_sweep_asks_for_a_dimension_in_words_not_json(dialog, qtbot):
    settle(qtbot)
    text = dialog.status.text()
    assert "Add a dimension" in text and "Add dimension" in text
    assert "{" not in text and "&quot;" not in text and '"target"' not in text
    assert not dialog.start_button.isEnabled()


def test_a_section_that_cannot_run_says_why_and_start_is_off(dialog, window, qtbot):
    pick(dialog.add_target, "training.lr")
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    pick(dialog.sampler, "grid")
    settle(qtbot)
    assert "grid sweep needs 'choices'" in dialog.status.text()
    assert not dialog.start_button.isEnabled()
    pick(dialog.sampler, "random")
    settle(qtbot)
    assert "Ready: 20 trials" in dialog.status.text() and dialog.start_button.isEnabled()


def rows_for_pareto() -> list[TrialRow]:
    return [TrialRow(0, "COMPLETE", 0.90, {"fc1.units": 16}, 100, 1.0),
            TrialRow(1, "COMPLETE", 0.80, {"fc1.units": 4}, 50, 1.0),
            TrialRow(2, "COMPLETE", 0.70, {"fc1.units": 32}, 200, 1.0),  # bigger and worse than trial 0
            TrialRow(3, "FAIL", None, {"fc1.units": 2}, None, 0.1, error="invalid for these values"),
            TrialRow(4, "COMPLETE", 0.95, {"fc1.units": 64}, 300, 2.0)]


def test_results_view_highlights_the_pareto_front_and_sorts(qtbot):
    view = ResultsView()
    qtbot.addWidget(view)
    view.set_rows(rows_for_pareto(), "val_accuracy", "maximize")
    front = view.front_points
    assert list(zip(front.xData, front.yData, strict=True)) == [(50, 0.80), (100, 0.90), (300, 0.95)]
    assert len(view.size_points.xData) == 4
    axis = view.by_size.getPlotItem().getAxis("bottom")  # log scale, labelled on 1-2-5 steps only
    assert axis.tickStrings([math.log10(50), math.log10(60), 2, 3, math.log10(2e6)], 1, 1) == ["50", "", "100", "1k",
                                                                                             "2M"]
    legend = view.by_size.getPlotItem().legend
    assert legend.isVisible() and "Pareto front" in [label.text for _sample, label in legend.items]
    assert list(view.best_line.yData) == [0.90, 0.90, 0.90, 0.95]
    model = view.table.model()
    states = {model.index(r, 0).data(): model.index(r, 1).data() for r in range(model.rowCount())}
    assert states == {"0": "COMPLETE ★", "1": "COMPLETE ★", "2": "COMPLETE", "3": "FAIL", "4": "COMPLETE ★"}
    assert "best val_accuracy 0.95 (trial 4" in view.summary.text()

    view.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)  # objective, best first; the failed trial last
    assert [model.index(r, 0).data() for r in range(model.rowCount())][:4] == ["4", "0", "1", "2"]
    view.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)  # parameter count
    assert [model.index(r, 0).data() for r in range(4)] == ["1", "0", "2", "4"]
    view.select_trial(2)
    assert view.selected_row().number == 2

    view.set_rows(rows_for_pareto(), "val_loss", "minimize")  # lower is better: other trials make the front
    front = view.front_points
    assert list(zip(front.xData, front.yData, strict=True)) == [(50, 0.80), (200, 0.70)]
    assert "best val_loss 0.7 (trial 2" in view.summary.text()


@pytest.mark.slow  # a sweep process starts (torch and optuna load in it) before the kill
def test_a_sweep_whose_process_is_killed_mid_trial_is_reported_and_the_editor_keeps_working(dialog, window, qtbot):
    add_width_grid(dialog, qtbot)
    dialog.epochs.setValue(500)  # the first trial is still training when the process is killed
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    trials = data_dir() / "runs"
    qtbot.waitUntil(lambda: any(any(p.iterdir()) for p in trials.glob("sweep-*")), timeout=TIMEOUT_MS)
    pid = dialog.job._worker.process.pid
    assert pid != os.getpid(), "trials run in a child process, not in the editor"

    with qtbot.waitSignal(dialog.job.failed, timeout=TIMEOUT_MS) as failed:
        os.kill(pid, signal.SIGKILL)

    assert "sweep process ended unexpectedly" in failed.args[0] and "SIGKILL" in failed.args[0]
    assert "could not run" in dialog.status.text() and "SIGKILL" in dialog.status.text()
    assert not dialog.job.busy and dialog.start_button.isEnabled() and not dialog.stop_button.isEnabled()
    # the editor is alive and usable: an edit lands in the project and undoes
    dialog.epochs.setValue(3)
    assert window.controller.graph.sweep["epochs"] == 3
    window.controller.undo_stack.undo()  # (merged with the earlier epochs edit: one step back to no epochs key)
    assert window.controller.graph.sweep.get("epochs") != 3
    window.controller.undo_stack.redo()
    assert window.controller.graph.sweep["epochs"] == 3 and dialog.epochs.value() == 3
