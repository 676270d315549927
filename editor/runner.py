"""Runs training away from the GUI thread and turns its events into Qt signals on a ~50 ms timer.

Two workers share one interface: a child process (the default: the GUI keeps the whole interpreter,
and a crash or out-of-memory kill of the run cannot take the editor down) and a thread (starts
faster; used where start-up time matters more than isolation). Either way the trainer's
`ControlToken` pauses, resumes and stops the run between batches.
"""

from __future__ import annotations

import queue
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from editor.jobs import DRAIN_MS, ProcessJob, ThreadJob
from engine.errors import DeepWireError
from engine.graph import Graph
from engine.runs import CHECKPOINTS, read_json
from engine.train.events import RunFailed, RunFinished, RunStarted, event_from_dict

BACKENDS = ("process", "thread")


@dataclass(frozen=True)
class RunRequest:
    """What to train: a new run of `project` (a Graph dict) in `run_dir`, or `resume` an existing run folder."""

    project: dict | None
    run_dir: str
    resume: str | None = None
    epochs: int | None = None
    torch_threads: int = 0
    """Intra-op threads for the run (0 = torch's default)."""


def _make_trainer(request: RunRequest, bus, control):
    """Build the Trainer a request asks for (imports torch lazily: the child process pays, not the GUI)."""
    import torch

    from engine.runs import create_run
    from engine.train.trainer import Trainer

    if request.torch_threads:
        torch.set_num_threads(request.torch_threads)
    if request.resume:
        return Trainer.resume(request.resume, request.epochs, bus=bus, control=control)
    graph = Graph.from_dict(request.project)
    trainer = Trainer(graph, bus=bus, control=control)  # checks graph vs data first: a refused run leaves no folder
    trainer.attach_run(create_run(graph, request.run_dir))
    return trainer


def _failure(exc: BaseException) -> RunFailed:
    """A RunFailed for an error raised before the trainer could report it itself."""
    if isinstance(exc, DeepWireError):
        return RunFailed(str(exc), getattr(exc, "node_id", None))
    return RunFailed(f"{type(exc).__name__}: {exc}", None, "".join(traceback.format_exception_only(exc)).strip())


def train(request: RunRequest, bus, control) -> None:
    """Run one request to its end; every outcome, including a failure to start, ends in an event on `bus`."""
    try:
        trainer = _make_trainer(request, bus, control)
    except BaseException as exc:  # noqa: BLE001  reported as RunFailed, never raised into the GUI
        bus.emit(_failure(exc))
        bus.close()
        return
    try:
        trainer.fit()
    except BaseException:  # noqa: BLE001,S110  fit() has already emitted RunFailed and closed the bus
        pass


def _control():
    """The trainer's pause/resume/stop token (imported in the worker: the GUI never loads the trainer)."""
    from engine.train.trainer import ControlToken

    return ControlToken()


def _train_job(outbox, control, request: RunRequest) -> None:
    """A job's work (see editor/jobs.py): train, sending each event as a plain dict to `outbox`."""
    from engine.train.events import EventBus

    bus = EventBus()
    sender = threading.Thread(target=_send_events, args=(bus.queue(), outbox), name="deepwire-events")
    sender.start()
    train(request, bus, control)
    sender.join()


def _send_events(events: queue.SimpleQueue, outbox) -> None:
    """Send what the bus hands out until it closes (an editor that went away ends the sending quietly)."""
    try:
        while (event := events.get()) is not None:
            outbox.send(event.to_dict())
    except OSError:
        return


