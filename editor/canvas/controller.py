"""The bridge between the engine Document (the truth, with every named edit) and the canvas (a view).

The controller turns canvas gestures into document edits, puts each document step on Qt's undo stack
and repaints the canvas when the document reports a change; the edits themselves live in engine/document.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import shiboken6
from NodeGraphQt.constants import PortTypeEnum
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QApplication

from editor import warmup
from editor.canvas import blocks
from editor.canvas.commands import StepCommand
from editor.canvas.nodes import batched_drawing
from editor.canvas.overlays import GroupItem
from editor.canvas.view import CanvasView, first_problem
from editor.canvas.wires import ShapePipeItem
from engine import subgraph
from engine.datacheck import input_params_for
from engine.document import Change, Document, Step
from engine.errors import GraphError, Problem
from engine.graph import Edge, Graph
from engine.layers.registry import get_spec
from engine.layout import layered_layout
from engine.templates import blank_project
from engine.validate import Validation

PASTE_OFFSET = 40.0
FIT_MARGIN = 40.0
READABLE_ZOOM = 0.7
"""Below this a node's 8.5 pt text is under 6 px tall: centring on a node zooms in to at least this."""
MIN_ZOOM, MAX_ZOOM = 0.1, 3.0
ZOOM_STEP = 1.2
LAYOUT_GAP_Y = 46.0
BADGE_SOURCES = ("doctor", "live")
"""Badge slots a node can show at once, joined in this order (the first one's colour is used)."""


