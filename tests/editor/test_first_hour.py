"""The first hour in the editor (issue 16): what a newcomer meets off the "Train this" path."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from engine.datacheck import MATCH_DATA
from engine.graph import Graph
from engine.templates import blank_project

TIMEOUT_MS = 120_000


def wire_blank(controller, types=("Input", "Flatten", "Dense", "Output")) -> list[str]:
    """Add layers the way the palette does (one after another at the view centre) and wire them in a row."""
    ids = [controller.add_node(t) for t in types]
    for a, b in zip(ids, ids[1:], strict=False):
        controller.connect(a, b)
    return ids


def wait_data(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.controller.data_info is not None, timeout=TIMEOUT_MS)


# ---- 1: data and graph checked together --------------------------------------------------------
def test_a_default_input_on_digits_is_not_valid_and_is_fixed_from_the_node(window, qtbot):
    window.controller.load_graph(blank_project())
    c = window.controller
    ids = [c.graph.add_node(t).id for t in ("Input", "Flatten", "Dense", "Output")]  # added before the data loaded
    for a, b in zip(ids, ids[1:], strict=False):
        c.graph.connect(a, b)
    c.load_graph(c.graph)
    wait_data(qtbot, window)
    assert "✖" in window.valid_label.text(), "a default Input (1×28×28) on 8×8 digits is not '✓ valid'"
    problems = c.validation.problems_for(ids[0])
    assert problems and problems[0].fix == MATCH_DATA
    note = c.view.nodes[ids[0]].view.note_item
    assert note is not None and note.isVisible() and "(N, 1, 8, 8)" in note.text and note.fix == "Match the data"
    note.click_fix()
    qtbot.waitUntil(lambda: c.graph.nodes[ids[0]].params["height"] == 8)
    assert c.graph.nodes[ids[2]].params["units"] == 10, "the last layer gets one unit per class"
    assert c.validation.ok and "valid" in window.valid_label.text()
    assert not c.view.nodes[ids[0]].view.note_item.isVisible()


def test_a_new_input_follows_the_chosen_dataset(window, qtbot):
    window.controller.load_graph(blank_project())
    wait_data(qtbot, window)
    ids = wire_blank(window.controller)
    inp = window.controller.graph.nodes[ids[0]]
    assert (inp.params["channels"], inp.params["height"], inp.params["width"]) == (1, 8, 8)
    assert window.controller.graph.nodes[ids[-1]].params["task"] == "multiclass"


def test_train_refuses_an_invalid_project_without_a_run_folder(window, qtbot, tmp_path):
    ws = window.training
    ws.runner.backend = "thread"
    window.controller.load_graph(blank_project())
    c = window.controller
    ids = [c.graph.add_node(t).id for t in ("Input", "Flatten", "Dense", "Output")]
    for a, b in zip(ids, ids[1:], strict=False):
        c.graph.connect(a, b)
    c.load_graph(c.graph)
    wait_data(qtbot, window)
    ws.train()
    assert not ws.runner.busy and "Not started" in ws.training_panel.status.text()
    assert c.selected_ids() == [ids[0]], "the first problem's node is selected"
    assert not list(ws.run_dir().glob("*")), "no failed run folder is left behind"


# ---- 7: problems readable and fixable on the node ----------------------------------------------
def test_a_shape_error_shows_its_message_and_fix_on_the_node(window, qtbot):
    c = window.controller
    c.load_graph(Graph(name="x"))
    conv = c.add_node("Conv2d")
    dense = c.add_node("Dense")
    inp = c.add_node("Input")
    c.connect(inp, conv)
    c.connect(conv, dense)
    note = c.view.nodes[dense].view.note_item
    assert note is not None and note.isVisible() and note.fix.startswith("Insert")
    assert note.text and note.text[0].isupper()
    c.fit_view()
    # the note is drawn at screen size at any zoom: map its pill through its device transform
    viewport_pos = note.deviceTransform(c.widget.viewportTransform()).map(note.fix_rect().center()).toPoint()
    qtbot.mouseClick(c.widget.viewport(), Qt.MouseButton.LeftButton, pos=viewport_pos)
    qtbot.waitUntil(lambda: any(n.type == "Flatten" for n in c.graph.nodes.values()))
    assert c.validation.problems_for(dense) == []


# ---- 2: one runs folder per project ------------------------------------------------------------
def trained_run(graph: Graph, folder):
    """A real (one short epoch) run of `graph` in `folder`, trained by the engine."""
    from engine.runs import create_run
    from engine.train.trainer import Trainer

    graph = graph.copy()
    graph.training.update({"epochs": 1, "batch_size": 64, "events": {"summaries": False}})
    trainer = Trainer(graph, run=create_run(graph, folder))
    trainer.fit()
    return trainer.run


def mlp():
    from engine.templates import load_project

    return load_project("mlp")


def test_runs_of_an_unsaved_project_move_along_on_first_save_and_every_view_lists_them(window, qtbot, tmp_path):
    ws = window.training
    window.document.new(mlp())
    unsaved = ws.run_dir()
    assert unsaved.is_relative_to(tmp_path / "user-data"), "an unsaved project's runs live in the user data folder"
    run = trained_run(window.controller.graph, unsaved)
    stranger = Graph.from_dict({**window.controller.graph.to_dict(), "name": "someone else"})
    other = trained_run(stranger, unsaved)
    ws.history.refresh()
    assert [s.run.id for s in ws.history.summaries] == [run.id]

    project = tmp_path / "proj" / "mine.json"
    project.parent.mkdir()
    assert window._save_to(project)
    assert ws.run_dir() == project.parent / "runs"
    assert (project.parent / "runs" / run.id).is_dir() and not run.path.exists(), "the run moved with the project"
    assert other.path.is_dir(), "another unsaved project's runs stay"
    assert ws.history.run_dir == ws.run_dir() and run.id in [s.run.id for s in ws.history.summaries]

    window.document.new(Graph(name="Other"))
    assert ws.history.summaries == [] and ws.target_run() is None
    assert not ws.actions["predict"].isEnabled()
    window.open_file(project)
    assert ws.history.run_dir == project.parent / "runs"
    ws.show_runs()
    assert run.id in [s.run.id for s in ws.history.summaries], "the toolbar's Runs and the tab list one folder"
    assert ws.target_run() is not None and ws.target_run().parent == project.parent / "runs"
    assert ws.actions["predict"].isEnabled(), "Predict works on the reopened project's runs"
    dialog = ws.open_export()
    assert dialog is not None, "Export finds the run instead of 'Train the network first'"
    dialog.close()


# ---- 6: no stale state after switching project or starting a new run ----------------------------
def test_switching_project_clears_the_previous_runs_messages(window, qtbot):
    from engine.train.events import RunFinished

    ws = window.training
    ws.training_panel.status.setText("Finished after 20 epoch(s).")
    ws.live.add_events([RunFinished(20, {"val_loss": 0.1}, {"val_loss": 0.1}, 19, "completed", 3.0)])
    assert "Best epoch" in ws.live.stats.text()
    ws.selected_run = window.document.path  # anything: it must be forgotten
    window.document.new(Graph(name="Fresh"))
    assert ws.training_panel.status.text() == ""
    assert "Best epoch" not in ws.live.stats.text() and ws.live.progress.format() == "No run yet"
    assert ws.selected_run is None and ws.evaluation.result is None


# ---- 3: training that ends for any reason leaves a checkpoint that Resume continues --------------
def long_lenet():
    from engine.templates import load_project

    graph = load_project("lenet")
    graph.training.update({"epochs": 50, "batch_size": 16, "schedule": "none",
                           "events": {"summaries": False, "batch_rate_hz": 1000}})
    return graph


@pytest.mark.slow
def test_closing_during_training_asks_stops_with_a_checkpoint_and_resume_continues(qtbot, answers, tmp_path,
                                                                                 monkeypatch):
    from editor.main_window import MainWindow
    from editor.training import detached

    asked: list[str] = []
    monkeypatch.setattr(detached, "ask_about_run", lambda parent: asked.pop(0))

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    project = tmp_path / "lenet.json"
    window.document.new(long_lenet())
    assert window._save_to(project)
    ws = window.training
    ws.runner.backend = "thread"
    ws.train()
    qtbot.waitUntil(lambda: ws.live.series.last_batch is not None, timeout=TIMEOUT_MS)

    asked.append(detached.CANCEL)
    assert not window.close(), "Cancel keeps the window and the run"
    assert ws.runner.busy and not asked, "closing asked about the run"
    asked.append(detached.STOP)
    assert window.close()
    assert not ws.runner.busy and ws.runner.last_outcome.reason == "stopped"
    run = ws.runner.run_path
    assert (run / "checkpoints" / "last.json").is_file()

    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    again.open_file(project)
    ws2 = again.training
    ws2.runner.backend = "thread"
    assert ws2.resumable_run() == run and ws2.training_panel.resume_button.isEnabled()
    ws2.resume()
    qtbot.waitUntil(lambda: ws2.live.series.last_batch is not None, timeout=TIMEOUT_MS)
    assert ws2.runner.run_path == run, "Resume continues the same run folder"
    ws2.stop_and_wait()
    assert ws2.runner.last_outcome.reason == "stopped" and ws2.runner.last_outcome.epochs_done >= 0


@pytest.mark.slow
def test_a_training_process_told_to_end_stops_after_its_batch_and_keeps_a_checkpoint(window, qtbot):
    import os
    import signal

    ws = window.training
    ws.runner.backend = "process"
    window.controller.load_graph(long_lenet())
    ws.train()
    qtbot.waitUntil(lambda: ws.live.series.last_batch is not None, timeout=TIMEOUT_MS)
    os.kill(ws.runner._worker.process.pid, signal.SIGTERM)  # what an exiting (or crashing) editor's child gets
    qtbot.waitUntil(lambda: not ws.runner.busy, timeout=TIMEOUT_MS)
    assert ws.runner.last_outcome.reason == "stopped"
    assert (ws.runner.run_path / "checkpoints" / "last.json").is_file()
    assert ws.resumable_run() == ws.runner.run_path


# ---- 4: the canvas gets the room; docks remember their size; fit fits --------------------------
@pytest.mark.parametrize("size", [(1280, 800), (1440, 900)])
def test_the_canvas_gets_most_of_the_window_and_fit_shows_the_whole_graph(qtbot, size):
    from PySide6.QtWidgets import QApplication

    from editor.main_window import MainWindow
    from engine.templates import load_project

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    from editor.window_layout import apply_default_layout

    apply_default_layout(window)
    QApplication.processEvents()
    canvas = window.controller.widget.viewport()
    area = canvas.width() * canvas.height()
    assert area >= 0.36 * size[0] * size[1], (canvas.width(), canvas.height())  # was ~0.34 (670×530 at 1280×800)
    assert canvas.height() >= 0.6 * size[1]
    window.document.new(load_project("lenet"))
    window.training._show_tab(window.training.live)  # the training views open below, as when a run starts
    QApplication.processEvents()
    window.controller.fit_view()
    shown = window.controller.widget.mapToScene(canvas.rect()).boundingRect()
    assert all(shown.contains(window.controller.view.node_rect(n)) for n in window.controller.graph.nodes)


def test_dock_sizes_are_remembered_across_sessions(qtbot, answers):
    from PySide6.QtWidgets import QApplication

    from editor.main_window import MainWindow

    first = MainWindow()
    qtbot.addWidget(first)
    first.resize(1280, 800)
    first.show()
    first.resizeDocks([first.problems_dock], [340], Qt.Orientation.Vertical)
    first.resizeDocks([first.palette_dock], [210], Qt.Orientation.Horizontal)
    QApplication.processEvents()
    height, width = first.problems_dock.height(), first.palette_dock.width()
    assert first.close()
    again = MainWindow()
    qtbot.addWidget(again)
    again.resize(1280, 800)
    again.show()
    QApplication.processEvents()
    assert abs(again.problems_dock.height() - height) <= 4 and abs(again.palette_dock.width() - width) <= 4
    again.training._show_tab(again.training.live)
    QApplication.processEvents()
    assert abs(again.training.views_dock.height() - height) <= 4, "a run's views keep the user's (taller) size"


# ---- the newcomer's first hour, end to end --------------------------------------------------------
@pytest.mark.slow
def test_newcomer_blank_project_to_a_reopened_project_with_its_runs(qtbot, answers, tmp_path):
    from PySide6.QtWidgets import QApplication

    from editor.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.new_blank()
    wait_data(qtbot, window)
    c, ws = window.controller, window.training
    ws.runner.backend = "thread"
    for type_id in ("Input", "Flatten", "Dense", "ReLU", "Dense", "Output"):  # as the palette adds them
        window.palette.layer_activated.emit(type_id)
    ids = list(c.graph.nodes)
    for a, b in zip(ids, ids[1:], strict=False):
        c.connect(a, b)
    out = ids[-1]

    # the default Dense (64 units) before the Output does not match the 10 digit classes: the node says so
    assert "✖" in window.valid_label.text()
    note = c.view.nodes[out].view.note_item
    assert note.isVisible() and "10 classes" in note.text and note.fix == "Match the data"
    note.click_fix()
    qtbot.waitUntil(lambda: c.validation.ok)
    assert c.graph.nodes[ids[-2]].params["units"] == 10 and "valid" in window.valid_label.text()

    # train, stop, resume to the end (then it is evaluated)
    c.graph.training.update({"epochs": 3, "batch_size": 16, "events": {"summaries": False, "batch_rate_hz": 1000}})
    ws.train()
    qtbot.waitUntil(lambda: ws.live.series.last_batch is not None, timeout=TIMEOUT_MS)
    assert ws.stop_and_wait()
    assert ws.runner.last_outcome.reason == "stopped" and ws.training_panel.resume_button.isEnabled()
    run = ws.runner.run_path
    ws.resume()
    qtbot.waitUntil(lambda: not ws.runner.busy, timeout=TIMEOUT_MS)
    assert ws.runner.last_outcome.reason == "completed" and ws.runner.run_path == run
    qtbot.waitUntil(lambda: ws.evaluation_result is not None, timeout=TIMEOUT_MS)
    assert ws.evaluation_result.metrics["accuracy"] > 0.5

    # export ONNX (its onnxruntime check passes), save, reopen: the runs are listed and Export/Predict enabled
    dialog = ws.open_export()
    dialog.set_format("onnx")
    dialog.path_edit.setText(str(tmp_path / "first.onnx"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result is not None or dialog.error is not None, timeout=TIMEOUT_MS)
    assert dialog.error is None and dialog.result.check["passed"] is True
    dialog.close()
    project = tmp_path / "first" / "first.json"
    project.parent.mkdir()
    assert window._save_to(project)
    assert (project.parent / "runs" / run.name).is_dir(), "the run moved beside the saved project"
    window.new_blank()
    assert ws.history.summaries == [] and not ws.actions["predict"].isEnabled()
    assert window.open_file(project)
    QApplication.processEvents()
    ws.show_runs()
    assert [s.run.id for s in ws.history.summaries] == [run.name]
    assert ws.actions["export"].isEnabled() and ws.actions["predict"].isEnabled()
    assert ws.target_run() == project.parent / "runs" / run.name
    again = ws.open_export()
    assert again is not None
    again.close()


# ---- 5: plots readable at 1280×800 ----------------------------------------------------------------
def test_a_constant_learning_rate_and_a_one_epoch_run_get_readable_axes(qtbot):
    from editor.training.live_plots import LivePlots
    from engine.train.events import BatchEnded, EpochEnded, RunStarted

    live = LivePlots()
    qtbot.addWidget(live)
    live.resize(1200, 300)
    live.show()
    live.reset({"n1": "conv1"}, ["accuracy"])
    started = RunStarted("r", None, "p", {"batch_size": 16}, "cpu", "CPU", "multiclass", 1, 0, 4, 100,
                         ["accuracy"])
    batches = [BatchEnded(1, b, 4, b, 0.5, 0.001) for b in range(1, 5)]
    epoch = EpochEnded(1, 1, {"loss": 0.5, "accuracy": 0.8}, {"loss": 0.6, "accuracy": 0.7}, 0.001, 64.0, 1.0)
    live.add_events([started, *batches, epoch])
    (low, high) = live.plots["lr"].getPlotItem().viewRange()[1]
    assert 0 < low < 0.001 < high < 0.002, "a constant 0.001 is drawn in a band around 0.001, not at '0' of ±0.4"
    (x0, x1) = live.plots["accuracy"].getPlotItem().viewRange()[0]
    assert -0.1 < x0 <= 0 and 1 <= x1 < 1.2, "one epoch: the x axis runs 0..1, not -5..10"
    loss = live.plots["loss"].getPlotItem()
    assert "train" in loss.titleLabel.text and "val" in loss.titleLabel.text and not loss.legend.isVisible(), \
        "two or three curves are named in the title, costing no height"
    from editor.training.plotting import curve, plot_widget

    many = plot_widget("Gradient norm per layer")
    qtbot.addWidget(many)
    many.resize(400, 300)
    many.show()
    for k in range(5):
        curve(many, f"layer{k}", "#ffffff").setData([0, 1], [k, k + 1])
    item = many.getPlotItem()
    qtbot.waitUntil(lambda: item.legend.scenePos().y() > 0)
    assert not item.legend.sceneBoundingRect().intersects(item.vb.sceneBoundingRect()), "the legend is off the curves"



def test_the_learning_rate_axis_follows_a_long_run_to_its_last_batch(qtbot):
    from editor.training.live_plots import LivePlots
    from engine.train.events import BatchEnded, EpochEnded, RunStarted

    live = LivePlots()
    qtbot.addWidget(live)
    live.resize(1200, 300)
    live.show()
    live.reset({}, ["accuracy"])
    live.add_events([RunStarted("r", None, "p", {"batch_size": 16}, "cpu", "CPU", "multiclass", 1, 0, 4, 80,
                                ["accuracy"])])
    for epoch in range(1, 21):  # arriving epoch by epoch, as from a run
        lr = 0.005 * (1 - epoch / 21)
        live.add_events([*(BatchEnded(epoch, b, 4, (epoch - 1) * 4 + b, 0.5, lr) for b in range(1, 5)),
                         EpochEnded(epoch, 20, {"loss": 0.5, "accuracy": 0.8}, {"loss": 0.6, "accuracy": 0.7},
                                    lr, 64.0, 1.0)])
        live.plots["lr"].grab()  # painted, so pyqtgraph clips the curve to the range shown then
    (x0, x1) = live.plots["lr"].getPlotItem().viewRange()[0]
    assert x1 >= 19.9, f"the x axis stopped at {x1:.1f} of 20 epochs (a curve clipped to its view sized the view)"


# ---- 8: a node keeps its width (and its ports their places) when it is first connected --------------
def test_connecting_a_node_does_not_move_its_ports(window):
    c = window.controller
    c.load_graph(Graph(name="x"))
    inp = c.add_node("Input", pos=(0.0, 0.0))
    conv = c.add_node("Conv2d", pos=(300.0, 0.0))
    dense = c.add_node("Dense", pos=(600.0, 0.0))
    item = c.view.nodes[conv].view
    before = (item.width, [p.scenePos() for p in item.outputs])
    c.connect(inp, conv)
    c.connect(conv, dense)
    item = c.view.nodes[conv].view
    assert "params" in c.view.nodes[conv].view._look.shape, "the shape line now carries the parameter count"
    assert (item.width, [p.scenePos() for p in item.outputs]) == before


# ---- 10: wording ---------------------------------------------------------------------------------
def test_wording_a_missing_path_and_a_loss_objective():
    from editor.sweep.dialog import default_direction
    from engine.data.files import existing_file
    from engine.errors import DataError

    with pytest.raises(DataError) as caught:
        existing_file(None, "path")
    assert "'path' path" not in str(caught.value) and "no 'path'" in str(caught.value)
    assert default_direction("val_loss") == "minimize" and default_direction("val_accuracy") == "maximize"


@pytest.mark.slow
def test_closing_during_training_can_keep_the_run_training_in_the_background(qtbot, answers, tmp_path, monkeypatch):
    import json
    import time

    from editor.main_window import MainWindow
    from editor.training import detached
    from engine.templates import load_project

    monkeypatch.setattr(detached, "ask_about_run", lambda parent: detached.BACKGROUND)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    project = tmp_path / "lenet.json"
    graph = load_project("lenet")
    graph.training.update({"epochs": 3, "batch_size": 32, "schedule": "none", "events": {"summaries": False}})
    window.document.new(graph)
    assert window._save_to(project)
    ws = window.training
    ws.runner.backend = "thread"
    ws.train()
    qtbot.waitUntil(lambda: ws.live.series.last_batch is not None, timeout=TIMEOUT_MS)
    run = ws.runner.run_path
    assert window.close()
    process = ws.background_process
    assert process is not None, "the run was handed to a detached process"
    try:
        assert process.wait(timeout=TIMEOUT_MS / 1000) == 0, (run / detached.LOG).read_text()
    finally:
        if process.poll() is None:
            process.kill()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["reason"] == "completed" and metrics["epochs_done"] == 3, "it trained on to the planned epochs"
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert [e["type"] for e in events].count("RunStarted") == 2, "started in the editor, resumed in the background"

    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    again.open_file(project)
    history = again.training.history
    deadline = time.monotonic() + 10
    while not history.summaries and time.monotonic() < deadline:
        qtbot.wait(100)
    listed = {s.run.path.resolve(): s for s in history.summaries}
    assert run.resolve() in listed and listed[run.resolve()].epochs_done == 3, "reopened, the project lists the run"
