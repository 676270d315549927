"""A background job that follows edits: started after a quiet spell, one at a time, re-run once if asked meanwhile.

The live preview and the cost view both keep a result of the current graph up to date this way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

from editor.training.background import run_job


class DebouncedJob(QObject):
    """`schedule()` (re)starts a `delay_ms` timer; when it fires `prepare()` returns the work to run off the GUI
    thread (or None: nothing to run). Its result goes to `done(result)` or `failed(exception)` on the GUI thread.
    A request while a job runs starts one more job as soon as that one is handled."""

    def __init__(self, parent: QObject, delay_ms: int, prepare: Callable[[], Callable[[], Any] | None],
                 done: Callable[[Any], None], failed: Callable[[Exception], None]) -> None:
        super().__init__(parent)
        self._prepare, self._done, self._failed = prepare, done, failed
        self._waiting = False
        """A job was started and its result has not been handled yet (the job's own flag drops before that)."""
        self._again = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.start_now)

    @property
    def busy(self) -> bool:
        """Waiting to start, running, or due to run again."""
        return self._timer.isActive() or self._waiting or self._again

    def schedule(self) -> None:
        """Run after `delay_ms` without another request (requests in quick succession make one run)."""
        self._timer.start()

    def start_now(self) -> None:
        """Start at once, or right after the running job when there is one."""
        if self._waiting:
            self._again = True
            return
        self._again = False
        work = self._prepare()
        if work is None:
            return
        self._waiting = True
        run_job(self, work, lambda result: self._handle(self._done, result),
                lambda exc: self._handle(self._failed, exc))

    def _handle(self, handler: Callable[[Any], None], value: Any) -> None:
        self._waiting = False
        handler(value)
        if self._again:
            self.start_now()
