"""Where the training panels sit when the window opens and when a run starts: the canvas keeps the room."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QTabBar

from editor import theme


def in_front(dock: QDockWidget) -> bool:
    """Visible, and the current tab when tabified with other docks (what a user sees)."""
    QApplication.processEvents()
    window = dock.parentWidget()
    if not dock.isVisible():
        return False
    if not window.tabifiedDockWidgets(dock):
        return True
    for bar in window.findChildren(QTabBar):
        titles = [bar.tabText(i) for i in range(bar.count())]
        if dock.windowTitle() in titles and bar.isVisible():
            return bar.tabText(bar.currentIndex()) == dock.windowTitle()
    return False


def test_on_open_the_editing_panels_are_in_front_and_the_bottom_area_is_low(window):
    theme.apply_theme(QApplication.instance())  # as the app does; other tests may or may not have applied it
    ws = window.training
    assert in_front(window.properties_dock) and in_front(window.problems_dock)
    for dock in (ws.data_dock, ws.training_dock, ws.views_dock, window.code_dock):
        assert not in_front(dock), dock.objectName()
    assert window.problems_dock.height() <= 0.3 * window.height()
    assert window.controller.widget.height() >= 0.45 * window.height()
    # tabbed docks are named by their tabs: no title bar above them
    for dock in (ws.views_dock, ws.data_dock, ws.training_dock, window.properties_dock):
        assert dock.titleBarWidget() is not None and dock.titleBarWidget().sizeHint().height() <= 0, dock.objectName()


def test_the_training_views_never_make_the_window_tall_or_wide(window):
    ws = window.training
    hint = ws.views_dock.minimumSizeHint()
    assert hint.height() <= 160 and hint.width() <= 300, hint
    assert window.minimumSizeHint().width() <= 800, "fits a 1280x800 screen beside nothing else"
    # a view smaller than its minimum scrolls inside its page instead of growing the dock
    page = ws._pages[ws.evaluation]
    ws._show_tab(ws.evaluation)
    window.resizeDocks([ws.views_dock], [120], Qt.Orientation.Vertical)
    QApplication.processEvents()
    assert ws.views_dock.height() < ws.evaluation.minimumSizeHint().height() + 40
    assert ws.evaluation.height() >= ws.evaluation.minimumSizeHint().height()
    assert page.verticalScrollBar().maximum() > 0
