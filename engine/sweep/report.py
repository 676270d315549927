"""Sweep results: one row per trial and the Pareto front of objective vs parameter count."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # optuna loads only when a sweep runs or is read (the editor starts without it)
    import optuna
    from optuna.trial import FrozenTrial


@dataclass(frozen=True)
class TrialRow:
    """One trial as the report and the editor show it; `value` is the objective (None unless complete)."""

    number: int
    state: str
    """'COMPLETE', 'PRUNED', 'FAIL', 'RUNNING' or 'WAITING'."""
    value: float | None
    params: dict = field(default_factory=dict)
    params_count: int | None = None
    duration: float | None = None
    run_dir: str | None = None
    error: str | None = None
    worker: str | None = None
    epochs: int | None = None


def row_from_trial(trial: FrozenTrial) -> TrialRow:
    attrs = trial.user_attrs
    duration = None
    if trial.datetime_start is not None and trial.datetime_complete is not None:
        duration = (trial.datetime_complete - trial.datetime_start).total_seconds()
    from optuna.trial import TrialState

    value = trial.value if trial.state == TrialState.COMPLETE else attrs.get("last_value")
    params = trial.params or trial.system_attrs.get("fixed_params", {})  # queued grid points show their values
    return TrialRow(trial.number, trial.state.name, value, dict(params), attrs.get("params_count"),
                    duration, attrs.get("run_dir"), attrs.get("error"), attrs.get("worker"), attrs.get("epochs"))


def rows_from_study(study: optuna.Study) -> list[TrialRow]:
    return [row_from_trial(t) for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)]


def pareto_front(rows: list[TrialRow], direction: str = "maximize") -> list[TrialRow]:
    """Complete trials that no other trial beats on both objective and parameter count, fewest params first."""
    sign = 1.0 if direction == "maximize" else -1.0
    done = [r for r in rows if r.state == "COMPLETE" and r.value is not None and r.params_count is not None]

    def dominates(a: TrialRow, b: TrialRow) -> bool:
        no_worse = sign * a.value >= sign * b.value and a.params_count <= b.params_count
        return no_worse and (sign * a.value > sign * b.value or a.params_count < b.params_count)

    front = [r for r in done if not any(dominates(o, r) for o in done)]
    return sorted(front, key=lambda r: (r.params_count, -sign * r.value, r.number))


def best_row(rows: list[TrialRow], direction: str = "maximize") -> TrialRow | None:
    done = [r for r in rows if r.state == "COMPLETE" and r.value is not None]
    if not done:
        return None
    return max(done, key=lambda r: r.value) if direction == "maximize" else min(done, key=lambda r: r.value)
