"""One sweep worker: claim a trial, apply its values to a copy of the graph, train it as a run, tell the study."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from engine.errors import DeepWireError, GraphError
from engine.graph import Graph
from engine.runs import slug
from engine.sweep.config import Dimension, SweepConfig, apply_values
from engine.sweep.report import TrialRow, row_from_trial
from engine.sweep.study import STOPPED_ATTR, claim_trial, open_study, worker_id
from engine.sweep.trial import StopToken, train_trial
from engine.train.config import TrainingConfig
from engine.validate import validate


def run_worker(graph: Graph, config: SweepConfig, url: str, name: str, runs_dir: Path, *,
               worker: int = 0, stop: StopToken | None = None, deadline: float | None = None,
               on_trial: Callable[[TrialRow], Any] | None = None) -> int:
    """Run trials until the budget, the deadline or `stop`; return how many this worker ran."""
    stop = stop or threading.Event()
    study = open_study(config, url, name, worker)
    done = 0
    while not stop.is_set() and (deadline is None or time.time() < deadline):
        trial = claim_trial(study, config, url)
        if trial is None:
            break
        row = run_trial(study, trial, graph, config, runs_dir / f"sweep-{slug(name)}", stop)
        done += 1
        if on_trial is not None:
            on_trial(row)
    return done


def run_trial(study: optuna.Study, trial: optuna.Trial, graph: Graph, config: SweepConfig,
              runs_root: Path, stop: StopToken) -> TrialRow:
    """Train one trial and record it: COMPLETE with the objective, PRUNED, or FAIL with the message."""
    trial.set_user_attr("worker", worker_id())
    values = {d.target: suggest(trial, d) for d in config.dimensions}
    try:
        trial_graph = apply_values(graph, values)
        if config.epochs is not None:
            trial_graph.training = {**trial_graph.training, "epochs": config.epochs}
        TrainingConfig.from_dict(trial_graph.training)
        validation = validate(trial_graph)
        if not validation.ok:
            raise GraphError("; ".join(p.message for p in validation.errors))
    except DeepWireError as exc:
        return _finish(study, trial, TrialState.FAIL, error=f"invalid for these values: {exc}")
    trial.set_user_attr("params_count", validation.total_params)
    reporter = Reporter(trial, config)
    try:
        outcome = train_trial(trial_graph, runs_root, f"trial-{trial.number:04d}", reporter.on_epoch, stop)
    except KeyboardInterrupt:
        _stopped(study, trial, config, values)
        raise
    if outcome.run_dir:
        trial.set_user_attr("run_dir", str(outcome.run_dir))
    trial.set_user_attr("epochs", len(outcome.history))
    if reporter.error:
        return _finish(study, trial, TrialState.FAIL, error=reporter.error)
    if outcome.error:
        return _finish(study, trial, TrialState.FAIL, error=outcome.error)
    if reporter.pruned:
        return _finish(study, trial, TrialState.PRUNED)
    if outcome.stopped or stop.is_set():
        return _stopped(study, trial, config, values)
    if reporter.best is None:
        return _finish(study, trial, TrialState.FAIL, error="the run ended without a finished epoch")
    return _finish(study, trial, TrialState.COMPLETE, value=reporter.best)


def suggest(trial: optuna.Trial, dim: Dimension) -> Any:
    if dim.kind == "choice":
        return trial.suggest_categorical(dim.target, list(dim.choices))
    if dim.kind == "int":
        return trial.suggest_int(dim.target, int(dim.low), int(dim.high), step=int(dim.step or 1), log=dim.log)
    return trial.suggest_float(dim.target, dim.low, dim.high, step=dim.step, log=dim.log)


class Reporter:
    """Reports the objective of each epoch to Optuna (from the trainer's epoch callback) and asks the pruner
    whether to end the trial."""

    def __init__(self, trial: optuna.Trial, config: SweepConfig) -> None:
        self.trial, self.config = trial, config
        self.pruned = False
        self.best: float | None = None
        self.error: str | None = None

    def on_epoch(self, epoch: int, metrics: dict[str, float]) -> bool:
        """Report `epoch`; True when the trial should end here (pruned, or the objective is missing)."""
        value = metrics.get(self.config.metric)
        if value is None:
            self.error = (f"the objective {self.config.metric} is not among this run's metrics "
                          f"({', '.join(sorted(metrics))})")
            return True
        value = float(value)
        if value == value:  # not NaN
            better = self.best is None or (value > self.best if self.config.direction == "maximize" else value < self.best)
            self.best = value if better else self.best
        self.trial.report(value, epoch)
        self.trial.set_user_attr("last_value", value)
        self.pruned = self.config.pruning and self.trial.should_prune()
        return self.pruned


def _stopped(study: optuna.Study, trial: optuna.Trial, config: SweepConfig, values: dict) -> TrialRow:
    """A trial the user stopped: failed, not counted against the budget, its grid point queued again."""
    trial.set_user_attr(STOPPED_ATTR, True)
    if config.sampler == "grid":
        study.enqueue_trial(values)
    return _finish(study, trial, TrialState.FAIL, error="stopped before it finished")


def _finish(study: optuna.Study, trial: optuna.Trial, state: TrialState, value: float | None = None,
            error: str | None = None) -> TrialRow:
    if error:
        trial.set_user_attr("error", error)
    frozen = study.tell(trial, value if state == TrialState.COMPLETE else None, state=state)
    return row_from_trial(frozen)
