"""Cost heat colouring: a coloured halo behind each node (cool for cheap, hot for the costliest) and its share."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

HALO = 6.0
_LUT = pg.colormap.get("inferno").getLookupTable(start=0.25, stop=1.0, nPts=256, alpha=False).astype(np.uint8)
_FONT = QFont()
_FONT.setPointSizeF(8.0)
_FONT.setBold(True)


def heat_color(share: float) -> QColor:
    """The colour of a node whose cost is `share` (0..1) of the costliest node's."""
    r, g, b = _LUT[int(max(0.0, min(1.0, share)) * 255)]
    return QColor(int(r), int(g), int(b))


class CostHeatItem(QGraphicsItem):
    """Drawn behind its node: a halo in the heat colour and, above the node, the cost as text."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._rect = QRectF()
        self._color = QColor()
        self.text = ""
        self.share = 0.0

    def set_cost(self, share: float, text: str, width: float, height: float) -> None:
        self.prepareGeometryChange()
        self.share, self.text = share, text
        self._color = heat_color(share)
        self._rect = QRectF(-HALO, -HALO, width + 2 * HALO, height + 2 * HALO)
        self.setToolTip(text or "no cost of this kind")
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(0, -16, 0, 0)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        fill = QColor(self._color)
        fill.setAlpha(235)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(self._rect, 10, 10)
        if self.text and option.levelOfDetailFromTransform(painter.worldTransform()) > 0.4:
            painter.setFont(_FONT)
            painter.setPen(self._color.lighter(130))
            painter.drawText(QRectF(self._rect.x() + 4, self._rect.y() - 16, self._rect.width(), 15),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, self.text)
        painter.restore()
