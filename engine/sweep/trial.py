"""The one place a sweep touches the trainer: train a graph as an ordinary run, with an epoch callback and a stop."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from engine.data import PreparedData, load_data
from engine.errors import DeepWireError
from engine.graph import Graph
from engine.runs import create_run
from engine.train.callbacks import Callback, EpochSummary
from engine.train.config import TrainingConfig
from engine.train.context import TrainContext
from engine.train.trainer import ControlToken, Trainer

EpochCallback = Callable[[int, dict[str, float]], bool]
"""Called with (epoch, metrics prefixed train_/val_) after each epoch, on the training thread; True ends the
trial there (the pruner's verdict)."""


class StopToken(Protocol):
    def is_set(self) -> bool: ...


@dataclass
class TrainOutcome:
    run_dir: Path | None
    history: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    stopped: bool = False
    error: str | None = None


class EpochReport(Callback):
    """Hands each finished epoch's metrics to the sweep and ends the trial (as "pruned") when it says so."""

    def __init__(self, on_epoch: EpochCallback) -> None:
        self.on_epoch = on_epoch

    def on_epoch_end(self, ctx: TrainContext, summary: EpochSummary) -> None:
        if self.on_epoch(summary.epoch, metrics_of(summary.train, summary.val)):
            ctx.request_stop("pruned")


_data_cache: dict[str, PreparedData] = {}


def _data(graph: Graph, seed: int) -> PreparedData:
    """Trials of one sweep share a data section: load and preprocess it once per process."""
    key = json.dumps([graph.data, seed], sort_keys=True, default=str)
    if key not in _data_cache:
        _data_cache.clear()
        _data_cache[key] = load_data(graph.data, seed=seed)
    return _data_cache[key]


def metrics_of(train: dict[str, float], val: dict[str, float]) -> dict[str, float]:
    return {**{f"train_{k}": v for k, v in train.items()}, **{f"val_{k}": v for k, v in val.items()}}


def train_trial(graph: Graph, runs_root: Path, name: str, on_epoch: EpochCallback, stop: StopToken) -> TrainOutcome:
    """Train `graph` in a new run folder under `runs_root`; errors come back in the outcome, not raised."""
    run = None
    try:
        config = TrainingConfig.from_dict(graph.training)
        run = create_run(graph, runs_root, name)
        trainer = Trainer(graph, config, _data(graph, config.seed), run=run, control=ControlToken(stop),
                          callbacks=[EpochReport(on_epoch)])
        result = trainer.fit()
    except DeepWireError as exc:
        return TrainOutcome(run.path if run else None, error=str(exc))
    history = [(h["epoch"], metrics_of(h["train"], h["val"])) for h in result.history]
    return TrainOutcome(run.path, history, stopped=result.reason == "stopped")
