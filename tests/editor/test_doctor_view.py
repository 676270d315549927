"""The Doctor and Compare views: diagnoses of a real run pinned on the canvas with their evidence plotted,
remedies applied as one undoable edit (and re-run), and two runs compared on a canvas, in tables and curves."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import Qt

from editor import theme
from editor.canvas.controller import CanvasController
from editor.training.compare_view import CURRENT, CompareView
from editor.training.doctor_view import DoctorView
from engine.graph import Graph
from engine.runs import create_run, open_run
from engine.train.trainer import Trainer
from engine.validate import validate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from train_helpers import chain, iris_mlp  # noqa: E402

EVENTS = {"summaries_every": 5, "summaries_max_hz": 0}


def deep_sigmoid(epochs: int = 8) -> Graph:
    layers = []
    for _ in range(8):
        layers += [("Dense", {"units": 32}), ("Sigmoid", {})]
    return chain("deep sigmoid", {"kind": "features", "features": 4}, [*layers, ("Dense", {"units": 3})],
                 "multiclass", {"source": "builtin", "name": "iris"},
                 {"epochs": epochs, "batch_size": 16, "lr": 0.01, "optimizer": "sgd", "events": EVENTS})


def train(graph: Graph, run_dir: Path) -> Path:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = create_run(graph, run_dir)
        Trainer(graph, run=run).fit()
    finally:
        torch.set_num_threads(before)
    return run.path


@pytest.fixture
def doctor(qtbot):
    controller = CanvasController(graph=deep_sigmoid())
    view = DoctorView(controller)
    qtbot.addWidget(controller.widget)
    qtbot.addWidget(view)
    view.resize(1000, 500)
    view.show()
    return view, controller


def test_a_vanishing_gradient_run_is_diagnosed_pinned_and_plotted(doctor, tmp_path):
    view, controller = doctor
    run = train(controller.graph, tmp_path)
    view.show_run(run)
    ids = [d.id for d in view.diagnoses]
    assert "vanishing_gradients" in ids and "plateau" in ids
    view.list.setCurrentRow(ids.index("vanishing_gradients"))
    d = view.current()
    first = controller.graph.by_name("dense1").id
    assert d.node_ids[0] == first
    assert "Vanishing gradients" in controller.node_badge(first)
    assert "dense1" in view.where.text() and "saturating" in view.explanation.text()
    bars = [i for i in view.plots[0].getPlotItem().listDataItems()]
    assert bars and len(bars[0].getData()[0]) == 9  # the gradient norm of every layer with weights, by depth
    assert view.plots[1].isVisibleTo(view)
    assert set(view.remedy_buttons) == {"insert_batchnorm", "swap_to_gelu", "add_residual"}
    view.show_nodes()
    assert controller.selected_ids() == list(d.node_ids)


def test_apply_is_one_undoable_edit_and_apply_and_rerun_asks_for_a_run(doctor, tmp_path, qtbot):
    view, controller = doctor
    run = train(controller.graph, tmp_path)
    view.show_run(run)
    view.list.setCurrentRow([d.id for d in view.diagnoses].index("vanishing_gradients"))
    steps = controller.undo_stack.count()
    qtbot.mouseClick(view.remedy_buttons["insert_batchnorm"][0], Qt.MouseButton.LeftButton)
    assert sum(n.type == "BatchNorm1d" for n in controller.graph.nodes.values()) == 8
    assert controller.undo_stack.count() == steps + 1 and "Undo" in view.status.text()
    controller.undo()
    assert not any(n.type == "BatchNorm1d" for n in controller.graph.nodes.values())
    controller.redo()
    assert sum(n.type == "BatchNorm1d" for n in controller.graph.nodes.values()) == 8
    controller.undo()
    view.list.setCurrentRow([d.id for d in view.diagnoses].index("plateau"))
    with qtbot.waitSignal(view.rerun_requested, timeout=1000) as rerun:
        qtbot.mouseClick(view.remedy_buttons["raise_lr"][1], Qt.MouseButton.LeftButton)
    assert rerun.args == [str(run)]  # a branch of the diagnosed run, which saved best weights
    assert controller.graph.training["lr"] == pytest.approx(0.1)
    controller.undo()  # a section edit undoes like a graph edit
    assert controller.graph.training["lr"] == pytest.approx(0.01)


def test_the_doctor_follows_a_run_live_and_a_healthy_run_gets_nothing(doctor):
    view, controller = doctor
    graph = iris_mlp({"epochs": 12, "batch_size": 16, "lr": 0.01, "events": EVENTS})
    controller.load_graph(graph)
    view.reset(graph)
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models train faster and steadier on one thread
    try:
        trainer = Trainer(graph)
        queue = trainer.bus.queue()
        trainer.fit()
    finally:
        torch.set_num_threads(before)
    events = []
    while (event := queue.get()) is not None:
        events.append(event)
    for i in range(0, len(events), 7):  # a tick of the runner at a time
        view.add_events(events[i:i + 7])
    assert view.diagnoses == [] and "no diagnosis" in view.status.text()


def test_the_workspace_doctor_follows_the_runner_and_apply_and_rerun_trains_the_fix(window, qtbot):
    ws = window.training
    ws.runner.backend = "thread"
    window.controller.load_graph(deep_sigmoid(epochs=6))
    qtbot.waitUntil(lambda: not ws.data_panel.loading and "iris" in str((ws.data_panel.info or {}).get("source")),
                    timeout=60_000)  # the data checks validate the graph against the loaded iris, not the default set
    titles = [ws.tabs.tabText(i) for i in range(ws.tabs.count())]
    assert "Doctor" in titles and "Compare" in titles
    ws.train()
    qtbot.waitUntil(lambda: not ws.runner.busy, timeout=120_000)
    ids = [d.id for d in ws.doctor.diagnoses]
    assert "vanishing_gradients" in ids
    ws.doctor.list.setCurrentRow(ids.index("vanishing_gradients"))
    first_run = ws.runner.run_path
    qtbot.mouseClick(ws.doctor.remedy_buttons["insert_batchnorm"][1], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ws.runner.run_path != first_run and not ws.runner.busy, timeout=120_000)
    assert sum(n.type == "BatchNorm1d" for n in window.controller.graph.nodes.values()) == 8
    assert "vanishing_gradients" not in [d.id for d in ws.doctor.diagnoses]
    branch = open_run(ws.runner.run_path).graph
    assert Path(branch.finetune["weights"]) == Path(first_run).resolve()  # trained as a branch of the first run


@pytest.fixture
def two_runs(tmp_path):
    before = iris_mlp({"epochs": 3, "batch_size": 16, "lr": 0.01})
    after = before.copy()
    relu = after.by_name("relu2")
    dense1, dense3 = after.by_name("dense1"), after.by_name("dense3")
    after.remove_node(relu.id)
    drop = after.add_node("Dropout", "drop", {"p": 0.2})
    after.connect(dense1.id, drop.id)
    after.connect(drop.id, dense3.id)
    after.set_param(dense1.id, "units", 32)
    return train(before, tmp_path), train(after, tmp_path), after


def test_compare_two_runs_badges_the_canvas_and_fills_the_tables(qtbot, two_runs):
    a, b, after = two_runs
    controller = CanvasController(graph=after)
    view = CompareView(controller)
    qtbot.addWidget(view)
    view.set_runs([b, a])
    view.choose(a, b)
    canvas = view.canvas
    assert canvas.node_badge(after.by_name("drop").id) == "+ added"
    assert canvas.node_badge(after.by_name("dense1").id).startswith("~ units 16→32")
    assert canvas.node_badge(after.by_name("dense3").id) == ""
    rows = [[view.changes.item(r, c).text() for c in range(4)] for r in range(view.changes.rowCount())]
    assert ["~", "dense1: units", "16", "32"] in rows
    assert any(row[0] == "−" and row[1] == "relu2" for row in rows)
    assert any(row[0] == "+" and row[1] == "drop" for row in rows)
    metrics = {view.metrics.item(r, 0).text(): view.metrics.item(r, 3).text() for r in range(view.metrics.rowCount())}
    assert "val_accuracy" in metrics and metrics["val_loss"].startswith(("+", "-"))
    curves = view.curve_data()
    assert len(curves) == 2 and all(xs == [1.0, 2.0, 3.0] for xs, _ in curves.values())
    assert "1 node(s) added, 1 removed, 1 changed" in view.summary.text()


def test_compare_draws_a_removed_node_as_a_ghost_without_touching_the_runs(qtbot, two_runs):
    a, b, after = two_runs
    before_graph = open_run(a).graph
    relu = before_graph.by_name("relu2")
    view = CompareView(CanvasController(graph=after))
    qtbot.addWidget(view)
    view.set_runs([b, a])
    view.choose(a, b)
    shown = view.canvas.graph
    assert relu.id not in after.nodes and relu.id in shown.nodes
    assert shown.nodes[relu.id].params == relu.params and shown.nodes[relu.id].pos[0] == relu.pos[0]
    assert all(abs(n.pos[1] - shown.nodes[relu.id].pos[1]) >= 80 for n in after.nodes.values()
               if n.pos[0] == relu.pos[0])  # moved down a lane, off B's node that took its spot
    assert view.canvas.node_badge(relu.id) == "− removed"
    assert view.canvas.view.badges[relu.id][1] == theme.ERROR_COLOR
    assert "Removed in B: ReLU" in view.canvas.view.badges[relu.id][2]
    assert "in A it fed dense3" in view.canvas.view.badges[relu.id][2]
    assert view.canvas.view.nodes[relu.id].view.opacity() < 1
    assert not view.canvas.view.nodes[relu.id].view._look.note  # no 'leads nowhere' note on the ghost
    dense1, dense3 = before_graph.by_name("dense1").id, before_graph.by_name("dense3").id
    wires = {(e.src, e.dst) for e in shown.edges}
    assert (dense1, relu.id) in wires  # A's wire into the ghost is drawn
    assert (relu.id, dense3) not in wires and (after.by_name("drop").id, dense3) in wires  # B's wiring kept
    assert view.canvas.validation.shapes[dense3] == validate(after).shapes[dense3]
    assert relu.id not in open_run(b).graph.nodes and open_run(a).graph.nodes[relu.id] == relu  # runs untouched


def test_compare_a_run_with_the_current_graph(qtbot, two_runs):
    a, _, after = two_runs
    controller = CanvasController(graph=after)
    view = CompareView(controller)
    qtbot.addWidget(view)
    view.set_runs([a])
    assert view.b_box.itemText(0) == CURRENT
    view.choose(a, None)
    assert view.result.b.label == "current graph" and view.result.b.final == {}
    assert view.canvas.node_badge(after.by_name("drop").id) == "+ added"
    assert all(view.metrics.item(r, 2).text() == "–" for r in range(view.metrics.rowCount()))


def test_a_section_remedy_shows_in_the_training_panel_and_undoes(qtbot):
    from editor.training.doctor_view import apply_remedy_edit
    from editor.training.training_panel import TrainingPanel
    from engine.doctor import Diagnosis

    controller = CanvasController(graph=iris_mlp({"epochs": 2}))
    panel = TrainingPanel(controller)
    qtbot.addWidget(panel)
    output = controller.graph.by_name("output").id
    d = Diagnosis("class_imbalance", "Class imbalance", "warning", (output,), "rare classes",
                  remedies=("class_weights",))
    assert "balanced" in apply_remedy_edit(controller, "class_weights", d)
    assert panel.forms[0].fields["class_weights"].widget.currentText() == "balanced"
    controller.undo()
    assert "class_weights" not in controller.graph.training
    assert panel.forms[0].fields["class_weights"].widget.currentText() == "none"


def test_find_lr_opens_the_range_test_dialog_whose_apply_is_undoable(qtbot):
    from engine.doctor import Diagnosis

    graph = iris_mlp({"epochs": 2, "lr": 1e-5})
    controller = CanvasController(graph=graph)
    view = DoctorView(controller)
    qtbot.addWidget(view)
    view.graph = graph
    view.lr_find_settings = {"repeats": 1, "steps": 20}
    view._set([Diagnosis("lr_too_low", "Learning rate too low", "info", (graph.by_name("output").id,), "why",
                         remedies=("raise_lr", "find_lr"))])
    apply, rerun = view.remedy_buttons["find_lr"]
    assert apply.text() == "Find the learning rate…" and not rerun.isVisibleTo(view)
    qtbot.mouseClick(apply, Qt.MouseButton.LeftButton)
    dialog = view.lr_dialog
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.running, timeout=300_000)
    assert dialog.result is not None and not dialog.result.keep_default
    dialog.apply()
    assert controller.graph.training["lr"] == pytest.approx(float(f"{dialog.result.suggested_lr:.3g}"))
    controller.undo()
    assert controller.graph.training["lr"] == 1e-5
