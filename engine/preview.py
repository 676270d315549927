"""Live preview: one real sample through the current graph, every node's output, up to the first broken node.

Each node's layer is built once per (type, params, input shapes) and kept across edits, so an edit
rebuilds only the nodes it touched and the preview of the rest stays the same; outputs are cached by
the chain of layers and the sample that produced them, so an edit recomputes only what lies after it.
New layers get seeded random weights; `use_weights` takes a trained model's (per node id) instead.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field

import numpy as np

from engine.data import PreparedData, load_data
from engine.errors import DeepWireError
from engine.graph import Graph, Node
from engine.layers.registry import get_spec
from engine.layers.spec import Params
from engine.lazy import LazyModule
from engine.shapes_format import format_shape
from engine.validate import Validation, Validator

torch = LazyModule("torch")
nn = LazyModule("torch.nn")
F = LazyModule("torch.nn.functional")

THUMB = 32
"""Feature maps are shown at most this many pixels a side."""
CHANNELS = 16
"""Feature maps kept per node (the strip shows the first few, the side panel all of these)."""
VECTOR = 256
"""Values kept of a vector or per sequence step (longer ones are averaged down to this)."""
TOP_CLASSES = 5
PREVIEW_THREADS = 1
"""Intra-op threads for the thread that runs previews (torch's setting is per thread): one sample is too small
to split, and waiting on a busy second core made a ResNet preview 50x slower on a loaded 2-core machine."""


@dataclass
class NodePreview:
    """What one node produced for the sample: a display kind and the (reduced) values to draw."""

    kind: str
    """'image' (C, H, W maps), 'sequence' (T, F), 'vector' (F,), 'tokens' (T,) ids, 'classes' or 'values'."""
    shape: tuple
    values: np.ndarray
    low: float
    high: float
    classes: list[tuple[str, float]] = field(default_factory=list)
    """Output nodes of a classifier: the top classes with their probabilities."""
    output: torch.Tensor | None = None
    """The full output tensor (batch of one), for tests and exact views."""


@dataclass
class PreviewResult:
    """Every node that could run; where (and why) the preview stopped; the sample shown."""

    nodes: dict[str, NodePreview]
    sample: int
    samples: int
    label: str
    stopped_at: str | None = None
    message: str = ""


class Previewer:
    """Runs samples through changing graphs, reusing layers and outputs that did not change."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.validator = Validator()
        self._modules: dict[tuple, nn.Module] = {}
        self._outputs: dict[tuple, torch.Tensor] = {}
        self._data: tuple[str, PreparedData] | None = None
        self._weights: dict[str, dict[str, torch.Tensor]] = {}
        self._weights_version = 0

    # ---- inputs -----------------------------------------------------------------------------
    def use_weights(self, model: nn.Module | None) -> None:
        """Take a trained compiled model's weights, per node id (None: back to random weights)."""
        self._weights = {} if model is None else {
            nid: {k: v.detach().cpu().clone() for k, v in model.get_submodule(target).state_dict().items()}
            for nid, target in model.deepwire_targets.items()}
        self._weights_version += 1
        self._modules.clear()
        self._outputs.clear()

    def data(self, graph: Graph) -> PreparedData:
        """The project's data, loaded once per data section."""
        key = json.dumps(graph.data, sort_keys=True, default=str)
        if self._data is None or self._data[0] != key:
            self._data = (key, load_data(graph.data, seed=0))
            self._outputs.clear()
        return self._data[1]

    # ---- the preview ------------------------------------------------------------------------
    def run(self, graph: Graph, sample: int = 0, validation: Validation | None = None) -> PreviewResult:
        """Every runnable node's output for sample `sample` (wrapped around) of the validation split."""
        validation = validation or self.validator.validate(graph)
        data = self.data(graph)
        split = data.val if len(data.val) else data.train
        count = len(split)
        if not count:
            raise DeepWireError("the data has no samples to preview")
        sample %= count
        inputs = _sample(split, sample)
        label = _label(data, split, sample)
        broken = _first_broken(graph, validation)
        result = PreviewResult({}, sample, count, label)
        values: dict[str, torch.Tensor] = {}
        keys: dict[str, tuple] = {}
        used: dict[tuple, torch.Tensor] = {}
        placeholders = {n.id: i for i, n in enumerate(graph.input_nodes())}
        for nid in validation.order:
            node = graph.nodes[nid]
            if nid in broken or any(e.src not in values for e in graph.incoming(nid)):
                if nid in broken and result.stopped_at is None:
                    result.stopped_at, result.message = nid, broken[nid]
                continue
            try:
                out, key = self._node(graph, node, validation, inputs, placeholders, values, keys, sample, data)
            except Exception as exc:  # noqa: BLE001  a layer that fails on real values stops the preview there
                if result.stopped_at is None:
                    result.stopped_at = nid
                    result.message = f"{node.name} fails on this sample: {str(exc).strip().splitlines()[0][:200]}"
                continue
            values[nid], keys[nid], used[key] = out, key, out
            result.nodes[nid] = describe(out[0] if isinstance(out, tuple) else out, node, data)
        self._outputs = used
        return result

    def _node(self, graph: Graph, node: Node, validation: Validation, inputs: tuple[torch.Tensor, ...],
              placeholders: dict[str, int], values: dict[str, torch.Tensor], keys: dict[str, tuple], sample: int,
              data: PreparedData) -> tuple[torch.Tensor, tuple]:
        spec = get_spec(node.type)
        if spec.role == "input":
            index = placeholders[node.id]
            want = validation.shapes[node.id][1:]
            if data.task == "gan" and (index >= len(inputs) or tuple(inputs[0].shape[1:]) != tuple(want)):
                noise = torch.randn((1, *want), generator=torch.Generator().manual_seed(sample))
                return noise, ("noise", index, sample)  # the generator's Input: noise, as in training
            if data.task == "gan":
                index = 0  # the discriminator's Input: the real sample
            if index >= len(inputs):
                raise DeepWireError(f"the data gives {len(inputs)} input(s) per sample; this is input {index + 1}")
            x = inputs[index]
            if tuple(x.shape[1:]) != tuple(want):
                if x[0].numel() != math.prod(want):
                    raise DeepWireError(f"the data's samples have shape {format_shape((None, *x.shape[1:]))} but "
                                        f"this Input gives {format_shape((None, *want))}")
                x = x.reshape(1, *want)
            return x, ("input", index, sample, id(data))
        ports = [p.name for p in spec.inputs]
        edges = [e for port in ports for e in graph.incoming(node.id) if e.dst_port == port]
        args = [_wire_value(graph, values, e) for e in edges]
        if spec.role == "output":
            return args[0], ("output", keys[edges[0].src], edges[0].src_port)
        owner = graph.nodes.get(node.shares) if node.shares and spec.has_weights else None
        builder = owner if owner is not None and owner.type == node.type else node
        module_key = (builder.id, builder.type, json.dumps(builder.params, sort_keys=True),
                      tuple(validation.in_shapes.get(builder.id, ())), self._weights_version)
        key = (module_key, tuple((keys[e.src], e.src_port) for e in edges))
        cached = self._outputs.get(key)
        if cached is not None:
            return cached, key
        module = self._modules.get(module_key)
        if module is None:
            module = self._build(builder, validation)
            self._modules[module_key] = module
        with torch.no_grad():
            out = module(*args)
        if isinstance(out, tuple | list):
            out = tuple(out) if spec.multi_output else out[0]
        return out, key

    def _build(self, node: Node, validation: Validation) -> nn.Module:
        torch.manual_seed(self.seed + zlib.crc32(node.id.encode()))
        module = get_spec(node.type).build(Params(node.params), list(validation.in_shapes[node.id]))
        trained = self._weights.get(node.id)
        if trained is not None:
            own = module.state_dict()
            if own.keys() == trained.keys() and all(own[k].shape == trained[k].shape for k in own):
                module.load_state_dict(trained)
        return module.eval()


def _wire_value(graph: Graph, values: dict, edge) -> torch.Tensor:
    """What a wire carries: its source's output, or its piece of a Split's outputs."""
    out = values[edge.src]
    if not isinstance(out, tuple):
        return out
    spec = get_spec(graph.nodes[edge.src].type)
    return out[[p.name for p in spec.output_ports(graph.nodes[edge.src].params)].index(edge.src_port)]


def _first_broken(graph: Graph, validation: Validation) -> dict[str, str]:
    """Nodes that cannot run, with why: an error pinned on them, or no output shape (an open input)."""
    out: dict[str, str] = {}
    for problem in validation.errors:
        if problem.node_id in graph.nodes and problem.node_id not in out:
            out[problem.node_id] = problem.message
    for nid in validation.order:
        if nid not in out and validation.shapes.get(nid) is None:
            out[nid] = f"{graph.nodes[nid].name} has no output shape: an input is missing or broken"
    return out


def _sample(split, index: int) -> tuple[torch.Tensor, ...]:
    if hasattr(split, "inputs"):
        return tuple(x[index: index + 1] for x in split.inputs)
    raise DeepWireError("previewing streamed data is not supported; turn data.stream off to preview")


def _label(data: PreparedData, split, index: int) -> str:
    target = split.target[index]
    if data.class_names and target.dim() == 0:
        return str(data.class_names[int(target)])
    if target.numel() <= 4:
        return ", ".join(f"{float(v):.4g}" for v in target.reshape(-1))
    return f"target {format_shape((None, *target.shape))}"


def describe(out: torch.Tensor, node: Node, data: PreparedData) -> NodePreview:
    """A node's output reduced to what the canvas and side panel draw."""
    x = out[0].detach().float() if out.is_floating_point() else out[0].detach()
    shape = (None, *out.shape[1:])
    finite = x.float()[torch.isfinite(x.float())]
    low, high = (float(finite.min()), float(finite.max())) if finite.numel() else (0.0, 0.0)
    if get_spec(node.type).role == "output" and node.params.get("task") in ("multiclass", "binary"):
        return NodePreview("classes", shape, x.reshape(-1).numpy(), low, high, _classes(x, node, data), out)
    if not out.is_floating_point():
        return NodePreview("tokens", shape, x.reshape(-1)[:VECTOR].numpy(), low, high, output=out)
    if x.dim() == 3:
        maps = x[:CHANNELS]
        if maps.shape[-1] > THUMB or maps.shape[-2] > THUMB:
            maps = F.adaptive_avg_pool2d(maps[None], (min(THUMB, maps.shape[-2]), min(THUMB, maps.shape[-1])))[0]
        return NodePreview("image", shape, maps.numpy(), low, high, output=out)
    if x.dim() == 2:
        steps = x
        if steps.shape[-1] > VECTOR:
            steps = F.adaptive_avg_pool1d(steps[None], VECTOR)[0]
        return NodePreview("sequence", shape, steps[:VECTOR].numpy(), low, high, output=out)
    if x.dim() == 1:
        vec = x if x.numel() <= VECTOR else F.adaptive_avg_pool1d(x[None, None], VECTOR)[0, 0]
        return NodePreview("vector", shape, vec.numpy(), low, high, output=out)
    return NodePreview("values", shape, x.reshape(-1)[:VECTOR].numpy(), low, high, output=out)


def _classes(x: torch.Tensor, node: Node, data: PreparedData) -> list[tuple[str, float]]:
    scores = x.reshape(-1) if x.dim() <= 1 else x.reshape(-1, x.shape[-1])[0]
    names = data.class_names or []
    if scores.numel() == 1:  # binary: one logit
        p = float(torch.sigmoid(scores[0]))
        yes = names[1] if len(names) > 1 else "1"
        no = names[0] if names else "0"
        return sorted([(yes, p), (no, 1 - p)], key=lambda t: -t[1])
    probs = torch.softmax(scores.float(), dim=0)
    top = torch.topk(probs, min(TOP_CLASSES, probs.numel()))
    return [(names[i] if i < len(names) else str(i), float(p)) for p, i in zip(top.values.tolist(),
                                                                              top.indices.tolist(), strict=True)]
