""""Adapt the head to my data": resize (or add) the last weighted layer before the Output so the network
predicts what the chosen dataset asks for (its classes, or its regression targets), keeping the rest."""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.errors import GraphError
from engine.graph import Graph, Node
from engine.layers.registry import get_spec
from engine.validate import validate

SIZE_PARAM = {"Dense": "units", "Conv1d": "out_channels", "Conv2d": "out_channels"}
"""Layer types a head can be, and the param that sets how many outputs they give."""
OUTPUT_TASKS = ("multiclass", "binary", "multilabel", "regression")


@dataclass(frozen=True)
class HeadTarget:
    """What the data wants from the Output: a task and how many numbers per sample (per position)."""

    task: str
    units: int
    spatial: bool = False
    """The targets are per position (a segmentation mask, an image): a convolution can be the head."""


def head_target(graph: Graph) -> HeadTarget:
    """Read the project's data section to learn its task and output size (loads the data once)."""
    from engine.data import load_data

    data = load_data(graph.data)
    task = data.task if data.task in OUTPUT_TASKS else None
    if task is None:
        raise GraphError(f"the data's task is '{data.task}'; adapting the head works for classification and "
                         "regression data")
    target = tuple(data.target_shape)
    if task == "multiclass":
        return HeadTarget(task, int(data.num_classes or 0), len(target) >= 2)
    if task == "binary":
        return HeadTarget(task, 1)
    if len(target) >= 3:  # (C, H, W) images as targets
        return HeadTarget(task, target[0], True)
    return HeadTarget(task, max(1, math.prod(target)))


def adapt_head(graph: Graph, target: HeadTarget) -> list[str]:
    """Make the network end in `target.units` outputs for `target.task` (in place); what changed, in words.

    The last weighted layer before the single Output (looking through activations and other layers
    without weights) is resized when it is a Dense (or a convolution, for per-position targets);
    otherwise a Dense head is added in front of the Output. The Output's task is set to the data's.
    """
    outputs = graph.output_nodes()
    if len(outputs) != 1:
        raise GraphError(f"the project has {len(outputs)} Output nodes; adapting the head needs exactly one")
    if target.units < 1:
        raise GraphError("the data does not say how many outputs it needs (no classes found)")
    output = outputs[0]
    changes = []
    if output.params.get("task") != target.task:
        changes.append(f"Output '{output.name}' task {output.params.get('task')} -> {target.task}")
        graph.set_param(output.id, "task", target.task)
    head = _last_weighted(graph, output, validate(graph).param_counts)
    fits = head is not None and (head.type == "Dense" or (head.type in SIZE_PARAM and target.spatial))
    if fits:
        key = SIZE_PARAM[head.type]
        if head.params[key] != target.units:
            changes.append(f"'{head.name}' {key} {head.params[key]} -> {target.units} (fresh weights)")
            graph.set_param(head.id, key, target.units)
        return changes
    if target.spatial:
        raise GraphError("the data's targets are per position; end the network in a convolution (e.g. a 1x1 Conv 2D) "
                         "before the Output, then adapt the head")
    incoming = graph.incoming(output.id)
    if not incoming:
        raise GraphError(f"nothing is wired into Output '{output.name}'; wire the network to it first")
    edge = incoming[0]
    x, y = output.pos
    chain = []
    shape = validate(graph).wire_shape(edge)
    if shape is not None and len(shape) > 2:
        chain.append(graph.add_node("Flatten", pos=(x, y)))
    chain.append(graph.add_node("Dense", graph.unique_name("head"), {"units": target.units}, pos=(x, y)))
    graph.disconnect(edge)
    prev, port = edge.src, edge.src_port  # the wire may leave a Split's piece
    for node in chain:
        graph.connect(prev, node.id, port)
        prev, port = node.id, "out"
    graph.connect(prev, output.id)
    graph.nodes[output.id].pos = (x + 220.0 * len(chain), y)
    changes.append(f"added {' + '.join(get_spec(n.type).title for n in chain)} head '{chain[-1].name}' with "
                   f"{target.units} outputs before '{output.name}'")
    return changes


def _last_weighted(graph: Graph, output: Node, param_counts: dict[str, int]) -> Node | None:
    """The first node with weights found walking back from `output` along first inputs."""
    node = output
    for _ in range(len(graph.nodes)):
        incoming = graph.incoming(node.id)
        if not incoming:
            return None
        node = graph.nodes[incoming[0].src]
        if get_spec(node.type).role == "input":
            return None
        if param_counts.get(node.id, 0):
            return node
    return None
