"""A project being edited, without Qt: the Graph and its sections behind named edits.

Every edit is one undoable `Step`, re-validates the project afterwards and tells one plain callback
(`on_change`). By default the document keeps its own undo history; an editor that has its own (Qt's
QUndoStack) passes `record`, receives each step and replays it with `undo_step` / `redo_step`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine import finetune, subgraph
from engine.datacheck import MATCH_DATA, check_data, match_data
from engine.errors import GraphError, Problem
from engine.graph import Edge, Graph, Group, Node, coerce_param
from engine.head import HeadTarget, adapt_head
from engine.layers.registry import get_spec
from engine.sections import SECTIONS
from engine.validate import Validation, Validator

INSERT_GAP = 60.0
"""Horizontal room made for a layer a fix inserts."""
NODE_WIDTH = 170.0
"""The width a fix assumes for a node when the caller does not know the drawn one."""

Snapshot = tuple[list[dict], list[Edge], list[dict]]


def snapshot(graph: Graph) -> Snapshot:
    """Nodes, wires and groups of a graph, detached from it."""
    return ([n.to_dict() for n in graph.nodes.values()], list(graph.edges), [g.to_dict() for g in graph.groups])


def restore(graph: Graph, snap: Snapshot) -> None:
    """Put a snapshot's nodes, wires and groups back into `graph`."""
    nodes, edges, groups = snap
    graph.nodes = {d["id"]: Node(d["id"], d["type"], d["name"], copy.deepcopy(d["params"]), tuple(d["pos"]),
                                 d.get("shares"), d.get("trainable", True), d.get("lr_mult", 1.0)) for d in nodes}
    graph.edges = list(edges)
    graph.groups = [Group(d["id"], d["name"], list(d["node_ids"]), d["collapsed"], d.get("trainable", True),
                          d.get("lr_mult", 1.0)) for d in groups]
    graph.touch()


@dataclass
class Step:
    """One undoable edit: what it changed (`kind`: graph, param, section or moves) before and after.

    graph: Snapshot; param: (node id, name, value); section: (section name, dict); moves: {node id: pos}.
    Consecutive steps with the same `merge_key` (typing in a box) become one.
    """

    name: str
    kind: str
    before: Any
    after: Any
    merge_key: tuple | None = None

    @property
    def structure(self) -> bool:
        """True when nodes, wires, groups or positions changed (a view re-syncs rather than repaints)."""
        return self.kind in ("graph", "moves")

    def merge(self, later: Step) -> bool:
        """Take `later`'s result into this step when both edit the same thing; False otherwise."""
        if self.merge_key is None or later.merge_key != self.merge_key:
            return False
        self.after = later.after
        return True


@dataclass(frozen=True)
class Change:
    """What `on_change` receives after an edit, an undo or a redo."""

    name: str
    structure: bool
    validation: Validation


