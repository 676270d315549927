"""The trainer's side of run-folder state (engine/runstate.py): a callback that holds the run's lock and
records how the run is going and how it ended."""

from __future__ import annotations

from pathlib import Path

from engine import runstate
from engine.train.callbacks import Callback
from engine.train.context import TrainContext
from engine.train.events import EventBus, RunFailed, truncate_log


class RunRecorder(Callback):
    """Keeps a run folder's state true while a trainer owns it: the lock from construction, `running` from the
    start of fit, then how it ended (an end never reached reads as interrupted); also notes in each checkpoint
    how much of events.jsonl it has seen, so a resume can cut the log back to it."""

    def __init__(self, run_path: Path, bus: EventBus) -> None:
        self.path = Path(run_path)
        self.bus = bus
        self.lock = runstate.acquire(self.path)
        self.ended = False
        self.events_cut: int | None = None

    def on_fit_start(self, ctx: TrainContext) -> None:
        runstate.write(self.path, "running")

    def on_fit_end(self, ctx: TrainContext, result) -> None:
        reason = result.reason
        runstate.write(self.path, "stopped" if reason == "stopped" else "completed", reason=reason)
        self.ended = True

    def on_fit_failed(self, ctx: TrainContext, failure: RunFailed) -> None:
        runstate.write(self.path, "failed", failure.message + (f" Hint: {failure.hint}" if failure.hint else ""))
        self.ended = True

    def on_close(self, ctx: TrainContext) -> None:
        if not self.ended:
            runstate.write(self.path, "interrupted", "training ended without finishing")
        self.release()

    def release(self) -> None:
        self.lock.release()

    def state_dict(self) -> dict:
        return {"events_bytes": self.bus.log_size()}

    def load_state_dict(self, state: dict) -> None:
        size = state.get("events_bytes")
        self.events_cut = size if isinstance(size, int) and size >= 0 else None

    def cut_events(self) -> None:
        """Cut events.jsonl back to what the checkpoint just loaded had seen (the rest is a lost future)."""
        truncate_log(self.path / "events.jsonl", self.events_cut)
