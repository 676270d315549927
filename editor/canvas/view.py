"""Mirrors an engine Graph on a NodeGraphQt scene and paints validation results onto it.

The Graph is the truth: `sync` reconciles the scene with it (creating, removing, moving and wiring
only what differs) and `paint` updates only the nodes and wires whose look changed. In a big graph a
node's items are built only when needed (editor.canvas.lazy); until then one layer item paints it.
"""

from __future__ import annotations

from NodeGraphQt import NodeGraph
from PySide6.QtCore import QObject, QRectF, QTimer, Signal
from PySide6.QtGui import QColor, QUndoStack

from editor import theme
from editor.canvas.lazy import LAZY_FROM, FarLayer, NodeItems, NodeRecord
from editor.canvas.nodes import (
    FAR_PX,
    SHAPE_GAP,
    LayerNode,
    NodeLook,
    batched_drawing,
    flush_drawing,
    node_class,
    node_size,
)
from editor.canvas.overlays import BLOCK_H, BLOCK_W, GroupItem, ShareLinkItem
from editor.canvas.viewer import CanvasViewer
from editor.canvas.wires import Obstacles, deferred_wrapping
from editor.panels.problems import fix_text
from engine import finetune
from engine.graph import Edge, Graph, Node
from engine.layers.registry import all_specs, get_spec
from engine.shapes_format import format_key_params, format_shape
from engine.validate import Validation


class _NoHistory(QUndoStack):
    """NodeGraphQt's undo stack made inert: its commands run at once and are not kept."""

    def push(self, cmd) -> None:
        cmd.redo()

    def beginMacro(self, text: str) -> None:
        pass

    def endMacro(self) -> None:
        pass


class _Graph(NodeGraph):
    """NodeGraphQt graph whose node names are the engine's (already unique) names."""

    def get_unique_name(self, name: str) -> str:
        return name


_TEMP_KEYS = ("_TEMP_property_widget_types", "_TEMP_property_attrs",
              "_TEMP_accept_connection_types", "_TEMP_reject_connection_types")


def _unlink(connected: dict, node_id: str, port: str) -> None:
    names = connected.get(node_id, [])
    if port in names:
        names.remove(port)
    if not names:
        connected.pop(node_id, None)


def node_look(graph: Graph, node: Node, validation: Validation | None, problems: list, frozen: bool = False,
              loaded: bool = False) -> NodeLook:
    """What the canvas shows for `node` given the latest validation (and its fine-tuning state)."""
    spec = get_spec(node.type)
    params = format_key_params(node.type, node.params)
    shape = validation.shapes.get(node.id) if validation else None
    count = validation.param_counts.get(node.id, 0) if validation else 0
    arrow = "\u2190" if spec.role == "output" else "\u2192"
    shape_text = f"{arrow} {format_shape(shape)}" + (f"{SHAPE_GAP}{count:,} params" if count else "")
    severity = ""
    if any(p.severity == "error" for p in problems):
        severity = "error"
    elif problems:
        severity = "warning"
    owner = graph.nodes.get(node.shares) if node.shares else None
    badge = f"shares {owner.name}" if owner else ""
    tip = [f"<b>{node.name}</b> \u2014 {spec.title}", spec.summary, f"output {format_shape(shape)}"]
    if count:
        tip.append(f"{count:,} {'frozen' if frozen else 'trainable'} parameters" + (" (shared)" if owner else ""))
    if frozen:
        tip.append("Frozen: its weights do not train (right-click: Unfreeze)")
    if loaded:
        tip.append("Starts from the loaded weights (File > Load weights…)")
    for p in problems:
        colour = theme.ERROR_COLOR if p.severity == "error" else theme.WARNING_COLOR
        tip.append(f"<span style='color:{colour}'><b>{p.message}</b></span>"
                   + (f"<br><i>Hint:</i> {p.hint}" if p.hint else ""))
    first = first_problem(problems)
    note = _note_text(first, len(problems)) if first else ""
    fix = fix_text(first.fix)[0] if first and first.fix else ""
    return NodeLook(spec.title, params, shape_text, badge, severity, "<br>".join(tip), note, fix, frozen, loaded)


def _out_ports(node: Node) -> list[str]:
    """The output port names a node shows: a Split has one per piece, so a change of its params redraws it."""
    return [p.name for p in get_spec(node.type).output_ports(node.params)]


