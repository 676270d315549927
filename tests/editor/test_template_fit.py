"""Each template opens whole on a small screen, and (its layout wrapped into bands for it) at a legible zoom."""

from __future__ import annotations

import pytest

from editor.canvas import CanvasController
from engine.layout import LEGIBLE_ZOOM, VIEW
from engine.templates import list_templates, load_project

CANVASES = {"1280x800": VIEW, "1440x900": (827.0, 630.0)}
"""The canvas (viewport) of the main window at these sizes with its docks open."""


@pytest.fixture
def ctl(qtbot):
    c = CanvasController()
    qtbot.addWidget(c.widget)
    c.widget.show()
    return c


def _open(ctl: CanvasController, name: str, canvas: tuple[float, float]) -> None:
    frame = ctl.widget.size() - ctl.widget.viewport().size()
    ctl.widget.resize(int(canvas[0]) + frame.width(), int(canvas[1]) + frame.height())
    ctl.load_graph(load_project(name))
    ctl.fit_view()


@pytest.mark.parametrize("size", CANVASES)
@pytest.mark.parametrize("name", list_templates())
def test_a_template_opens_whole(ctl, name, size):
    _open(ctl, name, CANVASES[size])
    shown = ctl.widget.mapToScene(ctl.widget.viewport().rect()).boundingRect()
    assert all(shown.contains(ctl.view.node_rect(n)) for n in ctl.graph.nodes), "fit-to-view fits every node"
    assert ctl.zoom() <= 1.0


def test_a_network_that_fits_whole_only_below_the_comfortable_zoom_still_shows_whole(ctl):
    from editor.canvas.controller import READABLE_ZOOM
    _open(ctl, "lenet", (VIEW[0] * 0.92, VIEW[1] * 0.92))
    shown = ctl.widget.mapToScene(ctl.widget.viewport().rect()).boundingRect()
    assert LEGIBLE_ZOOM <= ctl.zoom() < READABLE_ZOOM
    assert all(shown.contains(ctl.view.node_rect(n)) for n in ctl.graph.nodes)
