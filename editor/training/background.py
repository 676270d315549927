"""Run a slow call (evaluation, export, loading data) on a worker thread and get its result as a Qt signal.

Long-running work (training, sweeps) uses `editor/jobs.py` instead; these calls stay on a thread because they
are closures over the editor's live objects (models, datasets) and return large in-memory results.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from editor.training import gcguard


class Job(QObject):
    """One call on its own thread; `done(result)` or `failed(exception)` arrives on the GUI thread."""

    done = Signal(object)
    failed = Signal(object)

    def __init__(self, fn: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self.running = False

    def start(self) -> Job:
        self.running = True
        gcguard.hold()
        threading.Thread(target=self._run, daemon=True, name="deepwire-job").start()
        return self

    def _run(self) -> None:
        try:
            try:
                signal, value = self.done, self._fn()
            except Exception as exc:  # noqa: BLE001  handed to the GUI, which shows it
                signal, value = self.failed, exc
            self.running = False
            try:
                signal.emit(value)
            except RuntimeError:  # the panel that asked was closed while the job ran: nobody to tell
                return
        finally:
            gcguard.release_from_worker()

def run_job(parent: QObject, fn: Callable[[], Any], on_done: Callable[[Any], None],
            on_failed: Callable[[Exception], None]) -> Job:
    """Start `fn` off the GUI thread; the Job is parented to `parent` so it lives until its signal arrives."""
    job = Job(fn, parent)
    job.done.connect(on_done)
    job.failed.connect(on_failed)
    job.done.connect(lambda _r: job.deleteLater())
    job.failed.connect(lambda _e: job.deleteLater())
    return job.start()
