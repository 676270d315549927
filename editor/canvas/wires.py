"""Wires that show the tensor shape they carry: a small label at the middle (when it fits) and a tooltip."""

from __future__ import annotations

from contextlib import contextmanager

from NodeGraphQt.qgraphics.node_base import NodeItem
from NodeGraphQt.qgraphics.pipe import PipeItem
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from editor import theme

_FONT = QFont()
_FONT.setPointSizeF(7.5)


_SELECTED = QGraphicsItem.GraphicsItemChange.ItemSelectedChange
WRAP_OUT = 22.0
WRAP_GUTTER = 24.0
WRAP_RADIUS = 10.0
MAX_LEG_SHIFTS = 4
"""How often a wrap wire's leg down from its source moves right past a layer before it gives up and crosses."""
WRAP_LANE = 14.0
"""How far apart wrap wires into the same input port run (a U-Net's skip and upsampling wires into one Concat):
far enough for their shape labels not to overlap."""
FAR_LOD = 0.3
"""Below this zoom wires are drawn without antialiasing or shape labels."""


class _Wrapping:
    deferred = False


@contextmanager
def deferred_wrapping():
    """Draw wires plainly inside the block; the caller routes wrapped ones afterwards. Routing looks up the
    scene's items, and each look-up while items are still being added re-indexes the scene (quadratic)."""
    before, _Wrapping.deferred = _Wrapping.deferred, True
    try:
        yield
    finally:
        _Wrapping.deferred = before


def _centre(port) -> QPointF:
    rect = port.boundingRect()
    return port.scenePos() + QPointF(rect.width() / 2, rect.height() / 2)


def _blocks(item, lane: QRectF) -> bool:
    """Whether a wrap wire along `lane` would run over `item` (a layer, or a group's title)."""
    if isinstance(item, NodeItem):
        return item.isVisible()
    title = getattr(item, "title_rect", None)
    return title is not None and item.mapRectToScene(title()).intersects(lane)


