"""Detection results drawn on their images: true boxes dashed, predicted boxes coloured by class with class and
score, and a score-threshold slider that hides the weaker predictions."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QScrollArea, QSlider, QVBoxLayout, QWidget

from editor import theme
from editor.training.plotting import palette

IMAGE_PIXELS = 168
COLUMNS = 4
TRUTH_COLOUR = "#9ca3af"
DEFAULT_THRESHOLD = 0.5
MIN_THRESHOLD = 0.05
"""The lowest score the slider reaches: detection post-processing keeps nothing weaker."""


def grey_image(values: list | np.ndarray) -> QImage:
    """An (H, W) or (C, H, W) sample as a grey picture, stretched to its own min..max."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 3:
        x = x.mean(axis=0)
    lo, hi = float(x.min()), float(x.max())
    grey = np.ascontiguousarray(((x - lo) / (hi - lo if hi > lo else 1.0) * 255).astype(np.uint8))
    return QImage(grey.data, grey.shape[1], grey.shape[0], grey.shape[1], QImage.Format.Format_Grayscale8).copy()


def draw_boxes(example: dict, class_names: list[str], threshold: float, pixels: int = IMAGE_PIXELS) -> QPixmap:
    """One example image with its true boxes (dashed grey) and the predictions scored at least `threshold`
    (solid, coloured by class, labelled 'class score')."""
    image = grey_image(example["image"])
    scale = pixels / max(image.width(), image.height())
    canvas = QPixmap.fromImage(image.scaled(round(image.width() * scale), round(image.height() * scale),
                                            Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.FastTransformation))
    colours = [QColor(c) for c in palette(max(len(class_names), 1))]
    painter = QPainter(canvas)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPixelSize(11)
    painter.setFont(font)
    truth_pen = QPen(QColor(TRUTH_COLOUR), 1.5, Qt.PenStyle.DashLine)
    for _cls, *box in example["truth"]:
        painter.setPen(truth_pen)
        painter.drawRect(QRectF(box[0] * scale, box[1] * scale, (box[2] - box[0]) * scale, (box[3] - box[1]) * scale))
    for cls, score, *box in sorted(example["pred"], key=lambda p: p[1]):  # the best box's label ends on top
        if score < threshold:
            continue
        colour = colours[int(cls) % len(colours)]
        painter.setPen(QPen(colour, 2))
        rect = QRectF(box[0] * scale, box[1] * scale, (box[2] - box[0]) * scale, (box[3] - box[1]) * scale)
        painter.drawRect(rect)
        name = class_names[int(cls)] if int(cls) < len(class_names) else str(cls)
        label = f"{name} {score:.2f}"
        width = painter.fontMetrics().horizontalAdvance(label) + 4
        top = max(rect.top() - 13, 0)
        painter.fillRect(QRectF(rect.left(), top, width, 13), colour)
        painter.setPen(QColor("#000000"))
        painter.drawText(QRectF(rect.left() + 2, top, width, 13), Qt.AlignmentFlag.AlignVCenter, label)
    painter.end()
    return canvas


class BoxesPanel(QWidget):
    """Images with their boxes (a detection `EvaluationResult`'s examples, or the Predict dialog's images, which
    have no true boxes), redrawn when the threshold slider moves. An example is {'image', 'truth', 'pred',
    'index'} and may name itself with a 'label'."""

    def __init__(self, parent: QWidget | None = None,
                 title: str = "Predicted boxes (solid, class and score) and true boxes (dashed)") -> None:
        super().__init__(parent)
        self.examples: list[dict] = []
        self.class_names: list[str] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        title = QLabel(title)
        title.setStyleSheet(f"color: {theme.MUTED}; font-weight: bold;")
        top.addWidget(title, 1)
        top.addWidget(QLabel("Score at least"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(round(MIN_THRESHOLD * 100), 100)
        self.slider.setValue(round(DEFAULT_THRESHOLD * 100))
        self.slider.setFixedWidth(160)
        self.slider.setToolTip("Hide predictions scored below this (true boxes always show)")
        self.slider.valueChanged.connect(lambda _v: self._draw())
        top.addWidget(self.slider)
        self.value = QLabel()
        self.value.setMinimumWidth(36)
        top.addWidget(self.value)
        layout.addLayout(top)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        self.grid = QGridLayout(body)
        scroll.setWidget(body)
        layout.addWidget(scroll, 1)
        self.cells: list[QLabel] = []

    @property
    def threshold(self) -> float:
        return self.slider.value() / 100

    def shown_predictions(self) -> list[int]:
        """How many predicted boxes each example image shows at the current threshold."""
        return [sum(1 for p in e["pred"] if p[1] >= self.threshold) for e in self.examples]

    def show_result(self, examples: list[dict], class_names: list[str]) -> None:
        self.examples, self.class_names = [e for e in examples if "image" in e], list(class_names)
        while self.grid.count():
            self.grid.takeAt(0).widget().deleteLater()
        self.cells = []
        for k in range(len(self.examples)):
            cell = QLabel()
            cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.grid.addWidget(cell, k // COLUMNS, k % COLUMNS)
            self.cells.append(cell)
        self._draw()

    def clear(self) -> None:
        self.show_result([], [])

    def _draw(self) -> None:
        self.value.setText(f"{self.threshold:.2f}")
        for cell, example, count in zip(self.cells, self.examples, self.shown_predictions(), strict=True):
            cell.setPixmap(draw_boxes(example, self.class_names, self.threshold))
            where = example.get("label") or f"image #{example['index']} of the split"
            truth = "" if "label" in example else f"{len(example['truth'])} true box(es), "
            cell.setToolTip(f"{where}: {truth}{count} predicted at score ≥ {self.threshold:.2f}")
