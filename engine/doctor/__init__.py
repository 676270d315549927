"""The training doctor: diagnoses read from a run's events (live or from events.jsonl), pinned to nodes,
each with evidence to plot and remedies that are plain graph or section edits (engine.doctor.remedies)."""

from __future__ import annotations

from engine.doctor.checks import CHECKS, Context
from engine.doctor.record import RunRecord
from engine.doctor.records import Diagnosis, Evidence, Series
from engine.graph import Graph
from engine.runs import Run
from engine.train.events import Event

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

__all__ = ["Diagnosis", "Doctor", "Evidence", "Series", "diagnose_events", "diagnose_run"]


class Doctor:
    """Feed it a run's events (`add`) and ask for `diagnoses()` at any time; a healthy run gets none."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.record = RunRecord()
        self._param_counts: dict[str, int] | None = None

    def add(self, event: Event) -> None:
        self.record.add(event)

    def add_all(self, events: list[Event]) -> None:
        for event in events:
            self.record.add(event)

    def diagnoses(self) -> list[Diagnosis]:
        """Every check's findings, errors first."""
        ctx = Context(self.record, self.graph, self._param_counts)
        found = [d for c in CHECKS for d in c.run(ctx)]
        self._param_counts = ctx.param_counts  # the graph does not change during a run: validate it once
        return sorted(found, key=lambda d: SEVERITY_ORDER.get(d.severity, 3))


def diagnose_events(events: list[Event], graph: Graph) -> list[Diagnosis]:
    doctor = Doctor(graph)
    doctor.add_all(events)
    return doctor.diagnoses()


def diagnose_run(run: Run) -> list[Diagnosis]:
    """The diagnoses of a run folder (its graph snapshot and events.jsonl)."""
    return diagnose_events(run.events(), run.graph)
