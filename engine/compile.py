"""Graph -> torch.fx.GraphModule: one call_module per layer node, a generated (not interpreted) forward."""

from __future__ import annotations

import functools
import keyword
import operator
import re

from engine.errors import GraphError
from engine.graph import Graph
from engine.layers.registry import get_spec
from engine.layers.spec import Params
from engine.layers.ties import tie_modules
from engine.lazy import LazyModule
from engine.validate import Validation, validate

torch = LazyModule("torch")
fx = LazyModule("torch.fx")
nn = LazyModule("torch.nn")


@functools.cache
def _reserved() -> frozenset[str]:
    """Names a submodule must not take: nn.Module's attributes and those of the generated code."""
    return frozenset(dir(nn.Module)) | {"code", "graph", "deepwire_targets", "self", "torch", "x"}


def python_name(text: str, taken: set[str], fallback: str = "layer") -> str:
    """A valid, unused Python identifier derived from `text` (node and project names are user input)."""
    name = re.sub(r"\W+", "_", text.strip()).strip("_").lower() or fallback
    if not name.isascii():
        name = fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or name in _reserved() or name.startswith("__"):
        name = f"{name}_"
    base, i = name, 2
    while name in taken:
        name = f"{base}_{i}"
        i += 1
    taken.add(name)
    return name


def class_name(project_name: str) -> str:
    """CamelCase class name for a project, e.g. "my lenet!" -> "MyLenet"."""
    words = re.findall(r"[A-Za-z0-9]+", project_name)
    name = "".join(w[:1].upper() + w[1:] for w in words) or "DeepWireModel"
    return f"Model{name}" if name[0].isdigit() else name


def _wire_value(graph: Graph, fx_graph: fx.Graph, values: dict, edge) -> fx.Node:
    """The fx value a wire carries: the source's result, or one item of it for a layer with several outputs."""
    spec = get_spec(graph.nodes[edge.src].type)
    if not spec.multi_output:
        return values[edge.src]
    key = (edge.src, edge.src_port)
    if key not in values:
        names = [p.name for p in spec.output_ports(graph.nodes[edge.src].params)]
        source = values[edge.src]
        values[key] = fx_graph.call_function(operator.getitem, (source, names.index(edge.src_port)),
                                             name=f"{source.name}_{edge.src_port}")
    return values[key]


def compile_graph(graph: Graph, device: torch.device | str | None = None,
                  validation: Validation | None = None) -> fx.GraphModule:
    """Build the model for a valid graph; raise GraphError listing every problem otherwise.

    Placeholders follow `graph.input_nodes()` order: inputs have no wires in, so the topological
    order (Kahn's, seeded in project order) visits them first and in project order.
    """
    validation = validation or validate(graph)
    if not validation.ok:
        lines = "\n".join(f"  - {p}" for p in validation.errors)
        raise GraphError(f"the graph '{graph.name}' has {len(validation.errors)} problem(s):\n{lines}")
    root = nn.Module()
    fx_graph = fx.Graph()
    taken: set[str] = set()
    values: dict[str, fx.Node] = {}
    targets: dict[str, str] = {}
    results: dict[str, fx.Node] = {}
    edges_in: dict[str, list] = {}
    for e in graph.edges:
        edges_in.setdefault(e.dst, []).append(e)
    for nid in validation.order:
        node = graph.nodes[nid]
        spec = get_spec(node.type)
        if spec.role == "input":
            values[nid] = fx_graph.placeholder(python_name(node.name, taken, "input"))
            continue
        ports = [p.name for p in spec.inputs]
        args = tuple(_wire_value(graph, fx_graph, values, e) for port in ports for e in edges_in.get(nid, [])
                     if e.dst_port == port)
        if spec.role == "output":
            results[nid] = args[0]
            continue
        if node.shares and spec.has_weights and graph.nodes[node.shares].type == node.type:
            target = targets[node.shares]
        else:
            target = python_name(node.name, taken)
            module = spec.build(Params(node.params), list(validation.in_shapes[nid]))
            root.add_module(target, module)
        targets[nid] = target
        values[nid] = fx_graph.create_node("call_module", target, args, name=python_name(node.name, set()))
    tie_modules(graph, root, targets)
    outputs = [results[n.id] for n in graph.output_nodes()]
    fx_graph.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
    module = fx.GraphModule(root, fx_graph, class_name=class_name(graph.name))
    module.deepwire_targets = targets
    return module.to(device) if device is not None else module
