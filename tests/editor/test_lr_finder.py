"""The Training panel's Find LR dialog: the range test runs in the background, the curve is drawn, Apply sets the
learning rate as one undoable edit."""

from __future__ import annotations

import pyqtgraph as pg
import pytest

from editor.training.training_panel import TrainingPanel
from engine.templates import load_project

TIMEOUT_MS = 120_000


@pytest.fixture
def controller(qtbot):
    from editor.canvas.controller import CanvasController

    c = CanvasController()
    qtbot.addWidget(c.widget)
    graph = load_project("mlp")
    graph.training = {**graph.training, "lr": 1e-5}  # far too small: the finder should say so
    c.load_graph(graph)
    return c


def test_find_lr_draws_the_curve_and_apply_is_undoable(controller, qtbot):
    panel = TrainingPanel(controller)
    qtbot.addWidget(panel)
    panel.lr_find_settings = {"repeats": 2, "steps": 30}
    dialog = panel.find_lr()
    qtbot.addWidget(dialog)
    assert not dialog.apply_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.result is not None or dialog.error is not None, timeout=TIMEOUT_MS)
    assert dialog.error is None
    result = dialog.result
    assert not result.keep_default and result.suggested_lr > 1e-4
    items = dialog.plot.getPlotItem().items
    assert any(isinstance(i, pg.FillBetweenItem) for i in items)  # the spread of the repeats
    lines = [i for i in items if isinstance(i, pg.InfiniteLine)]
    assert len(lines) == 2
    assert "trained better" in dialog.reason.text()
    assert dialog.apply_button.isEnabled()
    dialog.apply_button.click()
    applied = controller.graph.training["lr"]
    assert applied == pytest.approx(result.suggested_lr, rel=0.01)
    assert panel.field("lr").value() == pytest.approx(applied)
    controller.undo_stack.undo()
    assert controller.graph.training["lr"] == 1e-5
    assert panel.field("lr").value() == pytest.approx(1e-5)
