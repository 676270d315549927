"""The graph checked against its data: Input shapes and kinds, the Output's task and size vs the chosen dataset.

`check_data` turns every mismatch training would refuse into a validation Problem pinned to the node,
with the fix MATCH_DATA; `match_data` is that fix, a plain edit of the graph. Both take the data's
description (`PreparedData.describe()`, or `describe_data(section)` which loads it, cached).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from engine.errors import DeepWireError, Problem
from engine.graph import Graph, Node
from engine.layers.registry import get_spec
from engine.layers.spec import Params, Shape
from engine.shapes_format import format_shape

MATCH_DATA = "match_data"
"""The fix name (Problem.fix) of `match_data`: the editor shows it as a "Match the data" button."""
FIX_TITLES = {MATCH_DATA: "Match the data"}
"""Fixes that are graph edits rather than a layer to insert, by name, with their button text."""
OUTPUT_TASK_OF = {"multiclass": "multiclass", "binary": "binary", "multilabel": "multilabel",
                  "regression": "regression", "next_step": "regression", "autoencoder": "regression"}
"""The Output task that trains on each data task (siamese and gan heads are checked by their own rules)."""
SIZE_PARAMS = ("units", "out_channels", "out_features")
"""Params that set how many values a layer gives per position: the match fixes the last one before Output."""
_CACHE: dict[str, dict] = {}
_CACHE_SIZE = 8


def describe_data(section: dict) -> dict:
    """The description of the data `section` gives (loads it once per section and file version);
    DeepWireError when it cannot be loaded."""
    key = _cache_key(section)
    if key not in _CACHE:
        from engine.data import load_data  # loading needs numpy/torch: only when data is really checked

        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = load_data(copy.deepcopy(section)).describe(vocab=False)
    return _CACHE[key]


def _cache_key(section: dict) -> str:
    stamps = []
    for name in ("path", "x_path", "y_path"):
        path = section.get(name)
        if isinstance(path, str) and path:
            try:
                stat = Path(path).expanduser().stat()
                stamps.append((path, stat.st_mtime_ns, stat.st_size))
            except OSError:
                stamps.append((path, None, None))
    return json.dumps([section, stamps], sort_keys=True, default=str)


def input_params_for(shape: tuple[int, ...], dtype: str) -> dict:
    """Input node params that declare one sample of `shape` and `dtype`."""
    if dtype.startswith("int") and len(shape) == 1:
        return {"kind": "tokens", "seq_len": shape[0]}
    if len(shape) == 3:
        return {"kind": "image", "channels": shape[0], "height": shape[1], "width": shape[2]}
    if len(shape) == 2:
        return {"kind": "sequence", "seq_len": shape[0], "features": shape[1]}
    return {"kind": "features", "features": shape[0] if shape else 1}


def input_shape_of(node: Node) -> tuple[tuple[int, ...], str]:
    """(per-sample shape, dtype) an Input node declares."""
    shape, dtype = get_spec(node.type).input_shape(Params(node.params))
    return tuple(shape), dtype


def _squeezed(shape) -> list[int]:
    return [d for d in shape if d != 1]


def _label(node: Node) -> str:
    return f"{get_spec(node.type).title} '{node.name}'"


def check_data(graph: Graph, section: dict | None = None, *, info: dict | None = None,
               shapes: dict[str, Shape | None] | None = None) -> list[Problem]:
    """Problems between the graph and its data (`section`, default graph.data; or its description `info`,
    which may be {"error": message} for data that could not be loaded).

    `shapes` are the validator's output shapes per node (computed here when not given). A data section
    that cannot be loaded is one problem not pinned to a node.
    """
    if info is None:
        try:
            info = describe_data(graph.data if section is None else section)
        except DeepWireError as exc:
            info = {"error": str(exc)}
    if "error" in info:
        return [Problem(None, "data", f"The data cannot be loaded: {str(info['error']).rstrip('.')}",
                        "fix the data section in the Data panel")]
    if info.get("task") == "gan":
        return []
    if shapes is None:
        from engine.validate import validate

        shapes = validate(graph).shapes
    problems = _check_inputs(graph, info)
    outputs = graph.output_nodes()
    if info.get("task") == "detection":
        problems += _check_detection(graph, outputs, info)
    elif len(outputs) == 1:
        problems += _check_output(graph, outputs[0], info, shapes.get(outputs[0].id))
    return problems


def _check_inputs(graph: Graph, info: dict) -> list[Problem]:
    nodes, shapes = graph.input_nodes(), [tuple(s) for s in info.get("input_shapes", [])]
    dtypes = list(info.get("input_dtypes", [])) + ["float32"] * len(shapes)
    if nodes and len(nodes) != len(shapes):
        return [Problem(nodes[-1].id, "data_inputs", f"The project has {len(nodes)} Input node(s) but the data "
                        f"gives {len(shapes)} input(s) per sample ({info.get('source', 'the data')})",
                        "add or remove Input nodes to match the data")]
    problems = []
    for node, want, dtype in zip(nodes, shapes, dtypes, strict=False):
        have, have_dtype = input_shape_of(node)
        if have != want and _squeezed(have) != _squeezed(want):
            problems.append(Problem(node.id, "data_shape", f"{_label(node)} takes samples of shape "
                                    f"{format_shape((None, *have))} but the data's are {format_shape((None, *want))}",
                                    "click 'Match the data' to set the Input to the data's shape", fix=MATCH_DATA))
        elif have_dtype.startswith("int") != dtype.startswith("int"):
            kind = "token ids" if have_dtype.startswith("int") else "numbers"
            problems.append(Problem(node.id, "data_kind", f"{_label(node)} expects {kind} but the data gives "
                                    f"{dtype} values", "click 'Match the data' to choose the Input kind the data "
                                    "needs", fix=MATCH_DATA))
    return problems


def _check_output(graph: Graph, node: Node, info: dict, shape: Shape | None) -> list[Problem]:
    data_task = info.get("task")
    want_task = OUTPUT_TASK_OF.get(data_task)
    task = node.params.get("task", "multiclass")
    if want_task is None:
        return []
    if task != want_task:
        return [Problem(node.id, "data_task", f"{_label(node)} predicts task '{task}' but the data is a "
                        f"'{data_task}' dataset", f"click 'Match the data' to set the task to '{want_task}'",
                        fix=MATCH_DATA)]
    if shape is None:
        return []
    out, target = tuple(shape[1:]), tuple(info.get("target_shape", ()))
    classes = info.get("num_classes")
    fixable = _size_layer(graph, node) is not None
    if task == "multiclass" and classes and out and out[-1] != classes:
        return [Problem(node.id, "data_classes", f"{_label(node)} gives {out[-1]} scores per sample but the data "
                        f"has {classes} classes", f"give the last layer {classes} units"
                        + (" (click 'Match the data')" if fixable else ""), fix=MATCH_DATA if fixable else None)]
    if task in ("regression", "multilabel", "binary") and _numel(out) != _numel(target):
        want = _numel(target)
        one_d = len(target) <= 1 or _squeezed(target) == [want]
        can = fixable and one_d and len(_squeezed(out)) <= 1
        return [Problem(node.id, "data_target", f"{_label(node)} gives {format_shape((None, *out))} per batch but "
                        f"the targets are {format_shape((None, *target))}",
                        "make the last layer produce the target's shape" + (" (click 'Match the data')" if can else ""),
                        fix=MATCH_DATA if can else None)]
    return []


def _check_detection(graph: Graph, outputs: list[Node], info: dict) -> list[Problem]:
    """Every Output of a detection dataset has task 'detection'; each detection layer with `num_classes` before
    one scores the data's classes."""
    problems, classes = [], info.get("num_classes")
    for node in outputs:
        if node.params.get("task") != "detection":
            problems.append(Problem(node.id, "data_task", f"{_label(node)} predicts task "
                                    f"'{node.params.get('task', 'multiclass')}' but the data is a 'detection' "
                                    "dataset", "click 'Match the data' to set the task to 'detection'", fix=MATCH_DATA))
            continue
        layer = _class_layer(graph, node)
        if classes and layer is not None and layer.params.get("num_classes") != classes:
            problems.append(Problem(node.id, "data_classes", f"{_label(node)}: {_label(layer)} scores "
                                    f"{layer.params.get('num_classes')} classes but the data has {classes}",
                                    f"set its num_classes to {classes} (click 'Match the data')", fix=MATCH_DATA))
    return problems


