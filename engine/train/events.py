"""Training events: frozen JSON-serialisable records, and a bus that hands them out without waiting.

Every event has `to_dict()` (with a "type" field) and `event_from_dict()` rebuilds it, so the same
records travel to the editor (in-process queues), to `events.jsonl` and back when a run is reopened.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class Event:
    """Base of all events; `time` is seconds since the epoch when the event was made."""

    def to_dict(self) -> dict:
        """The fields plus "type"; nested dicts and lists are the event's own (not copied: treat them as read-only)."""
        return {"type": type(self).__name__, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}}


@dataclass(frozen=True)
class RunStarted(Event):
    run_id: str
    run_dir: str | None
    project: str
    params: dict
    """The full training config (defaults filled in)."""
    device: str
    device_name: str
    task: str
    epochs: int
    start_epoch: int
    steps_per_epoch: int
    total_params: int
    metrics: list[str]
    data: dict = field(default_factory=dict)
    resumed: bool = False
    world_size: int = 1
    frozen_params: int = 0
    """Parameters of frozen nodes (fine-tuning), part of total_params."""
    init: str = ""
    """Where the initial weights came from and what loaded (empty: fresh weights)."""
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class EpochStarted(Event):
    epoch: int
    epochs: int
    lr: float
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class BatchEnded(Event):
    """Thinned to `events.batch_rate_hz`; `loss` is the loss of this batch."""

    epoch: int
    batch: int
    batches: int
    step: int
    loss: float
    lr: float
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class EpochEnded(Event):
    epoch: int
    epochs: int
    train: dict[str, float]
    val: dict[str, float]
    lr: float
    samples_per_s: float
    epoch_time: float
    best: bool = False
    """True when this epoch is the best so far on the monitored metric."""
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Activations(Event):
    """Per-node summaries of outputs on a fixed probe batch.

    `nodes[node_id]` = {"mean", "std", "zeros" (fraction), "dead" (fraction of units, features or channels,
    zero for every probe sample), "nonfinite" (count), "min", "max",
    "hist" (counts in `bins` equal bins from min to max), "shape", "thumbs" (conv nodes: a few
    channels of the first probe sample as lists of rows of 0-255 ints)}.
    """

    epoch: int
    step: int
    nodes: dict[str, dict]
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Gradients(Event):
    """L2 norm of each node's parameter gradients after a backward pass, and of all of them."""

    epoch: int
    step: int
    norms: dict[str, float]
    total: float
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class CheckpointSaved(Event):
    epoch: int
    step: int
    path: str
    which: str
    """'last' or 'best'."""
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class RunFinished(Event):
    epochs_done: int
    final: dict[str, float]
    best: dict[str, float]
    best_epoch: int | None
    reason: str
    """'completed', 'early_stopping' or 'stopped' (by the user)."""
    duration: float
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class RunFailed(Event):
    message: str
    node_id: str | None = None
    hint: str = ""
    epoch: int | None = None
    step: int | None = None
    time: float = field(default_factory=time.time)


EVENT_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in (
    RunStarted, EpochStarted, BatchEnded, EpochEnded, Activations, Gradients, CheckpointSaved, RunFinished, RunFailed)}


def event_from_dict(doc: dict) -> Event:
    """Rebuild an event from `to_dict()` output (unknown keys from newer versions are ignored)."""
    cls = EVENT_TYPES.get(doc.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown event type {doc.get('type')!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in doc.items() if k in names})


def read_events(path: str | Path) -> list[Event]:
    """Every event of an `events.jsonl` file; lines that are cut off (crash) or damaged are skipped."""
    events = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                doc = json.loads(line)
                if isinstance(doc, dict):
                    events.append(event_from_dict(doc))
            except (ValueError, TypeError, RecursionError):
                continue
    return events


def truncate_log(path: str | Path, size: int | None) -> None:
    """Cut an events log back to its first `size` bytes (the events a checkpoint had seen); None keeps it."""
    path = Path(path)
    if size is None or not path.is_file() or path.stat().st_size <= int(size):
        return
    with open(path, "r+b") as fh:
        fh.truncate(int(size))


Listener = Callable[[Event], Any]


class EventBus:
    """Fans events out without ever blocking the trainer.

    `queue()` gives a SimpleQueue the caller drains on its own schedule (the editor: a 50 ms timer);
    `None` on it marks the end of the run.
    `subscribe(fn)` runs `fn` on its own daemon thread fed by such a queue; `log_to(file)` appends
    each event to a JSON-lines file and flushes it, so a crash loses nothing.
    """

    def __init__(self) -> None:
        self._queues: list[queue.SimpleQueue] = []
        self._threads: list[threading.Thread] = []
        self._log: IO[str] | None = None
        self._lock = threading.Lock()

    def queue(self) -> queue.SimpleQueue:
        q: queue.SimpleQueue = queue.SimpleQueue()
        self._queues.append(q)
        return q

    def subscribe(self, listener: Listener) -> None:
        q = self.queue()

        def pump() -> None:
            while (event := q.get()) is not None:
                try:
                    listener(event)
                except Exception:  # noqa: BLE001  a broken listener must not stop the others or the run
                    continue

        thread = threading.Thread(target=pump, daemon=True, name=f"deepwire-listener-{len(self._threads)}")
        thread.start()
        self._threads.append(thread)

    def log_size(self) -> int | None:
        """Bytes written to the log so far (every event is flushed as it is written); None without a log."""
        with self._lock:
            return os.fstat(self._log.fileno()).st_size if self._log is not None else None

    def log_to(self, path: str | Path) -> None:
        self._log = open(path, "a", encoding="utf-8")  # noqa: SIM115  closed by close()

    def emit(self, event: Event) -> None:
        """Log and hand out one event (thread-safe: checkpoint writers emit from their own thread)."""
        line = json.dumps(event.to_dict(), allow_nan=True) + "\n" if self._log is not None else ""
        with self._lock:
            if self._log is not None:
                self._log.write(line)
                self._log.flush()
            for q in self._queues:
                q.put(event)

    def close(self, wait: float = 5.0) -> None:
        """Close the log and let listener threads finish what they were given (up to `wait` s)."""
        with self._lock:
            if self._log is not None:
                self._log.close()
                self._log = None
            for q in self._queues:
                q.put(None)
        deadline = time.monotonic() + wait
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
