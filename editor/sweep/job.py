"""Runs a sweep on a worker thread; finished trials reach the GUI thread through a queue drained on a timer."""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from editor.training import gcguard
from engine.graph import Graph

DRAIN_MS = 50


class SweepJob(QObject):
    """One sweep at a time: `start`, `stop`; the worker never touches a widget, only the queue."""

    trial_finished = Signal(object)
    """A `TrialRow`, in the GUI thread, as each trial ends."""
    finished = Signal(object)
    """The `SweepResult` when the budget is spent, the grid is done or Stop took effect."""
    failed = Signal(str)
    """Why the sweep could not run (a bad section, a storage error, a changed search space...)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self._drain)

    @property
    def busy(self) -> bool:
        return self._thread is not None

    @property
    def stopping(self) -> bool:
        return self.busy and self._stop.is_set()

    def start(self, graph: Graph, project_dir: str | os.PathLike, workers: int = 1) -> None:
        """Run the sweep of a snapshot of `graph`; its trials become runs under `project_dir/runs/`."""
        if self.busy:
            raise RuntimeError("a sweep is already running")
        self._stop = threading.Event()
        snapshot, folder, stop, out = graph.copy(), Path(project_dir), self._stop, self._queue

        def work() -> None:
            try:
                from engine.sweep import run_sweep  # optuna loads with the first sweep, not with the editor

                result = run_sweep(snapshot, folder, on_trial=lambda row: out.put(("trial", row)), stop=stop,
                                   workers=workers)
            except Exception as exc:  # noqa: BLE001  shown to the user; the editor keeps running
                out.put(("failed", str(exc) or type(exc).__name__))
            else:
                out.put(("finished", result))
            finally:
                gcguard.release_from_worker()

        gcguard.hold()  # no cyclic GC on the worker thread: it could destroy Qt objects there
        self._thread = threading.Thread(target=work, name="deepwire-sweep", daemon=True)
        self._thread.start()
        self._timer.start()

    def stop(self) -> None:
        """Ask the sweep to stop: the running trial ends after its current batch and is not counted."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker thread ends (for closing the window); True when it did."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def _drain(self) -> None:
        while True:
            try:
                kind, payload = self._queue.get_nowait()
            except queue.Empty:
                return
            if kind == "trial":
                self.trial_finished.emit(payload)
                continue
            self._timer.stop()
            if self._thread is not None:
                self._thread.join()
            self._thread = None
            (self.finished if kind == "finished" else self.failed).emit(payload)
