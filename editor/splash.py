"""The start-up splash: a small window painted at once, before the editor's heavy libraries (PyTorch) load."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

from editor import theme

SIZE = (420, 160)


class StartupSplash(QSplashScreen):
    """'DeepWire — starting…' in the theme's colours; `finish(window)` closes it once the window shows."""

    def __init__(self) -> None:
        pixmap = QPixmap(*SIZE)
        pixmap.fill(QColor(theme.BASE))
        painter = QPainter(pixmap)
        painter.setPen(QColor(theme.ACCENT))
        title = QFont()
        title.setPointSizeF(22)
        title.setBold(True)
        painter.setFont(title)
        painter.drawText(pixmap.rect().adjusted(0, -24, 0, 0), Qt.AlignmentFlag.AlignCenter, "DeepWire")
        note = QFont()
        note.setPointSizeF(10)
        painter.setFont(note)
        painter.setPen(QColor(theme.MUTED))
        painter.drawText(pixmap.rect().adjusted(0, 56, 0, 0), Qt.AlignmentFlag.AlignCenter,
                         "Starting the editor (loading PyTorch)…")
        painter.end()
        super().__init__(pixmap)
        self.painted = False

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        self.painted = True

    def show_now(self) -> None:
        """Show and paint it before returning (the event loop is not running yet)."""
        self.show()
        self.raise_()
        QApplication.processEvents()
        self.repaint()
        QApplication.processEvents()
