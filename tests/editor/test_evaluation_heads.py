"""Evaluation of a project with two Outputs: the view offers both heads, and choosing the other one evaluates it."""

from __future__ import annotations

from engine.evaluate.run import evaluate_run
from engine.runs import create_run
from engine.train.trainer import Trainer
from tests.editor.test_multihead_plots import _graph
from tests.engine.train_helpers import single_thread

TIMEOUT_MS = 120_000


def test_the_head_chooser_evaluates_each_output_of_a_two_head_run(window, qtbot, tmp_path):
    graph = _graph()
    run = create_run(graph, tmp_path)
    with single_thread():
        Trainer(graph, run=run, device="cpu").fit()
    window.controller.load_graph(graph)
    ws = window.training
    ws.selected_run = run.path

    ws.evaluate()
    qtbot.waitUntil(lambda: ws.evaluation_result is not None, timeout=TIMEOUT_MS)
    view = ws.evaluation
    assert view.head.isVisibleTo(view) and [view.head.itemText(i) for i in range(view.head.count())] == ["digit", "box"]
    first = ws.evaluation_result
    assert (first.head, first.task) == ("digit", "multiclass")
    assert view.confusion.isVisibleTo(view) and not view.residuals.isVisibleTo(view)

    ws.evaluation_result = None
    view.head.setCurrentIndex(1)
    view.head.activated.emit(1)  # as a user's pick does
    qtbot.waitUntil(lambda: ws.evaluation_result is not None, timeout=TIMEOUT_MS)
    second = ws.evaluation_result
    assert (second.head, second.task) == ("box", "regression")
    assert second.metrics == evaluate_run(run.path, "test", head="box", save=False).metrics
    assert view.residuals.isVisibleTo(view) and not view.confusion.isVisibleTo(view)
    assert view.head.currentText() == "box"


def test_a_single_output_project_shows_no_head_chooser(window):
    view = window.training.evaluation
    view.set_heads(["output"])
    assert not view.head.isVisibleTo(view) and not view.head_label.isVisibleTo(view)