class TrainingRunner(QObject):
    """Starts, pauses, resumes and stops runs; emits what the trainer streams, batched once per tick.

    `events` carries every event of one tick (a list) so views redraw once per tick; `started`,
    `finished` and `failed` carry the run's RunStarted, RunFinished and RunFailed.
    """

    events = Signal(list)
    started = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    state_changed = Signal(str)

    def __init__(self, parent: QObject | None = None, backend: str = "process", torch_threads: int = 0) -> None:
        super().__init__(parent)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        self.backend = backend
        self.torch_threads = torch_threads
        self.default_device = "auto"
        """The device a project whose training device is "auto" trains on (the editor's Preferences)."""
        self.state = "idle"
        self.run_path: Path | None = None
        self.last_outcome: RunFinished | RunFailed | None = None
        self.worker_lost = False
        """True when the last run's worker ended without reporting how the run ended (killed, crashed)."""
        self._worker: ProcessJob | ThreadJob | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self.drain)

    @property
    def busy(self) -> bool:
        return self._worker is not None

    @property
    def can_continue(self) -> bool:
        """Whether `continue_run(run_path)` can go on: stopped, or its worker was lost after a checkpoint."""
        if self.busy or self.run_path is None:
            return False
        if isinstance(self.last_outcome, RunFinished):
            return self.last_outcome.reason == "stopped"
        return self.worker_lost and last_checkpoint(self.run_path) is not None

    def start(self, graph: Graph, run_dir: str | Path) -> None:
        """Train `graph` (a snapshot is taken now) in a new run folder under `run_dir`."""
        project = graph.to_dict()
        training = dict(project.get("training") or {})
        if training.get("device", "auto") == "auto" and self.default_device != "auto":
            project["training"] = {**training, "device": self.default_device}
        self._launch(RunRequest(project, str(run_dir), torch_threads=self.torch_threads))

    def continue_run(self, run_path: str | Path, epochs: int | None = None) -> None:
        """Continue a stopped (or, with more `epochs`, a finished) run from its last checkpoint."""
        self._launch(RunRequest(None, str(Path(run_path).parent), str(run_path), epochs, self.torch_threads))

    def _launch(self, request: RunRequest) -> None:
        if self.busy:
            raise RuntimeError("a run is already in progress; stop it first")
        self.last_outcome, self.worker_lost = None, False
        self.run_path = Path(request.resume) if request.resume else None
        job = ProcessJob if self.backend == "process" else ThreadJob
        self._worker = job(_train_job, _control, (request,), name="deepwire-training")
        self._set_state("running")
        self._timer.start()

    def pause(self) -> None:
        if self.state == "running":
            self._worker.command("pause")
            self._set_state("paused")

    def resume(self) -> None:
        if self.state == "paused":
            self._worker.command("resume")
            self._set_state("running")

    def stop(self) -> None:
        if self.state in ("running", "paused"):
            self._worker.command("stop")
            self._set_state("stopping")

    def drain(self) -> None:
        """Hand out what the worker produced since the last tick (the timer calls this every 50 ms)."""
        if self._worker is None:
            return
        messages, ended = self._worker.drain()
        events = [event_from_dict(message) for message in messages]
        for event in events:
            if isinstance(event, RunStarted):
                self.run_path = Path(event.run_dir) if event.run_dir else self.run_path
            elif isinstance(event, RunFinished | RunFailed):
                self.last_outcome = event
        if ended and self.last_outcome is None:
            self.worker_lost = True
            self.last_outcome = RunFailed(self._worker.exit_note(f"The training {self.backend}"), None, self._lost_hint())
            events.append(self.last_outcome)
        if events:
            self.events.emit(events)
        for event in events:
            if isinstance(event, RunStarted):
                self.started.emit(event)
        if ended:
            self._end()

    def _lost_hint(self) -> str:
        """What the user can do after the worker vanished: continue from the checkpoint when there is one."""
        info = last_checkpoint(self.run_path) if self.run_path else None
        if info is None:
            return "No checkpoint was saved before it ended; train again (the terminal may show why)."
        epoch, batch = info.get("epoch", 0), info.get("batch", 0)
        where = f"during epoch {epoch + 1} (batch {batch})" if batch else f"after epoch {epoch}"
        return f"Resume continues the run from its last checkpoint, saved {where}."

    def _end(self) -> None:
        self._timer.stop()
        self._worker = None
        self._set_state("idle")
        if isinstance(self.last_outcome, RunFinished):
            self.finished.emit(self.last_outcome)
        else:
            self.failed.emit(self.last_outcome)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)


def last_checkpoint(run_path: Path) -> dict | None:
    """The run's `checkpoints/last.json` (epoch, batch, step...); None when it has no readable one."""
    try:
        return read_json(Path(run_path) / CHECKPOINTS / "last.json", None)
    except DeepWireError:
        return None
