"""After training: confusion matrix, ROC and PR curves with AUC, per-class table, residuals, confidently wrong samples."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor import theme
from editor.training.boxes_view import BoxesPanel
from editor.training.plotting import curve, palette, plot_widget
from engine.evaluate.metrics import EvaluationResult

MAX_LABELLED_CELLS = 400
ALL_TICKS = 12
MAX_TICKS = {"left": 24, "bottom": 8}
"""Class names along a confusion matrix's axes: all of up to ALL_TICKS classes, else every k-th."""
MAX_CURVES = 12
"""ROC / PR lines drawn: with more classes only the most frequent ones (the table lists every class)."""
WRONG_PIXELS = 52
WRONG_COLUMNS = 5
LEGEND_CURVES = 4


def image_of(values: list) -> QPixmap | None:
    """A sample input as a grey picture when it is an image ((H, W) or (1|3, H, W)); None otherwise."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 3 and x.shape[0] in (1, 3):
        x = x.mean(axis=0)
    if x.ndim != 2:
        return None
    lo, hi = np.nanmin(x), np.nanmax(x)
    grey = np.ascontiguousarray(((x - lo) / (hi - lo if hi > lo else 1.0) * 255).astype(np.uint8))
    image = QImage(grey.data, grey.shape[1], grey.shape[0], grey.shape[1], QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(image).scaled(WRONG_PIXELS, WRONG_PIXELS, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.FastTransformation)


ROW_PX = 15
"""Least height of a confusion-matrix row (its count label is 7.5 pt)."""
MAX_MATRIX_HEIGHT = 420


class ConfusionMatrix(pg.PlotWidget):
    """Heat map, true classes down, predicted across, each cell labelled with its count or fraction."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=theme.BASE)
        item = self.getPlotItem()
        item.setTitle("Confusion matrix", color=theme.TEXT, size="10pt")
        item.setLabel("bottom", "predicted", color=theme.MUTED)
        item.setLabel("left", "true", color=theme.MUTED)
        item.invertY(True)
        item.setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        item.addItem(self.image)
        self._labels: list[pg.TextItem] = []
        self._cell_font = QFont()
        self._cell_font.setPointSizeF(7.5)
        self.setMinimumSize(120, 90)

    def clear_matrix(self) -> None:
        self.image.clear()
        for label in self._labels:
            self.removeItem(label)
        self._labels = []

    def show_matrix(self, matrix: np.ndarray, names: list[str], normalized: bool) -> None:
        n = len(matrix)
        self.setMinimumHeight(min(MAX_MATRIX_HEIGHT, 60 + ROW_PX * n))  # rows stay readable; the page scrolls
        scale = matrix.max() if matrix.size and matrix.max() > 0 else 1
        self.image.setImage(matrix.T.astype(float), levels=(0, scale))
        self.image.setRect(0, 0, n, n)
        for label in self._labels:
            self.removeItem(label)
        self._labels = []
        if n * n <= MAX_LABELLED_CELLS:
            for i in range(n):
                for j in range(n):
                    value = matrix[i, j]
                    text = f"{value:.2f}" if normalized else f"{int(value)}"
                    dark = value > 0.6 * scale
                    label = pg.TextItem(text, color="#101010" if dark else "#f0f0f0", anchor=(0.5, 0.5))
                    label.setFont(self._cell_font)
                    label.setPos(j + 0.5, i + 0.5)
                    self.addItem(label)
                    self._labels.append(label)
        for side, most in MAX_TICKS.items():
            stride = 1 if n <= ALL_TICKS else -(-n // most)
            self.getPlotItem().getAxis(side).setTicks([[(k + 0.5, str(name)) for k, name in enumerate(names)
                                                        if k % stride == 0]])
        self.getPlotItem().setRange(xRange=(0, n), yRange=(0, n), padding=0.02)


NO_RESULT = "Evaluate a finished run (Training ▸ Evaluate) to see how it does on the test split."


class EvaluationView(QWidget):
    """Shows one `EvaluationResult`; `show_result(result)` fills every part that applies to its task."""

    head_chosen = Signal(str)
    """The user picked another Output head of a project with several: evaluate that one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: EvaluationResult | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        self.summary = QLabel(NO_RESULT)
        self.summary.setWordWrap(True)
        top.addWidget(self.summary, 1)
        self.head_label = QLabel("Head:")
        self.head = QComboBox()
        self.head.setToolTip("This project has several Outputs: the one whose test results are shown")
        self.head.activated.connect(lambda _index: self.head_chosen.emit(self.head.currentText()))
        top.addWidget(self.head_label)
        top.addWidget(self.head)
        self.set_heads([])
        self.normalized = QCheckBox("Normalized (per true class)")
        self.normalized.toggled.connect(lambda _on: self._show_confusion())
        top.addWidget(self.normalized)
        layout.addLayout(top)
        grid = QGridLayout()
        self.confusion = ConfusionMatrix()
        self.roc = plot_widget("ROC (one-vs-rest)", "false positive rate", "true positive rate")
        self.pr = plot_widget("Precision-recall", "recall", "precision")
        self.residuals = plot_widget("Residuals (prediction - truth)", "prediction", "residual")
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.wrong_box = wrong_box = QWidget()
        wrong_layout = QVBoxLayout(wrong_box)
        wrong_layout.setContentsMargins(0, 0, 0, 0)
        self.wrong_title = QLabel("Most confidently wrong")
        self.wrong_title.setStyleSheet(f"color: {theme.MUTED}; font-weight: bold;")
        wrong_layout.addWidget(self.wrong_title)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        self.wrong_body = QWidget()
        self.wrong_grid = QGridLayout(self.wrong_body)
        scroll.setWidget(self.wrong_body)
        wrong_layout.addWidget(scroll)
        grid.addWidget(self.confusion, 0, 0)
        grid.addWidget(self.residuals, 0, 0)
        grid.addWidget(self.roc, 0, 1)
        grid.addWidget(self.pr, 0, 2)
        grid.addWidget(self.table, 1, 0, 1, 2)
        grid.addWidget(wrong_box, 1, 2)
        self.boxes = BoxesPanel()  # detection: images with their true and predicted boxes
        grid.addWidget(self.boxes, 0, 0, 1, 2)
        self.boxes.hide()
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        layout.addLayout(grid, 1)
        self.residuals.hide()

    def set_heads(self, names: list[str], current: str = "") -> None:
        """Offer the Output heads `names` (the chooser shows only when there are several)."""
        self.head.blockSignals(True)
        self.head.clear()
        self.head.addItems(names)
        if current in names:
            self.head.setCurrentText(current)
        self.head.blockSignals(False)
        for widget in (self.head_label, self.head):
            widget.setVisible(len(names) > 1)

    # ---- filling -------------------------------------------------------------------------------
    def clear(self) -> None:
        """Show no result (another project is open, or a new run started)."""
        self.result = None
        self.summary.setText(NO_RESULT)
        for plot in (self.roc, self.pr, self.residuals):
            plot.getPlotItem().clear()
        self.confusion.clear_matrix()
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        while self.wrong_grid.count():
            self.wrong_grid.takeAt(0).widget().deleteLater()
        self.boxes.clear()

    def show_result(self, result: EvaluationResult) -> None:
        self.result = result
        metrics = " · ".join(f"{k} {v:.4g}" for k, v in result.metrics.items() if v is not None)
        self.summary.setText(f"<b>{result.split or 'test'} split</b>: {result.n} samples ({result.task}) · {metrics}")
        classification = result.confusion is not None and result.task != "multilabel"
        self.confusion.setVisible(classification)
        self.normalized.setVisible(classification)
        self.residuals.setVisible(result.residuals is not None)
        self.roc.setVisible(bool(result.roc))
        self.pr.setVisible(bool(result.pr))
        if classification:
            self._show_confusion()
        if result.residuals is not None:
            self._show_residuals(result.residuals)
        self._show_curves(self.roc, result.roc, "AUC", diagonal=True)
        self._show_curves(self.pr, result.pr, "AP", diagonal=False)
        self._show_table(result)
        self._show_wrong(result)
        detection = result.task == "detection"
        self.boxes.setVisible(detection)
        self.wrong_box.setVisible(not detection)
        if detection:
            self.boxes.show_result(result.boxes, result.class_names or [])

    def confusion_matrix(self, normalized: bool = False) -> np.ndarray:
        """The matrix as shown (counts or row-normalized)."""
        source = self.result.confusion_normalized if normalized else self.result.confusion
        return np.asarray(source, dtype=float)

    def _show_confusion(self) -> None:
        if self.result is None or self.result.confusion is None:
            return
        normalized = self.normalized.isChecked()
        names = self.result.class_names or [str(i) for i in range(len(self.result.confusion))]
        self.confusion.show_matrix(self.confusion_matrix(normalized), names, normalized)

    def _show_residuals(self, residuals: dict) -> None:
        item = self.residuals.getPlotItem()
        item.clear()
        item.plot(residuals["y_pred"], residuals["residual"], pen=None, symbol="o", symbolSize=5,
                  symbolBrush=pg.mkBrush(theme.ACCENT + "a0"), symbolPen=None)
        item.addLine(y=0, pen=pg.mkPen(theme.MUTED, style=Qt.PenStyle.DashLine))

    def _show_curves(self, plot: pg.PlotWidget, curves: list, area: str, diagonal: bool) -> None:
        """One line per class; with many classes the areas go to the title and the per-class table, not a legend."""
        item = plot.getPlotItem()
        item.clear()
        if diagonal:
            item.plot([0, 1], [0, 1], pen=pg.mkPen(theme.MUTED, style=Qt.PenStyle.DashLine))
        named = len(curves) <= LEGEND_CURVES
        item.legend.setVisible(named and bool(curves))
        drawn = self._most_frequent(curves)
        for c, colour in zip(drawn, palette(len(drawn)), strict=True):
            label = f"{c.label} ({area} {c.area:.3f})" if c.area is not None else c.label
            curve(plot, label if named else None, colour, 1.5).setData(c.x, c.y)
        areas = [c.area for c in curves if c.area is not None]
        title = ("ROC (one-vs-rest)" if diagonal else "Precision-recall") if len(drawn) == len(curves) else \
            f"{'ROC' if diagonal else 'PR'} of the {len(drawn)} commonest classes"
        mean = f" · mean {area} {np.mean(areas):.3f}" if areas and not named else ""
        item.setTitle(f"{title}{mean}", color=theme.TEXT, size="10pt")
        item.setRange(xRange=(0, 1), yRange=(0, 1.02))

    def _most_frequent(self, curves: list) -> list:
        """At most MAX_CURVES curves, those of the classes with the most samples, in class order."""
        if len(curves) <= MAX_CURVES:
            return curves
        support = {str(row.get("class")): row.get("support", 0) for row in self.result.per_class}
        keep = set(sorted(range(len(curves)), key=lambda i: -support.get(curves[i].label, 0))[:MAX_CURVES])
        return [c for i, c in enumerate(curves) if i in keep]

    def _show_table(self, result: EvaluationResult) -> None:
        roc = {c.label: c.area for c in result.roc}
        ap = {c.label: c.area for c in result.pr}
        rows = [{**row, **({"AUC": roc[str(row["class"])]} if str(row.get("class")) in roc else {}),
                 **({"AP": ap[str(row["class"])]} if str(row.get("class")) in ap and "ap50" not in row else {})}
                for row in result.per_class]
        columns = list(dict.fromkeys(k for row in rows for k in row)) if rows else ["metric", "value"]
        if not rows:
            rows = [{"metric": k, "value": v} for k, v in result.metrics.items()]
        self.table.clear()
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, key in enumerate(columns):
                value = row.get(key)
                text = "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
                cell = QTableWidgetItem(text)
                cell.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(r, c, cell)

    def _show_wrong(self, result: EvaluationResult) -> None:
        while self.wrong_grid.count():
            self.wrong_grid.takeAt(0).widget().deleteLater()
        regression = result.residuals is not None
        self.wrong_title.setText("Largest errors (true → predicted)" if regression
                                 else "Most confidently wrong (true → predicted)")
        if not result.wrong:
            none = QLabel("No wrong predictions on this split." if not regression else "No errors to show.")
            none.setStyleSheet(f"color: {theme.MUTED};")
            self.wrong_grid.addWidget(none, 0, 0)
        for k, sample in enumerate(result.wrong):
            cell = QWidget()
            box = QVBoxLayout(cell)
            box.setContentsMargins(2, 2, 2, 2)
            picture = image_of(sample["input"]) if "input" in sample else None
            if picture is not None:
                image = QLabel()
                image.setPixmap(picture)
                image.setAlignment(Qt.AlignmentFlag.AlignCenter)
                box.addWidget(image)
            score = f"error {sample['error']:.3g}" if "error" in sample else f"{sample.get('confidence', 0):.0%} sure"
            text = QLabel(f"{_short(sample['true'])} → <b>{_short(sample['pred'])}</b><br>"
                          f"<span style='color:{theme.MUTED}'>{score}</span>")
            text.setAlignment(Qt.AlignmentFlag.AlignCenter)
            text.setToolTip(f"sample #{sample['index']} of the split: true {sample['true']}, predicted {sample['pred']}")
            box.addWidget(text)
            cell.setMinimumHeight(cell.sizeHint().height())  # the caption is never cut off under its picture
            self.wrong_grid.addWidget(cell, k // WRONG_COLUMNS, k % WRONG_COLUMNS)


def _short(value: object) -> str:
    """A class name as it is, numbers to 3 significant digits: (0.833, 0.625, 0.167) for a vector target."""
    if isinstance(value, list | tuple):
        shown = ", ".join(_short(v) for v in value[:6])
        return f"({shown}{', …' if len(value) > 6 else ''})"
    return f"{value:.3g}" if isinstance(value, float) else str(value)
