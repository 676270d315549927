"""The canvas drives the engine Graph: building, wiring, validation colours, fixes and undo of every edit."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QMimeData, QPointF, Qt, QTimer
from PySide6.QtGui import QDropEvent, QKeyEvent

from editor.canvas import CanvasController
from editor.canvas.viewer import LAYER_MIME
from engine.errors import GraphError
from engine.graph import Edge
from engine.templates import load_project


def build_lenet(ctl: CanvasController) -> dict[str, str]:
    """LeNet-5 added layer by layer; the last wire is dragged through NodeGraphQt's own port API."""
    ids = {}
    layers = [("inp", "Input", {"kind": "image", "channels": 1, "height": 28, "width": 28}),
              ("c1", "Conv2d", {"out_channels": 6, "kernel_size": 5, "padding": "valid"}),
              ("r1", "ReLU", {}), ("p1", "MaxPool2d", {}),
              ("c2", "Conv2d", {"out_channels": 16, "kernel_size": 5, "padding": "valid"}),
              ("r2", "ReLU", {}), ("p2", "MaxPool2d", {}), ("flat", "Flatten", {}),
              ("d1", "Dense", {"units": 120}), ("d2", "Dense", {"units": 84}), ("d3", "Dense", {"units": 10}),
              ("out", "Output", {})]
    for i, (key, type_id, params) in enumerate(layers):
        ids[key] = ctl.add_node(type_id, pos=(i * 260.0, 0.0), params=params)
    keys = [k for k, _, _ in layers]
    for a, b in zip(keys[:-2], keys[1:-1], strict=True):
        ctl.connect(ids[a], ids[b])
    # the user's drag: NodeGraphQt port -> port, which the viewer reports as a connection change
    out_port = ctl.view.nodes[ids["d3"]].outputs()["out"].view
    in_port = ctl.view.nodes[ids["out"]].inputs()["in"].view
    ctl.widget.connection_changed.emit([], [(out_port, in_port)])
    return ids


def test_lenet_built_on_the_canvas_validates_with_lenet_shapes(ctl):
    ids = build_lenet(ctl)
    assert Edge(ids["d3"], "out", ids["out"], "in") in ctl.graph.edges
    assert ctl.validation.ok, ctl.validation.report()
    assert ctl.validation.shapes[ids["c1"]] == (None, 6, 24, 24)
    assert ctl.validation.shapes[ids["flat"]] == (None, 256)
    assert ctl.validation.shapes[ids["d3"]] == (None, 10)
    # the canvas shows the shapes on the nodes and on the wires
    look = ctl.view.nodes[ids["c1"]].view._look
    assert "(N, 6, 24, 24)" in look.shape and "out_channels 6" in look.params and look.severity == ""
    pipe = ctl.view.pipe(Edge(ids["flat"], "out", ids["d1"], "in"))
    assert pipe.label == "(N, 256)" and "(N, 256)" in pipe.toolTip()
    # NodeGraphQt mirrors the Graph's wires exactly
    assert len(ctl.widget.all_pipes()) == len(ctl.graph.edges)


def test_param_edit_revalidates_and_bad_value_is_refused(ctl):
    ids = build_lenet(ctl)
    ctl.set_param(ids["c1"], "out_channels", 8)
    assert ctl.validation.shapes[ids["c1"]] == (None, 8, 24, 24)
    assert "(N, 8, 24, 24)" in ctl.view.nodes[ids["c1"]].view._look.shape
    with pytest.raises(GraphError):
        ctl.set_param(ids["c1"], "out_channels", 0)
    assert ctl.graph.nodes[ids["c1"]].params["out_channels"] == 8


def test_shape_error_shows_on_the_dense_node_and_the_fix_clears_it(ctl):
    inp = ctl.add_node("Input", pos=(0, 0))
    conv = ctl.add_node("Conv2d", pos=(260, 0))
    dense = ctl.add_node("Dense", pos=(520, 0), params={"units": 10})
    out = ctl.add_node("Output", pos=(780, 0))
    for a, b in ((inp, conv), (conv, dense), (dense, out)):
        ctl.connect(a, b)
    errors = [p for p in ctl.validation.errors if p.kind == "shape_mismatch"]
    assert [p.node_id for p in errors] == [dense]
    item = ctl.view.nodes[dense].view
    assert item._look.severity == "error"
    assert errors[0].hint in item.toolTip()
    assert ctl.view.nodes[conv].view._look.severity == ""

    assert ctl.apply_fix(errors[0])
    assert ctl.validation.ok, ctl.validation.report()
    flatten = next(n for n in ctl.graph.nodes.values() if n.type == "Flatten")
    assert Edge(conv, "out", flatten.id, "in") in ctl.graph.edges
    assert Edge(flatten.id, "out", dense, "in") in ctl.graph.edges
    assert item._look.severity == ""
    assert ctl.graph.nodes[flatten.id].pos[0] < ctl.graph.nodes[dense].pos[0]
    ctl.undo()
    assert ctl.view.nodes[dense].view._look.severity == "error"


