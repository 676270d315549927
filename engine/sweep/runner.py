"""Run a sweep (in this process, or in K worker processes sharing the storage) and read one back."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from engine import finetune
from engine.graph import Graph
from engine.sweep.config import SweepConfig, SweepError
from engine.sweep.report import TrialRow, best_row, pareto_front, row_from_trial, rows_from_study
from engine.sweep.study import default_storage, make_storage, open_study, study_name
from engine.sweep.worker import StopToken, run_worker

POLL_S = 0.5


@dataclass
class SweepResult:
    """What a sweep left in its storage: every trial, the best one and the Pareto front."""

    name: str
    storage: str
    metric: str
    direction: str
    rows: list[TrialRow] = field(default_factory=list)

    @property
    def best(self) -> TrialRow | None:
        return best_row(self.rows, self.direction)

    @property
    def pareto(self) -> list[TrialRow]:
        return pareto_front(self.rows, self.direction)


def resolve(graph: Graph, project_dir: str | os.PathLike, storage: str | None = None,
            **overrides: Any) -> tuple[SweepConfig, str, str, Path]:
    """(config with overrides, storage URL, study name, runs folder) for a project."""
    config = SweepConfig.from_graph(graph)
    config = config.replace(**{k: v for k, v in overrides.items() if v is not None})
    if config.sampler == "grid":
        config.grid()
    runs_dir = Path(project_dir) / "runs"
    url = storage or config.storage or default_storage(runs_dir)
    return config, url, study_name(config, graph.name), runs_dir


def run_sweep(graph: Graph, project_dir: str | os.PathLike, *, on_trial: Callable[[TrialRow], Any] | None = None,
              stop: StopToken | None = None, workers: int = 1, trials: int | None = None,
              minutes: float | None = None, storage: str | None = None) -> SweepResult:
    """Run the project's sweep until its budget is spent or `stop` is set; trials go to `project_dir/runs/`.

    `on_trial` is called with each finished trial's row (from this thread when workers == 1, else from
    the polling loop here). Several processes or machines may run the same sweep on one storage.
    """
    config, url, name, runs_dir = resolve(graph, project_dir, storage, trials=trials, minutes=minutes)
    graph = finetune.resolved(graph, project_dir)  # trials read relative initial weights from the project's folder
    stop = stop or threading.Event()
    deadline = time.time() + config.minutes * 60 if config.minutes else None
    open_study(config, url, name)  # a bad storage or a changed search space fails here, before any worker starts
    if workers <= 1:
        run_worker(graph, config, url, name, runs_dir, stop=stop, deadline=deadline, on_trial=on_trial)
    else:
        _run_processes(graph, config, url, name, runs_dir, workers, stop, deadline, on_trial)
    return load_result(config, url, name)


def load_sweep(graph: Graph, project_dir: str | os.PathLike, storage: str | None = None) -> list[TrialRow]:
    """Every trial recorded so far for the project's sweep ([] before the first run)."""
    config, url, name, _ = resolve(graph, project_dir, storage)
    return load_result(config, url, name).rows


def load_result(config: SweepConfig, url: str, name: str) -> SweepResult:
    storage = make_storage(url)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return SweepResult(name, url, config.metric, config.direction)
    return SweepResult(name, url, config.metric, config.direction, rows_from_study(study))


def _run_processes(graph: Graph, config: SweepConfig, url: str, name: str, runs_dir: Path, workers: int,
                   stop: StopToken, deadline: float | None, on_trial: Callable[[TrialRow], Any] | None) -> None:
    ctx = multiprocessing.get_context("spawn")
    shared_stop = ctx.Event()
    threads = max(1, (os.cpu_count() or 1) // workers)
    procs = [ctx.Process(target=_worker_main, name=f"deepwire-sweep-{i}",
                         args=(graph.to_dict(), config, url, name, str(runs_dir), i, shared_stop, deadline, threads))
             for i in range(workers)]
    storage = make_storage(url)
    seen: set[int] = set()
    _report_new(storage, name, seen, None)
    for p in procs:
        p.start()
    try:
        while True:
            if stop.is_set():
                shared_stop.set()
            alive = any(p.is_alive() for p in procs)
            _report_new(storage, name, seen, on_trial)
            if not alive:
                break
            time.sleep(POLL_S)
    finally:
        shared_stop.set()
        for p in procs:
            p.join()
    failed = [p.exitcode for p in procs if p.exitcode]
    if failed:
        raise SweepError(f"{len(failed)} sweep worker process(es) exited with an error (exit codes {failed})")


def _report_new(storage: optuna.storages.BaseStorage, name: str, seen: set[int],
                on_trial: Callable[[TrialRow], Any] | None) -> None:
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return
    for trial in study.get_trials(deepcopy=False):
        if trial.state.is_finished() and trial.number not in seen:
            seen.add(trial.number)
            if on_trial is not None:
                on_trial(row_from_trial(trial))


def _worker_main(graph_doc: dict, config: SweepConfig, url: str, name: str, runs_dir: str, worker: int,
                 stop: Any, deadline: float | None, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    try:
        run_worker(Graph.from_dict(graph_doc), config, url, name, Path(runs_dir), worker=worker, stop=stop,
                   deadline=deadline)
    except KeyboardInterrupt:
        pass