def first_problem(problems: list):
    """The problem a node's note shows: its first error, else its first warning."""
    return next((p for p in problems if p.severity == "error"), problems[0] if problems else None)


def _note_text(problem, count: int) -> str:
    """A problem as the note under its node says it: the message without the node's own name in front."""
    text = problem.message.rstrip(".")
    head, sep, rest = text.partition(": ")
    if sep and " " not in head.strip("'"):
        text = rest
    more = f" (+{count - 1} more)" if count > 1 else ""
    return f"{text[0].upper()}{text[1:]}{more}" if text else ""


BUILD_CHUNK = 12
"""Nodes built per turn of the event loop when they come into view."""


class CanvasView(QObject):
    """Owns the NodeGraphQt graph and its viewer; knows nothing about undo."""

    nodes_built = Signal(list)
    """Ids of nodes whose items were just built (overlays that decorate node items add theirs)."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._stack = _NoHistory(self)
        self.viewer = CanvasViewer(undo_stack=self._stack)
        self.ngraph = _Graph(parent=self, undo_stack=self._stack, viewer=self.viewer)
        self.viewer.follow_theme()
        self.ngraph.set_pipe_collision(True)
        for spec in all_specs():
            self.ngraph.register_node(node_class(spec))
        for signal, slot in ((self.viewer.search_triggered, self.ngraph._on_search_triggered),
                             (self.viewer.connection_sliced, self.ngraph._on_connection_sliced),
                             (self.viewer.connection_changed, self.ngraph._on_connection_changed),
                             (self.viewer.moved_nodes, self.ngraph._on_nodes_moved),
                             (self.viewer.node_name_changed, self.ngraph._on_node_name_changed),
                             (self.viewer.insert_node, self.ngraph._on_insert_node),
                             (self.viewer.data_dropped, self.ngraph._on_node_data_dropped)):
            signal.disconnect(slot)  # these gestures become DeepWire commands instead
        self.records: dict[str, NodeRecord] = {}
        """Every node on the canvas, built or not."""
        self.nodes = NodeItems(self)
        """Node items by id (reading one builds it); `nodes.built` are those that exist."""
        self.layer = FarLayer(self)
        self.viewer.scene().addItem(self.layer)
        self.viewer.on_demand = self.build_in
        self._validation: Validation | None = None
        self.selected_unbuilt: set[str] = set()
        """Selected nodes that have no items yet (select all on a big graph selects without building)."""
        self._build_timer = QTimer(self)
        self._build_timer.setSingleShot(True)
        self._build_timer.setInterval(0)
        self._build_timer.timeout.connect(self._build_visible)
        self._edges: set[Edge] = set()
        self._edges_at: dict[str, set[Edge]] = {}
        """The wires touching each node, so adding or removing one never scans every wire."""
        self._wire_labels: dict[Edge, str] = {}
        self.groups: dict[str, GroupItem] = {}
        self._links: dict[str, ShareLinkItem] = {}
        self._group_factory = None
        self.fix_handler = None
        """`fix_handler(node_id)` applies the fix of a node's first problem (the note's fix pill); set by the controller."""
        self.badges: dict[str, tuple[str, str, str]] = {}
        """Live badges by node id: (text, colour, tooltip); they outlive re-creation of the node's item."""
        self.loaded: set[str] = set()
        """Nodes that start from loaded weights (fine-tuning), marked in their header."""

    @property
    def widget(self) -> CanvasViewer:
        return self.viewer

    # ---- structure ------------------------------------------------------------------------
    def sync(self, graph: Graph, validation: Validation | None = None) -> None:
        """Make the scene show exactly `graph` (nodes, names, positions, wires, groups, shares) painted
        with `validation`; new nodes get their look before their first layout, so each is laid out once.
        A big graph's nodes get their items later, when needed (see `build`)."""
        built = self.nodes.built
        for nid in [n for n, rec in self.records.items() if n not in graph.nodes or graph.nodes[n].type != rec.type
                    or _out_ports(graph.nodes[n]) != list(rec.outputs)]:  # a Split's ports follow its params
            self._remove(nid)
        self.badges = {nid: badge for nid, badge in self.badges.items() if nid in graph.nodes}
        for nid, node in graph.nodes.items():
            rec = self.records.get(nid)
            if rec is None:
                self.records[nid] = NodeRecord.of(node)
                continue
            view = built.get(nid)
            if view is not None and (rec.name, rec.pos) != (node.name, tuple(node.pos)):
                if view.view.name != node.name:
                    view.model.name = node.name
                    view.view.name = node.name
                    view.view.draw_node()
                if list(view.view.xy_pos) != list(node.pos):
                    self._place(view, node.pos)
            rec.name, rec.pos = node.name, tuple(node.pos)
        self._paint_nodes(graph, validation)
        if len(graph.nodes) < LAZY_FROM:
            for nid in [n for n in self.records if n not in built]:
                self._create(nid)
        flush_drawing()
        want = set(graph.edges)
        for edge in self._edges - want:
            self._disconnect(edge)
        with deferred_wrapping():  # wrapped wires are routed once below, when every node and wire is placed
            for edge in [e for e in graph.edges if e not in self._edges]:
                self._connect(edge)
        self._paint_wires(validation)
        self.sync_groups(graph)
        self.sync_links(graph)
        self._route([self.pipe(edge) for edge in self._edges  # wires into a later row route around group titles
                     if graph.nodes[edge.dst].pos[0] < self._right(edge.src)])
        self.layer.refresh()

    def _right(self, node_id: str) -> float:
        """The right edge of a node (where its output ports are): a wire into a node left of it wraps."""
        return self.records[node_id].rect().right()

    def _route(self, pipes: list) -> None:
        """Route wrapped wires around layers and group titles (all at once: each route looks at every node)."""
        pipes = [pipe for pipe in pipes if pipe is not None and pipe.isVisible()]
        if not pipes:
            return
        obstacles = Obstacles([rec.rect() for rec in self.records.values() if rec.parked is None]
                              + [g.mapRectToScene(g.title_rect()) for g in self.groups.values()])
        routes = [pipe.wrap_route(obstacles=obstacles) for pipe in pipes]
        with deferred_wrapping():
            for pipe, route in zip(pipes, routes, strict=True):
                if route is None:
                    pipe.draw_path(pipe.input_port, pipe.output_port)
                pipe.apply_route(route)

    def edges(self) -> set[Edge]:
        """The wires on the canvas (with or without items)."""
        return self._edges

    def edges_at(self, nid: str) -> set[Edge]:
        return self._edges_at.get(nid, set())

    # ---- building node items on demand -------------------------------------------------------
    def build(self, ids) -> None:
        """Give these nodes their NodeGraphQt items (and the wires between built nodes theirs)."""
        built = self.nodes.built
        todo = [nid for nid in dict.fromkeys(ids) if nid in self.records and nid not in built]
        if not todo:
            return
        pipes = []
        with batched_drawing():
            for nid in todo:
                self._create(nid)
            flush_drawing()
            with deferred_wrapping():
                for nid in todo:
                    for edge in self.edges_at(nid):
                        if edge.src in built and edge.dst in built and self.pipe(edge) is None:
                            pipe = self._make_pipe(edge)
                            if self.records[edge.dst].pos[0] < self._right(edge.src):
                                pipes.append(pipe)  # into a later row: routed below
            self._route(pipes)
        chosen = [nid for nid in todo if nid in self.selected_unbuilt]
        if chosen:  # the item takes over the selection, silently: the selected ids stay the same
            scene = self.viewer.scene()
            blocked = scene.blockSignals(True)
            for nid in chosen:
                built[nid].view.setSelected(True)
            scene.blockSignals(blocked)
            self.selected_unbuilt.difference_update(chosen)
        self.layer.forget(todo)
        self.nodes_built.emit(todo)

    def select_unbuilt(self, ids: list[str]) -> None:
        """Set which nodes without items are selected (drawn outlined in the selection colour)."""
        self.selected_unbuilt = set(ids)
        self.layer.update()

    def build_in(self, area: QRectF) -> None:
        """Build the nodes in a scene area and the ends of the painted wires crossing it (the mouse is there)."""
        if len(self.nodes.built) < len(self.records):
            ids = self.layer.ids_in(area) + sorted(self.layer.wire_ends_in(area))
            near = {e.dst if e.src == nid else e.src for nid in ids for e in self.edges_at(nid)}
            self.build(ids + sorted(near))  # with its neighbours, a dragged node's wires follow it

    def schedule_build(self) -> None:
        """Build what the view shows legibly, once the current paint is over (the scene must not change in it)."""
        self._build_timer.start()

    def _build_visible(self) -> None:
        """Build the legible nodes in and just around the view, nearest the centre first, BUILD_CHUNK at a time
        (events run between chunks, so a pan into unbuilt nodes stays smooth)."""
        viewer = self.viewer
        zoom = viewer.transform().m11()
        area = viewer.mapToScene(viewer.viewport().rect()).boundingRect()
        centre = area.center()
        area.adjust(-area.width() / 4, -area.height() / 4, area.width() / 4, area.height() / 4)  # a pan ahead
        todo = [nid for nid in self.layer.ids_in(area) if self.records[nid].size[0] * zoom >= FAR_PX]
        todo.sort(key=lambda nid: (self.records[nid].rect().center() - centre).manhattanLength())
        self.build(todo[:BUILD_CHUNK])
        if len(todo) > BUILD_CHUNK:
            self._build_timer.start()

    def _create(self, nid: str) -> None:
        """Build a node item and put it in the scene directly (NodeGraph.add_node serialises the node,
        makes its name unique and pushes undo commands: ~3 ms a node, all of it unneeded here)."""
        rec = self.records[nid]
        spec = get_spec(rec.type)
        obj = node_class(spec)()
        if spec.multi_output:
            obj.add_outputs(rec.output_ports)
        obj.model.id = obj.view.id = nid
        temp = {key: obj.model.__dict__.pop(key) for key in _TEMP_KEYS}
        common = self.ngraph.model
        if common.get_node_common_properties(obj.type_) is None:
            attrs = {name: {"widget_type": kind} for name, kind in temp["_TEMP_property_widget_types"].items()}
            for name, extra in temp["_TEMP_property_attrs"].items():
                attrs[name].update(extra)
            common.set_node_common_properties({obj.type_: attrs})
        obj._graph = self.ngraph
        obj.model._graph_model = common
        obj.model.name = obj.view.name = rec.name
        obj.view.on_fix = lambda: self.fix_handler and self.fix_handler(nid)
        if rec.look is not None:
            obj.view.set_look(rec.look)
        self._place(obj, rec.pos)  # before it joins the scene: moving an item in the scene re-files it
        if rec.parked is not None:
            obj.view.xy_pos = list(rec.parked)
            obj.view.setVisible(False)
        common.nodes[nid] = obj
        self.viewer.scene().addItem(obj.view)
        obj.view.draw_node()
        self.nodes.built[nid] = obj
        if nid in self.badges:
            self._show_badge(nid)

    def _remove(self, nid: str) -> None:
        for edge in list(self._edges_at.get(nid, ())):
            self._disconnect(edge)
        self._edges_at.pop(nid, None)
        self.records.pop(nid, None)
        self.selected_unbuilt.discard(nid)
        obj = self.nodes.built.pop(nid, None)
        if obj is not None:
            self.ngraph.model.nodes.pop(nid, None)
            obj.view.delete()

    @staticmethod
    def _place(view: LayerNode, pos) -> None:
        view.model.pos = [float(pos[0]), float(pos[1])]
        view.view.xy_pos = [float(pos[0]), float(pos[1])]

    def _ports(self, edge: Edge):
        built = self.nodes.built
        return built[edge.src].outputs()[edge.src_port], built[edge.dst].inputs()[edge.dst_port]

    def _connect(self, edge: Edge) -> None:
        """Add a wire; it gets its pipe item when both its nodes have items."""
        multi = any(p.multi for p in get_spec(self.records[edge.dst].type).inputs if p.name == edge.dst_port)
        if not multi:
            for other in [e for e in self._edges_at.get(edge.dst, ()) if e.dst == edge.dst
                          and e.dst_port == edge.dst_port]:
                self._disconnect(other)
        self._edges.add(edge)
        self._edges_at.setdefault(edge.src, set()).add(edge)
        self._edges_at.setdefault(edge.dst, set()).add(edge)
        if edge.src in self.nodes.built and edge.dst in self.nodes.built:
            self._make_pipe(edge)

    def _make_pipe(self, edge: Edge):
        """Wire two built ports: NodeGraphQt's models and one pipe item, without its undo commands or signals."""
        out_port, in_port = self._ports(edge)
        out_port.model.connected_ports[edge.dst].append(edge.dst_port)
        in_port.model.connected_ports[edge.src].append(edge.src_port)
        self.viewer.establish_connection(out_port.view, in_port.view)
        pipe = self.pipe(edge)
        if pipe is not None:
            src, dst = self.records[edge.src], self.records[edge.dst]
            pipe.setVisible(src.parked is None or dst.parked is None)
            if self._validation is not None:
                text = format_shape(self._validation.wire_shape(edge))
                pipe.set_label(text)
                self._wire_labels[edge] = text
        return pipe

    def _disconnect(self, edge: Edge) -> None:
        self._edges.discard(edge)
        for end in (edge.src, edge.dst):
            self._edges_at.get(end, set()).discard(edge)
        self._wire_labels.pop(edge, None)
        if edge.src in self.nodes.built and edge.dst in self.nodes.built:
            pipe = self.pipe(edge)
            out_port, in_port = self._ports(edge)
            _unlink(out_port.model.connected_ports, edge.dst, edge.dst_port)
            _unlink(in_port.model.connected_ports, edge.src, edge.src_port)
            if pipe is not None:
                pipe.delete()

    def pipe(self, edge: Edge):
        """The scene item of a wire, or None (also while one of its nodes has no items)."""
        if edge.src not in self.nodes.built or edge.dst not in self.nodes.built:
            return None
        out_port, in_port = self._ports(edge)
        for pipe in in_port.view.connected_pipes:
            if pipe.output_port is out_port.view:
                return pipe
        return None

    def edge_of_pipe(self, pipe) -> Edge | None:
        for edge in self._edges:
            if self.pipe(edge) is pipe:
                return edge
        return None

    def size(self, nid: str) -> tuple[float, float]:
        """A node's width and height on the canvas (built or not)."""
        item = self.nodes.built.get(nid)
        return (item.view.width, item.view.height) if item is not None else self.records[nid].size

    # ---- groups and shared weights --------------------------------------------------------
    def node_rect(self, nid: str) -> QRectF:
        item = self.nodes.built.get(nid)
        if item is None:
            return self.records[nid].rect()
        item = item.view
        return QRectF(item.scenePos().x(), item.scenePos().y(), item.width, item.height)

    def members_rect(self, graph: Graph, ids: list[str]) -> QRectF:
        rect = QRectF()
        for nid in ids:
            node = graph.nodes[nid]
            w, h = self.size(nid)
            r = QRectF(node.pos[0], node.pos[1], w, h)
            rect = r if rect.isNull() else rect.united(r)
        return rect

    def content_rect(self) -> QRectF | None:
        """What a fitted view must show: the shown nodes, the problem notes under built ones, and the groups."""
        rects = [rec.rect() for rec in self.records.values() if rec.parked is None]
        rects += [v.view.note_item.sceneBoundingRect() for v in self.nodes.built.values()
                  if v.view.isVisible() and v.view.note_item is not None and v.view.note_item.isVisible()]
        rects += [g.sceneBoundingRect() for g in self.groups.values()]
        if not rects:
            return None
        rect = rects[0]
        for r in rects[1:]:
            rect = rect.united(r)
        return rect

    def set_group_factory(self, factory) -> None:
        """`factory(group_id) -> GroupItem` lets the controller wire new group items to its commands."""
        self._group_factory = factory

    def sync_groups(self, graph: Graph) -> None:
        live = {g.id: g for g in graph.groups}
        for gid in [g for g in self.groups if g not in live]:
            self.viewer.scene().removeItem(self.groups.pop(gid))
        hidden: set[str] = set()
        for g in graph.groups:
            ids = [n for n in g.node_ids if n in self.records]
            if not ids:
                continue
            item = self.groups.get(g.id)
            if item is None:
                item = self._group_factory(g.id) if self._group_factory else GroupItem(g.id)
                self.viewer.scene().addItem(item)
                self.groups[g.id] = item
            rect = self.members_rect(graph, ids)
            detail = f"{len(ids)} layers"
            if g.collapsed:
                hidden.update(ids)
                block = QRectF(rect.center().x() - BLOCK_W / 2, rect.center().y() - BLOCK_H / 2, BLOCK_W, BLOCK_H)
                for nid in ids:  # park the hidden members inside the block so outer wires end at it
                    parked = (block.x() + max(0.0, (BLOCK_W - self.size(nid)[0]) / 2), block.y() + 10)
                    self.records[nid].parked = parked
                    if nid in self.nodes.built:
                        self.nodes.built[nid].view.xy_pos = list(parked)
                item.set_state(g.name, True, block, detail)
            else:
                item.set_state(g.name, False, rect, detail)
        for nid, rec in self.records.items():
            if nid not in hidden:
                rec.parked = None
        for nid, view in self.nodes.built.items():
            visible = nid not in hidden
            if view.view.isVisible() != visible:
                view.view.setVisible(visible)
            if visible and list(view.view.xy_pos) != list(graph.nodes[nid].pos):
                view.view.xy_pos = [float(graph.nodes[nid].pos[0]), float(graph.nodes[nid].pos[1])]
        for edge in self._edges:
            pipe = self.pipe(edge)
            shown = not (edge.src in hidden and edge.dst in hidden)
            if pipe is not None and pipe.isVisible() != shown:
                pipe.setVisible(shown)

    def sync_links(self, graph: Graph) -> None:
        want = {n.id: n.shares for n in graph.nodes.values() if n.shares and n.shares in self.records}
        for nid in [n for n in self._links if n not in want]:
            self.viewer.scene().removeItem(self._links.pop(nid))
        for nid, owner in want.items():
            link = self._links.get(nid)
            if link is None:
                link = self._links[nid] = ShareLinkItem()
                self.viewer.scene().addItem(link)
            link.set_ends(self.node_rect(owner), self.node_rect(nid),
                          f"{graph.nodes[nid].name} shares weights with {graph.nodes[owner].name}")

    # ---- live badges ----------------------------------------------------------------------
    def set_badge(self, nid: str, text: str, color: str, tooltip: str = "") -> None:
        """Put a live pill on a node (empty text removes it); kept while the node exists."""
        if text:
            self.badges[nid] = (text, color or theme.MUTED, tooltip)
        elif self.badges.pop(nid, None) is None:
            return
        if nid in self.nodes.built:
            self._show_badge(nid)

    def clear_badges(self) -> None:
        for nid in list(self.badges):
            self.set_badge(nid, "", "")

    def _show_badge(self, nid: str) -> None:
        text, color, tooltip = self.badges.get(nid, ("", theme.MUTED, ""))
        self.nodes.built[nid].view.set_live_badge(text, QColor(color), tooltip)

    # ---- validation results ---------------------------------------------------------------
    def paint(self, graph: Graph, validation: Validation | None) -> None:
        """Update node looks and wire labels; unchanged nodes and wires are not touched."""
        resized = self._paint_nodes(graph, validation)
        self._paint_wires(validation)
        if resized:
            self.layer.refresh()  # blocks and their wires take the new sizes
        else:
            self.layer.update()  # outlines follow the looks

    def _paint_nodes(self, graph: Graph, validation: Validation | None) -> bool:
        """Give every node its look; True when a node's size changed."""
        resized = False
        by_node: dict[str | None, list] = {}
        for problem in (validation.problems if validation else []):
            by_node.setdefault(problem.node_id, []).append(problem)
        frozen, counts = finetune.frozen_ids(graph), validation.param_counts if validation else {}
        self._validation = validation
        built = self.nodes.built
        for nid, node in graph.nodes.items():
            rec = self.records.get(nid)
            if rec is None:
                continue
            look = node_look(graph, node, validation, by_node.get(nid, []), nid in frozen and bool(counts.get(nid)),
                             nid in self.loaded)
            view = built.get(nid)
            if view is not None:
                view.view.set_look(look)
            rec.look = look
            key = (rec.name, look.title, look.params, look.badge, look.frozen, look.loaded)  # what sets its size
            if rec.sized != key:
                rec.sized = key
                size = node_size(rec.name, look, *rec.named_ports())
                resized = resized or size != rec.size
                rec.size = size
        return resized

    def _paint_wires(self, validation: Validation | None) -> None:
        for edge in self._edges:
            text = format_shape(validation.wire_shape(edge)) if validation else ""
            if self._wire_labels.get(edge) != text:
                pipe = self.pipe(edge)
                if pipe is not None:  # a wire without its pipe yet gets its label when the pipe is made
                    pipe.set_label(text)
                    self._wire_labels[edge] = text
