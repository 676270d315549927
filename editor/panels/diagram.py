"""A small offscreen picture of a graph: boxes in topological columns, arrows along the wires."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPixmap

from editor import theme
from engine.graph import Graph
from engine.layers.registry import get_spec
from engine.topology import topology

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 120.0, 34.0, 46.0, 16.0, 16.0


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


def render_diagram(graph: Graph, size: QSize) -> QPixmap:
    """The graph drawn to fit `size`, in the editor's colours."""
    pixmap = QPixmap(size)
    pixmap.fill(QColor(theme.BASE))
    place = layout_columns(graph)
    if not place:
        return pixmap
    cols = max(c for c, _ in place.values()) + 1
    rows = max(r for _, r in place.values()) + 1
    width = 2 * MARGIN + cols * BOX_W + (cols - 1) * GAP_X
    height = 2 * MARGIN + rows * BOX_H + (rows - 1) * GAP_Y
    scale = min(size.width() / width, size.height() / height, 1.6)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.translate((size.width() - width * scale) / 2, (size.height() - height * scale) / 2)
    painter.scale(scale, scale)
    col_rows = {c: sum(1 for cc, _ in place.values() if cc == c) for c in range(cols)}

    def box(nid: str) -> QRectF:
        col, row = place[nid]
        offset = (rows - col_rows[col]) * (BOX_H + GAP_Y) / 2
        return QRectF(MARGIN + col * (BOX_W + GAP_X), MARGIN + offset + row * (BOX_H + GAP_Y), BOX_W, BOX_H)

    painter.setPen(QPen(QColor(theme.MUTED), 1.6))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for e in graph.edges:
        if e.src not in place or e.dst not in place:
            continue
        a, b = box(e.src), box(e.dst)
        start, end = QPointF(a.right(), a.center().y()), QPointF(b.left(), b.center().y())
        path = QPainterPath(start)
        mid = (start.x() + end.x()) / 2
        path.cubicTo(QPointF(mid, start.y()), QPointF(mid, end.y()), end)
        painter.drawPath(path)
    font = QFont(theme.ui_font(9.5, bold=True))
    painter.setFont(font)
    for nid, node in graph.nodes.items():
        spec = get_spec(node.type)
        rect = box(nid)
        colour = theme.category_color(spec.category)
        painter.setPen(QPen(colour, 1.4))
        painter.setBrush(QColor(theme.RAISED))
        painter.drawRoundedRect(rect, 6, 6)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(QRectF(rect.left(), rect.top(), 6, rect.height()), 3, 3)
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(rect.adjusted(10, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         painter.fontMetrics().elidedText(spec.title, Qt.TextElideMode.ElideRight, int(BOX_W - 14)))
    painter.end()
    return pixmap
