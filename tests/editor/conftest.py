"""Shared fixtures for editor tests: offscreen Qt, a private data folder and settings, no modal dialogs."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from editor import qtcompat  # noqa: E402,F401  (before PySide6)


@pytest.fixture(autouse=True)
def private_user_dirs(tmp_path, monkeypatch):
    """Autosave, blocks and settings go to this test's temporary folder."""
    data = tmp_path / "user-data"
    monkeypatch.setenv("DEEPWIRE_DATA_DIR", str(data))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    return data


@pytest.fixture(autouse=True)
def nothing_outlives_its_test():
    """After each test: stop the autosave of any window it left open (it would write into the next test's data
    folder), and collect the parentless menus pyqtgraph and NodeGraphQt leave for Python's collector."""
    yield
    import gc

    from PySide6.QtWidgets import QApplication

    from editor.main_window import MainWindow

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow):
            widget.document.close_cleanly()
    gc.collect()


@pytest.fixture(autouse=True)
def answers(monkeypatch):
    """Modal message boxes never block: each records its call and returns the queued answer.

    Tests push answers (e.g. QMessageBox.StandardButton.Cancel) onto `answers.queue`; with none queued,
    questions answer Discard/No and other boxes just close.
    """
    class Answers:
        queue: list = []
        asked: list[str] = []
        shown: list[str] = []

    log = Answers()
    log.queue, log.asked, log.shown = [], [], []

    def question(parent, title, text, *args, **kwargs):
        log.asked.append(f"{title}: {text}")
        if log.queue:
            return log.queue.pop(0)
        buttons = args[0] if args else kwargs.get("buttons", QMessageBox.StandardButton.No)
        if buttons & QMessageBox.StandardButton.Discard:
            return QMessageBox.StandardButton.Discard
        return QMessageBox.StandardButton.No

    def exec_box(box):
        log.shown.append(f"{box.windowTitle()}: {box.text()} {box.informativeText()}")
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    monkeypatch.setattr(QMessageBox, "exec", exec_box)
    return log


@pytest.fixture
def ctl(qtbot):
    """A shown 1000×700 canvas on an empty graph."""
    from editor.canvas import CanvasController

    c = CanvasController()
    qtbot.addWidget(c.widget)
    c.widget.resize(1000, 700)
    c.widget.show()
    return c


@pytest.fixture
def window(qtbot):
    """A shown MainWindow on an empty project."""
    from editor.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win