def _roundtrip(ctl, edit):
    """Apply `edit`, then check undo restores the graph exactly and redo re-applies it exactly."""
    before = ctl.graph.to_dict()
    edit()
    after = ctl.graph.to_dict()
    assert after != before
    ctl.undo()
    assert ctl.graph.to_dict() == before
    assert set(ctl.view.nodes) == set(ctl.graph.nodes)
    assert len(ctl.widget.all_pipes()) == len(ctl.graph.edges)
    ctl.redo()
    assert ctl.graph.to_dict() == after
    assert len(ctl.widget.all_pipes()) == len(ctl.graph.edges)


def test_undo_and_redo_of_every_kind_of_edit(ctl, qtbot):
    ids = build_lenet(ctl)
    _roundtrip(ctl, lambda: ctl.add_node("Dropout", pos=(0, 300)))
    _roundtrip(ctl, lambda: ctl.delete_nodes([ids["r1"]]))
    _roundtrip(ctl, lambda: ctl.move_nodes({ids["c1"]: (10.0, -200.0)}))
    _roundtrip(ctl, lambda: ctl.disconnect(Edge(ids["c2"], "out", ids["r2"], "in")))
    _roundtrip(ctl, lambda: ctl.connect(ids["p1"], ids["out"]))
    _roundtrip(ctl, lambda: ctl.set_param(ids["d1"], "units", 99))
    _roundtrip(ctl, lambda: ctl.rename_node(ids["d1"], "hidden"))
    _roundtrip(ctl, lambda: ctl.swap_type(ids["r2"], "GELU"))
    _roundtrip(ctl, lambda: ctl.set_shares(ids["d2"], ids["d1"]))
    ctl.select_nodes([ids["c2"], ids["r2"]])
    ctl.copy()
    _roundtrip(ctl, ctl.paste)
    ctl.select_nodes([ids["c2"], ids["r2"]])
    _roundtrip(ctl, ctl.duplicate)
    ctl.select_nodes([ids["c1"], ids["p1"]])
    _roundtrip(ctl, lambda: ctl.group_selected("stem"))
    _roundtrip(ctl, ctl.auto_layout)


def test_user_gestures_become_single_undo_steps(ctl):
    ids = build_lenet(ctl)
    before = ctl.graph.to_dict()
    # a drag of a node in the viewer
    view = ctl.view.nodes[ids["d1"]].view
    prev = list(view.xy_pos)
    view.xy_pos = [prev[0] + 50, prev[1] + 80]
    ctl.widget.moved_nodes.emit({view: prev})
    assert ctl.graph.nodes[ids["d1"]].pos == (prev[0] + 50, prev[1] + 80)
    # a wire dragged off its input port (disconnect)
    edge = Edge(ids["d2"], "out", ids["d3"], "in")
    out_port = ctl.view.nodes[ids["d2"]].outputs()["out"].view
    in_port = ctl.view.nodes[ids["d3"]].inputs()["in"].view
    ctl.widget.connection_changed.emit([(in_port, out_port)], [])
    assert edge not in ctl.graph.edges and len(ctl.widget.all_pipes()) == len(ctl.graph.edges)
    # Delete key on a selected node
    ctl.select_node(ids["r2"])
    ctl.widget.setFocus()
    ctl.widget.keyPressEvent(_key(Qt.Key.Key_Delete))
    assert ids["r2"] not in ctl.graph.nodes and ids["r2"] not in ctl.view.nodes
    # Ctrl+Z three times restores everything; NodeGraphQt keeps no history of its own
    for _ in range(3):
        ctl.widget.keyPressEvent(_key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier))
    assert ctl.graph.to_dict() == before
    assert ctl.view.ngraph.undo_stack().count() == 0
    ctl.widget.keyPressEvent(_key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                                  | Qt.KeyboardModifier.ShiftModifier))
    assert ctl.graph.nodes[ids["d1"]].pos == (prev[0] + 50, prev[1] + 80)


