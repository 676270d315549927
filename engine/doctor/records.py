"""What the doctor reports: a diagnosis pinned to nodes, with its evidence as plottable series."""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Series:
    """One curve (or bar set) of evidence: `x` and `y` of the same length."""

    label: str
    x: list[float]
    y: list[float]

    def to_dict(self) -> dict:
        return {"label": self.label, "x": list(self.x), "y": list(self.y)}


@dataclass(frozen=True)
class Evidence:
    """A small plot that shows why the doctor thinks so; `kind` is 'line' or 'bar'."""

    title: str
    x_label: str
    y_label: str
    series: tuple[Series, ...]
    kind: str = "line"
    log_y: bool = False
    x_ticks: tuple[str, ...] = ()
    """Names for x = 0, 1, 2... (bars per node or per class)."""

    def to_dict(self) -> dict:
        return {"title": self.title, "x_label": self.x_label, "y_label": self.y_label, "kind": self.kind,
                "log_y": self.log_y, "x_ticks": list(self.x_ticks), "series": [s.to_dict() for s in self.series]}


@dataclass(frozen=True)
class Diagnosis:
    """One thing that went wrong in a run: what (`id`, `title`), where (`node_ids`), why (`explanation`),
    the numbers behind it (`evidence`) and what to try (`remedies`: ids in engine.doctor.remedies)."""

    id: str
    title: str
    severity: str
    node_ids: tuple[str, ...]
    explanation: str
    evidence: tuple[Evidence, ...] = ()
    remedies: tuple[str, ...] = ()
    measure: dict = field(default_factory=dict)
    """The numbers the check compared with its thresholds (what a remedy should improve)."""

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "severity": self.severity, "node_ids": list(self.node_ids),
                "explanation": self.explanation, "evidence": [e.to_dict() for e in self.evidence],
                "remedies": list(self.remedies), "measure": dict(self.measure)}