class CanvasController(QObject):
    """The only way the editor changes the graph; the canvas and the panels follow its signals."""

    graph_changed = Signal()
    selection_changed = Signal(list)
    validation_changed = Signal(object)

    def __init__(self, parent: QObject | None = None, graph: Graph | None = None):
        super().__init__(parent)
        self.view = CanvasView(self)
        self._badge_slots: dict[str, dict[str, tuple[str, str, str]]] = {}
        self.widget = self.view.widget
        self.undo_stack = QUndoStack(self)
        self.document = Document(on_change=self._changed, record=self._record, validator=warmup.StartupValidator())
        self._clipboard: dict | None = None
        self._selection: list[str] = []
        self._syncing = False
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
        v.scene().selectionChanged.connect(self._on_scene_selection)
        v.refit.connect(self.fit_view)
        self.load_graph(graph or blank_project())
        warmup.after_load(self._check_after_start)

    # ---- whole graph ----------------------------------------------------------------------
    @property
    def graph(self) -> Graph:
        return self.document.graph

    @property
    def validation(self) -> Validation:
        return self.document.validation

    @property
    def data_info(self) -> dict | None:
        """The description of the graph's data once loaded (the data panel sets it): validation checks against it."""
        return self.document.data_info

    @data_info.setter
    def data_info(self, info: dict | None) -> None:
        """Forget (or set) the loaded data without re-validating (the data panel, while new data loads)."""
        self.document.data_info = info

    def load_graph(self, graph: Graph) -> None:
        """Show `graph` (replacing everything) and start a fresh undo history."""
        self.undo_stack.clear()
        self.clear_node_badges()
        self.document.load(graph)
        self.fit_view()

    def _changed(self, change: Change) -> None:
        """The document changed (an edit, undo or redo): redraw the canvas and tell the panels."""
        if not hasattr(self, "document"):
            return  # the document's first validation, while it is being made
        self._syncing = True  # removing selected items reports each one: the selection is read once, after
        try:
            with batched_drawing():
                if change.structure:
                    self.view.sync(self.graph, change.validation)
                else:
                    self.view.paint(self.graph, change.validation)
        finally:
            self._syncing = False
        self._on_selection_changed()
        self.validation_changed.emit(change.validation)
        self.graph_changed.emit()

    def _check_after_start(self) -> None:
        """Validate what the window drew unchecked while PyTorch loaded (nothing to do when it was loaded)."""
        if self.document.validation.pending:
            self.document.revalidate("PyTorch loaded", True)

    def _record(self, step: Step) -> None:
        self.undo_stack.push(StepCommand(self.document, step))

    def _resync(self) -> None:
        """Redraw from the graph after a refused gesture (the scene may show a wire the graph does not have)."""
        self._changed(Change("", True, self.validation))

    def _do(self, edit: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a document edit; if it fails or changes nothing, put the canvas back in step with the graph."""
        self.document.last_step = None
        try:
            result = edit(*args, **kwargs)
        except Exception:
            self._resync()
            raise
        if self.document.last_step is None:
            self._resync()
        return result

    def _edit(self, text: str, mutate: Callable[[Graph], Any]) -> Any:
        """Apply `mutate` to the graph as one undoable document step (see Document.edit)."""
        return self._do(self.document.edit, text, mutate)

    def undo(self) -> None:
        self.undo_stack.undo()

    def redo(self) -> None:
        self.undo_stack.redo()

    def set_data_info(self, info: dict | None) -> None:
        """The graph's data as loaded (`PreparedData.describe()`, or {"error": message}); None while unknown.
        Validation then also checks the Inputs and Output against it."""
        self.document.set_data_info(info)

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
    def set_node_badge(self, node_id: str, text: str, color: str = "", tooltip: str = "",
                       source: str = "live") -> None:
        """Show a small live pill at a node's top-right (e.g. "40% dead"); empty text removes it.
        Each `source` (BADGE_SOURCES) has its own slot on the node, so the doctor's badge never hides the live one.
        Not an edit: no undo, no validation; it stays until cleared, the node goes or the graph is replaced."""
        if node_id not in self.graph.nodes:
            return
        slots = self._badge_slots.setdefault(node_id, {})
        if text:
            slots[source] = (text, color, tooltip)
        else:
            slots.pop(source, None)
        shown = [slots[s] for s in BADGE_SOURCES if s in slots]
        if not shown:
            self._badge_slots.pop(node_id, None)
            self.view.set_badge(node_id, "", "")
            return
        self.view.set_badge(node_id, " · ".join(b[0] for b in shown), shown[0][1],
                            "\n".join(b[2] for b in shown if b[2]))

    def clear_node_badges(self) -> None:
        """Remove every live badge (a new run starts, or another graph is loaded)."""
        self._badge_slots = {}
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
        nid = self._do(self.document.add_node, type_id, tuple(pos), params)
        self.select_node(nid)
        return nid

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Set a param (GraphError for a bad value); undoable, re-validates at once."""
        self.document.set_param(node_id, name, value)

    def rename_node(self, node_id: str, name: str) -> None:
        self._do(self.document.rename_node, node_id, name)

    def swap_type(self, node_id: str, type_id: str) -> None:
        """Replace a node's layer type in place, keeping its id, position, matching params and wires."""
        self._do(self.document.swap_type, node_id, type_id)

    def set_shares(self, node_id: str, other_id: str | None) -> None:
        """Make `node_id` reuse the weights of `other_id` (None stops sharing)."""
        self._do(self.document.set_shares, node_id, other_id)

    # ---- selection ------------------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        """Selected layer ids in project order (a selected collapsed block selects its layers)."""
        chosen = {n.id for n in self.view.ngraph.selected_nodes()} | self.view.selected_unbuilt
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
        built = self.view.nodes.built
        self.view.select_unbuilt([nid for nid in ids if nid in self.view.nodes and nid not in built])
        for nid in ids:
            if nid in built:
                built[nid].view.setSelected(True)
        scene.blockSignals(False)
        self._on_selection_changed()

    def _on_scene_selection(self) -> None:
        """The user selected on the canvas: a plain click or band replaces the selection, so nodes selected while
        they had no items drop out of it (Shift or Ctrl add to or take from it, leaving them)."""
        held = QApplication.keyboardModifiers() & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier)
        if not self._syncing and not held and self.view.selected_unbuilt:
            self.view.select_unbuilt([])
        self._on_selection_changed()

    def _on_selection_changed(self) -> None:
        if self._syncing or not shiboken6.isValid(self.widget):  # the scene still reports while the viewer is torn down
            return
        ids = self.selected_ids()
        if ids != self._selection:
            self._selection = ids
            self.selection_changed.emit(ids)

    def select_all(self) -> None:
        self.select_nodes(list(self.graph.nodes))

    # ---- delete, clipboard ----------------------------------------------------------------
    def delete_nodes(self, ids: list[str]) -> None:
        self.document.remove_nodes(ids)

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
        ids = self._do(self.document.paste, sub, pos)
        self.select_nodes(ids)
        return ids

    def duplicate(self) -> list[str]:
        ids = self.selected_ids()
        if not ids:
            return []
        sub = subgraph.extract(self.graph, ids)
        x0, y0 = subgraph.bounds(sub)
        new = self._do(self.document.paste, sub, (x0 + PASTE_OFFSET, y0 + PASTE_OFFSET), "duplicate")
        self.select_nodes(new)
        return new

    # ---- wires ----------------------------------------------------------------------------
    def connect(self, src: str, dst: str, src_port: str = "out", dst_port: str = "in") -> None:
        self._do(self.document.connect, src, dst, src_port, dst_port)

    def disconnect(self, edge: Edge) -> None:
        self._do(self.document.disconnect, edge)

    @staticmethod
    def _edge(a, b) -> Edge:
        out, inp = (a, b) if a.port_type == PortTypeEnum.OUT.value else (b, a)
        return Edge(out.node.id, out.name, inp.node.id, inp.name)

    def _on_connection_changed(self, disconnected: list, connected: list) -> None:
        removed = [self._edge(a, b) for a, b in disconnected]
        added = [self._edge(a, b) for a, b in connected]
        try:
            self._do(self.document.rewire, removed, added)
        except GraphError:
            pass  # the scene was re-synced to the unchanged graph

    def _on_connection_sliced(self, pairs: list) -> None:
        self._on_connection_changed(pairs, [])

    def insert_on_wire(self, node_id: str, edge: Edge) -> None:
        """Put a node into an existing wire: src -> node -> dst."""
        self._do(self.document.insert_on_wire, node_id, edge)

    def _on_insert_node(self, pipe, node_id: str, prev_positions: dict) -> None:
        edge = self.view.edge_of_pipe(pipe)
        moves = {view.id: tuple(view.xy_pos) for view in prev_positions}
        if edge is None:
            self.move_nodes(moves)
            return
        try:
            self._do(self.document.insert_on_wire, node_id, edge, moves)
        except GraphError:
            pass

    # ---- moves ----------------------------------------------------------------------------
    def move_nodes(self, positions: dict[str, tuple[float, float]], text: str = "move") -> None:
        self._do(self.document.move_nodes, positions, text)

    def _on_nodes_moved(self, prev_positions: dict) -> None:
        self.move_nodes({view.id: tuple(view.xy_pos) for view in prev_positions if view.id in self.graph.nodes})

    def auto_layout(self) -> None:
        """Arrange the layers in depth columns, branches in lanes, deep networks wrapped into rows."""
        if not self.view.nodes:
            return
        sizes = {nid: self.view.size(nid) for nid in self.view.nodes}
        widths = {nid: size[0] for nid, size in sizes.items()}
        dy = max(size[1] for size in sizes.values()) + LAYOUT_GAP_Y
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
        rect = self.view.content_rect()  # a problem's note is part of what to see
        return rect.adjusted(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN) if rect is not None else None

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
        at = (pos.x() - 85, pos.y() - 30)
        nid = self._do(self.document.add_node, payload, at, self.new_node_params(payload, None), on_wire=edge)
        self.select_node(nid)

    # ---- fixes ----------------------------------------------------------------------------
    def apply_fix(self, problem: Problem) -> bool:
        """Apply a problem's fix: match the graph to its data, or insert the fix layer (e.g. Flatten) in front of
        its node, wired in; False if none."""
        node_id = problem.node_id or ""
        width = self.view.size(node_id)[0] if node_id in self.view.nodes else 170.0
        return self.document.apply_fix(problem, width)

    def fix_node(self, node_id: str) -> None:
        """Apply the fix of the node's first fixable problem (the fix pill on the node), after the click ends."""
        problem = first_problem(self.validation.problems_for(node_id) if self.validation else [])
        if problem is not None and problem.fix:
            QTimer.singleShot(0, lambda: self.apply_fix(problem))

    def match_data(self) -> bool:
        """Set the Inputs and the Output (task, last layer's size) to fit the loaded data, as one undo step."""
        return self.document.match_data()

    # ---- groups and blocks ------------------------------------------------------------------
    def _make_group_item(self, group_id: str) -> GroupItem:
        item = GroupItem(group_id)
        item.toggled.connect(self.toggle_group_collapsed)
        item.moved.connect(self._on_group_moved)
        return item

    def group_selected(self, name: str) -> str:
        """Make a named group of the selected layers (taking them out of any other group)."""
        ids = self.selected_ids()
        return self._do(self.document.group, ids, name)

    def ungroup(self, group_id: str) -> None:
        self._do(self.document.ungroup, group_id)

    def toggle_group_collapsed(self, group_id: str) -> None:
        self._do(self.document.toggle_group, group_id)

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

        gid = self._do(self.document.insert_block, sub, name, pos)
        self.select_nodes(next(g.node_ids for g in self.graph.groups if g.id == gid))
        return gid
