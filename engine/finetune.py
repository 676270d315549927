"""Fine-tuning settings of a project: the `finetune` section (initial weights, their mapping, progressive
unfreezing) and the per-node / per-group `trainable` and `lr_mult` flags, read and edited without Qt.

A node is frozen when it or any group holding it has `trainable: false`; its learning-rate multiplier is
its own `lr_mult` times those of its groups. A node that shares another's weights follows the owner.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import DeepWireError, GraphError, Problem, WeightsError
from engine.graph import Graph
from engine.topology import topology

WHICH = ("best", "last")


@dataclass(frozen=True)
class FineTuneConfig:
    """The typed `finetune` section."""

    weights: str | None = None
    """Initial weights: a .safetensors file, a torch.save'd state_dict, a run folder or an export folder."""
    which: str = "best"
    """For a run folder: its 'best' or 'last' weights."""
    mapping: dict = field(default_factory=dict)
    """{node name: source key prefix, or null to keep the node's fresh weights; 'node.tensor': source key}."""
    unfreeze_every: int = 0
    """Progressive unfreezing: every N epochs the frozen unit nearest the output becomes trainable (0 = off)."""

    @classmethod
    def from_dict(cls, section: dict | None) -> FineTuneConfig:
        """Check the section against its declaration (engine/sections.py); WeightsError names the bad key."""
        from engine.sections import FINETUNE, section_problems

        errors = [p for p in section_problems("finetune", section or {}) if p.severity == "error"]
        if errors:
            first = errors[0]
            raise WeightsError(f"{first.message}" + (f" ({first.hint})" if first.hint else ""))
        values = {k.name: (section or {}).get(k.name, k.default) for k in FINETUNE.keys}
        if values["weights"] is not None and not values["weights"].strip():
            raise WeightsError("finetune.weights: expected a path, found an empty text")
        if not isinstance(values["mapping"], dict):
            raise WeightsError(f"finetune.mapping: expected an object of node name: source prefix, found "
                               f"{values['mapping']!r}")
        return cls(values["weights"], values["which"], dict(values["mapping"]), values["unfreeze_every"])

def config(graph: Graph) -> FineTuneConfig:
    return FineTuneConfig.from_dict(graph.finetune)


def resolved(graph: Graph, base: str | os.PathLike | None) -> Graph:
    """`graph` itself, or a copy whose relative `finetune.weights` is made absolute against `base` (the
    project's folder), so a run's snapshot points at the same file from its own folder."""
    weights = graph.finetune.get("weights") if isinstance(graph.finetune, dict) else None
    if not isinstance(weights, str) or not weights or Path(weights).is_absolute():
        return graph
    out = graph.copy()
    out.finetune = {**copy.deepcopy(graph.finetune), "weights": str((Path(base or ".") / weights).resolve())}
    return out


def weights_problems(graph: Graph, base: str | os.PathLike | None = None) -> list[Problem]:
    """A problem when `finetune.weights` (relative to `base`, the project's folder) is missing or cannot be
    read as weights; nothing when it is unset or of the wrong type (the section check reports that)."""
    weights = graph.finetune.get("weights") if isinstance(graph.finetune, dict) else None
    if not isinstance(weights, str) or not weights.strip():
        return []
    from engine.weights import open_weights  # it imports torch

    path = Path(weights) if Path(weights).is_absolute() else Path(base or ".") / weights
    which = graph.finetune.get("which", "best")
    try:
        open_weights(path, which if which in WHICH else "best")
    except DeepWireError as exc:
        return [Problem(None, "finetune", f"finetune.weights: {exc}",
                        "point it at an existing weights file, run or export folder (in the editor: File > Load "
                        "weights…), or remove finetune.weights to start from fresh weights")]
    return []


def with_init(graph: Graph, weights: str | os.PathLike, which: str = "best") -> Graph:
    """A copy of `graph` whose initial weights are `weights` (a file or a run/export folder): a branch."""
    out = graph.copy()
    out.finetune = {**copy.deepcopy(graph.finetune), "weights": str(Path(weights).resolve()), "which": which}
    return out


# ---- effective flags -------------------------------------------------------------------------
def frozen_ids(graph: Graph) -> set[str]:
    """Ids of the nodes whose weights do not train (their own flag or a group's; sharers follow owners)."""
    frozen = {nid for nid, n in graph.nodes.items() if not n.trainable}
    for group in graph.groups:
        if not group.trainable:
            frozen.update(n for n in group.node_ids if n in graph.nodes)
    for nid, node in graph.nodes.items():
        if node.shares in graph.nodes:
            frozen.discard(nid)
            if node.shares in frozen:
                frozen.add(nid)
    return frozen


