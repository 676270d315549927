"""The start-up splash: a small window painted at once, before the editor's heavy libraries (PyTorch) load."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

from editor import theme

SIZE = (420, 160)


def _picture() -> QPixmap:
    """'DeepWire — starting…' in the theme's colours."""
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
    return pixmap


class StartupSplash(QWidget):
    """A frameless splash window centred on the screen; `finish(window)` closes it once the window shows.

    A plain widget, not QSplashScreen: Qt's splash waits up to a second on show for its window to be exposed
    (it asks before the window is made visible, so the wait always runs to its end), which the start-up paid.
    """

    def __init__(self) -> None:
        super().__init__(None, Qt.WindowType.SplashScreen | Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowStaysOnTopHint)
        self.pixmap = _picture()
        self.setFixedSize(*SIZE)
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            self.move(screen.availableGeometry().center() - self.rect().center())
        self.painted = False

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self.pixmap)
        painter.end()
        self.painted = True

    def show_now(self) -> None:
        """Show and paint it before returning (the event loop is not running yet)."""
        self.show()
        self.raise_()
        QApplication.processEvents()
        self.repaint()
        QApplication.processEvents()

    def finish(self, window: QWidget) -> None:
        """Close the splash now that `window` is shown."""
        self.close()
        self.deleteLater()
