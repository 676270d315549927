"""Wires that show the tensor shape they carry: a small label at the middle (when it fits) and a tooltip."""

from __future__ import annotations

from NodeGraphQt.qgraphics.pipe import PipeItem
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from editor import theme

_FONT = QFont()
_FONT.setPointSizeF(7.5)


_SELECTED = QGraphicsItem.GraphicsItemChange.ItemSelectedChange


class ShapePipeItem(PipeItem):
    """A NodeGraphQt pipe with a shape label; the label hides when the wire is too short for it."""

    label = ""

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
        mid: QPointF = path.pointAtPercent(0.5)
        return QRectF(mid.x() - w / 2, mid.y() - h - 6, w, h)  # above the wire's direction arrow

    def boundingRect(self) -> QRectF:
        rect = super().boundingRect()
        label = self._label_rect()
        return rect.united(label) if label is not None else rect

    def paint(self, painter: QPainter, option, widget) -> None:
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

