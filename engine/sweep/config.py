"""The project's `sweep` section as a typed config: search dimensions, objective, budget, sampler, storage.

```json
"sweep": {
  "dimensions": [
    {"target": "fc1.units", "low": 8, "high": 64, "log": true},
    {"target": "training.lr", "low": 0.0001, "high": 0.1, "log": true},
    {"target": "training.optimizer", "choices": ["adam", "sgd"]}
  ],
  "objective": {"metric": "val_accuracy", "direction": "maximize"},
  "budget": {"trials": 20, "minutes": null},
  "sampler": "tpe", "pruning": true, "seed": 0, "storage": null, "name": null, "epochs": null
}
```
A target is `node.param` (node name or id) or `training.key` (a bare `key` of the training section too).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from engine.errors import DeepWireError
from engine.graph import Graph, Node
from engine.layers.registry import get_spec
from engine.sections import SWEEP, TRAINING
from engine.train.config import TrainingConfig

SAMPLERS = SWEEP.key("sampler").choices
DIRECTIONS = SWEEP.key("objective.direction").choices
_KEYS = {"dimensions", "objective", "budget", "sampler", "pruning", "seed", "storage", "name", "epochs"}
_DIM_KEYS = {"target", "type", "low", "high", "log", "step", "choices"}
_TRAINING_KEYS = set(TRAINING.paths())


class SweepError(DeepWireError):
    """A bad `sweep` section or a sweep that cannot run."""


@dataclass(frozen=True)
class Dimension:
    """One search dimension: `kind` is 'int', 'float' or 'choice'; `target` doubles as the Optuna param name."""

    target: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()

    @property
    def is_training(self) -> bool:
        return self.target.startswith("training.")

    def grid_values(self) -> list:
        """Every value a grid search visits (choices, or each step of an int range)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        raise SweepError(f"sweep: '{self.target}' is a continuous range; a grid sweep needs "
                         "'choices' (or an int range) for every dimension")

    def to_dict(self) -> dict:
        if self.kind == "choice":
            return {"target": self.target, "choices": list(self.choices)}
        out = {"target": self.target, "type": self.kind, "low": self.low, "high": self.high, "log": self.log}
        if self.step is not None:
            out["step"] = self.step
        return out


@dataclass(frozen=True)
class SweepConfig:
    """Typed `sweep` section with defaults filled in (objective defaults to the training monitor)."""

    dimensions: tuple[Dimension, ...]
    metric: str
    direction: str
    trials: int | None = 20
    minutes: float | None = None
    sampler: str = "tpe"
    pruning: bool = True
    seed: int = 0
    storage: str | None = None
    name: str | None = None
    epochs: int | None = None

    @classmethod
    def from_graph(cls, graph: Graph) -> SweepConfig:
        """Read and check `graph.sweep` against the graph (every target must name a real node param)."""
        section = graph.sweep or {}
        if not isinstance(section, dict):
            raise SweepError("sweep: expected a JSON object")
        unknown = sorted(set(section) - _KEYS)
        if unknown:
            raise SweepError(f"sweep: unknown key(s) {', '.join(map(repr, unknown))}; known keys: {', '.join(sorted(_KEYS))}")
        raw_dims = section.get("dimensions") or []
        if not isinstance(raw_dims, list) or not raw_dims:
            raise SweepError("sweep.dimensions: give at least one dimension, e.g. "
                             '{"target": "fc1.units", "low": 8, "high": 64}')
        dims = tuple(_dimension(graph, raw, i) for i, raw in enumerate(raw_dims))
        names = [d.target for d in dims]
        if len(set(names)) != len(names):
            raise SweepError(f"sweep.dimensions: a target appears twice ({', '.join(names)})")
        training = TrainingConfig.from_dict(graph.training)
        objective = _object(section.get("objective"), "sweep.objective", {"metric", "direction"})
        metric = objective.get("metric", training.monitor)
        if not isinstance(metric, str) or not metric.startswith(("val_", "train_")):
            raise SweepError(f"sweep.objective.metric: {metric!r} must be an epoch metric such as val_accuracy or val_loss")
        default_direction = "maximize" if training.replace(monitor=metric, monitor_mode="auto").mode == "max" else "minimize"
        direction = objective.get("direction", default_direction)
        if direction not in DIRECTIONS:
            raise SweepError(f"sweep.objective.direction: {direction!r} is not maximize or minimize")
        budget = _object(section.get("budget"), "sweep.budget", {"trials", "minutes"})
        trials = _optional(budget.get("trials", 20 if budget.get("minutes") is None else None), int, "sweep.budget.trials")
        minutes = _optional(budget.get("minutes"), float, "sweep.budget.minutes")
        sampler = section.get("sampler", "tpe")
        if sampler not in SAMPLERS:
            raise SweepError(f"sweep.sampler: {sampler!r} is not one of {', '.join(SAMPLERS)}")
        config = cls(dims, metric, direction, trials, minutes, sampler, bool(section.get("pruning", True)),
                     _seed(section.get("seed", 0)),
                     _optional(section.get("storage"), str, "sweep.storage"),
                     _optional(section.get("name"), str, "sweep.name"),
                     _optional(section.get("epochs"), int, "sweep.epochs"))
        if sampler == "grid":
            config.grid()
        return config

    def grid(self) -> dict[str, list]:
        """The grid search space {target: values}."""
        return {d.target: d.grid_values() for d in self.dimensions}

    def replace(self, **changes: Any) -> SweepConfig:
        return dataclasses.replace(self, **changes)

    def space_dict(self) -> dict:
        """What makes two sweeps the same study: dimensions, objective and sampler."""
        return {"dimensions": [d.to_dict() for d in self.dimensions], "metric": self.metric,
                "direction": self.direction, "sampler": self.sampler}


