"""Undo commands over the engine Graph; each calls `refresh` so the canvas mirrors the new state."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.graph import Edge, Graph, Group, Node

Snapshot = tuple[list[dict], list[Edge], list[dict]]
Refresh = Callable[[bool], None]
"""refresh(structure_changed) re-syncs the canvas (when structure changed), re-validates and repaints."""


def snapshot(graph: Graph) -> Snapshot:
    """Nodes, wires and groups of a graph, detached from it."""
    return ([n.to_dict() for n in graph.nodes.values()], list(graph.edges), [g.to_dict() for g in graph.groups])


def restore(graph: Graph, snap: Snapshot) -> None:
    nodes, edges, groups = snap
    graph.nodes = {d["id"]: Node(d["id"], d["type"], d["name"], copy.deepcopy(d["params"]), tuple(d["pos"]),
                                 d.get("shares"), d.get("trainable", True), d.get("lr_mult", 1.0)) for d in nodes}
    graph.edges = list(edges)
    graph.groups = [Group(d["id"], d["name"], list(d["node_ids"]), d["collapsed"], d.get("trainable", True),
                          d.get("lr_mult", 1.0)) for d in groups]
    graph.touch()


class SnapshotCommand(QUndoCommand):
    """A structural edit (add, delete, wire, paste, swap, share, group...) kept as before/after states.

    The edit has already been applied when the command is pushed, so the first redo does nothing.
    """

    def __init__(self, text: str, graph: Graph, before: Snapshot, after: Snapshot, refresh: Refresh):
        super().__init__(text)
        self._graph, self._before, self._after, self._refresh = graph, before, after, refresh
        self._applied = True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
        else:
            restore(self._graph, self._after)
        self._refresh(True)

    def undo(self) -> None:
        restore(self._graph, self._before)
        self._refresh(True)


class SetParamCommand(QUndoCommand):
    """One param of one node; consecutive edits of the same param merge into one step."""

    def __init__(self, graph: Graph, node_id: str, name: str, old: Any, new: Any, refresh: Refresh):
        super().__init__(f"set {name}")
        self._graph, self._node_id, self._name = graph, node_id, name
        self._old, self._new, self._refresh = copy.deepcopy(old), copy.deepcopy(new), refresh

    def _set(self, value: Any) -> None:
        self._graph.node(self._node_id).params[self._name] = copy.deepcopy(value)
        self._graph.touch()
        self._refresh(False)

    def redo(self) -> None:
        self._set(self._new)

    def undo(self) -> None:
        self._set(self._old)

    def id(self) -> int:
        return 7301

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetParamCommand) or (other._node_id, other._name) != (self._node_id, self._name):
            return False
        self._new = other._new
        return True


class MoveCommand(QUndoCommand):
    """New positions for some nodes (a drag, a block move or an auto-layout)."""

    def __init__(self, text: str, graph: Graph, moves: dict[str, tuple[tuple, tuple]], refresh: Refresh):
        super().__init__(text)
        self._graph, self._moves, self._refresh = graph, moves, refresh

    def _apply(self, which: int) -> None:
        for nid, pair in self._moves.items():
            if nid in self._graph.nodes:
                self._graph.nodes[nid].pos = (float(pair[which][0]), float(pair[which][1]))
        self._graph.touch()
        self._refresh(True)

    def redo(self) -> None:
        self._apply(1)

    def undo(self) -> None:
        self._apply(0)
