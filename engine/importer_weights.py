"""The original weights of an import as one state dict, keyed the way the compiled project names them.

Key format: `<module name>.<parameter name>`, where the module name is what `compile_graph` calls the
node's module (the node name made a Python identifier, e.g. node 'layer1.0.conv1' -> 'layer1_0_conv1')
and the parameter name is the one inside the layer's built module (e.g. 'weight', 'running_mean',
'attn.in_proj_weight'). So `compile_graph(graph).load_state_dict(load_file(path))` takes it as is.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import fx, nn

from engine.compile import python_name
from engine.errors import GraphError
from engine.graph import Graph
from engine.layers.registry import get_spec
from engine.layers.spec import Params
from engine.topology import topology


def module_names(graph: Graph) -> dict[str, str]:
    """node id -> the name compile_graph gives its module (same order, same de-duplication)."""
    taken: set[str] = set()
    targets: dict[str, str] = {}
    for nid in topology(graph).order:
        node = graph.nodes[nid]
        spec = get_spec(node.type)
        if spec.role == "input":
            python_name(node.name, taken, "input")
        elif spec.role == "output":
            continue
        elif node.shares and spec.has_weights and graph.nodes[node.shares].type == node.type:
            targets[nid] = targets.get(node.shares, "")
        else:
            targets[nid] = python_name(node.name, taken)
    return targets


def _built(graph: Graph, nid: str, in_shapes: dict) -> nn.Module | None:
    node = graph.nodes[nid]
    spec = get_spec(node.type)
    for shapes in (in_shapes.get(nid), spec.example):
        if not shapes:
            continue
        try:
            with torch.device("meta"):
                return spec.build(Params(node.params), list(shapes))
        except Exception:  # noqa: BLE001, S112  the spec's example shapes are the fallback
            continue
    return None


def _prefix(module: nn.Module | None, keys: set[str]) -> str:
    """The path of the submodule of `module` whose state dict has exactly `keys` ('' for the module itself)."""
    if module is None:
        return ""
    for path, sub in module.named_modules():
        if set(sub.state_dict().keys()) == keys:
            return f"{path}." if path else ""
    return ""


def state_dict_for(imported, compiled: fx.GraphModule | None = None) -> dict[str, torch.Tensor]:
    """The import's weights keyed like the compiled project's state dict (see the module docstring)."""
    graph = imported.graph
    if compiled is not None:
        targets = dict(compiled.deepwire_targets)
        modules = {nid: compiled.get_submodule(t) for nid, t in targets.items()}
    else:
        from engine.validate import validate

        targets = module_names(graph)
        in_shapes = validate(graph).in_shapes
        modules = {nid: _built(graph, nid, in_shapes) for nid in imported.weights}
    state = compiled.state_dict() if compiled is not None else {}
    out: dict[str, torch.Tensor] = {}
    for nid, weights in imported.weights.items():
        if nid not in targets:
            continue
        node = graph.nodes[nid]
        prefix = _prefix(modules.get(nid), set(weights))
        for key, tensor in weights.items():
            data = tensor.detach()
            if compiled is not None:
                want = state.get(f"{targets[nid]}.{prefix}{key}")
                if want is None or want.numel() != data.numel():
                    raise GraphError(f"the weight '{key}' of '{node.name}' does not fit the imported {node.type} layer")
                data = data.reshape(want.shape)
            out[f"{targets[nid]}.{prefix}{key}"] = data.contiguous().clone()
    return out


def save_weights(imported, path: str | Path) -> Path:
    """Write the import's weights as safetensors at `path` (parents created); returns the path."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state_dict_for(imported), str(path), metadata={"format": "deepwire-import",
                                                            "project": imported.graph.name})
    return path