class Obstacles:
    """The layers and group titles wrapped wires must not cross, bucketed by height. While a scene is being
    filled each of Qt's own look-ups scans every new item, so routing many wires through it is quadratic."""

    BAND = 64.0

    def __init__(self, rects: list[QRectF]) -> None:
        self._bands: dict[int, list[QRectF]] = {}
        for rect in rects:
            for band in range(int(rect.top() // self.BAND), int(rect.bottom() // self.BAND) + 1):
                self._bands.setdefault(band, []).append(rect)

    def first(self, rect: QRectF) -> QRectF | None:
        """The first obstacle `rect` intersects, or None."""
        return next((r for band in range(int(rect.top() // self.BAND), int(rect.bottom() // self.BAND) + 1)
                     for r in self._bands.get(band, ()) if r.intersects(rect)), None)

    def blocks(self, lane: QRectF) -> bool:
        return any(rect.intersects(lane) for band in range(int(lane.top() // self.BAND), int(lane.bottom() // self.BAND) + 1)
                   for rect in self._bands.get(band, ()))


def _rounded(points: list[QPointF], radius: float) -> QPainterPath:
    """A polyline through `points` with its corners rounded."""
    path = QPainterPath(points[0])
    for prev, corner, nxt in zip(points, points[1:], points[2:], strict=False):
        a, b = QLineF(corner, prev), QLineF(corner, nxt)
        ra, rb = min(radius, a.length() / 2), min(radius, b.length() / 2)
        path.lineTo(a.pointAt(ra / a.length()) if a.length() else corner)
        path.quadTo(corner, b.pointAt(rb / b.length()) if b.length() else corner)
    path.lineTo(points[-1])
    return path


class ShapePipeItem(PipeItem):
    """A NodeGraphQt pipe with a shape label; the label hides when the wire is too short for it."""

    label = ""
    label_end: QPointF | None = None
    """Where a wrapped wire's label ends: beside its own drop from the source, so wires that share the
    gap above a row (a skip connection and the main path into one Concat) keep their labels apart."""

    def itemChange(self, change, value):
        """NodeGraphQt's highlight-on-select, without its per-call enum lookups (hot during bulk loads)."""
        if change == _SELECTED and self.scene():
            self.highlight() if value else self.reset()
        return QGraphicsPathItem.itemChange(self, change, value)

    def set_label(self, text: str) -> None:
        if text == self.label:
            return
        self.prepareGeometryChange()
        self.label = text
        self.setToolTip(f"tensor {text}" if text else "")
        self.update()

    def _label_rect(self) -> QRectF | None:
        path = self.path()
        if not self.label or path.isEmpty():
            return None
        metrics = QFontMetricsF(_FONT)
        w, h = metrics.horizontalAdvance(self.label) + 8, metrics.height() + 2
        if path.length() < w + 12:
            return None
        if self.label_end is not None:
            return QRectF(self.label_end.x() - w, self.label_end.y() - h - 4, w, h)
        mid: QPointF = path.pointAtPercent(0.5)
        return QRectF(mid.x() - w / 2, mid.y() - h - 6, w, h)  # above the wire's direction arrow

    def boundingRect(self) -> QRectF:
        rect = super().boundingRect()
        label = self._label_rect()
        return rect.united(label) if label is not None else rect

    def paint(self, painter: QPainter, option, widget) -> None:
        if option.levelOfDetailFromTransform(painter.worldTransform()) < FAR_LOD:  # zoomed far out: a plain line
            painter.setPen(self.pen())
            painter.drawPath(self.path())
            return
        super().paint(painter, option, widget)
        label = self._label_rect()
        if label is None:
            return
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.BASE))
        painter.drawRoundedRect(label, 4, 4)
        painter.setFont(_FONT)
        painter.setPen(QColor(theme.MUTED))
        painter.drawText(label, Qt.AlignmentFlag.AlignCenter, self.label)
        painter.restore()

    def draw_path(self, start_port, end_port=None, cursor_pos=None):
        self.prepareGeometryChange()
        super().draw_path(start_port, end_port, cursor_pos)
        self.label_end = None
        if cursor_pos is None and end_port is not None and self.isVisible() and not _Wrapping.deferred:
            self.apply_route(self.wrap_route(start_port is self.input_port))

    def apply_route(self, route: tuple[QPainterPath, QPointF] | None) -> None:
        """Take a path from `wrap_route` (None keeps the plain curve)."""
        if route is not None:
            self.prepareGeometryChange()
            self.setPath(route[0])
            self.label_end = route[1]
            self._draw_direction_pointer()

    def _lane(self) -> int:
        """This wire's place among the wrap wires into the same input port, so they run side by side rather than
        on top of each other: 0 for the wire from the lowest (then rightmost) source, which turns in first."""
        i = _centre(self.input_port)
        wrapping = [p for p in self.input_port.connected_pipes
                    if p.output_port is not None and _centre(p.output_port).x() - 2 * WRAP_OUT >= i.x()]
        wrapping.sort(key=lambda p: (-_centre(p.output_port).y(), -_centre(p.output_port).x()))
        return wrapping.index(self) if self in wrapping else 0

    def _free_gutter(self, i: QPointF, o: QPointF, obstacles: Obstacles | None, shift: float = 0.0) -> float | None:
        """The lowest height above the target's row where a wire from `o` back to `i` crosses no layer and no group
        title, or for a later lane (`shift`) the lowest that far above it; None when there is none below the source."""
        y = self.input_port.node.sceneBoundingRect().top() - WRAP_GUTTER
        first = None
        while y > o.y() + 2 * WRAP_RADIUS:
            lane = QRectF(i.x() - WRAP_OUT - shift, y - 6, o.x() - i.x() + 2 * WRAP_OUT + shift, 12)
            blocked = obstacles.blocks(lane) if obstacles is not None else any(
                _blocks(item, lane) for item in self.scene().items(lane))
            if not blocked:
                first = y if first is None else first
                if first - y >= shift:
                    return y
                y = first - shift
                continue
            y -= WRAP_GUTTER / 2
        return None

    def _blocked(self, rect: QRectF, obstacles: Obstacles | None) -> QRectF | None:
        """The first layer or group title `rect` runs over (its scene rect), or None."""
        if obstacles is not None:
            return obstacles.first(rect)
        item = next((item for item in self.scene().items(rect) if _blocks(item, rect)), None)
        return item.sceneBoundingRect() if item is not None else None

    def _down_leg(self, o: QPointF, gutter: float, obstacles: Obstacles | None) -> float:
        """Where the leg from the source's port down to the gutter runs: right of the source, moved further right
        past any layer in the way (a residual block cut into two bands: its shortcut passes the layers it skips)."""
        x = o.x() + WRAP_OUT
        for _ in range(MAX_LEG_SHIFTS):
            hit = self._blocked(QRectF(x - 4, o.y() + WRAP_RADIUS, 8, gutter - o.y() - 2 * WRAP_RADIUS), obstacles)
            if hit is None:
                break
            x = hit.right() + WRAP_OUT / 2
        return x

    def wrap_route(self, from_input: bool = True, obstacles: Obstacles | None = None) -> tuple[QPainterPath, QPointF] | None:
        """A wire into a later row of a wrapped layout: out to the right, along the gap above the target's
        row, and into it from the left, with rounded corners (NodeGraphQt's S-curve would cut across); with
        where its label ends. `obstacles` (default: the scene's items) are what it must not cross."""
        if not (self.input_port and self.output_port):
            return None
        i, o = _centre(self.input_port), _centre(self.output_port)
        if i.x() > o.x() - 2 * WRAP_OUT:
            return None
        shift = WRAP_LANE * self._lane()
        gutter = self._free_gutter(i, o, obstacles, shift)
        if gutter is None:
            return None
        leg = self._down_leg(o, gutter, obstacles)
        points = [i, QPointF(i.x() - WRAP_OUT - shift, i.y()), QPointF(i.x() - WRAP_OUT - shift, gutter),
                  QPointF(leg, gutter), QPointF(leg, o.y()), o]
        end = QPointF(leg - 2 * WRAP_RADIUS, gutter)
        return _rounded(points if from_input else points[::-1], WRAP_RADIUS), end

