"""The main window's dock sizes: a default that leaves the canvas most of the window, and the user's own
arrangement remembered across sessions."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from editor.settings import Settings

SIDE_SHARES = {Qt.DockWidgetArea.LeftDockWidgetArea: (0.14, 180, 240),
               Qt.DockWidgetArea.RightDockWidgetArea: (0.25, 320, 380)}
"""Default width of each side dock area: (share of the window width, least px, most px)."""
BOTTOM_SHARE = (0.17, 120, 200)
"""Default height of the bottom dock area, likewise: the canvas keeps the rest."""
STATE_KEY = "window/state"
STATE_VERSION = 1


def _size(total: int, share: tuple[float, int, int]) -> int:
    part, low, high = share
    return int(min(max(total * part, low), high))


def _docks_in(window: QMainWindow, area: Qt.DockWidgetArea) -> list[QDockWidget]:
    return [d for d in window.findChildren(QDockWidget)
            if window.dockWidgetArea(d) == area and not d.isFloating() and not d.isHidden()]


def apply_default_layout(window: QMainWindow) -> None:
    """Narrow side docks and a low bottom dock, sized for the window's current size."""
    for area, share in SIDE_SHARES.items():
        docks = _docks_in(window, area)
        if docks:
            window.resizeDocks(docks[:1], [_size(window.width(), share)], Qt.Orientation.Horizontal)
    bottom = _docks_in(window, Qt.DockWidgetArea.BottomDockWidgetArea)
    if bottom:
        window.resizeDocks(bottom[:1], [_size(window.height(), BOTTOM_SHARE)], Qt.Orientation.Vertical)


def save_layout(window: QMainWindow, state: QByteArray | None = None) -> None:
    """Remember the docks' places and sizes (`state`: the window's saveState(), by default taken now)."""
    Settings()._set(STATE_KEY, state if state is not None else window.saveState(STATE_VERSION))


def restore_layout(window: QMainWindow) -> bool:
    """Put the docks back as the user left them last time; False when nothing usable was stored."""
    state = Settings().store.value(STATE_KEY)
    return isinstance(state, QByteArray) and not state.isEmpty() and window.restoreState(state, STATE_VERSION)
