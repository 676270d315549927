"""The state of a run folder (running, completed, stopped, failed, interrupted) in `state.json`, and the lock
(`run.lock`, held by the one process writing the run) that keeps a second writer out."""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

from engine.errors import DeepWireError, TrainingError

STATE = "state.json"
LOCK = "run.lock"
STATES = ("running", "completed", "stopped", "failed", "interrupted", "corrupt")


@dataclass(frozen=True)
class RunState:
    """What a run folder says about itself: one of STATES, with the failure's (or damage's) message."""

    state: str
    message: str = ""
    reason: str = ""
    """How a completed run ended: 'completed' (all epochs) or 'early_stopping'."""

    @property
    def label(self) -> str:
        return "completed (early stopping)" if self.reason == "early_stopping" else self.state


class RunLock:
    """An exclusive lock on a run folder, held until `release()` (or the process ends, however it ends)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = None

    def acquire(self) -> bool:
        """True when the lock is now ours; False when another open handle (any process) holds it."""
        fh = open(self.path, "a+b")  # noqa: SIM115  kept open while the lock is held
        if _try_lock(fh):
            self._fh = fh
            return True
        fh.close()
        return False

    def release(self) -> None:
        if self._fh is not None:
            _unlock(self._fh)
            self._fh.close()
            self._fh = None

    @property
    def held(self) -> bool:
        return self._fh is not None


def _try_lock(fh) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(fh) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def acquire(run_path: Path, wait: float = 0.5) -> RunLock:
    """The run's write lock; TrainingError when another process is writing the run. A lock still taken after
    `wait` seconds is a writer's: `is_locked` (a run listing) holds it for a moment to probe it."""
    lock = RunLock(Path(run_path) / LOCK)
    deadline = time.monotonic() + wait
    while not lock.acquire():
        if time.monotonic() >= deadline:
            holder = _read(Path(run_path)).get("pid")
            who = f" (process {holder})" if holder else ""
            raise TrainingError(f"run {Path(run_path).name} is being trained by another process{who}; wait for it "
                                "to end or stop it before resuming the run")
        time.sleep(0.02)
    return lock


def unfinished(run) -> bool:
    """True when the run's last writer ended without recording how the run ended (killed or crashed); asked by
    the process that now holds the run's lock, so a recorded 'running' is a dead writer's."""
    state = _read(run.path).get("state")
    if state in STATES:
        return state in ("running", "interrupted")
    try:
        return not run.metrics()
    except DeepWireError:
        return True


def is_locked(run_path: Path) -> bool:
    """True while some process holds the run's lock."""
    if not (Path(run_path) / LOCK).exists():
        return False
    probe = RunLock(Path(run_path) / LOCK)
    if probe.acquire():
        probe.release()
        return False
    return True


def write(run_path: Path, state: str, message: str = "", reason: str = "") -> None:
    """Record the run's state (atomically), with this process as its writer."""
    from engine.runs import write_json

    write_json(Path(run_path) / STATE, {"state": state, "message": message, "reason": reason, "pid": os.getpid(),
                                        "time": time.time()})


def _read(run_path: Path) -> dict:
    from engine.runs import read_json

    try:
        doc = read_json(Path(run_path) / STATE, {})
    except DeepWireError:
        return {}
    return doc if isinstance(doc, dict) else {}


def read_state(run) -> RunState:
    """The state of `run` (a Run); older folders without state.json are judged from metrics.json and events."""
    from engine.train.events import RunFailed, RunFinished

    try:
        doc = _read(run.path)
        state = doc.get("state")
        if state in STATES:
            if state == "running" and not is_locked(run.path):
                return RunState("interrupted", "the process training it ended without finishing (killed or crashed)")
            return RunState(state, str(doc.get("message") or ""), str(doc.get("reason") or ""))
        metrics = run.metrics()
        if metrics:
            reason = str(metrics.get("reason", "completed"))
            return RunState("stopped" if reason == "stopped" else "completed", "", reason)
        last = next((e for e in reversed(run.events()) if isinstance(e, RunFailed | RunFinished)), None)
        if isinstance(last, RunFailed):
            return RunState("failed", last.message)
        return RunState("running" if is_locked(run.path) else "interrupted")
    except DeepWireError as exc:
        return RunState("corrupt", str(exc))


def mark_failed_start(run_path: Path, exc: BaseException) -> None:
    """A run whose trainer could not even be built is failed (and never offered for resume)."""
    path = Path(run_path)
    if (path / STATE).exists() or (path / "events.jsonl").exists():
        return
    message = str(exc) if isinstance(exc, DeepWireError) else f"{type(exc).__name__}: {exc}"
    write(path, "failed", f"could not start: {message}")


def marks_failed_start(init):
    """Wraps Trainer.__init__: a fresh run (passed as `run=`) whose trainer cannot be built is marked failed."""
    @functools.wraps(init)
    def build(self, *args, **kwargs):
        try:
            init(self, *args, **kwargs)
        except BaseException as exc:
            recorder = getattr(self, "recorder", None)  # the trainer's RunRecorder, holding the lock
            if recorder is not None:
                recorder.release()
            run = kwargs.get("run")
            if run is not None:
                mark_failed_start(run.path, exc)
            raise
    return build
