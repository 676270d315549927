"""The bridge between the engine Graph (the truth) and the canvas (a view): every edit is an undo command."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import shiboken6
from NodeGraphQt.constants import PortTypeEnum
from PySide6.QtCore import QObject, QPointF, QRectF, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QApplication

from editor.canvas import blocks, subgraph
from editor.canvas.commands import MoveCommand, SetParamCommand, SnapshotCommand, restore, snapshot
from editor.canvas.nodes import batched_drawing
from editor.canvas.overlays import GroupItem
from editor.canvas.view import CanvasView, first_problem
from editor.canvas.wires import ShapePipeItem
from engine.datacheck import MATCH_DATA, check_data, input_params_for, match_data
from engine.errors import GraphError, Problem
from engine.graph import Edge, Graph, Group
from engine.layers.registry import get_spec
from engine.layout import layered_layout
from engine.validate import Validation, Validator

PASTE_OFFSET = 40.0
INSERT_GAP = 60.0
FIT_MARGIN = 40.0
READABLE_ZOOM = 0.7
"""Below this a node's 8.5 pt text is under 6 px tall: centring on a node zooms in to at least this."""
MIN_ZOOM, MAX_ZOOM = 0.1, 3.0
ZOOM_STEP = 1.2
LAYOUT_GAP_Y = 46.0