def _class_layer(graph: Graph, output: Node) -> Node | None:
    """The detection layer right before `output` when it has a `num_classes` param (a region proposal network,
    scoring objectness, has none)."""
    incoming = graph.incoming(output.id)
    layer = graph.nodes[incoming[0].src] if incoming else None
    return layer if layer is not None and "num_classes" in {p.name for p in get_spec(layer.type).params} else None


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _size_layer(graph: Graph, output: Node) -> tuple[Node, str] | None:
    """The layer right before `output` and its size param, when it has one (Dense units, conv channels)."""
    incoming = graph.incoming(output.id)
    if not incoming:
        return None
    layer = graph.nodes[incoming[0].src]
    names = {p.name for p in get_spec(layer.type).params}
    name = next((n for n in SIZE_PARAMS if n in names), None)
    return (layer, name) if name else None


def match_data(graph: Graph, info: dict) -> list[str]:
    """Edit `graph` in place so its Inputs and Output fit the described data; what changed, in words."""
    changes = []
    shapes, dtypes = [tuple(s) for s in info.get("input_shapes", [])], list(info.get("input_dtypes", []))
    if info.get("task") != "gan":
        for index, (node, want) in enumerate(zip(graph.input_nodes(), shapes, strict=False)):
            dtype = dtypes[index] if index < len(dtypes) else "float32"
            if input_shape_of(node) != (want, dtype):
                node.params.update(input_params_for(want, dtype))
                changes.append(f"{node.name} takes {format_shape((None, *want))}")
    outputs = graph.output_nodes()
    want_task = OUTPUT_TASK_OF.get(info.get("task"))
    if info.get("task") == "detection":
        changes += _match_detection(graph, outputs, info.get("num_classes"))
    elif len(outputs) == 1 and want_task:
        out = outputs[0]
        if out.params.get("task", "multiclass") != want_task:
            out.params["task"] = want_task
            changes.append(f"{out.name} predicts {want_task}")
        size = _wanted_size(info, out.params["task"])
        found = _size_layer(graph, out)
        if size and found and found[0].params.get(found[1]) != size:
            found[0].params[found[1]] = size
            changes.append(f"{found[0].name} gives {size} values")
    if changes:
        graph.touch()
    return changes


def _match_detection(graph: Graph, outputs: list[Node], classes: int | None) -> list[str]:
    """Detection Outputs get task 'detection' and their class-scoring layers the data's class count."""
    changes = []
    for node in outputs:
        if node.params.get("task") != "detection":
            node.params["task"] = "detection"
            changes.append(f"{node.name} predicts detection")
        layer = _class_layer(graph, node)
        if classes and layer is not None and layer.params.get("num_classes") != classes:
            layer.params["num_classes"] = classes
            changes.append(f"{layer.name} scores {classes} classes")
    return changes


def _wanted_size(info: dict, task: str) -> int | None:
    if task == "multiclass":
        return info.get("num_classes")
    target = tuple(info.get("target_shape", ()))
    return _numel(target) if len(_squeezed(target)) <= 1 else None