def lr_mults(graph: Graph) -> dict[str, float]:
    """Each node's learning-rate multiplier (own times its groups'; a sharer takes its owner's)."""
    mult = {nid: n.lr_mult for nid, n in graph.nodes.items()}
    for group in graph.groups:
        for nid in group.node_ids:
            if nid in mult:
                mult[nid] *= group.lr_mult
    for nid, node in graph.nodes.items():
        if node.shares in mult:
            mult[nid] = mult[node.shares]
    return mult


def param_split(graph: Graph, param_counts: dict[str, int]) -> tuple[int, int]:
    """(trainable, frozen) parameter counts from validation's per-node counts."""
    frozen = frozen_ids(graph)
    off = sum(c for nid, c in param_counts.items() if nid in frozen)
    return sum(param_counts.values()) - off, off


def unfreeze_units(graph: Graph, param_counts: dict[str, int]) -> list[list[str]]:
    """The frozen parts progressive unfreezing thaws, nearest the output first: a frozen group is one unit,
    a frozen node with weights (`param_counts`, from validation) outside frozen groups is one; each is
    ranked by its last node in topological order."""
    frozen = frozen_ids(graph)
    order = {nid: i for i, nid in enumerate(topology(graph).order)}
    units, seen = [], set()
    for group in graph.groups:
        if not group.trainable:
            ids = [n for n in group.node_ids if n in graph.nodes and n not in seen]
            seen.update(ids)
            if ids:
                units.append(ids)
    units += [[nid] for nid in graph.nodes if nid in frozen and nid not in seen and param_counts.get(nid, 0)]
    return sorted(units, key=lambda ids: -max(order.get(n, -1) for n in ids))


def unfreeze_stages(graph: Graph, param_counts: dict[str, int]) -> list[set[str]]:
    """The frozen node ids at each stage of progressive unfreezing: before any thaw, then after each unit of
    `unfreeze_units` (the trainer's schedule, for the exported train.py); one stage when it is off."""
    work = graph.copy()
    stages = [frozen_ids(work)]
    if config(graph).unfreeze_every:
        for unit in unfreeze_units(graph, param_counts):
            thaw(work, unit)
            stages.append(frozen_ids(work))
    return stages


def thaw(graph: Graph, ids: list[str]) -> None:
    """Make the nodes `ids` trainable: their flags and those of the groups that hold them (used by the
    unfreezing schedule on the trainer's own copy of the graph)."""
    for group in graph.groups:
        if set(group.node_ids) & set(ids):
            group.trainable = True
    for nid in ids:
        graph.nodes[nid].trainable = True
    graph.touch()


# ---- edits (the editor wraps each in one undo step) ----------------------------------------------
def set_trainable(graph: Graph, ids: list[str], trainable: bool) -> None:
    """Freeze or unfreeze exactly the nodes `ids`. Unfreezing a node of a frozen group keeps the group's
    other nodes frozen: the group's flag moves onto them."""
    for nid in ids:
        graph.node(nid)
    chosen = set(ids)
    if trainable:
        for group in graph.groups:
            if not group.trainable and chosen & set(group.node_ids):
                group.trainable = True
                for other in group.node_ids:
                    if other not in chosen and other in graph.nodes:
                        graph.nodes[other].trainable = False
    for nid in ids:
        graph.nodes[nid].trainable = trainable
    graph.touch()


def set_group_trainable(graph: Graph, group_id: str, trainable: bool) -> None:
    """Freeze or unfreeze a whole group (its nodes' own flags are cleared when it is unfrozen)."""
    group = next((g for g in graph.groups if g.id == group_id), None)
    if group is None:
        raise GraphError(f"no group with id '{group_id}'")
    group.trainable = trainable
    if trainable:
        for nid in group.node_ids:
            if nid in graph.nodes:
                graph.nodes[nid].trainable = True
    graph.touch()


def set_lr_mult(graph: Graph, ids: list[str], mult: float) -> None:
    """Give the nodes `ids` a learning-rate multiplier (0 or more)."""
    if not mult >= 0:
        raise GraphError(f"a learning-rate multiplier must be 0 or more, not {mult!r}")
    for nid in ids:
        graph.node(nid).lr_mult = float(mult)
    graph.touch()
