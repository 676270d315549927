"""Runs a sweep in a child process (editor/jobs.py); finished trials reach the GUI thread on a timer.

A trial that crashes or runs out of memory ends the child, never the editor: the sweep is then reported
as failed with how the process ended.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from editor.jobs import DRAIN_MS, ProcessJob
from engine.graph import Graph


class _StopFlag(threading.Event):
    """The sweep's stop token, stopped by the job's "stop" command."""

    def stop(self) -> None:
        self.set()


def _sweep_job(outbox, stop: _StopFlag, project: dict, folder: str, workers: int, torch_threads: int) -> None:
    """A job's work: run the sweep, sending ("trial", row) per finished trial, then ("finished", result)
    or ("failed", why)."""
    try:
        import torch

        from engine.sweep import run_sweep  # optuna and torch load in the child, not in the editor

        if torch_threads:
            torch.set_num_threads(torch_threads)
        result = run_sweep(Graph.from_dict(project), Path(folder), workers=workers, stop=stop,
                           on_trial=lambda row: outbox.send(("trial", row)))
    except Exception as exc:  # noqa: BLE001  shown to the user; the editor keeps running
        outbox.send(("failed", str(exc) or type(exc).__name__))
    else:
        outbox.send(("finished", result))


class SweepJob(QObject):
    """One sweep at a time: `start`, `stop`; the child process never touches a widget, only its messages."""

    trial_finished = Signal(object)
    """A `TrialRow`, in the GUI thread, as each trial ends."""
    finished = Signal(object)
    """The `SweepResult` when the budget is spent, the grid is done or Stop took effect."""
    failed = Signal(str)
    """Why the sweep could not run or ended (a bad section, a storage error, its process killed...)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker: ProcessJob | None = None
        self._stopping = False
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self._drain)

    @property
    def busy(self) -> bool:
        return self._worker is not None

    @property
    def stopping(self) -> bool:
        return self.busy and self._stopping

    def start(self, graph: Graph, project_dir: str | os.PathLike, workers: int = 1) -> None:
        """Run the sweep of a snapshot of `graph`; its trials become runs under `project_dir/runs/`."""
        if self.busy:
            raise RuntimeError("a sweep is already running")
        torch = sys.modules.get("torch")  # the child trains with the editor's thread count, once torch is loaded
        self._stopping = False
        args = (graph.to_dict(), str(project_dir), workers, torch.get_num_threads() if torch else 0)
        # not a daemon: a sweep with several workers starts processes of its own
        self._worker = ProcessJob(_sweep_job, _StopFlag, args, name="deepwire-sweep", daemon=False)
        self._timer.start()

    def stop(self) -> None:
        """Ask the sweep to stop: the running trial ends after its current batch and is not counted."""
        if self._worker is not None and not self._stopping:
            self._stopping = True
            self._worker.command("stop")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the sweep process ends (for closing the window); True when it did."""
        if self._worker is not None and not self._worker.wait(timeout):
            self._worker.process.terminate()  # SIGTERM: the child stops after its batch
            return self._worker.wait(timeout)
        return True

    def _drain(self) -> None:
        if self._worker is None:
            return
        messages, ended = self._worker.drain()
        outcome = None
        for kind, payload in messages:
            if kind == "trial":
                self.trial_finished.emit(payload)
            else:
                outcome = (kind, payload)
        if not ended:
            return
        if outcome is None:
            outcome = ("failed", self._worker.exit_note("The sweep process"))
        self._timer.stop()
        self._worker = None
        kind, payload = outcome
        (self.finished if kind == "finished" else self.failed).emit(payload)
