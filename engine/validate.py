"""Graph checks: every problem of a graph at once, each pinned to its node with a hint."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from engine.errors import Problem
from engine.graph import Graph, Node
from engine.layers.registry import get_spec
from engine.layers.spec import Shape
from engine.layers.ties import tied_params
from engine.shapes import ShapeEngine, ShapeResult
from engine.shapes_format import format_shape
from engine.topology import Topology, topology


@dataclass
class Validation:
    """The outcome of one validation pass: problems plus shapes and parameter counts per node."""

    problems: list[Problem] = field(default_factory=list)
    shapes: dict[str, Shape | None] = field(default_factory=dict)
    in_shapes: dict[str, tuple[Shape, ...]] = field(default_factory=dict)
    dtypes: dict[str, str] = field(default_factory=dict)
    param_counts: dict[str, int] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    pending: bool = False
    """Not checked yet (the editor paints before PyTorch, which shape inference needs, has loaded)."""
    port_shapes: dict[str, dict[str, Shape]] = field(default_factory=dict)
    """For layers with several outputs (Split): the shape leaving each output port."""

    def wire_shape(self, edge) -> Shape | None:
        """The shape a wire carries (a Split's wires each carry their own piece)."""
        ports = self.port_shapes.get(edge.src)
        return ports.get(edge.src_port) if ports else self.shapes.get(edge.src)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total_params(self) -> int:
        return sum(self.param_counts.values())

    def problems_for(self, node_id: str) -> list[Problem]:
        return [p for p in self.problems if p.node_id == node_id]

    def report(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class Validator:
    """Validates graphs repeatedly, reusing shape results of nodes whose inputs did not change."""

    def __init__(self) -> None:
        self.shapes = ShapeEngine()

    def validate(self, graph: Graph) -> Validation:
        topo = topology(graph)
        problems: list[Problem] = []
        _check_io(graph, problems)
        _check_cycles(graph, topo, problems)
        for node in graph.nodes.values():
            _check_node(graph, node, topo, problems)
        shape_result = self.shapes.infer(graph, topo)
        _shape_problems(graph, shape_result, problems)
        _check_reachability(graph, topo, problems)
        from engine.sections import project_section_problems  # it imports engine.train, which imports this

        problems += project_section_problems(graph)
        v = Validation(problems=problems, order=topo.order)
        for nid, info in shape_result.nodes.items():
            v.shapes[nid] = info.out_shape
            v.in_shapes[nid] = info.in_shapes
            v.dtypes[nid] = info.dtype
            v.param_counts[nid] = info.param_count
            if info.ports:
                v.port_shapes[nid] = dict(info.ports)
        for nid in graph.nodes:
            v.shapes.setdefault(nid, None)
            v.param_counts.setdefault(nid, 0)
        # imported here: it reads the training section, and engine.train imports this module
        from engine.memory import memory_problems

        problems.extend(memory_problems(graph, v))
        return v


def validate(graph: Graph) -> Validation:
    """Validate a graph once (the editor keeps a `Validator` to reuse its cache)."""
    return Validator().validate(graph)


def validate_project(graph: Graph, base: str | os.PathLike | None = None) -> Validation:
    """Validate the graph and check it against its data (loaded, cached) and its initial weights (relative to
    `base`, the project's folder): no errors means a run will start."""
    from engine.datacheck import check_data
    from engine.finetune import weights_problems

    result = validate(graph)
    result.problems += check_data(graph, shapes=result.shapes)
    result.problems += weights_problems(graph, base)
    return result


def _label(node: Node) -> str:
    return f"{get_spec(node.type).title} '{node.name}'"


def _check_io(graph: Graph, problems: list[Problem]) -> None:
    roles = [get_spec(n.type).role for n in graph.nodes.values()]
    if "input" not in roles:
        problems.append(Problem(None, "no_input", "The graph has no Input node",
                                "add an Input node from the Input / Output category"))
    if "output" not in roles:
        problems.append(Problem(None, "no_output", "The graph has no Output node",
                                "add an Output node after the last layer and choose its task"))


def _check_cycles(graph: Graph, topo: Topology, problems: list[Problem]) -> None:
    for nid in topo.cyclic:
        problems.append(Problem(nid, "cycle", f"{_label(graph.nodes[nid])} is part of a cycle (or fed by one)",
                                "remove a wire so data flows one way; use a recurrent layer for feedback"))


def _check_node(graph: Graph, node: Node, topo: Topology, problems: list[Problem]) -> None:
    spec = get_spec(node.type)
    for name, value in node.params.items():
        try:
            spec.param(name).coerce(value)
        except (KeyError, ValueError) as exc:
            problems.append(Problem(node.id, "param", f"{_label(node)}: {exc}", "set the value in the properties panel"))
    edges = topo.inputs.get(node.id, [])
    for port in spec.inputs:
        count = sum(1 for e in edges if e.dst_port == port.name)
        need = spec.min_inputs if port.multi else 1
        if count == 0 and not port.optional:
            problems.append(Problem(node.id, "unconnected", f"{_label(node)}: input '{port.name}' is not connected",
                                    "drag a wire from an earlier node's output to this input"))
        elif port.multi and 0 < count < need:
            problems.append(Problem(node.id, "arity", f"{_label(node)} needs at least {need} inputs but has {count}",
                                    "connect more wires into it"))
        elif not port.multi and count > 1:
            problems.append(Problem(node.id, "arity", f"{_label(node)}: input '{port.name}' takes one wire but has {count}",
                                    "remove the extra wires or merge them with Add/Concat first"))
    if node.shares:
        _check_shares(graph, node, problems)


def _check_shares(graph: Graph, node: Node, problems: list[Problem]) -> None:
    owner = graph.nodes.get(node.shares)
    if owner is None or owner.id == node.id:
        problems.append(Problem(node.id, "shares", f"{_label(node)} shares weights with a missing node",
                                "pick another node of the same type, or stop sharing"))
    elif owner.type != node.type and not tied_params(node.type, owner.type):
        problems.append(Problem(node.id, "shares", f"{_label(node)} cannot share weights with {_label(owner)}: "
                                "the layer types differ", "share with a node of the same type"))
    elif owner.shares:
        problems.append(Problem(node.id, "shares", f"{_label(node)} shares with '{owner.name}', which itself shares "
                                f"with another node", f"share with '{owner.shares}' directly"))
    elif not get_spec(node.type).has_weights:
        problems.append(Problem(node.id, "shares", f"{_label(node)} has no weights to share", "stop sharing",
                                severity="warning"))


def _shape_problems(graph: Graph, result: ShapeResult, problems: list[Problem]) -> None:
    for nid, info in result.nodes.items():
        node = graph.nodes[nid]
        if info.error is not None:
            message, hint, fix = info.error
            problems.append(Problem(nid, "shape_mismatch", f"{node.name}: {message}", hint, fix=fix))
        elif get_spec(node.type).role == "output" and info.out_shape is not None:
            _check_head(node, info.out_shape, problems)


def _check_head(node: Node, shape: Shape, problems: list[Problem]) -> None:
    task = node.params.get("task")
    if task == "binary" and shape[-1] != 1:
        problems.append(Problem(node.id, "head", f"{node.name}: a binary Output expects one logit per sample "
                                f"(last dim 1) but gets {format_shape(shape)}",
                                "give the last Dense layer 1 unit, or use task 'multiclass'"))
    elif task == "multiclass" and (len(shape) < 2 or shape[-1] < 2):
        problems.append(Problem(node.id, "head", f"{node.name}: a multiclass Output expects one score per class "
                                f"(N, C) with C >= 2 but gets {format_shape(shape)}",
                                "end with a Dense layer whose units equal the number of classes"))


def _check_reachability(graph: Graph, topo: Topology, problems: list[Problem]) -> None:
    """Warn about layers whose result never reaches an Output."""
    reach = {n.id for n in graph.nodes.values() if get_spec(n.type).role == "output"}
    frontier = list(reach)
    while frontier:
        nid = frontier.pop()
        for e in topo.inputs.get(nid, ()):
            if e.src not in reach:
                reach.add(e.src)
                frontier.append(e.src)
    if not reach:
        return
    for node in graph.nodes.values():
        if node.id not in reach:
            problems.append(Problem(node.id, "dead_end", f"{_label(node)} does not lead to any Output",
                                    "wire its output onward or delete it", severity="warning"))
