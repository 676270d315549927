"""Keep Python's cyclic garbage collector on the GUI thread while worker threads run Python.

An automatic collection starts in whichever thread happens to allocate. If that is a worker thread
and the garbage holds closed Qt widgets, PySide destroys them there and can deadlock with the GUI
thread (seen: QMenu destructors on a data-loading thread). So while any worker holds the guard,
automatic collection is off and the GUI thread collects young objects on a timer instead.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

COLLECT_MS = 1000


class _Keeper(QObject):
    released = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.holders = 0
        self.was_enabled = True
        self.timer = QTimer(self)
        self.timer.setInterval(COLLECT_MS)
        self.timer.timeout.connect(lambda: gc.collect(1))
        self.released.connect(self.release)

    def hold(self) -> None:
        if self.holders == 0:
            self.was_enabled = gc.isenabled()
            gc.disable()
            self.timer.start()
        self.holders += 1

    def release(self) -> None:
        self.holders -= 1
        if self.holders == 0:
            self.timer.stop()
            if self.was_enabled:
                gc.enable()


_keeper: _Keeper | None = None


def _the_keeper() -> _Keeper:
    global _keeper
    if _keeper is None:
        _keeper = _Keeper()
        _keeper.moveToThread(QCoreApplication.instance().thread())
    return _keeper


def hold() -> None:
    """Call on the GUI thread before starting a worker thread."""
    _the_keeper().hold()


def release_from_worker() -> None:
    """Call as the worker thread's last act; the release happens on the GUI thread."""
    try:
        _the_keeper().released.emit()
    except RuntimeError:  # the application (and the keeper with it) was destroyed while the worker ran
        return
