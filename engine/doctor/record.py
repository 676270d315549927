"""Everything the doctor's checks read from one run, gathered event by event (live or from events.jsonl)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from engine.train.events import (
    Activations,
    BatchEnded,
    EpochEnded,
    Event,
    Gradients,
    RunFailed,
    RunFinished,
    RunStarted,
)
from engine.train.history import append_epoch, batch_position

KEPT_SUMMARY_KEYS = ("mean", "std", "zeros", "dead", "nonfinite", "min", "max", "hist")


@dataclass
class RunRecord:
    """Plain lists of a run's numbers; x values are in epochs (a batch is a fraction of one)."""

    started: RunStarted | None = None
    steps_per_epoch: int = 1
    batch_x: list[float] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    train: dict[str, list[float]] = field(default_factory=dict)
    val: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)
    grad_x: list[float] = field(default_factory=list)
    grads: list[dict[str, float]] = field(default_factory=list)
    act_x: list[float] = field(default_factory=list)
    acts: list[dict[str, dict]] = field(default_factory=list)
    failed: RunFailed | None = None
    finished: RunFinished | None = None

    def add(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            if not event.resumed or self.started is None:
                self.started = event
            self.steps_per_epoch = max(event.steps_per_epoch, 1)
        elif isinstance(event, BatchEnded):
            self.batch_x.append(batch_position(event))
            self.batch_loss.append(event.loss)
        elif isinstance(event, EpochEnded):
            self.epochs.append(event.epoch)
            self.lr.append(event.lr)
            append_epoch(self.train, self.val, event, len(self.epochs))
        elif isinstance(event, Gradients):
            self.grad_x.append(event.step / self.steps_per_epoch)
            self.grads.append(dict(event.norms))
        elif isinstance(event, Activations):
            self.act_x.append(event.step / self.steps_per_epoch)
            self.acts.append({nid: {k: s[k] for k in KEPT_SUMMARY_KEYS if k in s} for nid, s in event.nodes.items()})
        elif isinstance(event, RunFailed):
            self.failed = event
        elif isinstance(event, RunFinished):
            self.finished = event

    # ---- views the checks share -------------------------------------------------------------
    @property
    def params(self) -> dict:
        """The run's full training config ({} before RunStarted)."""
        return self.started.params if self.started else {}

    @property
    def data(self) -> dict:
        return self.started.data if self.started else {}

    @property
    def task(self) -> str:
        return self.started.task if self.started else ""

    def loss(self, split: str = "train") -> list[float]:
        return list(getattr(self, split).get("loss", []))

    def initial_loss(self) -> float | None:
        """The loss before training changed much: the first batch's, else the first epoch's."""
        first = next((v for v in self.batch_loss if math.isfinite(v)), None)
        if first is not None:
            return first
        losses = [v for v in self.loss() if math.isfinite(v)]
        return losses[0] if losses else None

    def node_series(self, key: str, node_id: str) -> tuple[list[float], list[float]]:
        """(x, values) of one activation summary key of one node over the run."""
        points = [(x, a[node_id][key]) for x, a in zip(self.act_x, self.acts, strict=True)
                  if node_id in a and key in a[node_id]]
        return [p[0] for p in points], [p[1] for p in points]

    def grad_series(self, node_id: str) -> tuple[list[float], list[float]]:
        points = [(x, g[node_id]) for x, g in zip(self.grad_x, self.grads, strict=True) if node_id in g]
        return [p[0] for p in points], [p[1] for p in points]

    @property
    def ended(self) -> bool:
        return self.failed is not None or self.finished is not None


def record_of(events: list[Event]) -> RunRecord:
    record = RunRecord()
    for event in events:
        record.add(event)
    return record
