"""Shape inference: run each built layer on meta-device tensors, cached per node so edits stay cheap."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from engine.graph import Graph, Node
from engine.layers.registry import get_spec
from engine.layers.spec import LayerSpec, Params, Shape
from engine.layers.ties import tied_count
from engine.lazy import LazyModule
from engine.shapes_format import format_shape
from engine.topology import Topology, topology

torch = LazyModule("torch")

PROBE_BATCH = 2
"""Batch size of the probe tensors; dim 0 of every result is stored as None (N)."""
ID_CHECK_MAX_PARAMS = 1_000_000
ID_CHECK_MAX_VALUES = 100_000
"""Meta tensors skip dtype checks, so a layer fed token ids is also run once on the CPU when this small."""


@dataclass(frozen=True)
class NodeShapes:
    """What inference learned about one node."""

    in_shapes: tuple[Shape, ...]
    out_shape: Shape | None
    dtype: str = "float32"
    param_count: int = 0
    error: tuple[str, str, str | None] | None = None
    """(message, hint, fix type id) when the layer cannot take its input."""
    ports: tuple[tuple[str, Shape], ...] = ()
    """For a layer with several outputs (Split): (port, shape) of each; `out_shape` is the first one's."""

    def shape_at(self, port: str) -> Shape | None:
        """The shape leaving output `port` (every port of a one-output layer gives `out_shape`)."""
        if not self.ports:
            return self.out_shape
        return dict(self.ports).get(port)


@dataclass
class ShapeResult:
    nodes: dict[str, NodeShapes] = field(default_factory=dict)

    def out_shape(self, node_id: str) -> Shape | None:
        info = self.nodes.get(node_id)
        return info.out_shape if info else None

    def wire_shape(self, edge) -> Shape | None:
        """The shape a wire carries: its source's output at the wire's port."""
        info = self.nodes.get(edge.src)
        return info.shape_at(edge.src_port) if info else None


class ShapeEngine:
    """Infers shapes and parameter counts; results are cached by (type, params, input shapes)."""

    def __init__(self) -> None:
        self._cache: dict[tuple, NodeShapes] = {}

    def infer(self, graph: Graph, topo: Topology | None = None) -> ShapeResult:
        topo = topo or topology(graph)
        result = ShapeResult()
        for nid in topo.order:
            node = graph.nodes[nid]
            result.nodes[nid] = self._node(graph, node, topo, result)
        return result

    def _node(self, graph: Graph, node: Node, topo: Topology, result: ShapeResult) -> NodeShapes:
        spec = get_spec(node.type)
        if spec.role == "input":
            shape, dtype = spec.input_shape(Params(node.params))
            return NodeShapes((), (None, *shape), dtype)
        incoming = topo.ordered_inputs(graph, node.id)
        ins = [result.nodes.get(e.src) for e in incoming]
        wired = {e.dst_port for e in incoming}
        shapes = [result.wire_shape(e) for e in incoming]
        if (not ins or any(i is None or s is None for i, s in zip(ins, shapes, strict=True))
                or any(p.name not in wired for p in spec.inputs if not p.optional)):
            return NodeShapes((), None)
        in_shapes = tuple(shapes)
        dtypes = tuple(i.dtype for i in ins)
        if spec.role == "output":
            return NodeShapes(in_shapes, in_shapes[0], dtypes[0])
        owner = graph.nodes.get(node.shares) if node.shares and spec.has_weights else None
        build_node = owner if owner is not None and owner.type == node.type else node
        owner_shapes = in_shapes
        if build_node is not node:
            owner_info = result.nodes.get(build_node.id)
            if owner_info is None or not owner_info.in_shapes:
                return NodeShapes(in_shapes, None)
            owner_shapes = owner_info.in_shapes
        tied = owner.type if owner is not None and build_node is node else ""
        key = (node.type, _freeze(build_node.params), owner_shapes, in_shapes, dtypes, build_node is not node, tied)
        cached = self._cache.get(key)
        if cached is None:
            cached = _probe(spec, Params(build_node.params), owner_shapes, in_shapes, dtypes)
            if build_node is not node:
                cached = NodeShapes(cached.in_shapes, cached.out_shape, cached.dtype, 0, cached.error, cached.ports)
            elif tied and cached.error is None:
                count = cached.param_count - tied_count(spec, Params(node.params), in_shapes, owner.type)
                cached = NodeShapes(cached.in_shapes, cached.out_shape, cached.dtype, count, cached.error,
                                    cached.ports)
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[key] = cached
        return cached


def _freeze(params: dict) -> str:
    return json.dumps(params, sort_keys=True)


