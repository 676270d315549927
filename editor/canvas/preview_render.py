"""Pictures of a node's preview: feature-map thumbnails, bar strips, sequence heat-strips, top classes.

One function draws every kind at any size, so the strip under a node and the side panel's large view
look alike; colours come from the theme and a perceptual colour map (viridis, shipped with pyqtgraph).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from editor import theme
from engine.preview import NodePreview

_LUT = pg.colormap.get("viridis").getLookupTable(nPts=256, alpha=False).astype(np.uint8)
GAP = 2.0


def heat(values: np.ndarray) -> QImage:
    """A 2-D array as a colour image, scaled to its own range."""
    a = np.nan_to_num(np.asarray(values, dtype=np.float32))
    lo, hi = float(a.min()), float(a.max())
    index = ((a - lo) / (hi - lo) * 255).astype(np.uint8) if hi > lo else np.zeros(a.shape, np.uint8)
    rgb = np.ascontiguousarray(_LUT[index])
    h, w = index.shape
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels: `rgb` goes away


def render(preview: NodePreview, width: int, height: int, maps: int = 4) -> QImage:
    """`preview` drawn into a width x height image (`maps`: feature maps shown for an image output)."""
    image = QImage(max(width, 1), max(height, 1), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor(theme.BASE))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    area = QRectF(0, 0, width, height)
    if preview.kind == "image":
        _maps(painter, area, preview.values[:maps])
    elif preview.kind == "sequence":
        painter.drawImage(area, heat(preview.values.T))  # time runs left to right, features top to bottom
    elif preview.kind in ("vector", "values"):
        _bars(painter, area, preview.values)
    elif preview.kind == "tokens":
        painter.drawImage(area, heat(preview.values[None, :]))
    elif preview.kind == "classes":
        _classes(painter, area, preview.classes)
    painter.end()
    return image


def _maps(painter: QPainter, area: QRectF, maps: np.ndarray) -> None:
    """Feature maps side by side (rows of them when the area is tall), each at its own aspect ratio."""
    count = len(maps)
    if not count:
        return
    h, w = maps.shape[-2:]

    def cell(cols: int) -> float:
        rows = -(-count // cols)
        return min((area.width() - GAP * (cols - 1)) / cols, (area.height() - GAP * (rows - 1)) / rows * w / h)

    cols = max(range(1, count + 1), key=cell)  # the grid with the largest maps
    cell_w = cell(cols)
    cell_h = cell_w * h / w
    for i, m in enumerate(maps):
        r, c = divmod(i, cols)
        painter.drawImage(QRectF(area.x() + c * (cell_w + GAP), area.y() + r * (cell_h + GAP), cell_w, cell_h), heat(m))


def _bars(painter: QPainter, area: QRectF, values: np.ndarray) -> None:
    """One bar per value from a middle line: positive up in the accent colour, negative down in orange."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float32))
    if not v.size:
        return
    scale = float(np.abs(v).max()) or 1.0
    mid = area.center().y()
    step = area.width() / v.size
    painter.setPen(Qt.PenStyle.NoPen)
    for i, value in enumerate(v):
        length = float(value) / scale * (area.height() / 2 - 1)
        painter.setBrush(QColor(theme.ACCENT if value >= 0 else "#e8912d"))
        painter.drawRect(QRectF(area.x() + i * step, mid - max(length, 0), max(step - (step > 3), 1.0), abs(length)))
    painter.setPen(QColor(theme.BORDER))
    painter.drawLine(int(area.left()), int(mid), int(area.right()), int(mid))


def _classes(painter: QPainter, area: QRectF, classes: list[tuple[str, float]]) -> None:
    """The top classes as labelled bars, most likely first."""
    if not classes:
        return
    rows = max(1, min(len(classes), int(area.height() // 40)))
    row_h = area.height() / rows
    font = QFont()
    font.setPixelSize(int(max(9.0, min(row_h * 0.62, 26.0))))
    painter.setFont(font)
    label_w = area.width() * 0.42
    for i, (name, p) in enumerate(classes[:rows]):
        y = area.y() + i * row_h
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(QRectF(area.x() + 2, y, label_w - 4, row_h), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         f"{name}")
        pct_w = row_h * 1.6
        bar = QRectF(area.x() + label_w, y + row_h * 0.18, (area.width() - label_w - pct_w) * p, row_h * 0.64)
        painter.fillRect(bar, QColor(theme.ACCENT if i == 0 else theme.MUTED))
        painter.drawText(QRectF(area.right() - pct_w, y, pct_w - 2, row_h), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                         f"{p:.0%}")
