"""Tracing for the importer: torch.fx specialised to the given input shapes.

Python control flow on values that do not depend on the input *data* (shapes, devices, flags such as
`input.is_cuda and self.ngpu > 1`) is decided by running the graph traced so far on example inputs;
a condition whose answer changes with the data is refused. Optional forward arguments that are not
inputs are fixed to their defaults (None when they have none).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn
from torch.fx._symbolic_trace import _maybe_revert_all_patches  # run the model untraced inside a trace
from torch.nn.utils.stateless import _reparametrize_module  # meta weights for a shape-only run

from engine.errors import GraphError

_TORCH_DIR = str(Path(torch.__file__).parent / "_")[:-1]
"""torch's own folder with a trailing separator (torchvision's folder starts with the same letters)."""
META_FROM = 1_000_000
"""Models are run on meta tensors (shapes only, far cheaper than computing a convolution network's
outputs), except small recurrent ones: an LSTM on meta tensors first loads torch's compiler stack
(seconds), more than running a small model for real costs."""


class DataDependent(fx.proxy.TraceError):
    """A Python branch whose outcome depends on the values of the input tensors."""


class ImportTracer(fx.Tracer):
    """fx.Tracer that keeps `is_leaf(module)` modules whole and answers control flow from example runs."""

    def __init__(self, is_leaf: Callable[[nn.Module], bool], example_sets: list[tuple], stack_traces: bool = False):
        super().__init__()
        self.fixed_values: tuple = ()
        self._names: dict[int, str] | None = None
        self._is_leaf = is_leaf
        self.example_sets = example_sets
        self.record_stack_traces = stack_traces
        self.proxy_buffer_attributes = True

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, fx.Proxy]) -> Any:
        """A stored tensor read in forward becomes a get_attr node (fx's own lookup scans every buffer each time)."""
        if not isinstance(attr_val, torch.Tensor):
            return attr_val
        if self._names is None:
            self._names = {}
            for name, tensor in [*self.root.named_buffers(), *self.root.named_parameters()]:
                self._names.setdefault(id(tensor), name)
        name = self._names.get(id(attr_val))
        if name is None:
            return attr_val
        if name not in parameter_proxy_cache:
            parameter_proxy_cache[name] = self.create_proxy("get_attr", name, (), {})
        return parameter_proxy_cache[name]

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return self._is_leaf(m)

    def to_bool(self, obj: fx.Proxy) -> bool:
        return bool(self._evaluate(obj.node, "a Python condition"))

    def _evaluate(self, node: fx.Node, what: str) -> Any:
        graph = fx.Graph()
        env: dict[fx.Node, fx.Node] = {}
        for n in self.graph.nodes:
            env[n] = graph.node_copy(n, lambda a: env[a])
            if n is node:
                break
        graph.output(env[node])
        gm = fx.GraphModule(self.root, graph)
        results = []
        with torch.no_grad(), _maybe_revert_all_patches():
            for examples in self.example_sets:
                results.append(gm(*examples, *self.fixed_values))
        first = results[0]
        if isinstance(first, torch.Tensor):
            same = all(isinstance(r, torch.Tensor) and torch.equal(r, first) for r in results[1:])
        else:
            same = all(r == first for r in results[1:])
        if not same:
            raise DataDependent(f"{what} ({node.format_node()}) depends on the values of the input, so the "
                                "model has no single graph; move the branch out of forward or make it a tensor op")
        return first


def forward_inputs(module: nn.Module, count: int) -> tuple[list[str], dict[str, Any]]:
    """The names of the first `count` forward parameters (the inputs) and fixed values for the rest."""
    params = [p for p in inspect.signature(module.forward).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if any(p.kind == p.VAR_POSITIONAL for p in inspect.signature(module.forward).parameters.values()) \
            and len(params) < count:
        raise GraphError(f"{type(module).__name__}.forward takes *args; DeepWire needs named inputs")
    if len(params) < count:
        raise GraphError(f"{type(module).__name__}.forward takes {len(params)} input(s) but "
                         f"{count} shape(s) were given")
    fixed = {p.name: (None if p.default is p.empty else p.default) for p in params[count:]}
    return [p.name for p in params[:count]], fixed


def example_sets(module: nn.Module, shapes: Sequence[Sequence[int]], fixed: dict[str, Any],
                 names: list[str], batch_axes: Sequence[int] | None = None) -> tuple[list[tuple], bool]:
    """Two different example batches (batch 2, at each input's batch axis), float or token ids as the model
    needs, and whether the model also runs on meta tensors (shapes only, much faster than computing a large
    model's outputs)."""
    axes = list(batch_axes or [0] * len(shapes))
    dims = [tuple([int(d) for d in s][:a] + [2] + [int(d) for d in s][a:]) for s, a in zip(shapes, axes, strict=True)]
    gen = torch.Generator().manual_seed(0)
    floats = [torch.randn(d, generator=gen) for d in dims]
    error: Exception | None = None
    for kinds in _dtype_choices(len(dims)):
        first = tuple(f if k == "float" else torch.zeros(d, dtype=torch.long)
                      for f, k, d in zip(floats, kinds, dims, strict=True))
        second = tuple(-f * 2 + 1 if k == "float" else torch.ones(d, dtype=torch.long)
                       for f, k, d in zip(floats, kinds, dims, strict=True))
        recurrent = any(isinstance(m, nn.RNNBase) for m in module.modules())
        meta_first = not recurrent or sum(p.numel() for p in module.parameters()) >= META_FROM
        for meta in (True, False) if meta_first else (False,):
            try:
                with torch.no_grad(), on_device(module, meta):
                    module(**dict(zip(names, to_meta(first) if meta else first, strict=True)), **fixed)
            except Exception as exc:  # noqa: BLE001  the next choice may fit; the last error is reported
                error = exc
                continue
            return [first, second], meta
    hint = ""
    if any(isinstance(m, nn.RNNBase | nn.MultiheadAttention | nn.TransformerEncoderLayer) for m in module.modules()) \
            and not any(axes):
        hint = ("; if an input is sequence-first, (T, N, ...), mark the batch position with the letter N: "
                "--input-shape T,N,... (batch_axes=[1] in Python)")
    raise GraphError(f"{type(module).__name__} does not run on inputs of shape "
                     f"{[tuple(s) for s in shapes]} (batch 2): {_first_line(error)}{hint}")


def to_meta(tensors: tuple) -> tuple:
    return tuple(t.to("meta") for t in tensors)


@contextlib.contextmanager
def on_device(module: nn.Module, meta: bool):
    """Within: the module's parameters and buffers are shape-only meta tensors (when `meta`)."""
    if not meta:
        yield
        return
    state = {k: torch.empty_like(v, device="meta") for k, v in module.named_parameters(remove_duplicate=False)}
    state.update({k: torch.empty_like(v, device="meta") for k, v in module.named_buffers(remove_duplicate=False)
                  if v is not None})
    with _reparametrize_module(module, state):
        yield


def _dtype_choices(count: int) -> list[tuple[str, ...]]:
    choices = [("float",) * count, ("long",) * count]
    if count > 1:
        for mask in range(1, 2 ** count - 1):
            choices.append(tuple("long" if mask >> i & 1 else "float" for i in range(count)))
    return choices


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def trace(module: nn.Module, is_leaf: Callable[[nn.Module], bool], names: list[str], fixed: dict[str, Any],
          examples: list[tuple], stack_traces: bool = False) -> fx.GraphModule:
    """The traced graph of `module` with `fixed` arguments specialised; GraphError when it cannot be traced."""
    tracer = ImportTracer(is_leaf, examples, stack_traces)
    tracer.fixed_values = tuple(fixed.values())
    try:
        graph = tracer.trace(module, concrete_args=fixed or None)
    except Exception as exc:  # noqa: BLE001  data-dependent control flow and the like
        raise GraphError(f"torch.fx cannot trace {type(module).__name__}: {_first_line(exc)}") from None
    gm = fx.GraphModule(tracer.root, graph, class_name=type(module).__name__)
    gm.graph.eliminate_dead_code()
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            node.meta["dw_input"] = node.target in names
    return gm


class Recorder(fx.Interpreter):
    """Runs the traced graph once, storing each node's shape (tensors) or value (everything else).

    Tensors that do not depend on the inputs' data (parameters and what is computed from them alone)
    are kept in `meta['dw_tensor']`: they become learned or fixed tensors in the project.
    """

    def __init__(self, gm: fx.GraphModule):
        super().__init__(gm)
        self.data_nodes = _data_dependent(gm)

    def record(self, examples: tuple, fixed: tuple, meta: bool) -> None:
        """Run on `examples` (on meta tensors when `meta`), then compute the stored tensors for real."""
        with torch.no_grad(), on_device(self.module, meta):
            self.run(*(to_meta(examples) if meta else examples), *fixed)
        env: dict[fx.Node, Any] = {}
        with torch.no_grad():
            for n in self.module.graph.nodes:
                if "dw_value" in n.meta:
                    env[n] = n.meta["dw_value"]
                elif n not in self.data_nodes and n.op not in ("placeholder", "output"):
                    args, kwargs = fx.node.map_arg((n.args, n.kwargs), lambda a: env.get(a))
                    env[n] = getattr(self, n.op)(n.target, args, kwargs)
                    if isinstance(env[n], torch.Tensor):
                        n.meta["dw_tensor"] = env[n].detach()

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        n.meta["dw_data"] = n in self.data_nodes
        if isinstance(result, torch.Tensor):
            n.meta["dw_shape"], n.meta["dw_dtype"] = tuple(result.shape), result.dtype
        elif not _has_tensor(result):
            n.meta["dw_value"] = result
        else:
            n.meta["dw_parts"] = result
        return result


def _data_dependent(gm: fx.GraphModule) -> set[fx.Node]:
    """Nodes whose tensors carry input data: inputs and what tensors flow from them (sizes do not count)."""
    found: set[fx.Node] = set()
    for n in gm.graph.nodes:
        if n.op == "placeholder" and n.meta.get("dw_input"):
            found.add(n)
        elif n.op in ("call_module", "call_function", "call_method") and any(a in found for a in n.all_input_nodes):
            if n.target not in ("size", "dim") and not (n.target is getattr and n.args[1] in ("shape", "ndim")):
                found.add(n)
    return found


def user_frames(node: fx.Node) -> list[str]:
    """'file.py:LINE' of each model-code frame that made a node traced with stack traces, outermost first."""
    frames = []
    for line in (node.stack_trace or "").splitlines():
        line = line.strip()
        if line.startswith("File ") and _TORCH_DIR not in line:
            parts = line.split('"')
            where = parts[1] if len(parts) > 2 else ""
            frames.append(f"{Path(where).name}:{line.split('line ')[-1].split(',')[0]}")
    return frames


def source_line(node: fx.Node) -> str:
    """'file.py:LINE' of the model code that made a node traced with stack traces ('' when unknown)."""
    frames = user_frames(node)
    return frames[-1] if frames else ""


def _has_tensor(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, tuple | list):
        return any(_has_tensor(v) for v in value)
    if isinstance(value, dict):
        return any(_has_tensor(v) for v in value.values())
    return False