def _probe(spec: LayerSpec, params: Params, build_shapes: tuple[Shape, ...], in_shapes: tuple[Shape, ...],
           dtypes: tuple[str, ...]) -> NodeShapes:
    """Build the layer without allocating weights and run it once on meta tensors."""
    try:
        failed = spec.check(params, list(in_shapes)) if spec.check is not None else None
    except Exception as exc:  # noqa: BLE001  a check that cannot read odd input still yields a message
        return _failure(spec, in_shapes, exc)
    if failed:
        fixable = len(failed) > 2 and failed[2]
        error = (failed[0], failed[1], spec.fix if fixable else None)
        if spec.declared is not None:
            shape, count = spec.declared(params, list(in_shapes))
            return NodeShapes(in_shapes, tuple(shape), param_count=count, error=error)
        return NodeShapes(in_shapes, None, error=error)
    try:
        out, count = _run(spec, params, build_shapes, in_shapes, dtypes, torch.device("meta"))
        if _ids_in(dtypes) and count <= ID_CHECK_MAX_PARAMS and _numel(in_shapes) <= ID_CHECK_MAX_VALUES:
            _run(spec, params, build_shapes, in_shapes, dtypes, torch.device("cpu"))
    except NotImplementedError:
        try:
            out, count = _run(spec, params, build_shapes, in_shapes, dtypes, torch.device("cpu"))
        except Exception as exc:  # noqa: BLE001  any failure of a user's layer setup becomes a message
            return _failure(spec, in_shapes, exc, dtypes)
    except Exception as exc:  # noqa: BLE001
        return _failure(spec, in_shapes, exc, dtypes)
    ports: tuple[tuple[str, Shape], ...] = ()
    if spec.multi_output:
        names = [p.name for p in spec.output_ports(params)]
        if len(out) != len(names):
            return _failure(spec, in_shapes, ValueError(f"it gives {len(out)} pieces for {len(names)} outputs"))
        ports = tuple((name, _batch_shape(piece)) for name, piece in zip(names, out, strict=True))
        out = out[0]
    return NodeShapes(in_shapes, _batch_shape(out), str(out.dtype).removeprefix("torch."), count, ports=ports)


def _batch_shape(out: torch.Tensor) -> Shape:
    return (None, *out.shape[1:]) if out.dim() > 0 else tuple(out.shape)


def _run(spec: LayerSpec, params: Params, build_shapes, in_shapes, dtypes, device: torch.device):
    with torch.device(device):
        module = spec.build(params, list(build_shapes))
    module.eval()
    probes = [_probe_tensor(s, d, device) for s, d in zip(in_shapes, dtypes, strict=True)]
    with torch.no_grad():
        out = module(*probes)
    if isinstance(out, tuple | list) and not spec.multi_output:
        out = out[0]
    count = sum(p.numel() for p in module.parameters())
    return out, count


def _probe_tensor(shape: Shape, dtype: str, device: torch.device) -> torch.Tensor:
    dims = [PROBE_BATCH if d is None else d for d in shape]
    if dtype.startswith("int"):
        return torch.zeros(dims, dtype=torch.int64, device=device)
    return torch.zeros(dims, dtype=getattr(torch, dtype, torch.float32), device=device)


def _ids_in(dtypes: tuple[str, ...]) -> bool:
    return any(d.startswith("int") for d in dtypes)


def _numel(shapes: tuple[Shape, ...]) -> int:
    return sum(math.prod(PROBE_BATCH if d is None else d for d in s) for s in shapes)


def _failure(spec: LayerSpec, in_shapes: tuple[Shape, ...], exc: Exception,
             dtypes: tuple[str, ...] = ()) -> NodeShapes:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    detail = re.sub(r"\s+", " ", detail)[:300]
    got = ", ".join(format_shape(s) for s in in_shapes)
    message = f"{spec.title} cannot take an input of shape {got}: {detail}"
    hint = ("it gets whole-number token ids; put an Embedding before it" if _ids_in(dtypes)
            else "change this layer's params or the layers before it")
    return NodeShapes(in_shapes, None, error=(message, hint, None))


def warm_up() -> None:
    """Import PyTorch and what its meta-device kernels load on their first call (seconds on a cold start), so
    the first real inference is quick; the editor calls it on a background thread after its first paint."""
    with torch.device("meta"):
        torch.nn.functional.relu(torch.nn.Conv2d(1, 1, 1)(torch.zeros(1, 1, 2, 2)))


def infer_shapes(graph: Graph) -> ShapeResult:
    """One-off shape inference (the editor keeps a `ShapeEngine` to reuse its cache)."""
    return ShapeEngine().infer(graph)
