"""Undoable edits of the project's `sweep` section, and the targets a dimension can point at."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

from editor.training.sections import set_section
from engine.graph import Graph, Node
from engine.layers.registry import get_spec
from engine.layers.spec import Param
from engine.train.config import OPTIMIZERS, SCHEDULES

SWEEPABLE_KINDS = ("int", "float", "choice", "bool", "int_or_choice")

TRAINING_DIMENSIONS: dict[str, dict] = {
    "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "batch_size": {"choices": [16, 32, 64, 128]},
    "optimizer": {"choices": list(OPTIMIZERS)},
    "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
    "epochs": {"type": "int", "low": 5, "high": 50},
    "momentum": {"type": "float", "low": 0.5, "high": 0.99},
    "label_smoothing": {"type": "float", "low": 0.0, "high": 0.2},
    "schedule": {"choices": list(SCHEDULES)},
    "warmup_epochs": {"type": "int", "low": 0, "high": 5},
}
"""Training settings offered as targets, each with a sensible first range."""


@dataclass(frozen=True)
class Target:
    """Something a dimension can search: `key` is the section's target text ('fc1.units', 'training.lr')."""

    key: str
    label: str
    default: dict
    """The dimension a new row for this target starts with (range or choices)."""


def set_sweep(controller, new: dict, key: str = "sweep") -> bool:
    """Make `new` the graph's sweep section as one undo step; False when nothing changed."""
    return set_section(controller, "sweep", new, key)


def edit_sweep(controller, key: str, mutate: Callable[[dict], None]) -> bool:
    """Apply `mutate` to a copy of the sweep section and store it undoably under the merge key `key`."""
    new = copy.deepcopy(controller.graph.sweep or {})
    mutate(new)
    return set_sweep(controller, new, key)


def param_dimension(param: Param, value) -> dict:
    """A first dimension for a node param around its current `value` (halve..double, or every choice)."""
    if param.kind == "bool":
        return {"choices": [False, True]}
    if param.kind == "choice" or (param.kind == "int_or_choice" and not isinstance(value, int | float)):
        return {"choices": list(param.choices)}
    lo_limit = param.min if param.min is not None else -math.inf
    hi_limit = param.max if param.max is not None else math.inf
    if param.kind == "float":
        if value and value > 0:
            low, high = max(lo_limit, value / 10), min(hi_limit, value * 10)
            return {"type": "float", "low": low, "high": high, "log": low > 0}
        return {"type": "float", "low": max(lo_limit, 0.0), "high": min(hi_limit, 1.0), "log": False}
    value = int(value)
    low, high = int(max(lo_limit, max(1, value // 2))), int(min(hi_limit, max(2, value * 2)))
    if low >= high:
        low, high = int(max(lo_limit, value - 1)), int(min(hi_limit, value + 1))
    return {"type": "int", "low": low, "high": high, "log": low > 0 and high / low >= 8}


def node_targets(node: Node) -> list[Target]:
    """The sweepable params of one layer node (an Input's or Output's settings describe the data, not the net)."""
    spec = get_spec(node.type)
    if spec.role != "layer":
        return []
    return [Target(f"{node.name}.{p.name}", f"{node.name} · {p.label}", param_dimension(p, node.params.get(p.name)))
            for p in spec.params if p.kind in SWEEPABLE_KINDS]


def all_targets(graph: Graph) -> list[Target]:
    """Every node param that can be searched, then the training settings."""
    found = [t for node in graph.nodes.values() for t in node_targets(node)]
    return found + [Target(f"training.{k}", f"training · {k}", dict(v)) for k, v in TRAINING_DIMENSIONS.items()]


def add_dimension(controller, target: Target) -> int:
    """Add a dimension for `target` (undoable) and return its row; an existing one is kept as it is."""
    dims = (controller.graph.sweep or {}).get("dimensions") or []
    for i, dim in enumerate(dims):
        if isinstance(dim, dict) and dim.get("target") == target.key:
            return i

    def mutate(section: dict) -> None:
        section.setdefault("dimensions", []).append({"target": target.key, **target.default})

    edit_sweep(controller, f"add {target.key}", mutate)
    return len(dims)
