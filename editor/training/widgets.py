"""Small widgets shared by the training panels: a scientific-notation spin box, section headers, banners, and
refilling a combo box that keeps its choice."""

from __future__ import annotations

import math

from PySide6.QtCore import QSignalBlocker
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFrame, QLabel, QScrollArea, QWidget

from editor import theme


class SciSpinBox(QDoubleSpinBox):
    """A float spin box that shows 0.001 / 3e-05 and steps by factors of 2 (learning rates, weight decay)."""

    def __init__(self, minimum: float, maximum: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(12)
        self.setRange(minimum, maximum)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:
        return f"{value:.4g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        try:
            value = float(text)
        except ValueError:
            return QValidator.State.Intermediate, text, pos
        ok = self.minimum() <= value <= self.maximum() and math.isfinite(value)
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos

    def stepBy(self, steps: int) -> None:
        value = self.value()
        self.setValue(value * 2.0**steps if value > 0 else (self.minimum() or 1e-6))


def header(text: str) -> QLabel:
    label = QLabel(text.upper())
    label.setStyleSheet(f"color: {theme.MUTED}; font-weight: bold; padding-top: 8px;")
    return label


def banner(kind: str = "warning") -> QLabel:
    """A hidden, word-wrapped message strip in the warning or error colour."""
    colour = theme.WARNING_COLOR if kind == "warning" else theme.ERROR_COLOR if kind == "error" else theme.ACCENT
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(f"QLabel {{ border: 1px solid {colour}; border-radius: 4px; padding: 6px; color: {theme.TEXT};"
                        f" background: {theme.RAISED}; }}")
    label.hide()
    return label


class ScrollPage(QScrollArea):
    """Holds a view at the page's size, never below the view's minimum (then it scrolls instead).

    QScrollArea's own resizing gives a view with word-wrapped labels its preferred height, which is
    taller than a dock usually is; this one gives it the room there is.
    """

    def __init__(self, view: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidget(view)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fit()

    def _fit(self) -> None:
        view, room = self.widget(), self.maximumViewportSize()
        least = view.minimumSizeHint().expandedTo(view.minimumSize())
        width = max(room.width(), least.width())
        height = max(room.height(), least.height())
        if width > room.width():  # a horizontal scroll bar takes height from the view
            height = max(room.height() - self.horizontalScrollBar().sizeHint().height(), least.height())
        if height > room.height():
            width = max(room.width() - self.verticalScrollBar().sizeHint().width(), least.width())
        view.resize(width, height)


def refill_combo(box: QComboBox, items: list[str], default: str) -> None:
    """Replace the items of `box`, keeping the current choice (else `default`, else the first item), without
    emitting change signals."""
    current = box.currentText() or default
    with QSignalBlocker(box):
        box.clear()
        box.addItems(items)
        box.setCurrentIndex(max(box.findText(current), 0))
