"""A small offscreen picture of a graph: boxes in topological columns, arrows along the wires.

Long chains wrap into bands stacked top to bottom so the picture keeps a readable box size.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap

from editor import theme
from engine.graph import Graph
from engine.layers.registry import get_spec
from engine.topology import topology

BOX_W, BOX_H, GAP_X, GAP_Y, BAND_GAP, MARGIN = 120.0, 34.0, 40.0, 14.0, 34.0, 16.0


def layout_columns(graph: Graph) -> dict[str, tuple[int, int]]:
    """(column, row) per node: column = longest path from an input, rows in project order."""
    topo = topology(graph)
    depth: dict[str, int] = {}
    for nid in topo.order:
        depth[nid] = max((depth[e.src] + 1 for e in topo.inputs.get(nid, []) if e.src in depth), default=0)
    last = max(depth.values(), default=-1) + 1
    rows: dict[int, int] = {}
    place = {}
    for nid in graph.nodes:
        col = depth.get(nid, last)
        place[nid] = (col, rows.get(col, 0))
        rows[col] = rows.get(col, 0) + 1
    return place


class _Layout:
    """Box rectangles for `place` wrapped into bands of `per_band` columns."""

    def __init__(self, place: dict[str, tuple[int, int]], per_band: int):
        self.place, self.per_band = place, per_band
        cols = max(c for c, _ in place.values()) + 1
        self.rows = max(r for _, r in place.values()) + 1
        self.bands = -(-cols // per_band)
        self.col_rows = {c: sum(1 for cc, _ in place.values() if cc == c) for c in range(cols)}
        self.band_h = self.rows * BOX_H + (self.rows - 1) * GAP_Y
        self.width = 2 * MARGIN + min(cols, per_band) * (BOX_W + GAP_X) - GAP_X
        self.height = 2 * MARGIN + self.bands * (self.band_h + BAND_GAP) - BAND_GAP

    def box(self, nid: str) -> QRectF:
        col, row = self.place[nid]
        band, x = divmod(col, self.per_band)
        offset = (self.rows - self.col_rows[col]) * (BOX_H + GAP_Y) / 2
        top = MARGIN + band * (self.band_h + BAND_GAP) + offset + row * (BOX_H + GAP_Y)
        return QRectF(MARGIN + x * (BOX_W + GAP_X), top, BOX_W, BOX_H)

    def scale(self, size: QSize) -> float:
        return min(size.width() / self.width, size.height() / self.height)


def _best_layout(place: dict[str, tuple[int, int]], size: QSize) -> _Layout:
    cols = max(c for c, _ in place.values()) + 1
    return max((_Layout(place, per) for per in range(1, cols + 1)), key=lambda lay: lay.scale(size))


def _wire(a: QRectF, b: QRectF) -> QPainterPath:
    start, end = QPointF(a.right(), a.center().y()), QPointF(b.left(), b.center().y())
    path = QPainterPath(start)
    if end.x() > start.x():
        mid = (start.x() + end.x()) / 2
        path.cubicTo(QPointF(mid, start.y()), QPointF(mid, end.y()), end)
    else:  # into the next band: out to the right, down, back to the left
        down = max(a.bottom(), b.top() - BAND_GAP / 2) + BAND_GAP / 2 - 4
        path.cubicTo(QPointF(start.x() + GAP_X, start.y()), QPointF(start.x() + GAP_X, down), QPointF(start.x(), down))
        path.lineTo(QPointF(end.x(), down))
        path.cubicTo(QPointF(end.x() - GAP_X, down), QPointF(end.x() - GAP_X, end.y()), end)
    return path


def render_diagram(graph: Graph, size: QSize) -> QPixmap:
    """The graph drawn to fit `size`, in the editor's colours."""
    pixmap = QPixmap(size)
    pixmap.fill(QColor(theme.BASE))
    place = layout_columns(graph)
    if not place:
        return pixmap
    lay = _best_layout(place, size)
    scale = min(lay.scale(size), 1.6)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.translate((size.width() - lay.width * scale) / 2, (size.height() - lay.height * scale) / 2)
    painter.scale(scale, scale)
    painter.setPen(QPen(QColor(theme.MUTED), 1.6))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for e in graph.edges:
        if e.src in place and e.dst in place:
            painter.drawPath(_wire(lay.box(e.src), lay.box(e.dst)))
    painter.setFont(theme.ui_font(11, bold=True))
    for nid, node in graph.nodes.items():
        spec = get_spec(node.type)
        rect = lay.box(nid)
        colour = theme.category_color(spec.category)
        painter.setPen(QPen(colour, 1.4))
        painter.setBrush(QColor(theme.RAISED))
        painter.drawRoundedRect(rect, 6, 6)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(QRectF(rect.left(), rect.top(), 6, rect.height()), 3, 3)
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(rect.adjusted(12, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         painter.fontMetrics().elidedText(spec.title, Qt.TextElideMode.ElideRight, int(BOX_W - 16)))
    painter.end()
    return pixmap