def find_node(graph: Graph, ref: str) -> Node:
    """A node by name, else by id."""
    for node in graph.nodes.values():
        if node.name == ref:
            return node
    if ref in graph.nodes:
        return graph.nodes[ref]
    raise SweepError(f"sweep: no node named or with id '{ref}' (nodes: {', '.join(n.name for n in graph.nodes.values())})")


def apply_values(graph: Graph, values: dict[str, Any]) -> Graph:
    """A copy of `graph` with each target set to its value; GraphError says which value a param rejects."""
    out = graph.copy()
    for target, value in values.items():
        head, _, key = target.partition(".")
        if head == "training":
            out.training = with_key(out.training, key, value)
            continue
        node = find_node(out, head)
        out.set_param(node.id, key, value)
    return out


def with_key(section: dict, path: str, value: Any) -> dict:
    """A copy of `section` with the dotted `path` ('early_stopping.patience') set to `value`."""
    head, dot, rest = path.partition(".")
    if not dot:
        return {**section, head: value}
    inner = section.get(head)
    return {**section, head: with_key(inner if isinstance(inner, dict) else {}, rest, value)}


def _dimension(graph: Graph, raw: Any, i: int) -> Dimension:
    where = f"sweep.dimensions[{i}]"
    dim = _read_dimension(graph, raw, where)
    if dim.is_training:  # the values a trial may get must pass the setting's declared check
        key = TRAINING.key(dim.target.removeprefix("training."))
        for value in dim.choices if dim.kind == "choice" else (dim.low, dim.high):
            try:
                key.coerce(value)
            except ValueError as exc:
                raise SweepError(f"{where}: training.{exc}") from None
    return dim


def _read_dimension(graph: Graph, raw: Any, where: str) -> Dimension:
    if not isinstance(raw, dict):
        raise SweepError(f"{where}: expected an object with 'target' and 'low'/'high' or 'choices'")
    unknown = sorted(set(raw) - _DIM_KEYS)
    if unknown:
        raise SweepError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(_DIM_KEYS))}")
    target = raw.get("target")
    if not isinstance(target, str) or not target:
        raise SweepError(f"{where}: 'target' must be 'node.param' or 'training.key', found {target!r}")
    target = _resolve_target(graph, target, where)
    if "choices" in raw:
        choices = raw["choices"]
        if not isinstance(choices, list) or not choices:
            raise SweepError(f"{where}: 'choices' must be a non-empty list")
        if not all(c is None or isinstance(c, bool | int | float | str) for c in choices):
            raise SweepError(f"{where}: choices must be numbers, text, true/false or null")
        return Dimension(target, "choice", choices=tuple(choices))
    low, high = raw.get("low"), raw.get("high")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (low, high)):
        raise SweepError(f"{where}: give 'low' and 'high' numbers, or 'choices'")
    kind = raw.get("type") or ("int" if isinstance(low, int) and isinstance(high, int) else "float")
    if kind not in ("int", "float"):
        raise SweepError(f"{where}: 'type' must be int or float, found {kind!r}")
    if low >= high:
        raise SweepError(f"{where}: 'low' ({low}) must be below 'high' ({high})")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise SweepError(f"{where}: 'log' must be true or false")
    if log and low <= 0:
        raise SweepError(f"{where}: a log range needs 'low' > 0")
    step = raw.get("step")
    if step is not None and (not isinstance(step, int | float) or isinstance(step, bool) or step <= 0 or log):
        raise SweepError(f"{where}: 'step' must be a positive number and cannot be combined with 'log'")
    if kind == "int":
        if low != int(low) or high != int(high) or (step is not None and step != int(step)):
            raise SweepError(f"{where}: an int range needs whole 'low', 'high' and 'step'")
        return Dimension(target, "int", int(low), int(high), log, int(step) if step is not None else None)
    return Dimension(target, "float", float(low), float(high), log, float(step) if step is not None else None)


def _resolve_target(graph: Graph, target: str, where: str) -> str:
    """Normalise a target to 'training.key' or '<node name>.param', checking that it exists."""
    head, dot, key = target.partition(".")
    if not dot or head == "training":
        key = key if dot else head
        if key not in _TRAINING_KEYS:
            raise SweepError(f"{where}: '{key}' is not a training setting (known: {', '.join(sorted(_TRAINING_KEYS))})")
        return f"training.{key}"
    try:
        node = find_node(graph, head)
    except SweepError as exc:
        raise SweepError(f"{where}: {exc}") from None
    spec = get_spec(node.type)
    try:
        spec.param(key)
    except KeyError:
        names = ", ".join(p.name for p in spec.params) or "none"
        raise SweepError(f"{where}: {spec.title} '{node.name}' has no param '{key}' (params: {names})") from None
    return f"{node.name}.{key}"


def _object(value: Any, where: str, keys: set[str]) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SweepError(f"{where}: expected a JSON object")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise SweepError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(keys))}")
    return value


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SweepError(f"sweep.seed: expected a whole number of 0 or more, found {value!r}")
    return value


def _optional(value: Any, kind: type, where: str) -> Any:
    if value is None:
        return None
    if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise SweepError(f"{where}: expected a whole number of at least 1, found {value!r}")
    if kind is float and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
        raise SweepError(f"{where}: expected a positive number, found {value!r}")
    if kind is str and not isinstance(value, str):
        raise SweepError(f"{where}: expected text, found {value!r}")
    return kind(value)
