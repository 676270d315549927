"""The training views put live badges on canvas nodes from the Activations events: dead ReLUs and NaNs."""

from __future__ import annotations

import pytest

from editor import theme
from editor.canvas.controller import CanvasController
from editor.training.activations import ActivationsView
from engine.templates import load_project
from engine.train.events import Activations, RunStarted


@pytest.fixture
def view(qtbot):
    controller = CanvasController()
    qtbot.addWidget(controller.widget)
    controller.load_graph(load_project("lenet"))
    activations = ActivationsView(controller)
    qtbot.addWidget(activations)
    return activations


def summary(zeros: float = 0.0, nonfinite: int = 0) -> dict:
    return {"mean": 0.1, "std": 0.2, "zeros": zeros, "nonfinite": nonfinite, "min": 0.0, "max": 1.0,
            "hist": [3, 2, 1], "shape": [None, 6, 8, 8]}


def started() -> RunStarted:
    return RunStarted("r", None, "LeNet", {}, "cpu", "CPU", "multiclass", 2, 0, 10, 100, ["accuracy"])


def test_activation_events_badge_dead_relus_and_nans_and_drop_what_recovers(view):
    ctl = view.controller
    ids = {n.name: nid for nid, n in ctl.graph.nodes.items()}
    relu, conv, pool = ids["relu1"], ids["conv1"], ids["pool1"]
    view.add_events([started(), Activations(1, 5, {relu: summary(zeros=0.62), conv: summary(nonfinite=7),
                                                   pool: summary(zeros=0.9)})])
    assert ctl.node_badge(relu) == "62% dead"
    assert ctl.view.badges[relu][1] == theme.WARNING_COLOR, "over half dead is a warning"
    assert ctl.node_badge(conv) == "NaN 7" and ctl.view.badges[conv][1] == theme.ERROR_COLOR
    assert ctl.node_badge(pool) == "", "zeros only count as dead units on ReLUs"
    assert "62%" in ctl.view.nodes[relu].view._live.toolTip()

    view.add_events([Activations(1, 10, {relu: summary(zeros=0.2), conv: summary()})])
    assert ctl.node_badge(relu) == "20% dead" and ctl.view.badges[relu][1] == theme.MUTED
    assert ctl.node_badge(conv) == "", "the NaN badge goes when the values are finite again"

    view.reset()
    assert ctl.view.badges == {}
