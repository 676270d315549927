"""Compare two runs, or a run and a project: nodes added, removed or changed (params and parameter counts
before and after), wires, the training and data settings, and the final metrics side by side.

Nodes are matched by id: DeepWire keeps a node's id through every edit (a type swap included), so an id
present on both sides is the same node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import DeepWireError, ProjectFileError
from engine.graph import Edge, Graph
from engine.runs import PROJECT, Run, open_run
from engine.train.config import TrainingConfig

SPLIT_ORDER = {"val": 0, "test": 1, "train": 2}
"""Final metrics are listed validation first: those say whether a change helped."""


@dataclass(frozen=True)
class NodeChange:
    """One node that differs: `kind` is 'added', 'removed' or 'changed'; `changes` maps what changed (params,
    'type', 'name') to its (before, after)."""

    node_id: str
    kind: str
    type: str
    name: str
    params_before: dict
    params_after: dict
    weights_before: int
    weights_after: int
    changes: dict[str, tuple]

    def to_dict(self) -> dict:
        return {"node_id": self.node_id, "kind": self.kind, "type": self.type, "name": self.name,
                "params_before": self.params_before, "params_after": self.params_after,
                "weights_before": self.weights_before, "weights_after": self.weights_after,
                "changes": {k: list(v) for k, v in self.changes.items()}}


@dataclass(frozen=True)
class GraphDiff:
    nodes: list[NodeChange]
    wires_added: list[Edge]
    wires_removed: list[Edge]
    weights_before: int
    weights_after: int

    @property
    def empty(self) -> bool:
        return not (self.nodes or self.wires_added or self.wires_removed)

    def of_kind(self, kind: str) -> list[NodeChange]:
        return [n for n in self.nodes if n.kind == kind]

    def to_dict(self) -> dict:
        return {"nodes": [n.to_dict() for n in self.nodes], "wires_added": [e.to_dict() for e in self.wires_added],
                "wires_removed": [e.to_dict() for e in self.wires_removed],
                "weights_before": self.weights_before, "weights_after": self.weights_after}


@dataclass(frozen=True)
class SettingChange:
    section: str
    key: str
    before: object
    after: object

    def to_dict(self) -> dict:
        return {"section": self.section, "key": self.key, "before": self.before, "after": self.after}


@dataclass
class Side:
    """One side of a comparison: a run folder (with its metrics and curves) or a project (graph only)."""

    label: str
    graph: Graph
    final: dict[str, float] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    run: Run | None = None


@dataclass
class RunDiff:
    a: Side
    b: Side
    graph: GraphDiff
    settings: list[SettingChange]
    metrics: list[tuple[str, float | None, float | None]]
    """(name, a's final value, b's final value) for every final metric of either side."""

    def to_dict(self) -> dict:
        return {"a": self.a.label, "b": self.b.label, "graph": self.graph.to_dict(),
                "settings": [s.to_dict() for s in self.settings],
                "metrics": [{"name": n, "a": _json_number(x), "b": _json_number(y),
                             "change": _json_number(_delta(x, y))} for n, x, y in self.metrics]}


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def _json_number(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


# ---- reading the two sides ---------------------------------------------------------------------
def load_side(path: str | Path) -> Side:
    """A run folder (it holds project.json) or a project file."""
    path = Path(path)
    if path.is_dir():
        run = open_run(path)
        metrics = run.metrics()
        history = metrics.get("history") or _history_from_events(run)
        final = metrics.get("final") or {}
        return Side(run.id, run.graph, final, history, run)
    if path.is_file():
        return Side(path.name, Graph.load(path))
    raise ProjectFileError(f"{path}: neither a run folder (with {PROJECT}) nor a project file")


def _history_from_events(run: Run) -> list[dict]:
    from engine.train.events import EpochEnded

    return [{"epoch": e.epoch, "train": e.train, "val": e.val} for e in run.events() if isinstance(e, EpochEnded)]


# ---- comparing ---------------------------------------------------------------------------------
def _weights(graph: Graph) -> dict[str, int]:
    from engine.validate import validate

    try:
        return validate(graph).param_counts
    except DeepWireError:
        return {}


def diff_graphs(a: Graph, b: Graph) -> GraphDiff:
    """What changed from `a` to `b`, node by node (matched by id) and wire by wire."""
    wa, wb = _weights(a), _weights(b)
    nodes = []
    for nid in [*a.nodes, *(n for n in b.nodes if n not in a.nodes)]:
        before, after = a.nodes.get(nid), b.nodes.get(nid)
        if before is None:
            nodes.append(NodeChange(nid, "added", after.type, after.name, {}, dict(after.params), 0, wb.get(nid, 0),
                                    {}))
        elif after is None:
            nodes.append(NodeChange(nid, "removed", before.type, before.name, dict(before.params), {},
                                    wa.get(nid, 0), 0, {}))
        else:
            changes = {k: (before.params.get(k), after.params.get(k))
                       for k in dict.fromkeys([*before.params, *after.params])
                       if before.params.get(k) != after.params.get(k)}
            for attr in ("type", "name", "shares", "trainable", "lr_mult"):
                if getattr(before, attr) != getattr(after, attr):
                    changes[attr] = (getattr(before, attr), getattr(after, attr))
            if changes:
                nodes.append(NodeChange(nid, "changed", after.type, after.name, dict(before.params),
                                        dict(after.params), wa.get(nid, 0), wb.get(nid, 0), changes))
    return GraphDiff(nodes, [e for e in b.edges if e not in a.edges], [e for e in a.edges if e not in b.edges],
                     sum(wa.values()), sum(wb.values()))


def _flat(doc: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in doc.items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _training(graph: Graph) -> dict:
    """The training section with every default filled in (so 'lr unset' and 'lr 0.001' compare equal)."""
    try:
        return TrainingConfig.from_dict(graph.training).to_dict()
    except DeepWireError:
        return dict(graph.training)


def diff_settings(a: Graph, b: Graph) -> list[SettingChange]:
    out = []
    for section, before, after in (("training", _training(a), _training(b)), ("data", a.data, b.data),
                                   ("finetune", a.finetune, b.finetune)):
        fa, fb = _flat(before), _flat(after)
        for key in dict.fromkeys([*fa, *fb]):
            if fa.get(key) != fb.get(key):
                out.append(SettingChange(section, key, fa.get(key), fb.get(key)))
    return out


def diff_sides(a: Side, b: Side) -> RunDiff:
    names = sorted(dict.fromkeys([*a.final, *b.final]), key=lambda n: SPLIT_ORDER.get(n.split("_", 1)[0], 3))
    metrics = [(n, a.final.get(n), b.final.get(n)) for n in names]
    return RunDiff(a, b, diff_graphs(a.graph, b.graph), diff_settings(a.graph, b.graph), metrics)


def diff(a: str | Path, b: str | Path) -> RunDiff:
    """Compare two run folders, or a run folder and a project file (either order)."""
    return diff_sides(load_side(a), load_side(b))