def _key(key, mods=Qt.KeyboardModifier.NoModifier) -> QKeyEvent:
    return QKeyEvent(QEvent.Type.KeyPress, key, mods)


def test_copy_paste_keeps_internal_wires_with_new_ids(ctl):
    ids = build_lenet(ctl)
    chosen = [ids["c2"], ids["r2"], ids["p2"]]
    ctl.select_nodes(chosen)
    ctl.copy()
    new = ctl.paste()
    assert len(new) == 3 and not set(new) & set(chosen)
    types = [ctl.graph.nodes[n].type for n in new]
    assert types == ["Conv2d", "ReLU", "MaxPool2d"]
    assert Edge(new[0], "out", new[1], "in") in ctl.graph.edges
    assert Edge(new[1], "out", new[2], "in") in ctl.graph.edges
    assert not any(e.dst == new[0] for e in ctl.graph.edges)  # the wire from outside is not copied
    assert ctl.graph.nodes[new[0]].params["out_channels"] == 16
    assert sorted(ctl.selected_ids()) == sorted(new)
    assert len({n.name for n in ctl.graph.nodes.values()}) == len(ctl.graph.nodes)


def test_cut_removes_and_paste_brings_back(ctl):
    ids = build_lenet(ctl)
    ctl.select_nodes([ids["d1"], ids["d2"]])
    ctl.cut()
    assert ids["d1"] not in ctl.graph.nodes
    new = ctl.paste()
    assert Edge(new[0], "out", new[1], "in") in ctl.graph.edges


def test_group_collapse_expand_and_ungroup(ctl):
    ids = build_lenet(ctl)
    members = [ids["c2"], ids["r2"], ids["p2"]]
    ctl.select_nodes(members)
    gid = ctl.group_selected("conv block")
    assert [g.to_dict() for g in ctl.graph.groups] == [
        {"id": gid, "name": "conv block", "node_ids": members, "collapsed": False}]
    item = ctl.view.groups[gid]
    assert item.name == "conv block" and not item.collapsed
    ctl.toggle_group_collapsed(gid)
    assert ctl.graph.groups[0].collapsed and item.collapsed
    assert not any(ctl.view.nodes[n].view.isVisible() for n in members)
    inner = ctl.view.pipe(Edge(ids["c2"], "out", ids["r2"], "in"))
    outer = ctl.view.pipe(Edge(ids["p1"], "out", ids["c2"], "in"))
    assert not inner.isVisible() and outer.isVisible()
    # collapsing is view state: the layers keep their positions in the project
    assert ctl.graph.nodes[ids["c2"]].pos == (4 * 260.0, 0.0)
    # moving the collapsed block moves its layers
    ctl._on_group_moved(gid, 30.0, 40.0)
    assert ctl.graph.nodes[ids["c2"]].pos == (4 * 260.0 + 30, 40.0)
    ctl.toggle_group_collapsed(gid)
    assert all(ctl.view.nodes[n].view.isVisible() for n in members)
    assert list(ctl.view.nodes[ids["c2"]].view.xy_pos) == [4 * 260.0 + 30, 40.0]
    ctl.ungroup(gid)
    assert ctl.graph.groups == [] and gid not in ctl.view.groups
    ctl.undo()
    assert ctl.graph.groups[0].id == gid and gid in ctl.view.groups


def test_saved_block_is_inserted_as_a_group(ctl):
    from editor.canvas import blocks

    ids = build_lenet(ctl)
    seen = []
    blocks.library().changed.connect(lambda: seen.append(1))
    ctl.select_nodes([ids["c2"], ids["r2"]])
    ctl.save_selection_as_block("conv relu")
    assert blocks.list_blocks() == ["conv relu"] and seen
    gid = ctl.insert_block("conv relu", pos=(0.0, 500.0))
    group = next(g for g in ctl.graph.groups if g.id == gid)
    assert group.name == "conv relu" and len(group.node_ids) == 2
    a, b = group.node_ids
    assert Edge(a, "out", b, "in") in ctl.graph.edges
    assert ctl.graph.nodes[a].pos == (0.0, 500.0)
    assert ctl.graph.nodes[a].params["out_channels"] == 16
    ctl.undo()
    assert a not in ctl.graph.nodes and ctl.graph.groups == []
    with pytest.raises(GraphError):
        blocks.load_block("nothing here")