class Document:
    """The project being edited: `graph` (the truth), `validation` (always current) and every named edit."""

    def __init__(self, graph: Graph | None = None, *, on_change: Callable[[Change], Any] | None = None,
                 record: Callable[[Step], Any] | None = None, validator: Validator | None = None) -> None:
        self.on_change = on_change
        self.record = record
        self.data_info: dict | None = None
        """The loaded data's description (`PreparedData.describe()`); validation checks the graph against it."""
        self._validator = validator or Validator()
        self.load(graph or Graph())

    # ---- whole document ---------------------------------------------------------------------
    def load(self, graph: Graph) -> None:
        """Edit `graph` from now on, with an empty history."""
        if getattr(self, "graph", None) is None or graph.data != self.graph.data:
            self.data_info = None  # the same data section keeps its description (nobody reloads unchanged data)
        self.graph = graph
        self._done: list[Step] = []
        self._undone: list[Step] = []
        self.revalidate("open", True)

    def set_data_info(self, info: dict | None) -> None:
        """The data as loaded (or {"error": ...}); None while unknown. Validation then checks Inputs/Output against it."""
        if info != self.data_info:
            self.data_info = info
            self.revalidate("data loaded", False)

    def revalidate(self, name: str, structure: bool) -> Validation:
        """Validate the project now and tell `on_change`."""
        validation = self._validator.validate(self.graph)
        if self.data_info is not None and not validation.pending:
            validation.problems += check_data(self.graph, info=self.data_info, shapes=validation.shapes)
        self.validation = validation
        if self.on_change is not None:
            self.on_change(Change(name, structure, validation))
        return validation

    # ---- history ------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def history(self) -> list[str]:
        """Names of the steps that undo would take back, oldest first."""
        return [s.name for s in self._done]

    def undo(self) -> bool:
        if not self._done:
            return False
        step = self._done.pop()
        self._undone.append(step)
        self.undo_step(step)
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        step = self._undone.pop()
        self._done.append(step)
        self.redo_step(step)
        return True

    def undo_step(self, step: Step) -> None:
        """Put back the state before `step` (for an outside history), then re-validate."""
        self._apply(step, step.before)
        self.revalidate(f"undo {step.name}", step.structure)

    def redo_step(self, step: Step) -> None:
        """Make `step` again (for an outside history), then re-validate."""
        self._apply(step, step.after)
        self.revalidate(step.name, step.structure)

    def _apply(self, step: Step, state: Any) -> None:
        g = self.graph
        if step.kind == "graph":
            restore(g, state)
        elif step.kind == "param":
            node_id, name, value = state
            g.node(node_id).params[name] = copy.deepcopy(value)
        elif step.kind == "section":
            section, value = state
            setattr(g, section, copy.deepcopy(value))
        else:
            for nid, pos in state.items():
                if nid in g.nodes:
                    g.nodes[nid].pos = (float(pos[0]), float(pos[1]))
        g.touch()

    def _commit(self, step: Step) -> None:
        """Record a step that is already applied, and re-validate."""
        if self.record is not None:
            self.record(step)
        elif not (self._done and self._done[-1].merge(step)):
            self._done.append(step)
        self._undone.clear()
        self.revalidate(step.name, step.structure)

    def edit(self, name: str, mutate: Callable[[Graph], Any]) -> Any:
        """Run `mutate` (any function that edits a Graph in place) as one named step; on an error the graph is
        left as it was. The named edits below are made this way; a feature adds its own edits with it."""
        before = snapshot(self.graph)
        try:
            result = mutate(self.graph)
        except Exception:
            restore(self.graph, before)
            raise
        after = snapshot(self.graph)
        self.last_step = None
        if after != before:
            self.last_step = Step(name, "graph", before, after)
            self._commit(self.last_step)
        return result

    last_step: Step | None = None
    """The step the latest edit made (None when it changed nothing)."""

    # ---- layers ---------------------------------------------------------------------------------
    def add_node(self, type_id: str, pos: tuple[float, float] = (0.0, 0.0), params: dict | None = None,
                 name: str | None = None, on_wire: Edge | None = None) -> str:
        """Add a layer (put into the wire `on_wire` when it has an input and an output); returns its id."""
        spec = get_spec(type_id)

        def mutate(g: Graph) -> str:
            nid = g.add_node(type_id, name=name, params=params, pos=tuple(pos)).id
            if on_wire is not None and spec.inputs and spec.outputs:
                splice(g, nid, on_wire)
            return nid
        return self.edit(f"add {spec.title}", mutate)

    def remove_nodes(self, ids: list[str]) -> None:
        ids = [i for i in ids if i in self.graph.nodes]
        if ids:
            self.edit(f"delete {len(ids)} layer(s)", lambda g: g.remove_nodes(ids))

    def set_param(self, node_id: str, name: str, value: Any) -> bool:
        """Set a param (GraphError names a bad value); consecutive edits of one param are one step."""
        node = self.graph.node(node_id)
        new = coerce_param(get_spec(node.type), name, value, node.name)
        old = node.params.get(name)
        if new == old:
            return False
        if get_spec(node.type).multi_output:  # its ports follow its params: wires may go, so a graph step
            self.edit(f"set {name}", lambda g: g.set_param(node_id, name, new))
            return True
        node.params[name] = copy.deepcopy(new)
        self.graph.touch()
        self.last_step = Step(f"set {name}", "param", (node_id, name, copy.deepcopy(old)), (node_id, name, new),
                              ("param", node_id, name))
        self._commit(self.last_step)
        return True

    def rename_node(self, node_id: str, name: str) -> None:
        name = name.strip()
        if not name:
            raise GraphError("a layer needs a name")
        if any(n.name == name and n.id != node_id for n in self.graph.nodes.values()):
            raise GraphError(f"another layer is already named '{name}'")

        def mutate(g: Graph) -> None:
            g.node(node_id).name = name
        self.edit(f"rename to {name}", mutate)

    def swap_type(self, node_id: str, type_id: str) -> None:
        """Replace a node's layer type in place, keeping its id, position, the params both types have and its wires."""
        spec = get_spec(type_id)
        self.edit(f"swap to {spec.title}", lambda g: swap_type(g, node_id, type_id))

    def set_shares(self, node_id: str, other_id: str | None) -> None:
        """Make `node_id` reuse the weights of `other_id` (None stops sharing)."""
        if other_id is not None:
            if other_id == node_id:
                raise GraphError("a layer cannot share weights with itself")
            if self.graph.node(other_id).type != self.graph.node(node_id).type:
                raise GraphError("only layers of the same type can share weights")

        def mutate(g: Graph) -> None:
            g.node(node_id).shares = other_id
        self.edit("share weights" if other_id else "stop sharing weights", mutate)

    # ---- wires ----------------------------------------------------------------------------------
    def connect(self, src: str, dst: str, src_port: str = "out", dst_port: str = "in") -> None:
        self.edit("connect", lambda g: g.connect(src, dst, src_port, dst_port))

    def disconnect(self, edge: Edge) -> None:
        self.edit("disconnect", lambda g: g.disconnect(edge))

    def rewire(self, removed: list[Edge], added: list[Edge]) -> None:
        """Drop some wires and draw others as one step (a wire dragged from one port to another)."""
        def mutate(g: Graph) -> None:
            for edge in removed:
                if edge in g.edges:
                    g.disconnect(edge)
            for edge in added:
                g.connect(edge.src, edge.dst, edge.src_port, edge.dst_port)
        self.edit("connect" if added else "disconnect", mutate)

    def insert_on_wire(self, node_id: str, edge: Edge, moves: dict[str, tuple[float, float]] | None = None) -> None:
        """Put an existing node into a wire: src -> node -> dst (after moving nodes to `moves`, one step)."""
        def mutate(g: Graph) -> None:
            for nid, pos in (moves or {}).items():
                g.node(nid).pos = tuple(pos)
            splice(g, node_id, edge)
        self.edit("insert into wire", mutate)

    # ---- fixes ----------------------------------------------------------------------------------
    def apply_fix(self, problem: Problem, width: float = NODE_WIDTH) -> bool:
        """Apply a problem's fix: match the graph to the loaded data, or insert the fix layer (e.g. Flatten) in
        front of its node, wired in, moving what follows `width` + a gap to the right; False if it has none."""
        node = self.graph.nodes.get(problem.node_id or "")
        if node is None:
            return False
        fix = problem.fix or get_spec(node.type).fix
        if fix == MATCH_DATA:
            return self.match_data()
        incoming = self.graph.incoming(node.id)
        if not fix or not incoming:
            return False
        edge = incoming[0]

        def mutate(g: Graph) -> None:
            after = downstream(g, node.id)
            for nid in after:
                x, y = g.nodes[nid].pos
                g.nodes[nid].pos = (x + width + INSERT_GAP, y)
            x, y = g.nodes[node.id].pos
            new = g.add_node(fix, pos=(x - width - INSERT_GAP, y))
            splice(g, new.id, edge)
        self.edit(f"insert {get_spec(fix).title}", mutate)
        return True

    def match_data(self, info: dict | None = None) -> bool:
        """Set the Inputs and the Output to fit the data (`info`, default the loaded data) as one step."""
        info = info if info is not None else self.data_info
        if not info or "input_shapes" not in info:
            return False
        return bool(self.edit("match the data", lambda g: match_data(g, info)))

    # ---- groups, pasting, moving ----------------------------------------------------------------------
    def group(self, ids: list[str], name: str) -> str:
        """Make a named group of `ids` (taking them out of any other group); returns its id."""
        if not ids:
            raise GraphError("select the layers to group first")

        def mutate(g: Graph) -> str:
            for other in g.groups:
                other.node_ids = [n for n in other.node_ids if n not in ids]
            g.groups = [o for o in g.groups if o.node_ids]
            gid = subgraph.new_group_id(g)
            g.groups.append(Group(gid, name.strip() or "block", list(ids)))
            return gid
        return self.edit(f"group {name}", mutate)

    def ungroup(self, group_id: str) -> None:
        def mutate(g: Graph) -> None:
            g.groups = [o for o in g.groups if o.id != group_id]
        self.edit("ungroup", mutate)

    def toggle_group(self, group_id: str) -> None:
        """Collapse an expanded group, or expand a collapsed one."""
        def mutate(g: Graph) -> None:
            group = next(o for o in g.groups if o.id == group_id)
            group.collapsed = not group.collapsed
        self.edit("collapse/expand group", mutate)

    def paste(self, sub: dict, pos: tuple[float, float], text: str = "paste") -> list[str]:
        """Add a copy of a subgraph (`engine.subgraph.extract`) with fresh ids at `pos`; returns the new ids."""
        return self.edit(text, lambda g: subgraph.insert(g, sub, pos))

    def insert_block(self, sub: dict, name: str, pos: tuple[float, float]) -> str:
        """Add a saved block as a new named group; returns the group id."""
        def mutate(g: Graph) -> str:
            ids = subgraph.insert(g, sub, pos)
            g.groups = [grp for grp in g.groups if not set(grp.node_ids) <= set(ids)]
            gid = subgraph.new_group_id(g)
            g.groups.append(Group(gid, name, ids))
            return gid
        return self.edit(f"insert block {name}", mutate)

    # ---- fine-tuning (engine/finetune.py, engine/head.py) -------------------------------------------
    def set_trainable(self, ids: list[str], trainable: bool) -> None:
        """Freeze or unfreeze exactly the nodes `ids` (a frozen group's other nodes stay frozen)."""
        self.edit("unfreeze" if trainable else "freeze", lambda g: finetune.set_trainable(g, ids, trainable))

    def set_group_trainable(self, group_id: str, trainable: bool) -> None:
        self.edit("unfreeze group" if trainable else "freeze group",
                  lambda g: finetune.set_group_trainable(g, group_id, trainable))

    def set_lr_mult(self, ids: list[str], mult: float) -> None:
        self.edit(f"lr x{mult:g}", lambda g: finetune.set_lr_mult(g, ids, mult))

    def adapt_head(self, target: HeadTarget) -> list[str]:
        """Resize (or add) the last layer for `target` (engine.head.head_target reads it from the data)."""
        return self.edit("adapt head to the data", lambda g: adapt_head(g, target))

    def move_nodes(self, positions: dict[str, tuple[float, float]], name: str = "move") -> None:
        moves = {nid: (tuple(self.graph.node(nid).pos), (float(p[0]), float(p[1]))) for nid, p in positions.items()
                 if tuple(self.graph.node(nid).pos) != tuple(p)}
        if not moves:
            self.last_step = None
            return
        for nid, (_old, new) in moves.items():
            self.graph.nodes[nid].pos = new
        self.graph.touch()
        self.last_step = Step(name, "moves", {n: m[0] for n, m in moves.items()}, {n: m[1] for n, m in moves.items()})
        self._commit(self.last_step)

    # ---- sections -----------------------------------------------------------------------------------------
    def set_section(self, section: str, new: dict, key: str = "") -> bool:
        """Make `new` the project's `section` as one step (consecutive edits of one `key` merge); False if unchanged."""
        if section not in SECTIONS:
            raise ValueError(f"section must be one of {tuple(SECTIONS)}, not {section!r}")
        old = getattr(self.graph, section)
        if new == old:
            self.last_step = None
            return False
        setattr(self.graph, section, copy.deepcopy(new))
        self.graph.touch()
        key = key or section
        self.last_step = Step(f"set {section} {key}", "section", (section, copy.deepcopy(old)),
                              (section, copy.deepcopy(new)), ("section", section, key))
        self._commit(self.last_step)
        return True

    def set_section_key(self, section: str, path: str, value: Any) -> bool:
        """Set `path` ('lr', 'early_stopping.patience') of `section`; None removes it (back to its default)."""
        new = copy.deepcopy(getattr(self.graph, section))
        *parents, leaf = path.split(".")
        node = new
        for name in parents:
            node = node.setdefault(name, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
        return self.set_section(section, new, path)


# ---- graph edits the document's steps are made of (plain functions on a Graph) ------------------------
def splice(g: Graph, node_id: str, edge: Edge) -> None:
    """Put `node_id` into the wire `edge`: src -> node -> dst."""
    spec = get_spec(g.node(node_id).type)
    if not spec.inputs or not spec.outputs or node_id in (edge.src, edge.dst):
        raise GraphError(f"{spec.title} cannot be put into a wire")
    g.disconnect(edge)
    g.connect(edge.src, node_id, edge.src_port, spec.inputs[0].name)
    g.connect(node_id, edge.dst, spec.outputs[0].name, edge.dst_port)


def swap_type(g: Graph, node_id: str, type_id: str) -> None:
    """Give a node another layer type: same id and place, the params both types have, wires on matching ports."""
    spec = get_spec(type_id)
    old = g.node(node_id)
    old_spec = get_spec(old.type)
    fresh = Graph().add_node(type_id, pos=old.pos)
    for key, value in old.params.items():
        try:
            fresh.params[key] = spec.param(key).coerce(value)
        except (KeyError, ValueError):
            continue
    fresh.id = node_id
    fresh.name = g.unique_name(spec.type_id) if old.name.startswith(old_spec.type_id.lower()) else old.name
    g.nodes = {k: (fresh if k == node_id else v) for k, v in g.nodes.items()}
    ins, outs = [p.name for p in spec.inputs], [p.name for p in spec.output_ports(fresh.params)]
    edges = []
    for e in g.edges:
        if e.dst == node_id:
            port = e.dst_port if e.dst_port in ins else (ins[0] if ins else None)
            e = Edge(e.src, e.src_port, e.dst, port) if port else None
        elif e.src == node_id:
            port = e.src_port if e.src_port in outs else (outs[0] if outs else None)
            e = Edge(e.src, port, e.dst, e.dst_port) if port else None
        if e is not None and e not in edges:
            edges.append(e)
    g.edges = edges
    for n in g.nodes.values():
        if n.shares == node_id:
            n.shares = None
    g.touch()


def downstream(g: Graph, start: str) -> set[str]:
    """`start` and every node its outputs reach."""
    seen, frontier = {start}, [start]
    while frontier:
        nid = frontier.pop()
        for e in g.outgoing(nid):
            if e.dst not in seen:
                seen.add(e.dst)
                frontier.append(e.dst)
    return seen
