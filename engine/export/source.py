"""A standalone, readable PyTorch file for a compiled project: no DeepWire import, sizes written out.

Every name that comes from the project (node, project and class names) reaches the source only as
a sanitized identifier (`python_name`/`class_name`) or inside an `ascii()` literal, so it cannot
inject code or break the file.
"""

from __future__ import annotations

from torch import fx

from engine.compile import class_name, python_name
from engine.export.constructors import constructor, helper_classes, helper_source, literal
from engine.graph import Graph
from engine.layers.registry import get_spec
from engine.layers.ties import tied_params
from engine.shapes_format import format_shape
from engine.validate import Validation, validate

FIXED_NAMES = {"math", "torch", "nn", "F", "self", "PROJECT_NAME", "PREPROCESSING", "CLASS_NAMES",
               "preprocess", "postprocess", "normalize", "load_model", "main", "load_file"}

HEADER = '''"""Standalone PyTorch model exported by DeepWire (project name in PROJECT_NAME).

Needs only torch (and safetensors for the weights):

    from model import load_model, preprocess
    model = load_model("model.safetensors")
    output = model({args})

PREPROCESSING holds what the model expects: input shapes, normalization statistics, class names.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F
'''

FOOTER = '''

def preprocess(x, input_index=0):
    """Raw samples (a batch, first axis = samples) -> the tensor the model takes as input `input_index`."""
    spec = PREPROCESSING["inputs"][input_index]
    x = torch.as_tensor(x)
    if list(x.shape) == spec["shape"]:
        x = x.unsqueeze(0)
    if spec["dtype"].startswith("int"):
        return x.long()
    return normalize(PREPROCESSING["normalization"], x.float(), invert=False)


def postprocess(y):
    """Regression outputs back in data units (identity when the targets were not scaled)."""
    return normalize(PREPROCESSING["normalization"].get("target", {{}}), y, invert=True)


def normalize(norm, x, invert=False):
    """Apply (or with `invert`, undo) a normalization record of PREPROCESSING to a batch."""
    method = norm.get("method", "none")
    if method == "none":
        return x
    if method == "minmax":
        shift = torch.tensor(norm["min"], dtype=x.dtype)
        scale = torch.tensor(norm["max"], dtype=x.dtype) - shift
    else:
        shift, scale = torch.tensor(norm["mean"], dtype=x.dtype), torch.tensor(norm["std"], dtype=x.dtype)
    shape = [1] * x.dim()
    if norm.get("axis") is not None:
        axis = norm["axis"]
        shape[axis + 1 if axis >= 0 else axis] = -1
    shift, scale = shift.reshape(shape), scale.reshape(shape)
    return x * scale + shift if invert else (x - shift) / scale


def load_model(weights_path="model.safetensors", device="cpu"):
    """A {cls} with the exported weights, in eval mode."""
    from safetensors.torch import load_file

    model = {cls}()
    model.load_state_dict(load_file(str(weights_path), device=str(device)))
    return model.to(device).eval()


if __name__ == "__main__":
    import sys

    model = load_model(sys.argv[1] if len(sys.argv) > 1 else "model.safetensors")
    print(model)
'''


def model_class_name(graph: Graph, model: fx.GraphModule) -> str:
    """The class name of the exported model: the project name in CamelCase, never a clash."""
    name = class_name(graph.name)
    helpers = {c.__name__ for c in helper_classes(model)}
    return f"{name}Model" if name in helpers or name in FIXED_NAMES else name


def model_source(graph: Graph, model: fx.GraphModule, preprocessing: dict,
                 validation: Validation | None = None) -> str:
    """The text of `model.py`: helper classes, the model class, preprocessing and a weights loader."""
    validation = validation or validate(graph)
    cls = model_class_name(graph, model)
    taken = set(FIXED_NAMES) | {cls} | {c.__name__ for c in helper_classes(model)}
    args = {n.id: python_name(n.name, taken, "input") for n in graph.input_nodes()}
    parts = [HEADER.format(args=", ".join(args.values())).rstrip(),
             f"PROJECT_NAME = {literal(graph.name)}",
             f"CLASS_NAMES = {literal(preprocessing.get('class_names'))}",
             f"PREPROCESSING = {_dict_literal(preprocessing)}"]
    helpers = helper_source(helper_classes(model))
    if helpers:
        parts.append("\n" + helpers)
    parts.append("\n" + _class_source(graph, model, validation, cls, args, taken))
    return "\n\n".join(parts) + FOOTER.format(cls=cls)


def _dict_literal(value: object, indent: int = 0) -> str:
    """A readable dict/list literal; every string through `ascii()`."""
    pad = "    " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}{ascii(str(k))}: {_dict_literal(v, indent + 1)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + "\n" + "    " * indent + "}"
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        items = [f"{pad}{_dict_literal(v, indent + 1)}," for v in value]
        return "[\n" + "\n".join(items) + "\n" + "    " * indent + "]"
    return literal(value)


def _class_source(graph: Graph, model: fx.GraphModule, validation: Validation, cls: str,
                  args: dict[str, str], taken: set[str]) -> str:
    targets = model.deepwire_targets
    init, body, values, results, ties = [], [], dict(args), {}, []
    for nid in validation.order:
        node = graph.nodes[nid]
        spec = get_spec(node.type)
        if spec.role == "input":
            continue
        incoming = [e for port in spec.inputs for e in graph.incoming(nid, port.name)]
        call_args = ", ".join(values.get((e.src, e.src_port), values.get(e.src)) for e in incoming)
        if spec.role == "output":
            results[nid] = call_args
            continue
        target = targets[nid]
        note = f"  # {ascii(node.name)}: {node.type} -> {format_shape(validation.shapes.get(nid))}"
        owner = graph.nodes.get(node.shares) if node.shares else None
        if owner is None or owner.type != node.type:
            init.append(f"        self.{target} = {constructor(model.get_submodule(target))}")
            ties += [f"        self.{target}.{name} = self.{targets[owner.id]}.{name}  # tied weights"
                     for name in (tied_params(node.type, owner.type) if owner is not None else ())]
        else:
            note += " (shared weights)"
        if spec.multi_output:  # one variable per output port: a, b = self.split(x)
            names = [python_name(f"{node.name}_{p.name}", taken, "x") for p in spec.output_ports(node.params)]
            values.update({(nid, p.name): n for p, n in zip(spec.output_ports(node.params), names, strict=True)})
            lhs = ", ".join(names) + ("," if len(names) == 1 else "")
            body.append(f"        {lhs} = self.{target}({call_args}){note}")
            continue
        values[nid] = python_name(node.name, taken, "x")
        body.append(f"        {values[nid]} = self.{target}({call_args}){note}")
    outs = [results[n.id] for n in graph.output_nodes()]
    ret = outs[0] if len(outs) == 1 else "(" + ", ".join(outs) + ")"
    lines = [f"class {cls}(nn.Module):",
             '    """The network of the DeepWire project named in PROJECT_NAME."""', "",
             "    def __init__(self):", "        super().__init__()", *init, *ties, "",
             f"    def forward(self, {', '.join(args.values())}):", *body, f"        return {ret}"]
    return "\n".join(lines)
