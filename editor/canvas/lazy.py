"""Big graphs open fast: a node gets its NodeGraphQt items (node, ports, labels, wires) only when it is needed.

Until then it is a `NodeRecord` (name, position, look, size) and `FarLayer`, one scene item, paints every such
node as the block a zoomed-out node is, and their wires as lines. The canvas view builds a node's real items
when it comes into view at a zoom where its text would show, when the mouse presses or drags a selection band
over it, or when code asks for it (`CanvasView.nodes[node_id]`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from NodeGraphQt.constants import PortEnum
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem

from editor import theme
from editor.canvas.cost_overlay import HALO
from editor.canvas.nodes import FAR_PX, PORT_ROW, NodeLook, port_offset
from editor.canvas.wires import WRAP_GUTTER, WRAP_OUT
from engine.graph import Edge, Node
from engine.layers.registry import get_spec

if TYPE_CHECKING:
    from editor.canvas.nodes import LayerNode
    from editor.canvas.view import CanvasView

LAZY_FROM = 300
"""Graphs with this many layers build node items on demand; smaller ones build them all at once."""
CELL = 1024.0
"""Side of the squares the layer files nodes under, to find the ones in a painted area quickly."""


@dataclass
class NodeRecord:
    """What the canvas knows about a node whether or not its items exist."""

    type: str
    name: str
    pos: tuple[float, float]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    named: bool
    """Its ports show their names (a row each) rather than sitting one a side at a fixed height."""
    category: str
    look: NodeLook | None = None
    size: tuple[float, float] = (0.0, 0.0)
    sized: tuple | None = None
    """The name and look fields `size` was measured for."""
    parked: tuple[float, float] | None = None
    """Where a member of a collapsed block sits (hidden, inside the block), else None."""

    output_ports: tuple = ()
    """The spec's output ports for the node's params (a Split has one per piece)."""

    @classmethod
    def of(cls, node: Node) -> NodeRecord:
        spec = get_spec(node.type)
        outputs = tuple(spec.output_ports(node.params))
        return cls(node.type, node.name, tuple(node.pos), tuple(p.name for p in spec.inputs),
                   tuple(p.name for p in outputs), len(spec.inputs) > 1 or len(outputs) > 1, spec.category,
                   output_ports=outputs)

    def named_ports(self) -> tuple[list[str], list[str]]:
        return ([p for p in self.inputs] if len(self.inputs) > 1 else [],
                [p for p in self.outputs] if len(self.outputs) > 1 else [])

    def rect(self) -> QRectF:
        x, y = self.parked or self.pos
        return QRectF(x, y, self.size[0], self.size[1])

    def port_centre(self, port: str, output: bool) -> QPointF:
        """Where a wire ends at `port`, as NodeGraphQt lays the node's ports out."""
        x, y = self.parked or self.pos
        names = self.outputs if output else self.inputs
        row = names.index(port) if port in names else 0
        top = port_offset(self.named) + row * PORT_ROW + PortEnum.SIZE.value / 2
        return QPointF(x + (self.size[0] if output else 0.0), y + top)


class NodeItems(Mapping):
    """The canvas's node items by id: every node on the canvas is a key; reading one builds its items if needed.
    `built` holds the ones that exist (code that walks many nodes should use it)."""

    def __init__(self, view: CanvasView) -> None:
        self._view = view
        self.built: dict[str, LayerNode] = {}

    def __getitem__(self, nid: str) -> LayerNode:
        item = self.built.get(nid)
        if item is None:
            if nid not in self._view.records:
                raise KeyError(nid)
            self._view.build([nid])
            item = self.built[nid]
        return item

    def __contains__(self, nid: object) -> bool:
        return nid in self._view.records

    def __iter__(self) -> Iterator[str]:
        return iter(self._view.records)

    def __len__(self) -> int:
        return len(self._view.records)


def wire_points(src: NodeRecord, src_port: str, dst: NodeRecord, dst_port: str) -> QPolygonF:
    """A wire as the layer draws it: straight, or out, along the gap above the target's row and in when the
    target lies left of the source (a wrapped layout), like a routed wire."""
    o, i = src.port_centre(src_port, True), dst.port_centre(dst_port, False)
    if i.x() > o.x() - 2 * WRAP_OUT:
        return QPolygonF([o, i])
    gutter = dst.rect().top() - WRAP_GUTTER
    return QPolygonF([o, QPointF(o.x() + WRAP_OUT, o.y()), QPointF(o.x() + WRAP_OUT, gutter),
                      QPointF(i.x() - WRAP_OUT, gutter), QPointF(i.x() - WRAP_OUT, i.y()), i])


