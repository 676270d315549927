"""Big graphs on the canvas: nodes get their NodeGraphQt items only when needed, and nothing the user does on a
node notices the difference (select, drag a band, edit, undo, collapse)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from editor import theme
from editor.canvas.lazy import LAZY_FROM
from editor.canvas.wires import _centre
from engine.graph import Graph
from engine.shapes_format import format_shape
from engine.templates import load_project

TIMEOUT_MS = 10_000


def chain(nodes: int) -> tuple[Graph, list[str]]:
    """Input -> (Dense, ReLU) ... -> Output, laid out in rows of 20 (the benchmark's big project)."""
    g = Graph(name=f"chain {nodes}")
    ids = [g.add_node("Input", params={"kind": "features", "features": 8}).id]
    for i in range(nodes - 2):
        ids.append(g.add_node(*(("Dense", None, {"units": 8}) if i % 2 == 0 else ("ReLU",))).id)
    ids.append(g.add_node("Output", params={"task": "regression"}).id)
    for i, nid in enumerate(ids):
        g.nodes[nid].pos = (220.0 * (i % 20), 160.0 * (i // 20))
    for a, b in zip(ids, ids[1:], strict=False):
        g.connect(a, b)
    return g, ids


def open_big(ctl, qtbot, nodes: int = LAZY_FROM + 100) -> list[str]:
    graph, ids = chain(nodes)
    ctl.load_graph(graph)
    ctl.widget.viewport().repaint()
    qtbot.wait(20)
    return ids


def screen_pos(ctl, nid: str) -> QPoint:
    return ctl.widget.mapFromScene(ctl.view.node_rect(nid).center())


def test_a_big_graph_opens_as_blocks_and_builds_the_nodes_that_come_into_view(ctl, qtbot):
    ids = open_big(ctl, qtbot)
    assert len(ctl.view.nodes) == len(ids) and all(nid in ctl.view.nodes for nid in ids)
    assert ctl.view.nodes.built == {}, "zoomed out to fit, every node is a block: none needs its items"
    shot = ctl.widget.viewport().grab().toImage()
    block = shot.pixelColor(screen_pos(ctl, ids[3]))
    assert block != QColor(theme.CANVAS), "the far layer paints the blocks"
    QTest.mouseMove(ctl.widget.viewport(), screen_pos(ctl, ids[3]))
    assert ctl.graph.nodes[ids[3]].name in ctl.view.layer.toolTip(), "a block tells what it is"

    target = ids[210]
    ctl.center_on(target)
    shown = ctl.widget.mapToScene(ctl.widget.viewport().rect()).boundingRect()
    in_view = [nid for nid in ids if shown.intersects(ctl.view.node_rect(nid))]
    assert target in in_view and len(in_view) > 10
    qtbot.waitUntil(lambda: all(nid in ctl.view.nodes.built for nid in in_view), timeout=TIMEOUT_MS)
    built = set(ctl.view.nodes.built)
    assert ids[0] not in built and ids[-1] not in built, "far-off nodes stay blocks"
    edge = next(e for e in ctl.graph.edges if e.src == target)
    pipe = ctl.view.pipe(edge)
    assert pipe is not None and pipe.label == format_shape(ctl.validation.wire_shape(edge))
    assert ctl.view.nodes[ids[0]].view.scene() is ctl.widget.scene(), "reading a node builds it"


def split_graph() -> Graph:
    g = Graph(name="split")
    x = g.add_node("Input", "x", {"kind": "features", "features": 12}).id
    split = g.add_node("Split", "split", {"chunks": 3}).id
    g.connect(x, split)
    for port in ("out0", "out2"):
        g.connect(split, g.add_node("Dense", f"fc_{port}", {"units": 2}).id, src_port=port)
    return g


@pytest.mark.parametrize("template", ["lenet", "resnet", "transformer_classifier", "siamese", "split"])
def test_a_block_has_exactly_the_size_and_port_places_of_the_node_it_becomes(ctl, template: str):
    # small: every node built at once, so records and items can be compared
    ctl.load_graph(split_graph() if template == "split" else load_project(template))
    for nid, rec in ctl.view.records.items():
        item = ctl.view.nodes.built[nid].view
        assert (item.width, item.height) == pytest.approx(rec.size), rec.name
        for port in item.inputs:
            assert _centre(port) == rec.port_centre(port.name, False), f"{rec.name}.{port.name}"
        for port in item.outputs:
            assert _centre(port) == rec.port_centre(port.name, True), f"{rec.name}.{port.name}"


def test_a_click_on_a_block_selects_it_and_edits_and_undo_work(ctl, qtbot):
    ids = open_big(ctl, qtbot)
    nid = ids[45]
    assert nid not in ctl.view.nodes.built
    QTest.mouseClick(ctl.widget.viewport(), Qt.MouseButton.LeftButton, pos=screen_pos(ctl, nid))
    assert nid in ctl.view.nodes.built
    assert ctl.selected_ids() == [nid]
    ctl.set_param(nid, "units", 5)
    assert ctl.validation.shapes[nid][-1] == 5
    ctl.undo()
    assert ctl.graph.nodes[nid].params["units"] == 8
    ctl.delete_selected()
    assert nid not in ctl.view.nodes and not ctl.view.edges_at(nid)
    ctl.undo()
    assert nid in ctl.view.nodes and len(ctl.view.edges_at(nid)) == 2
    before, after = ids[44], ids[46]
    ctl.view.build([before, nid, after])
    assert all(ctl.view.pipe(e) is not None for e in ctl.view.edges_at(nid)), "its wires come back with it"


def test_a_selection_band_over_blocks_selects_them(ctl, qtbot):
    ids = open_big(ctl, qtbot)
    first, last = ids[21], ids[24]  # four nodes side by side in the second row
    a, b = ctl.view.node_rect(first), ctl.view.node_rect(last)
    start = ctl.widget.mapFromScene(a.bottomLeft() + QPointF(-25, 15))  # clear of nodes and wires
    end = ctl.widget.mapFromScene(b.topRight() + QPointF(10, -5))
    viewport = ctl.widget.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    assert ctl.widget._rubber_band.isActive  # noqa: SLF001  a press on empty canvas starts a band
    for step in range(1, 6):
        at = QPointF(start + (end - start) * step / 5)
        QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseMove, at, ctl.widget.mapToGlobal(at),
                                                     Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton,
                                                     Qt.KeyboardModifier.NoModifier))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    assert ctl.selected_ids() == ids[21:25]


def test_members_of_a_collapsed_block_are_neither_painted_nor_shown(ctl, qtbot):
    ids = open_big(ctl, qtbot)
    members = ids[60:66]
    ctl.select_nodes(members)
    gid = ctl.group_selected("middle")
    ctl.toggle_group_collapsed(gid)
    area = QRectF(ctl.view.groups[gid].sceneBoundingRect())
    assert not set(members) & set(ctl.view.layer.ids_in(area)), "the block's members are not drawn as blocks"
    assert all(not ctl.view.nodes[nid].view.isVisible() for nid in members)
    ctl.toggle_group_collapsed(gid)
    assert all(ctl.view.nodes[nid].view.isVisible() for nid in members)


def test_cost_colouring_reaches_nodes_without_items(ctl, qtbot):
    from editor.cost_view import CostView
    ids = open_big(ctl, qtbot, LAZY_FROM)
    cost = CostView(ctl, ctl)
    cost.set_colouring(True)
    qtbot.waitUntil(lambda: not cost.busy, timeout=60_000)
    assert cost.report is not None and not ctl.view.nodes.built
    assert set(ctl.view.layer.halos) == set(cost.report.nodes), "every costed node has a halo while it is a block"
    ctl.view.build([ids[5]])
    assert cost.item(ids[5]) is not None and ids[5] not in ctl.view.layer.halos, "built, it wears the heat item"


def test_a_wire_dragged_between_nodes_of_a_big_graph_and_undone(ctl, qtbot):
    ids = open_big(ctl, qtbot)
    a, b = ids[100], ids[103]  # Dense -> Dense, skipping a ReLU and a Dense
    out_port = ctl.view.nodes[a].outputs()["out"].view  # reading them builds them, as a press on them does
    in_port = ctl.view.nodes[b].inputs()["in"].view
    old = next(e for e in ctl.graph.edges if e.dst == b)
    ctl.widget.connection_changed.emit([], [(out_port, in_port)])
    new = next(e for e in ctl.graph.edges if e.dst == b)
    assert new.src == a and old not in ctl.graph.edges
    assert ctl.view.pipe(new) is not None and old not in ctl.view.edges()
    ctl.undo()
    assert old in ctl.graph.edges and new not in ctl.graph.edges and new not in ctl.view.edges()
    assert old in ctl.view.edges(), "the wire from the node without items is back, drawn by the far layer"


def test_select_all_on_a_big_graph_selects_without_building(ctl, qtbot):
    ids = open_big(ctl, qtbot)
    seen = []
    ctl.selection_changed.connect(seen.append)
    ctl.select_all()
    assert ctl.selected_ids() == ids and seen[-1] == ids
    assert not ctl.view.nodes.built, "selecting a block needs no items"
    ctl.view.build([ids[7]])
    assert ctl.view.nodes.built[ids[7]].view.isSelected() and ctl.selected_ids() == ids, "built, it stays selected"
    QTest.mouseClick(ctl.widget.viewport(), Qt.MouseButton.LeftButton, pos=screen_pos(ctl, ids[45]))
    assert ctl.selected_ids() == [ids[45]], "a plain click replaces the selection, blocks included"
    ctl.select_all()
    ctl.delete_selected()
    assert not ctl.graph.nodes and not ctl.view.records and not ctl.view.selected_unbuilt
    ctl.undo()
    assert list(ctl.graph.nodes) == ids and len(ctl.view.edges()) == len(ids) - 1
