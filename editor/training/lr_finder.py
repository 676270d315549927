"""The "Find LR" dialog: runs the learning-rate range test off the GUI thread, plots loss vs LR with the
spread of the repeats, and applies the suggestion to the training section as one undoable edit."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from editor import theme
from editor.training.background import run_job
from editor.training.plotting import TRAIN_COLOR, VAL_COLOR, curve, plot_widget
from editor.training.sections import set_key
from engine.lr_find import LRFindResult, find_lr


class _Progress(QObject):
    """Carries the range test's progress text from its worker thread to the dialog."""

    changed = Signal(str)


class LRFinderDialog(QDialog):
    """Loss-vs-LR curve (median of repeats, shaded range), the current and suggested LRs, Apply."""

    def __init__(self, controller, parent: QWidget | None = None, *, repeats: int = 3, steps: int = 100) -> None:
        super().__init__(parent)
        self.setWindowTitle("Find learning rate")
        self.resize(640, 480)
        self.controller = controller
        self.result: LRFindResult | None = None
        self.error: Exception | None = None
        layout = QVBoxLayout(self)
        self.status = QLabel(f"Running {repeats} range tests of {steps} batches with different seeds...")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.plot = plot_widget("Loss while the learning rate grows", "learning rate", "smoothed loss", legend_in_title=True)
        self.plot.getPlotItem().setLogMode(x=True)
        layout.addWidget(self.plot, 1)
        self.reason = QLabel("")
        self.reason.setWordWrap(True)
        layout.addWidget(self.reason)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Apply | QDialogButtonBox.StandardButton.Close)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.apply_button.setEnabled(False)
        self.apply_button.setToolTip("Set the training section's learning rate to the suggestion (Edit > Undo reverts it)")
        self.apply_button.clicked.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        graph = controller.graph.copy()
        self._progress = _Progress(self)
        self._progress.changed.connect(self.status.setText)
        emit = self._progress.changed.emit
        self.job = run_job(self, lambda: find_lr(graph, repeats=repeats, steps=steps,
                                                 progress=lambda text, _f: emit(f"{text}...")),
                           self._show, self._failed)

    @property
    def running(self) -> bool:
        return self.job.running

    def _show(self, result: LRFindResult) -> None:
        self.result = result
        lrs = np.array(result.lrs)
        median, low, high = (np.array(v, dtype=float) for v in (result.median, result.low, result.high))
        shown = np.isfinite(median)
        plot = self.plot.getPlotItem()
        x = np.log10(lrs[shown])  # log mode: pyqtgraph's fill between curves takes the transformed x
        upper = curve(self.plot, None, TRAIN_COLOR, width=0.5, alpha=90)
        lower = curve(self.plot, None, TRAIN_COLOR, width=0.5, alpha=90)
        upper.setData(lrs[shown], high[shown])
        lower.setData(lrs[shown], low[shown])
        plot.addItem(pg.FillBetweenItem(upper, lower, brush=_brush(TRAIN_COLOR, 60)))
        curve(self.plot, "median of repeats", TRAIN_COLOR).setData(lrs[shown], median[shown])
        for lr, color, name in ((result.default_lr, theme.MUTED, "current"), (result.suggested_lr, VAL_COLOR,
                                                                              "suggested")):
            line = pg.InfiniteLine(math.log10(lr), angle=90, pen=pg.mkPen(color, width=1.5, style=Qt.PenStyle.DashLine),
                                   label=f"{name} {lr:.2g}", labelOpts={"color": color, "position": 0.92})
            plot.addItem(line)
        if len(x):
            plot.setXRange(float(x.min()), float(x.max()), padding=0.02)
        verdict = "Keep the current learning rate" if result.keep_default else \
            f"Suggested learning rate: {result.suggested_lr:.3g}"
        self.status.setText(f"<b>{verdict}</b>")
        self.reason.setText(result.reason[:1].upper() + result.reason[1:] + ".")
        self.apply_button.setEnabled(not result.keep_default)

    def _failed(self, exc: Exception) -> None:
        self.error = exc
        self.status.setText(f"<span style='color:{theme.ERROR_COLOR}'>The range test could not run: {exc}</span>")

    def apply(self) -> None:
        """Write the suggestion into the training section as one undo step."""
        if self.result is not None and not self.result.keep_default:
            set_key(self.controller, "training", "lr", float(f"{self.result.suggested_lr:.3g}"))
            self.status.setText(f"<b>Learning rate set to {self.result.suggested_lr:.3g}</b> (Edit > Undo reverts it)")
            self.apply_button.setEnabled(False)


def _brush(color: str, alpha: int):
    qcolor = pg.mkColor(color)
    qcolor.setAlpha(alpha)
    return pg.mkBrush(qcolor)
