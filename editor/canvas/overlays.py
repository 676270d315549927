"""Items DeepWire draws over NodeGraphQt's scene: group backdrops/blocks and shared-weight links."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsPathItem

from editor import theme

PAD = 18.0
TITLE_H = 24.0
BLOCK_W, BLOCK_H = 190.0, 74.0


def _font(size: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(size)
    font.setBold(bold)
    return font


class GroupItem(QGraphicsObject):
    """A named backdrop behind its nodes; collapsed, an opaque block that stands in for them."""

    toggled = Signal(str)
    moved = Signal(str, float, float)

    def __init__(self, group_id: str):
        super().__init__()
        self.group_id = group_id
        self.name = ""
        self.collapsed = False
        self.detail = ""
        self._rect = QRectF()
        self._press: QPointF | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)

    def set_state(self, name: str, collapsed: bool, rect: QRectF, detail: str) -> None:
        """Place the item: `rect` is the members' bounding box (expanded) or the block (collapsed)."""
        self.prepareGeometryChange()
        self.name, self.collapsed, self.detail = name, collapsed, detail
        if collapsed:
            self.setPos(rect.topLeft())
            self._rect = QRectF(0, 0, BLOCK_W, BLOCK_H)
            self.setZValue(3)
            self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, True)
        else:
            self.setPos(rect.x() - PAD, rect.y() - PAD - TITLE_H)
            self._rect = QRectF(0, 0, rect.width() + 2 * PAD, rect.height() + 2 * PAD + TITLE_H)
            self.setZValue(-3)
            self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, False)
        self.setToolTip(f"{name}: {detail}\nDouble-click the title to {'expand' if collapsed else 'collapse'}")
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    def title_rect(self) -> QRectF:
        return QRectF(self._rect.x(), self._rect.y(), self._rect.width(), TITLE_H)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.save()
        accent = QColor(theme.ACCENT)
        selected = self.isSelected()
        if self.collapsed:
            painter.setBrush(QColor(theme.RAISED))
            painter.setPen(QPen(QColor(theme.SELECTED) if selected else accent, 2.0))
            painter.drawRoundedRect(self._rect, 8, 8)
            head = QPainterPath()
            head.addRoundedRect(self.title_rect(), 8, 8)
            tint = QColor(accent)
            tint.setAlpha(90)  # over the body: a deep blue in the dark theme, a pale one in the light
            painter.fillPath(head, tint)
        else:
            fill = QColor(accent)
            fill.setAlpha(28)
            painter.setBrush(fill)
            painter.setPen(QPen(accent.darker(110), 1.2, Qt.PenStyle.DashLine))
            painter.drawRoundedRect(self._rect, 10, 10)
        painter.setPen(QColor(theme.TEXT))
        painter.setFont(_font(10, bold=True))
        arrow = "\u25b8" if self.collapsed else "\u25be"
        painter.drawText(self.title_rect().adjusted(10, 0, -8, 0),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, f"{arrow}  {self.name}")
        if self.collapsed:
            painter.setFont(_font(9))
            painter.setPen(QColor(theme.MUTED))
            metrics = QFontMetricsF(painter.font())
            body = self._rect.adjusted(12, TITLE_H + 4, -8, -4)
            painter.drawText(body, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                             metrics.elidedText(self.detail, Qt.TextElideMode.ElideRight, body.width()))
        painter.restore()

    def mouseDoubleClickEvent(self, event) -> None:
        if self.title_rect().contains(event.pos()) or self.collapsed:
            self.toggled.emit(self.group_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def mousePressEvent(self, event) -> None:
        if self.collapsed and event.button() == Qt.MouseButton.LeftButton:
            self._press = QPointF(self.pos())
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if self._press is not None:
            delta = self.pos() - self._press
            self._press = None
            if delta.manhattanLength() > 0.5:
                self.moved.emit(self.group_id, delta.x(), delta.y())


class ShareLinkItem(QGraphicsPathItem):
    """A dashed curve from the node that owns the weights to a node that reuses them."""

    def __init__(self):
        super().__init__()
        self.setZValue(-1.5)
        pen = QPen(QColor(theme.ACCENT), 1.6, Qt.PenStyle.DashLine)
        self.setPen(pen)

    def set_ends(self, owner: QRectF, user: QRectF, tooltip: str) -> None:
        a = QPointF(owner.center().x(), owner.bottom())
        b = QPointF(user.center().x(), user.bottom())
        path = QPainterPath(a)
        dip = max(40.0, abs(b.x() - a.x()) * 0.15)
        path.cubicTo(QPointF(a.x(), a.y() + dip), QPointF(b.x(), b.y() + dip), b)
        self.setPath(path)
        self.setToolTip(tooltip)