def test_node_dragged_onto_a_wire_is_inserted(ctl):
    inp = ctl.add_node("Input", pos=(0, 0), params={"kind": "features"})
    dense = ctl.add_node("Dense", pos=(600, 0))
    ctl.connect(inp, dense)
    drop = ctl.add_node("Dropout", pos=(300, 300))
    view = ctl.view.nodes[drop].view
    pipe = ctl.view.pipe(Edge(inp, "out", dense, "in"))
    prev = list(view.xy_pos)
    view.xy_pos = [300.0, 0.0]
    ctl.widget.insert_node.emit(pipe, drop, {view: prev})
    assert set(ctl.graph.edges) == {Edge(inp, "out", drop, "in"), Edge(drop, "out", dense, "in")}
    assert ctl.graph.nodes[drop].pos == (300.0, 0.0)
    ctl.undo()
    assert ctl.graph.edges == [Edge(inp, "out", dense, "in")] and ctl.graph.nodes[drop].pos == (300.0, 300.0)


def test_layer_dropped_from_the_palette_lands_at_the_drop_point_or_into_a_wire(ctl, qtbot):
    inp = ctl.add_node("Input", pos=(0, 0), params={"kind": "features"})
    dense = ctl.add_node("Dense", pos=(700, 0))
    ctl.connect(inp, dense)
    mime = QMimeData()
    mime.setData(LAYER_MIME, b"ReLU")
    pipe = ctl.view.pipe(Edge(inp, "out", dense, "in"))
    mid = pipe.path().pointAtPercent(0.5)
    where = ctl.widget.mapFromScene(mid)
    event = QDropEvent(QPointF(where), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    ctl.widget.dropEvent(event)
    relu = next(n for n in ctl.graph.nodes.values() if n.type == "ReLU")
    assert Edge(inp, "out", relu.id, "in") in ctl.graph.edges and Edge(relu.id, "out", dense, "in") in ctl.graph.edges
    far = ctl.widget.mapFromScene(QPointF(100, 900))
    event = QDropEvent(QPointF(far), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    ctl.widget.dropEvent(event)
    second = [n for n in ctl.graph.nodes.values() if n.type == "ReLU"][1]
    assert abs(second.pos[1] - 870) < 5 and not ctl.graph.incoming(second.id)


def test_tab_search_adds_a_layer(ctl, qtbot):
    search = ctl.widget._search_widget

    def type_and_enter():
        search.line_edit.setText("MaxPool2d")
        qtbot.keyClick(search.line_edit, Qt.Key.Key_Return)

    QTimer.singleShot(50, type_and_enter)
    ctl.widget.keyPressEvent(_key(Qt.Key.Key_Tab))
    assert [n.type for n in ctl.graph.nodes.values()] == ["MaxPool2d"]


def test_shared_weights_are_marked_on_the_canvas(ctl):
    a = ctl.add_node("Dense", pos=(0, 0))
    b = ctl.add_node("Dense", pos=(0, 300))
    ctl.set_shares(b, a)
    name = ctl.graph.nodes[a].name
    assert ctl.view.nodes[b].view._look.badge == f"shares {name}"
    assert b in ctl.view._links and name in ctl.view._links[b].toolTip()
    with pytest.raises(GraphError):
        ctl.set_shares(b, ctl.add_node("ReLU"))
    ctl.delete_nodes([a])
    assert ctl.view.nodes[b].view._look.badge == "" and b not in ctl.view._links


def test_template_loads_and_auto_layout_wraps_lenet_into_rows_read_left_to_right(ctl):
    graph = load_project("lenet")
    ctl.load_graph(graph)
    assert set(ctl.view.nodes) == set(graph.nodes) and ctl.undo_stack.count() == 0
    before = graph.to_dict()
    ctl.auto_layout()
    rects = {n: ctl.view.node_rect(n) for n in ctl.graph.nodes}
    for e in ctl.graph.edges:  # each wire runs right within a row, or down to the start of the next row
        a, b = rects[e.src], rects[e.dst]
        assert b.left() > a.right() or b.top() > a.bottom()
    rows = {round(r.top()) for r in rects.values()}
    assert 2 <= len(rows) <= 5  # 14 layers in a chain no longer make one thin strip
    boxes = list(rects.values())
    assert not any(r1.intersects(r2) for i, r1 in enumerate(boxes) for r2 in boxes[i + 1:])
    ctl.undo()
    assert ctl.graph.to_dict() == before


def _visible(ctl):
    return ctl.widget.mapToScene(ctl.widget.viewport().rect()).boundingRect()


def test_fit_shows_a_small_network_whole_at_no_more_than_100_percent(ctl):
    ctl.load_graph(load_project("lenet"))
    ctl.auto_layout()
    ctl.fit_view()
    assert 0.7 <= ctl.zoom() <= 1.0
    shown = _visible(ctl)
    assert all(shown.contains(ctl.view.node_rect(n)) for n in ctl.graph.nodes)


def test_fit_of_a_network_too_big_to_read_shows_all_of_it_with_names_only(ctl, qtbot):
    from editor.canvas.nodes import SIMPLE_ZOOM
    graph = load_project("lenet")
    for i, node in enumerate(graph.nodes.values()):
        node.pos = (i * 600.0, 0.0)  # one very long strip
    ctl.load_graph(graph)
    assert ctl.zoom() < SIMPLE_ZOOM
    shown = _visible(ctl)
    assert all(shown.contains(ctl.view.node_rect(n)) for n in graph.nodes), "the whole strip fits"
    ctl.widget.viewport().repaint()
    item = ctl.view.nodes[list(graph.nodes)[0]].view
    assert item._simple or item._proxy_mode, "at this zoom a node shows only its name, large (or, smaller, a block)"
    assert not item._text_item.isVisible()
    ctl.center_on(list(graph.nodes)[0])
    ctl.widget.viewport().repaint()
    assert not item._simple


def test_zoom_in_out_and_center_on_a_node(ctl):
    ids = build_lenet(ctl)
    ctl.fit_view()
    before = ctl.zoom()
    ctl.zoom_in()
    assert ctl.zoom() == pytest.approx(before * 1.2, rel=0.02)
    ctl.zoom_out()
    ctl.zoom_out()
    assert ctl.zoom() == pytest.approx(before / 1.2, rel=0.02)
    ctl.center_on(ids["d3"])
    centre = _visible(ctl).center()
    target = ctl.view.node_rect(ids["d3"]).center()
    assert abs(centre.x() - target.x()) < 2 and abs(centre.y() - target.y()) < 2
    assert ctl.zoom() >= 0.7  # zoomed in to where the node can be read


def test_a_resize_refits_until_the_user_zooms(ctl, qtbot):
    ctl.load_graph(load_project("lenet"))
    ctl.auto_layout()
    ctl.widget.resize(500, 350)
    qtbot.waitUntil(lambda: all(_visible(ctl).contains(ctl.view.node_rect(n)) for n in ctl.graph.nodes)
                    or ctl.zoom() == pytest.approx(0.7, rel=0.02))
    ctl.zoom_in()
    zoom = ctl.zoom()
    ctl.widget.resize(900, 600)
    qtbot.wait(20)
    assert ctl.widget.keep_fit is False and ctl.zoom() == pytest.approx(zoom, rel=0.05)


def test_node_faces_show_sizes_with_times_and_an_axis_order_as_a_tuple():
    from editor.canvas.view import node_look

    graph = load_project("transformer_classifier")
    permute = next(n for n in graph.nodes.values() if n.type == "Permute")
    assert "dims (1, 0)" in node_look(graph, permute, None, []).params
    lenet = load_project("lenet")
    conv = next(n for n in lenet.nodes.values() if n.type == "Conv2d")
    conv.params["kernel_size"] = [3, 5]
    assert "kernel_size 3\u00d75" in node_look(lenet, conv, None, []).params


@pytest.mark.parametrize("key, modifier", [(Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier),
                                           (Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)])
def test_a_held_modifier_leaves_no_hint_text_on_the_canvas(ctl, qtbot, key, modifier):
    """NodeGraphQt writes 'CTRL: Deselect Nodes' beside the cursor until the key's release, which a shortcut
    opening a dialog (Ctrl+S) swallows; the canvas shows no such hint (issue 16, item 10)."""
    from PySide6.QtWidgets import QGraphicsTextItem

    ctl.add_node("Dense", pos=(0.0, 0.0), params={"units": 4})
    viewer = ctl.widget
    viewer.keyPressEvent(QKeyEvent(QEvent.Type.KeyPress, key, modifier))  # its release never arrives
    hints = [item.toPlainText() for item in viewer.scene().items()
             if isinstance(item, QGraphicsTextItem) and item.isVisible() and item.toPlainText().strip()
             and ("Deselect" in item.toPlainText() or "Selection" in item.toPlainText())]
    assert hints == []
