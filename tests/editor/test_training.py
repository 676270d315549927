"""Training from the editor, end to end: a short digits run started from the GUI, live plots, evaluation,
ONNX export from the dialog, pause/stop/resume, and a failing run that leaves the window open."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.data import load_data
from engine.templates import load_project

TIMEOUT_MS = 240_000


def small_lenet(epochs: int = 2, **training):
    graph = load_project("lenet")
    graph.training.update({"epochs": epochs, "batch_size": 64, "schedule": "none", "events": {"summaries_every": 5},
                           **training})
    return graph


def workspace_of(window, backend: str = "thread"):
    """The main window's training workspace; tests use the thread worker (it starts faster) unless they say."""
    ws = window.training
    ws.runner.backend = backend
    return ws


@pytest.fixture
def workspace(window):
    window.controller.load_graph(small_lenet())
    return workspace_of(window)


def wait_idle(qtbot, ws) -> None:
    qtbot.waitUntil(lambda: not ws.runner.busy, timeout=TIMEOUT_MS)


def test_digits_run_from_the_gui_plots_every_epoch_evaluates_and_exports_onnx(workspace, qtbot, window, tmp_path):
    ws = workspace
    qtbot.mouseClick(ws.training_panel.start_button, Qt.MouseButton.LeftButton)
    assert ws.runner.state == "running"
    wait_idle(qtbot, ws)
    assert ws.runner.last_outcome.reason == "completed"

    # the plots got points from every epoch, per epoch and per batch
    points = ws.live.points_per_epoch()
    for key in ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "val_f1"):
        assert points[key] == [1, 2], key
    xs, _ = ws.live.curves["val_accuracy"].getData()
    assert list(xs) == [1, 2]
    batch_x, batch_y = ws.live.curves["batch_smooth"].getData()
    assert any(x <= 1 for x in batch_x) and any(1 < x <= 2 for x in batch_x)
    assert np.isfinite(batch_y).all()
    assert ws.live.curves["lr"].getData()[0] is not None
    assert ws.live._grad_curves, "gradient norms were plotted"
    assert "finished after 2 epoch" in ws.live.progress.format()
    assert ws.live.progress.value() == ws.live.progress.maximum(), "a completed run's bar is full"
    assert ws.activations.history, "activation summaries arrived"
    conv = next(nid for nid, n in window.controller.graph.nodes.items() if n.name == "conv1")
    ws.activations.select(conv)
    assert any(label.isVisibleTo(ws.activations) for label in ws.activations._thumb_labels), "conv feature maps"
    assert "mean" in ws.activations.stats.text()
    relus = [nid for nid, n in window.controller.graph.nodes.items() if n.type == "ReLU"]
    assert relus and all(window.controller.node_badge(nid).endswith("% dead") for nid in relus), "live badges"

    # evaluation runs by itself after a completed run: the confusion matrix counts the whole test split
    qtbot.waitUntil(lambda: ws.evaluation_result is not None, timeout=TIMEOUT_MS)
    test_size = len(load_data(window.controller.graph.data, seed=0).test)
    counts = ws.evaluation.confusion_matrix()
    assert counts.shape == (10, 10)
    assert counts.sum() == test_size
    ws.evaluation.normalized.setChecked(True)
    rows = ws.evaluation.confusion_matrix(normalized=True).sum(axis=1)
    assert np.allclose(rows, 1.0)
    assert ws.evaluation.table.rowCount() == 10
    assert len(ws.evaluation_result.roc) == 10 and ws.evaluation.roc.isVisibleTo(ws.evaluation)
    assert ws.evaluation.wrong_grid.count() > 0

    # the run is in the history, and its curve can be overlaid
    ws.show_runs()
    assert ws.history.table.rowCount() == 1
    ws.history.select_rows([0])
    ws.history.metric_box.setCurrentText("val_loss")
    items = [i for i in ws.history.plot.getPlotItem().listDataItems() if i.name()]
    assert [len(i.getData()[0]) for i in items] == [2]

    # ONNX export from the dialog passes its onnxruntime check
    dialog = ws.open_export()
    dialog.set_format("onnx")
    dialog.path_edit.setText(str(tmp_path / "digits.onnx"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result is not None or dialog.error is not None, timeout=TIMEOUT_MS)
    assert dialog.error is None
    assert dialog.result.check["passed"] is True
    assert (tmp_path / "digits.onnx").is_file()
    assert "Check passed" in dialog.status.text()


def test_pause_stop_and_resume_from_the_checkpoint(window, qtbot):
    ws = workspace_of(window)
    window.controller.load_graph(small_lenet(epochs=3, batch_size=16,
                                             events={"summaries": False, "batch_rate_hz": 1000}))
    panel = ws.training_panel
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ws.live.series.last_batch is not None, timeout=TIMEOUT_MS)

    def paused_step() -> int:
        qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
        assert ws.runner.state == "paused" and panel.resume_button.isEnabled()
        qtbot.wait(300)
        step = ws.live.series.last_batch.step
        qtbot.wait(500)
        assert ws.live.series.last_batch.step == step, "no batches while paused"
        return step

    step = paused_step()
    qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    assert ws.runner.state == "running"
    qtbot.waitUntil(lambda: ws.live.series.last_batch.step > step, timeout=TIMEOUT_MS)
    paused_step()
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, ws)
    stopped = ws.runner.last_outcome
    assert stopped.reason == "stopped" and stopped.epochs_done < 3
    assert panel.resume_button.isEnabled() and panel.start_button.isEnabled()
    run_path = ws.runner.run_path

    qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, ws)
    done = ws.runner.last_outcome
    assert done.reason == "completed" and done.epochs_done == 3
    assert ws.runner.run_path == run_path, "the stopped run continued in its own folder"
    assert ws.live.points_per_epoch()["val_loss"][-1] == 3


@pytest.mark.parametrize("backend", ["thread", "process"])
def test_a_nan_run_shows_its_message_and_the_window_stays(window, qtbot, answers, backend):
    ws = workspace_of(window, backend)
    window.controller.load_graph(small_lenet(epochs=2, lr=1e12, optimizer="sgd", momentum=0.0))
    qtbot.mouseClick(ws.training_panel.start_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, ws)
    assert "NaN or infinite" in ws.runner.last_outcome.message
    assert any(s.startswith("Training failed") and "NaN or infinite" in s for s in answers.shown)
    assert window.isVisible()
    assert ws.training_panel.start_button.isEnabled()
    assert "failed" in ws.live.progress.format()


def test_a_run_that_cannot_start_reports_why(window, qtbot, answers):
    ws = workspace_of(window)
    graph = small_lenet()
    graph.training["monitor"] = "val_mae"
    window.controller.load_graph(graph)
    first = next(iter(graph.nodes))
    window.controller.set_node_badge(first, "NaN 2", "#e5534b")
    ws.train()
    assert window.controller.node_badge(first) == "", "a new run starts with no badges"
    assert ws.views_dock.isVisible() and not ws.views_dock.visibleRegion().isEmpty(), "the plots come to the front"
    assert ws.tabs.currentWidget() is ws._pages[ws.live]
    wait_idle(qtbot, ws)
    assert "val_mae" in ws.runner.last_outcome.message
    assert any("Training failed" in s for s in answers.shown)
