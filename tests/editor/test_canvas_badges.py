"""Live badges: a small pill at a node's top-right that training sets, kept across edits, cleared on demand."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QImage, QPainter

from editor import theme
from editor.canvas import CanvasController
from engine.templates import load_project


@pytest.fixture
def ctl(qtbot):
    c = CanvasController()
    qtbot.addWidget(c.widget)
    c.widget.resize(900, 600)
    c.widget.show()
    c.load_graph(load_project("lenet"))
    return c


def node_id(ctl: CanvasController, name: str) -> str:
    return next(nid for nid, n in ctl.graph.nodes.items() if n.name == name)


def test_a_badge_is_a_pill_on_the_top_right_corner_drawn_in_its_colour(ctl):
    relu = node_id(ctl, "relu1")
    item = ctl.view.nodes[relu].view
    ctl.set_node_badge(relu, "62% dead", theme.WARNING_COLOR, "62% of the outputs are zero")
    assert ctl.node_badge(relu) == "62% dead" and item.live_badge() == "62% dead"
    pill = item._live
    corner = pill.mapToParent(pill.boundingRect()).boundingRect()
    assert corner.right() <= item.width and corner.left() > item.width / 3, "at the right"
    assert corner.top() < 0 < corner.bottom(), "straddles the top edge"
    assert pill.toolTip() == "62% of the outputs are zero"
    # painted in the badge colour (the border) on a dark fill, with light text
    image = QImage(pill.boundingRect().size().toSize(), QImage.Format.Format_ARGB32)
    image.fill(QColor(theme.BASE))
    painter = QPainter(image)
    painter.translate(-pill.boundingRect().topLeft())
    pill.paint(painter, None)
    painter.end()
    colours = {image.pixelColor(x, y).name() for x in range(image.width()) for y in range(image.height())}
    warning = QColor(theme.WARNING_COLOR)
    assert any(QColor(c).hue() == warning.hue() and QColor(c).value() > 150 for c in colours), "coloured border"
    # the node keeps its size: a badge never moves ports or wires mid-run
    assert item.width == ctl.view.nodes[node_id(ctl, "relu2")].view.width


def test_badges_survive_edits_but_not_clearing_removal_or_a_new_graph(ctl):
    relu, conv = node_id(ctl, "relu1"), node_id(ctl, "conv1")
    ctl.set_node_badge(relu, "10% dead", theme.MUTED)
    ctl.set_node_badge(conv, "NaN 3", theme.ERROR_COLOR)
    ctl.set_param(conv, "out_channels", 8)  # an edit re-validates and repaints: the badge stays
    assert ctl.view.nodes[conv].view.live_badge() == "NaN 3"
    ctl.swap_type(relu, "GELU")  # a new node item for the same id wears the same badge
    assert ctl.view.nodes[relu].view.live_badge() == "10% dead"
    ctl.set_node_badge(relu, "", "")
    assert ctl.node_badge(relu) == "" and ctl.view.nodes[relu].view.live_badge() == ""
    ctl.select_node(conv)
    ctl.delete_selected()
    assert ctl.node_badge(conv) == ""
    ctl.undo()
    assert ctl.view.nodes[conv].view.live_badge() == "", "a restored node has no stale badge"
    ctl.set_node_badge(conv, "NaN 1", theme.ERROR_COLOR)
    ctl.clear_node_badges()
    assert ctl.view.nodes[conv].view.live_badge() == ""
    ctl.set_node_badge(conv, "NaN 1", theme.ERROR_COLOR)
    ctl.load_graph(load_project("lenet"))
    assert not ctl.view.badges
    assert all(n.view.live_badge() == "" for n in ctl.view.nodes.values())


def test_a_badge_for_an_unknown_node_is_ignored(ctl):
    ctl.set_node_badge("no-such-node", "5% dead", theme.MUTED)
    assert ctl.view.badges == {}