def _cells(rect: QRectF) -> Iterator[tuple[int, int]]:
    for cx in range(int(rect.left() // CELL), int(rect.right() // CELL) + 1):
        for cy in range(int(rect.top() // CELL), int(rect.bottom() // CELL) + 1):
            yield cx, cy


class FarLayer(QGraphicsItem):
    """Paints the nodes that have no items yet (as blocks in their header colour) and the wires that touch them."""

    paints_unbuilt = True
    """What the viewer's mouse handling looks for to see through this item."""

    def __init__(self, view: CanvasView) -> None:
        super().__init__()
        self._view = view
        self._cells: dict[tuple[int, int], set[str]] = {}
        self._wires: dict[Edge, tuple[QPolygonF, QRectF]] = {}
        self._rect = QRectF()
        self.halos: dict[str, QColor] = {}
        """Heat colours of unbuilt nodes (the cost colouring), painted as a halo around their blocks."""
        self.setZValue(-3.0)  # under the wires (-1) and NodeGraphQt's backdrops (-2)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(True)

    def refresh(self) -> None:
        """File every node without items, and every wire touching one, anew (after the graph changed)."""
        view, built = self._view, self._view.nodes.built
        self._cells, self._wires = {}, {}
        rect = QRectF()
        for nid, rec in view.records.items():
            if nid in built or rec.parked is not None:
                continue
            r = rec.rect()
            rect = rect.united(r) if not rect.isNull() else r
            for cell in _cells(r):
                self._cells.setdefault(cell, set()).add(nid)
        for edge in view.edges():
            if edge.src in built and edge.dst in built:
                continue
            src, dst = view.records[edge.src], view.records[edge.dst]
            if src.parked is not None and dst.parked is not None:
                continue
            points = wire_points(src, edge.src_port, dst, edge.dst_port)
            box = points.boundingRect().adjusted(-2, -2, 2, 2)
            self._wires[edge] = (points, box)
            rect = rect.united(box) if not rect.isNull() else box
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
        self.update()

    def forget(self, ids: list[str]) -> None:
        """These nodes got their items: stop painting them (and wires whose both ends now have items)."""
        view, built = self._view, self._view.nodes.built
        for nid in ids:
            for cell in _cells(view.records[nid].rect()):
                self._cells.get(cell, set()).discard(nid)
            for edge in view.edges_at(nid):
                if edge.src in built and edge.dst in built:
                    self._wires.pop(edge, None)
        self.update()

    def ids_in(self, area: QRectF) -> list[str]:
        """Nodes without items whose block meets `area`."""
        records = self._view.records
        found = {nid for cell in _cells(area) for nid in self._cells.get(cell, ())}
        return [nid for nid in found if records[nid].rect().intersects(area)]

    def wire_ends_in(self, area: QRectF) -> set[str]:
        """Both ends of the painted wires whose bounds meet `area` (a drop or a click on a wire there)."""
        return {end for edge, (_, box) in self._wires.items() if box.intersects(area) for end in (edge.src, edge.dst)}

    def hoverMoveEvent(self, event) -> None:
        """The tooltip of the block under the mouse (a built node shows its own)."""
        pos = event.pos()
        under = self.ids_in(QRectF(pos.x(), pos.y(), 0.5, 0.5))
        look = self._view.records[under[0]].look if under else None
        tip = look.tooltip if look is not None else ""
        if tip != self.toolTip():
            self.setToolTip(tip)

    def set_halos(self, halos: dict[str, QColor]) -> None:
        self.halos = halos
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-HALO, -HALO, HALO, HALO)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        area = option.exposedRect
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        ids = self.ids_in(area)
        records = self._view.records
        if ids and lod * min(records[n].size[0] for n in ids) >= FAR_PX:
            self._view.schedule_build()  # legible at this zoom: real items replace the blocks
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pen = QPen(QColor(theme.MUTED), 0.0)  # cosmetic: one pixel at any zoom
        painter.setPen(pen)
        for points, box in self._wires.values():
            if box.intersects(area):
                painter.drawPolyline(points)
        painter.setPen(Qt.PenStyle.NoPen)
        by_category: dict[str, list[QRectF]] = {}
        outlined: list[tuple[QRectF, str]] = []
        for nid in ids:
            rec = records[nid]
            rect = rec.rect()
            if nid not in self.halos:
                by_category.setdefault(rec.category, []).append(rect)
            if nid in self._view.selected_unbuilt:
                outlined.append((rect, theme.SELECTED))
            elif rec.look is not None and rec.look.severity:
                outlined.append((rect, theme.ERROR_COLOR if rec.look.severity == "error" else theme.WARNING_COLOR))
        for nid in (n for n in ids if n in self.halos):  # costed: the block itself takes the heat colour
            painter.setBrush(self.halos[nid])
            painter.drawRect(records[nid].rect().adjusted(-HALO, -HALO, HALO, HALO))
        for category, rects in by_category.items():
            painter.setBrush(QColor(theme.header_color(QColor(theme.category_color(category)).name())))
            painter.drawRects(rects)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for rect, colour in outlined:
            painter.setPen(QPen(QColor(colour), max(4.0, 2.0 / lod) if lod else 4.0))  # at least 2 px on screen
            painter.drawRect(rect)
        painter.restore()