class CanvasController(QObject):
    """The only way the editor changes the graph; the canvas and the panels follow its signals."""

    graph_changed = Signal()
    selection_changed = Signal(list)
    validation_changed = Signal(object)

    def __init__(self, parent: QObject | None = None, graph: Graph | None = None):
        super().__init__(parent)
        self.view = CanvasView(self)
        self.widget = self.view.widget
        self.undo_stack = QUndoStack(self)
        self.graph = Graph()
        self.validation: Validation | None = None
        self.data_info: dict | None = None
        """The description of the graph's data once loaded (the data panel sets it): validation checks against it."""
        self._validator = Validator()
        self._clipboard: dict | None = None
        self._selection: list[str] = []
        self.view.set_group_factory(self._make_group_item)
        self.view.fix_handler = self.fix_node
        v = self.view.viewer
        v.connection_changed.connect(self._on_connection_changed)
        v.connection_sliced.connect(self._on_connection_sliced)
        v.moved_nodes.connect(self._on_nodes_moved)
        v.insert_node.connect(self._on_insert_node)
        v.search_triggered.connect(self._on_search_triggered)
        v.node_name_changed.connect(self._on_name_changed)
        v.dropped.connect(self._on_dropped)
        v.command.connect(lambda name: getattr(self, name)())
        v.search_requested.connect(self.show_layer_search)
        v.scene().selectionChanged.connect(self._on_selection_changed)
        v.refit.connect(self.fit_view)
        self.load_graph(graph or Graph())

    # ---- whole graph ----------------------------------------------------------------------
    def load_graph(self, graph: Graph) -> None:
        """Show `graph` (replacing everything) and start a fresh undo history."""
        self.graph = graph  # data_info stays: the data panel drops it when the new graph's data section differs
        self.undo_stack.clear()
        self.clear_node_badges()
        self._refresh(True)
        self.fit_view()

    def _refresh(self, structure: bool) -> None:
        self.validation = self._validator.validate(self.graph)
        if self.data_info is not None:
            self.validation.problems += check_data(self.graph, info=self.data_info, shapes=self.validation.shapes)
        with batched_drawing():
            if structure:
                self.view.sync(self.graph, self.validation)
            else:
                self.view.paint(self.graph, self.validation)
        self.validation_changed.emit(self.validation)
        self.graph_changed.emit()

    def _edit(self, text: str, mutate: Callable[[Graph], Any]) -> Any:
        """Apply `mutate` to the graph as one undoable step; a GraphError leaves the graph untouched."""
        before = snapshot(self.graph)
        try:
            result = mutate(self.graph)
        except Exception:
            restore(self.graph, before)
            self._refresh(True)
            raise
        after = snapshot(self.graph)
        if after == before:
            self._refresh(True)  # a refused gesture may have left the scene out of step
            return result
        self.undo_stack.push(SnapshotCommand(text, self.graph, before, after, self._refresh))
        return result

    def undo(self) -> None:
        self.undo_stack.undo()

    def redo(self) -> None:
        self.undo_stack.redo()

    def set_data_info(self, info: dict | None) -> None:
        """The graph's data as loaded (`PreparedData.describe()`, or {"error": message}); None while unknown.
        Validation then also checks the Inputs and Output against it."""
        if info != self.data_info:
            self.data_info = info
            self._refresh(False)

    def new_node_params(self, type_id: str, params: dict | None) -> dict | None:
        """A new Input takes the data's next input shape, a new Output the data's task (explicit params win)."""
        info = self.data_info or {}
        role = get_spec(type_id).role
        if params is not None or "input_shapes" not in info or info.get("task") == "gan":
            return params
        if role == "input":
            index = len(self.graph.input_nodes())
            if index < len(info["input_shapes"]):
                dtypes = info.get("input_dtypes") or []
                return input_params_for(tuple(info["input_shapes"][index]),
                                        dtypes[index] if index < len(dtypes) else "float32")
        if role == "output":
            task = {"next_step": "regression", "autoencoder": "regression"}.get(info.get("task"), info.get("task"))
            if task in get_spec(type_id).param("task").choices:
                return {"task": task}
        return params

    # ---- live badges ----------------------------------------------------------------------
    def set_node_badge(self, node_id: str, text: str, color: str = "", tooltip: str = "") -> None:
        """Show a small live pill at a node's top-right (e.g. "40% dead"); empty text removes it.
        Not an edit: no undo, no validation; it stays until cleared, the node goes or the graph is replaced."""
        if node_id in self.graph.nodes:
            self.view.set_badge(node_id, text, color, tooltip)

    def clear_node_badges(self) -> None:
        """Remove every live badge (a new run starts, or another graph is loaded)."""
        self.view.clear_badges()

    def node_badge(self, node_id: str) -> str:
        """The live badge text shown on a node ('' when none)."""
        return self.view.badges.get(node_id, ("",))[0]

    # ---- nodes ----------------------------------------------------------------------------
    def view_center(self) -> tuple[float, float]:
        centre = self.widget.mapToScene(self.widget.viewport().rect().center())
        return centre.x(), centre.y()

    def _free_spot(self, pos: tuple[float, float]) -> tuple[float, float]:
        x, y = pos
        taken = {(round(n.pos[0]), round(n.pos[1])) for n in self.graph.nodes.values()}
        while (round(x), round(y)) in taken:
            x, y = x + 30, y + 30
        return x, y

    def add_node(self, type_id: str, pos: tuple[float, float] | None = None, params: dict | None = None) -> str:
        """Add a layer (at the view centre when `pos` is None) and select it; returns its id."""
        get_spec(type_id)
        params = self.new_node_params(type_id, params)
        if pos is None:
            cx, cy = self.view_center()
            pos = self._free_spot((cx - 85, cy - 40))
        nid = self._edit(f"add {type_id}", lambda g: g.add_node(type_id, params=params, pos=tuple(pos)).id)
        self.select_node(nid)
        return nid

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Set a param (GraphError for a bad value); undoable, re-validates at once."""
        node = self.graph.node(node_id)
        old = node.params.get(name)
        try:
            new = get_spec(node.type).param(name).coerce(value)
        except KeyError:
            raise GraphError(f"{get_spec(node.type).title} has no param '{name}'") from None
        except ValueError as exc:
            raise GraphError(f"{node.name}: {exc}") from None
        if new == old:
            return
        self.undo_stack.push(SetParamCommand(self.graph, node_id, name, old, new, self._refresh))

    def rename_node(self, node_id: str, name: str) -> None:
        name = name.strip()
        if not name:
            raise GraphError("a layer needs a name")
        if any(n.name == name and n.id != node_id for n in self.graph.nodes.values()):
            raise GraphError(f"another layer is already named '{name}'")

        def mutate(g: Graph) -> None:
            g.node(node_id).name = name
            g.touch()
        self._edit(f"rename to {name}", mutate)

    def swap_type(self, node_id: str, type_id: str) -> None:
        """Replace a node's layer type in place, keeping its id, position, matching params and wires."""
        spec = get_spec(type_id)

        def mutate(g: Graph) -> None:
            old = g.node(node_id)
            old_spec = get_spec(old.type)
            fresh = Graph().add_node(type_id, pos=old.pos)
            for key, value in old.params.items():
                try:
                    fresh.params[key] = spec.param(key).coerce(value)
                except (KeyError, ValueError):
                    continue
            fresh.id, fresh.name = node_id, g.unique_name(spec.type_id) if old.name.startswith(
                old_spec.type_id.lower()) else old.name
            g.nodes = {k: (fresh if k == node_id else v) for k, v in g.nodes.items()}
            ins = [p.name for p in spec.inputs]
            outs = [p.name for p in spec.outputs]
            edges = []
            for e in g.edges:
                if e.dst == node_id:
                    port = e.dst_port if e.dst_port in ins else (ins[0] if ins else None)
                    e = Edge(e.src, e.src_port, e.dst, port) if port else None
                elif e.src == node_id:
                    port = e.src_port if e.src_port in outs else (outs[0] if outs else None)
                    e = Edge(e.src, port, e.dst, e.dst_port) if port else None
                if e is not None and e not in edges:
                    edges.append(e)
            g.edges = edges
            for n in g.nodes.values():
                if n.shares == node_id:
                    n.shares = None
            g.touch()
        self._edit(f"swap to {spec.title}", mutate)

    def set_shares(self, node_id: str, other_id: str | None) -> None:
        """Make `node_id` reuse the weights of `other_id` (None stops sharing)."""
        if other_id is not None:
            if other_id == node_id:
                raise GraphError("a layer cannot share weights with itself")
            if self.graph.node(other_id).type != self.graph.node(node_id).type:
                raise GraphError("only layers of the same type can share weights")

        def mutate(g: Graph) -> None:
            g.node(node_id).shares = other_id
            g.touch()
        self._edit("share weights" if other_id else "stop sharing weights", mutate)

    # ---- selection ------------------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        """Selected layer ids in project order (a selected collapsed block selects its layers)."""
        chosen = {n.id for n in self.view.ngraph.selected_nodes()}
        for group in self.graph.groups:
            item = self.view.groups.get(group.id)
            if item is not None and item.collapsed and item.isSelected():
                chosen.update(group.node_ids)
        return [nid for nid in self.graph.nodes if nid in chosen]

    def select_node(self, node_id: str) -> None:
        self.select_nodes([node_id])

    def select_nodes(self, ids: list[str]) -> None:
        scene = self.widget.scene()
        scene.blockSignals(True)
        scene.clearSelection()
        for nid in ids:
            if nid in self.view.nodes:
                self.view.nodes[nid].view.setSelected(True)
        scene.blockSignals(False)
        self._on_selection_changed()

    def _on_selection_changed(self) -> None:
        if not shiboken6.isValid(self.widget):  # the scene still reports while the viewer is torn down
            return
        ids = self.selected_ids()
        if ids != self._selection:
            self._selection = ids
            self.selection_changed.emit(ids)

    def select_all(self) -> None:
        self.select_nodes(list(self.graph.nodes))

    # ---- delete, clipboard ----------------------------------------------------------------
    def delete_nodes(self, ids: list[str]) -> None:
        ids = [i for i in ids if i in self.graph.nodes]
        if not ids:
            return

        def mutate(g: Graph) -> None:
            for nid in ids:
                g.remove_node(nid)
        self._edit(f"delete {len(ids)} layer(s)", mutate)

    def delete_selected(self) -> None:
        self.delete_nodes(self.selected_ids())

    def copy(self) -> None:
        """Put the selected layers and the wires between them on the clipboard."""
        ids = self.selected_ids()
        if not ids:
            return
        self._clipboard = subgraph.extract(self.graph, ids)
        # Plain text, not a Python-made QMimeData: PySide6 frees that twice at exit (segfault).
        QApplication.clipboard().setText(json.dumps(self._clipboard))

    def cut(self) -> None:
        self.copy()
        self.delete_selected()

    def _clipboard_subgraph(self) -> dict | None:
        try:
            sub = json.loads(QApplication.clipboard().text())
        except ValueError:
            return self._clipboard
        return sub if isinstance(sub, dict) and sub.get("format") == subgraph.FORMAT else self._clipboard

    def paste(self, pos: tuple[float, float] | None = None) -> list[str]:
        """Paste the clipboard's layers (new ids, internal wires kept) and select them."""
        sub = self._clipboard_subgraph()
        if not sub or not sub.get("nodes"):
            return []
        if pos is None:
            x0, y0 = subgraph.bounds(sub)
            pos = (x0 + PASTE_OFFSET, y0 + PASTE_OFFSET)
            while any(abs(n.pos[0] - pos[0]) < 1 and abs(n.pos[1] - pos[1]) < 1 for n in self.graph.nodes.values()):
                pos = (pos[0] + PASTE_OFFSET, pos[1] + PASTE_OFFSET)
        ids = self._edit("paste", lambda g: subgraph.insert(g, sub, pos))
        self.select_nodes(ids)
        return ids

    def duplicate(self) -> list[str]:
        ids = self.selected_ids()
        if not ids:
            return []
        sub = subgraph.extract(self.graph, ids)
        x0, y0 = subgraph.bounds(sub)
        new = self._edit("duplicate", lambda g: subgraph.insert(g, sub, (x0 + PASTE_OFFSET, y0 + PASTE_OFFSET)))
        self.select_nodes(new)
        return new

    # ---- wires ----------------------------------------------------------------------------
    def connect(self, src: str, dst: str, src_port: str = "out", dst_port: str = "in") -> None:
        self._edit("connect", lambda g: g.connect(src, dst, src_port, dst_port))

    def disconnect(self, edge: Edge) -> None:
        self._edit("disconnect", lambda g: g.disconnect(edge))

    @staticmethod
    def _edge(a, b) -> Edge:
        out, inp = (a, b) if a.port_type == PortTypeEnum.OUT.value else (b, a)
        return Edge(out.node.id, out.name, inp.node.id, inp.name)

    def _on_connection_changed(self, disconnected: list, connected: list) -> None:
        def mutate(g: Graph) -> None:
            for a, b in disconnected:
                edge = self._edge(a, b)
                if edge in g.edges:
                    g.disconnect(edge)
            for a, b in connected:
                edge = self._edge(a, b)
                g.connect(edge.src, edge.dst, edge.src_port, edge.dst_port)
        try:
            self._edit("connect" if connected else "disconnect", mutate)
        except GraphError:
            pass  # the scene was re-synced to the unchanged graph

    def _on_connection_sliced(self, pairs: list) -> None:
        self._on_connection_changed(pairs, [])

    def insert_on_wire(self, node_id: str, edge: Edge) -> None:
        """Put a node into an existing wire: src -> node -> dst."""
        self._edit("insert into wire", lambda g: self._splice(g, node_id, edge))

    @staticmethod
    def _splice(g: Graph, node_id: str, edge: Edge) -> None:
        spec = get_spec(g.node(node_id).type)
        if not spec.inputs or not spec.outputs or node_id in (edge.src, edge.dst):
            raise GraphError(f"{spec.title} cannot be put into a wire")
        g.disconnect(edge)
        g.connect(edge.src, node_id, edge.src_port, spec.inputs[0].name)
        g.connect(node_id, edge.dst, spec.outputs[0].name, edge.dst_port)

    def _on_insert_node(self, pipe, node_id: str, prev_positions: dict) -> None:
        edge = self.view.edge_of_pipe(pipe)
        moves = {view.id: (tuple(prev), tuple(view.xy_pos)) for view, prev in prev_positions.items()}

        def mutate(g: Graph) -> None:
            for nid, (_, new) in moves.items():
                g.node(nid).pos = new
            if edge is not None:
                self._splice(g, node_id, edge)
        try:
            self._edit("insert into wire", mutate)
        except GraphError:
            pass

    # ---- moves ----------------------------------------------------------------------------
    def move_nodes(self, positions: dict[str, tuple[float, float]], text: str = "move") -> None:
        moves = {nid: (tuple(self.graph.node(nid).pos), tuple(pos)) for nid, pos in positions.items()
                 if tuple(self.graph.node(nid).pos) != tuple(pos)}
        if moves:
            self.undo_stack.push(MoveCommand(text, self.graph, moves, self._refresh))

    def _on_nodes_moved(self, prev_positions: dict) -> None:
        self.move_nodes({view.id: tuple(view.xy_pos) for view in prev_positions if view.id in self.graph.nodes})

    def auto_layout(self) -> None:
        """Arrange the layers in depth columns, branches in lanes, deep networks wrapped into rows."""
        if not self.view.nodes:
            return
        widths = {nid: v.view.width for nid, v in self.view.nodes.items()}
        dy = max(v.view.height for v in self.view.nodes.values()) + LAYOUT_GAP_Y
        self.move_nodes(layered_layout(self.graph, widths=widths, dy=dy), "auto-layout")
        self.fit_view()

    # ---- navigation -----------------------------------------------------------------------
    def zoom(self) -> float:
        """The current scale of the canvas (1.0 = 100 %)."""
        return self.widget.transform().m11()

    def _show(self, centre: QPointF, scale: float) -> None:
        """Show the scene around `centre` at `scale` (clamped to MIN_ZOOM..MAX_ZOOM)."""
        scale = min(MAX_ZOOM, max(MIN_ZOOM, scale))
        size = self.widget.viewport().size()
        w, h = (size.width() - 4) / scale, (size.height() - 4) / scale  # fitInView keeps a 2 px margin
        self.widget.set_scene_rect([centre.x() - w / 2, centre.y() - h / 2, w, h])

    def _content_rect(self) -> QRectF | None:
        items = [v.view for v in self.view.nodes.values() if v.view.isVisible()]
        items += list(self.view.groups.values())
        if not items:
            return None
        rect = items[0].sceneBoundingRect()
        for item in items[1:]:
            rect = rect.united(item.sceneBoundingRect())
        return rect.adjusted(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN)

    def fit_view(self) -> None:
        """Show the whole network, at no more than 100 % (below the legible zoom a node shows only its name,
        large: see nodes.SIMPLE_ZOOM)."""
        rect = self._content_rect()
        if rect is None:
            return
        size = self.widget.viewport().size()
        scale = min((size.width() - 4) / rect.width(), (size.height() - 4) / rect.height(), 1.0)
        self._show(rect.center(), scale)
        self.widget.keep_fit = True

    def zoom_in(self) -> None:
        self._show(self._view_centre(), self.zoom() * ZOOM_STEP)
        self.widget.keep_fit = False

    def zoom_out(self) -> None:
        self._show(self._view_centre(), self.zoom() / ZOOM_STEP)
        self.widget.keep_fit = False

    def center_on(self, node_id: str) -> None:
        """Bring a layer to the middle of the canvas, zooming in to a legible size if needed."""
        if node_id not in self.view.nodes:
            return
        self._show(self.view.node_rect(node_id).center(), max(self.zoom(), READABLE_ZOOM))
        self.widget.keep_fit = False

    def _view_centre(self) -> QPointF:
        return QPointF(*self.view_center())

    # ---- gestures from the viewer -----------------------------------------------------------
    def _on_search_triggered(self, node_type: str, pos: tuple) -> None:
        self.add_node(self.view.ngraph.node_factory.nodes[node_type].TYPE_ID, pos=(pos[0], pos[1]))

    def show_layer_search(self) -> None:
        """NodeGraphQt's Tab search listing every layer; choosing one adds it at the cursor."""
        self.widget.tab_search_set_nodes(self.view.ngraph.node_factory.names)
        self.widget.tab_search_toggle()

    def _on_name_changed(self, node_id: str, name: str) -> None:
        try:
            self.rename_node(node_id, name)
        except GraphError:
            view = self.view.nodes[node_id]
            view.view.name = self.graph.node(node_id).name

    def _on_dropped(self, kind: str, payload: str, pos: QPointF) -> None:
        if kind == "block":
            self.insert_block(payload, (pos.x(), pos.y()))
            return
        pipe = next((i for i in self.widget.scene().items(pos) if isinstance(i, ShapePipeItem)), None)
        edge = self.view.edge_of_pipe(pipe) if pipe is not None else None
        spec = get_spec(payload)
        at = (pos.x() - 85, pos.y() - 30)

        params = self.new_node_params(payload, None)

        def mutate(g: Graph) -> str:
            nid = g.add_node(payload, params=params, pos=at).id
            if edge is not None and spec.inputs and spec.outputs:
                self._splice(g, nid, edge)
            return nid
        nid = self._edit(f"add {spec.title}", mutate)
        self.select_node(nid)

    # ---- fixes ----------------------------------------------------------------------------
    def apply_fix(self, problem: Problem) -> bool:
        """Apply a problem's fix: match the graph to its data, or insert the fix layer (e.g. Flatten) in front of
        its node, wired in; False if none."""
        node = self.graph.nodes.get(problem.node_id or "")
        if node is None:
            return False
        fix = getattr(problem, "fix", None) or get_spec(node.type).fix
        if fix == MATCH_DATA:
            return self.match_data()
        incoming = self.graph.incoming(node.id)
        if not fix or not incoming:
            return False
        edge = incoming[0]
        width = self.view.nodes[node.id].view.width if node.id in self.view.nodes else 170.0

        def mutate(g: Graph) -> None:
            downstream = self._downstream(g, node.id)
            for nid in downstream:
                x, y = g.nodes[nid].pos
                g.nodes[nid].pos = (x + width + INSERT_GAP, y)
            new = g.add_node(fix, pos=node.pos if node.id not in downstream else
                             (g.nodes[node.id].pos[0] - width - INSERT_GAP, g.nodes[node.id].pos[1]))
            self._splice(g, new.id, edge)
        self._edit(f"insert {get_spec(fix).title}", mutate)
        return True

    def fix_node(self, node_id: str) -> None:
        """Apply the fix of the node's first fixable problem (the fix pill on the node), after the click ends."""
        problem = first_problem(self.validation.problems_for(node_id) if self.validation else [])
        if problem is not None and problem.fix:
            QTimer.singleShot(0, lambda: self.apply_fix(problem))

    def match_data(self) -> bool:
        """Set the Inputs and the Output (task, last layer's size) to fit the loaded data, as one undo step."""
        if not self.data_info or "input_shapes" not in self.data_info:
            return False
        info = self.data_info
        return bool(self._edit("match the data", lambda g: match_data(g, info)))

    @staticmethod
    def _downstream(g: Graph, start: str) -> set[str]:
        seen, frontier = {start}, [start]
        while frontier:
            nid = frontier.pop()
            for e in g.outgoing(nid):
                if e.dst not in seen:
                    seen.add(e.dst)
                    frontier.append(e.dst)
        return seen

    # ---- groups and blocks ------------------------------------------------------------------
    def _make_group_item(self, group_id: str) -> GroupItem:
        item = GroupItem(group_id)
        item.toggled.connect(self.toggle_group_collapsed)
        item.moved.connect(self._on_group_moved)
        return item

    def group_selected(self, name: str) -> str:
        """Make a named group of the selected layers (taking them out of any other group)."""
        ids = self.selected_ids()
        if not ids:
            raise GraphError("select the layers to group first")

        def mutate(g: Graph) -> str:
            for other in g.groups:
                other.node_ids = [n for n in other.node_ids if n not in ids]
            g.groups = [o for o in g.groups if o.node_ids]
            gid = subgraph.new_group_id(g)
            g.groups.append(Group(gid, name.strip() or "block", list(ids)))
            g.touch()
            return gid
        return self._edit(f"group {name}", mutate)

    def ungroup(self, group_id: str) -> None:
        def mutate(g: Graph) -> None:
            g.groups = [o for o in g.groups if o.id != group_id]
            g.touch()
        self._edit("ungroup", mutate)

    def toggle_group_collapsed(self, group_id: str) -> None:
        def mutate(g: Graph) -> None:
            group = next(o for o in g.groups if o.id == group_id)
            group.collapsed = not group.collapsed
            g.touch()
        self._edit("collapse/expand group", mutate)

    def _on_group_moved(self, group_id: str, dx: float, dy: float) -> None:
        group = next((o for o in self.graph.groups if o.id == group_id), None)
        if group is None:
            return
        self.move_nodes({nid: (self.graph.nodes[nid].pos[0] + dx, self.graph.nodes[nid].pos[1] + dy)
                         for nid in group.node_ids}, "move block")

    def save_selection_as_block(self, name: str) -> None:
        """Save the selected layers and their inner wires to the user's block library."""
        blocks.save_block(name, subgraph.extract(self.graph, self.selected_ids()))

    def insert_block(self, name: str, pos: tuple[float, float] | None = None) -> str:
        """Insert a saved block as a new named group; returns the group id."""
        sub = blocks.load_block(name)
        if pos is None:
            cx, cy = self.view_center()
            pos = self._free_spot((cx - 85, cy - 40))

        def mutate(g: Graph) -> str:
            ids = subgraph.insert(g, sub, pos)
            g.groups = [grp for grp in g.groups if not set(grp.node_ids) <= set(ids)]
            gid = subgraph.new_group_id(g)
            g.groups.append(Group(gid, name, ids))
            return gid
        gid = self._edit(f"insert block {name}", mutate)
        self.select_nodes(next(g.node_ids for g in self.graph.groups if g.id == gid))
        return gid
