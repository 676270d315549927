"""The optional preview strip under a node: its output for the previewed sample, drawn small."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from editor import theme
from editor.canvas.preview_render import render
from engine.preview import NodePreview

STRIP_H = 44.0
STRIP_GAP = 4.0
MIN_LOD = 0.35
"""Below this zoom the strip is not drawn (it would be a few pixels of noise)."""


class PreviewStripItem(QGraphicsItem):
    """A child of a node item, just under it; `show_preview` swaps the picture."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.preview: NodePreview | None = None
        self._image: QImage | None = None
        self._rect = QRectF()
        self.setZValue(-0.5)
        self.setAcceptedMouseButtons(self.acceptedMouseButtons().NoButton)

    def show_preview(self, preview: NodePreview, width: float, top: float) -> None:
        self.prepareGeometryChange()
        self.preview = preview
        self._rect = QRectF(0.0, 0.0, width, STRIP_H)
        self.setPos(0.0, top + STRIP_GAP)
        self._image = render(preview, int(width * 2), int(STRIP_H * 2))  # twice the pixels: sharp when zoomed in
        shape = ", ".join("N" if d is None else str(d) for d in preview.shape)
        self.setToolTip(f"preview of this node's output ({shape}) for the shown sample; "
                        f"values {preview.low:.3g} .. {preview.high:.3g}")
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if self._image is None or option.levelOfDetailFromTransform(painter.worldTransform()) < MIN_LOD:
            return
        painter.drawImage(self._rect, self._image)
        painter.setPen(QPen(QColor(theme.BORDER), 1.0))
        painter.drawRect(self._rect)
