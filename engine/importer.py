"""torch.nn.Module -> DeepWire project: trace with torch.fx for the given input shapes and map every
operation to a layer spec, keeping the module's weights.

`import_model` returns the project, its weights per node and every operation it could not map (each
became a Placeholder node that keeps its shapes); `import_module` returns just the project and raises
GraphError listing those operations instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import operator
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn
from torch.nn import functional as F

from engine import importer_map as M
from engine.errors import GraphError
from engine.graph import Edge, Graph
from engine.importer_map import HIDDEN, LSTM_STATE, MHA_OUT, RNN_OUT, SEQ, STALE, Mapped, Unmappable
from engine.importer_report import ImportProblem, ImportWarning, format_report
from engine.importer_trace import Recorder, example_sets, forward_inputs, source_line, trace
from engine.layers.split import MAX_PIECES

TENSOR_KINDS = ("tensor", SEQ)
SEQ_SAFE = {"Embedding", "Dense", "LayerNorm", "Dropout", "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "ReLU6",
            "Hardswish", "Hardsigmoid", "Mish", "ScaleShift", "DropPath"}
"""Layers that act on the last dim or on each value alone, so they may read a sequence-first tensor."""


@dataclass
class Value:
    """What an fx node stands for: a DeepWire node's output (possibly sequence-first, (T, N, ...)), a part
    of a tuple-returning layer's result, a constant, a stored tensor, or the pieces of a split."""

    node_id: str = ""
    kind: str = "tensor"
    seq_first: bool = False
    const: Any = None
    tensor: torch.Tensor | None = None
    sources: tuple[Any, ...] = ()
    """For stored tensors: the parameters / buffers it was computed from."""
    pieces: int = 0
    """For the tuple a split returns: how many pieces (each an output port of the Split node)."""
    port: str = "out"
    """The output port of `node_id` this value leaves from (a Split's piece)."""


@dataclass
class Imported:
    """The result of an import: the project, the original weights of each node, and what did not map."""

    graph: Graph
    weights: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    """node id -> {name inside the node's built module: tensor}."""
    problems: list[ImportProblem] = field(default_factory=list)
    warnings: list[ImportWarning] = field(default_factory=list)

    def report(self) -> str:
        return format_report(self.graph.name, self.problems, self.warnings)


def import_module(module: nn.Module, input_shapes: Sequence[Sequence[int]], name: str | None = None,
                  task: str | None = None, output: str | int | None = None) -> Graph:
    """The DeepWire project equivalent to `module`; GraphError listing every operation that does not map."""
    imported = import_model(module, input_shapes, name, task, output)
    if imported.problems:
        raise GraphError(imported.report())
    return imported.graph


def import_model(module: nn.Module, input_shapes: Sequence[Sequence[int]], name: str | None = None,
                 task: str | None = None, output: str | int | None = None, layout: bool = True,
                 batch_axes: Sequence[int] | None = None) -> Imported:
    """Import `module` given each input's per-sample shape (no batch dim).

    Forward arguments after those inputs are fixed to their defaults (None without one). An input read by
    an Embedding becomes a token input; `task` sets the Output nodes' task (default: multiclass for a last
    dim >= 2, else regression); `output` picks one entry (key or index) of a dict or tuple result.
    `batch_axes` gives, per input, where the model expects the batch: 0 (the default) or 1 for a
    sequence-first (T, N, ...) input; the project itself takes every input batch-first.
    """
    axes = check_batch_axes(batch_axes, len(input_shapes))
    was_training = module.training
    module.eval()
    try:
        names, fixed = forward_inputs(module, len(input_shapes))
        examples, meta = example_sets(module, input_shapes, fixed, names, axes)
        gm = trace(module, M.is_leaf, names, fixed, examples, stack_traces=True)
        try:
            Recorder(gm).record(examples[0], tuple(fixed.values()), meta)
        except Exception as exc:  # noqa: BLE001
            raise GraphError(f"{type(module).__name__} does not run on inputs of shape "
                             f"{[tuple(s) for s in input_shapes]} after tracing: {exc}") from None
        builder = _Builder(gm, name or type(module).__name__, task, output, dict(zip(names, axes, strict=True)))
        imported = builder.build()
        builder.training_branches(module, names, fixed, examples)
        if imported.problems:
            lines = {n.name: source_line(n) for n in gm.graph.nodes}
            for problem in imported.problems:
                problem.source = lines.get(problem.fx_name, "")
                node = imported.graph.nodes.get(problem.node_id)
                if node is not None and node.type == "Placeholder":
                    node.params["source"] = problem.source
    finally:
        module.train(was_training)
    if layout:
        from engine.importer_layout import arrange

        arrange(imported.graph)
    return imported


def _describe(node: fx.Node, gm: fx.GraphModule) -> str:
    if node.op == "call_module":
        return f"module {type(gm.get_submodule(node.target)).__name__}"
    if node.op == "get_attr":
        return "stored tensor"
    target = node.target
    if isinstance(target, str):
        return f"method .{target}()"
    owner = getattr(target, "__module__", "") or ""
    short = {"torch.nn.functional": "F", "_operator": "operator", "torch._C._nn": "F",
             "torch._C._VariableFunctions": "torch"}.get(owner, owner)
    return f"{short}.{getattr(target, '__name__', str(target))}" if short else getattr(target, "__name__", str(target))


def _module_path(node: fx.Node) -> str:
    """The qualified name of the module whose forward made `node` ('' at the top level)."""
    if node.op == "call_module":
        return node.target.rpartition(".")[0]
    stack = node.meta.get("nn_module_stack") or {}
    paths = [v[0] if isinstance(v, tuple) else str(v) for v in stack.values()]
    return paths[-1] if paths else ""


class _Builder:
    """Walks the traced graph in order, adding one DeepWire node (or none, or a few) per operation."""

    def __init__(self, gm: fx.GraphModule, name: str, task: str | None, output: str | int | None,
                 batch_axes: dict[str, int]):
        self.gm, self.task, self.output_key, self.batch_axes = gm, task, output, batch_axes
        self.result = Imported(Graph(name=name))
        self.graph = self.result.graph
        self.values: dict[fx.Node, Value] = {}
        self.owners: dict[int, tuple[str, str]] = {}
        """id of a source parameter -> (node id, weight name) of the node that holds it."""
        self.paths: dict[str, str] = {}
        """DeepWire node id -> module path it came from (for groups)."""
        self.classes: dict[str, str] = {}
        """Module path -> its class name."""
        self.first_input: str | None = None
        self.current: fx.Node | None = None
        self.params = {id(p) for p in gm.parameters()}

    def build(self) -> Imported:
        for node in self.gm.graph.nodes:
            self.current = node
            try:
                self.visit(node)
            except Unmappable as exc:
                self.placeholder(node, str(exc))
        from engine.importer_layout import module_groups

        self.graph.groups = module_groups(self.graph, self.paths, self.classes)
        return self.result

    # ---- graph edits ----------------------------------------------------------------------
    def add(self, type_id: str, name: str, params: dict | None = None, inputs: Sequence[Any] = (),
            ports: Sequence[str] | None = None, weights: dict | None = None) -> str:
        """Add a node fed by `inputs` (fx nodes, node ids, or (node id, output port) of a Split's piece)."""
        ids = [self.tensor(src) if not isinstance(src, str | tuple) else src for src in inputs]
        try:
            node = self.graph.add_node(type_id, name=name, params=params or {})
        except GraphError as exc:  # a value outside the layer's allowed range
            raise Unmappable(str(exc)) from None
        try:
            for i, src in enumerate(ids):
                src, src_port = src if isinstance(src, tuple) else (src, "out")
                self.graph.connect(src, node.id, src_port, dst_port=ports[i] if ports else "in")
            if weights:
                self.set_weights(node.id, weights)
        except (GraphError, Unmappable) as exc:
            self.graph.remove_node(node.id)
            raise Unmappable(str(exc)) from None
        if self.current is not None:
            self.paths[node.id] = _module_path(self.current)
            for path, cls in (self.current.meta.get("nn_module_stack") or {}).values():
                self.classes.setdefault(path, getattr(cls, "__name__", str(cls).rpartition(".")[2]))
        return node.id

    def set_weights(self, nid: str, weights: dict[str, torch.Tensor]) -> None:
        """Record a node's weights; weights already held by another node make this one share (or tie) them."""
        node = self.graph.nodes[nid]
        owners = {self.owners.get(id(t)) for t in weights.values() if id(t) in self.params}
        owners.discard(None)
        if owners:
            owner_ids = {o[0] for o in owners}
            owner = self.graph.nodes[next(iter(owner_ids))]
            if len(owner_ids) == 1 and owner.type == node.type and owner.params == node.params \
                    and len(owners) == len([t for t in weights.values() if id(t) in self.params]):
                node.shares = owner.id
                return
            if len(owner_ids) == 1 and _tie_allowed(node.type, owner.type) and owner.type != node.type:
                node.shares = owner.id
            else:
                raise Unmappable("shares some weights, but not all, with another layer")
        for key, tensor in weights.items():
            if id(tensor) in self.params:
                self.owners.setdefault(id(tensor), (nid, key))
        self.result.weights[nid] = dict(weights)

    def tensor(self, arg: Any) -> str | tuple[str, str]:
        """Where the layer output `arg` leaves: a node id, or (node id, port) for a piece of a Split."""
        value = self.values.get(arg) if isinstance(arg, fx.Node) else None
        if value is None:
            raise Unmappable(f"takes {arg!r}, which is not the output of a mapped layer")
        if value.kind == "learned":
            raise Unmappable("uses a stored tensor where a layer output is needed")
        if value.kind == STALE:
            raise Unmappable("uses both the full sequence and the last step of one recurrent layer")
        if value.kind == "pieces":
            raise Unmappable("uses all the pieces of a split as one value (take them one by one: a, b = ...)")
        if value.kind not in TENSOR_KINDS:
            raise Unmappable("uses the raw (output, state) tuple of a recurrent or attention layer")
        return value.node_id if value.port == "out" else (value.node_id, value.port)

    def value(self, arg: Any) -> Value | None:
        return self.values.get(arg) if isinstance(arg, fx.Node) else None

    def resolve(self, obj: Any) -> Any:
        """Args with constants (sizes, flags) replaced by their values; tensor nodes stay nodes."""
        def one(a: fx.Node) -> Any:
            v = self.values.get(a)
            return v.const if v is not None and v.kind == "const" else a
        return fx.node.map_arg(obj, one)

    def shape(self, node: Any) -> tuple[int, ...]:
        """Shape of a tensor node as DeepWire sees it (batch first)."""
        shape = node.meta.get("dw_shape") if isinstance(node, fx.Node) else None
        if shape is None:
            raise Unmappable("its input is not a tensor")
        value = self.values.get(node)
        if value is not None and value.seq_first:
            return (shape[1], shape[0], *shape[2:])
        return tuple(shape)

    def alias(self, node: fx.Node, src: Any, kind: str = "tensor") -> None:
        self.tensor(src)
        old = self.values[src]
        self.values[node] = Value(old.node_id, kind, seq_first=old.seq_first, port=old.port)

    def placeholder(self, node: fx.Node, reason: str) -> None:
        """An operation that does not map becomes a Placeholder keeping its output shape and weight count."""
        what = _describe(node, self.gm)
        self.result.problems.append(ImportProblem(what, reason, node.name))
        if node.op in ("placeholder", "output"):
            return
        inputs = [a for a in node.all_input_nodes
                  if (v := self.values.get(a)) is not None and v.kind in TENSOR_KINDS and v.node_id]
        if not inputs and self.first_input is None:
            return
        shape = node.meta.get("dw_shape")
        if shape is None:
            shapes = [t.shape for t in _tensors(node.meta.get("dw_parts"))]
            shape = tuple(shapes[0]) if shapes else (0, 1)
        count = 0
        if node.op == "call_module":
            count = sum(p.numel() for p in self.gm.get_submodule(node.target).parameters())
        else:
            count = sum(v.tensor.numel() for a in node.all_input_nodes
                        if (v := self.values.get(a)) is not None and v.kind == "learned" and v.tensor is not None
                        and any(isinstance(s, nn.Parameter) for s in v.sources))
        params = {"op": what, "out_shape": [max(0, int(d)) for d in shape[1:]] or [1], "param_count": min(count, 2**31 - 1)}
        name = node.target if node.op == "call_module" else node.name
        nid = self.add("Placeholder", name, params, inputs or [self.first_input])
        self.result.problems[-1].node_id = nid
        self.values[node] = Value(nid)

    # ---- visiting -------------------------------------------------------------------------
    def visit(self, node: fx.Node) -> None:
        meta = node.meta
        if node.op == "placeholder":
            self.input(node)
        elif node.op == "output":
            self.output(node)
        elif node.op == "get_attr":
            attr = _fetch(self.gm, node.target)
            tensor = meta.get("dw_tensor", attr if isinstance(attr, torch.Tensor) else None)
            self.values[node] = Value(kind="learned", tensor=tensor, sources=(attr,)) if tensor is not None \
                else Value(kind="const", const=attr)
        elif "dw_value" in meta:
            self.values[node] = Value(kind="const", const=meta["dw_value"])
        elif "dw_tensor" in meta and node.op != "call_module":
            self.learned(node)
        elif node.op == "call_module":
            self.call_module(node)
        else:
            self.call_function(node)

    def input(self, node: fx.Node) -> None:
        if not node.meta.get("dw_input"):
            self.values[node] = Value(kind="const", const=node.meta.get("dw_value"))
            return
        real = node.meta["dw_shape"]
        seq_first = self.batch_axes.get(node.target, 0) == 1
        shape = (real[0], *real[2:]) if seq_first else real[1:]
        nid = self.add("Input", node.name, _input_params(shape, node.meta["dw_dtype"]))
        self.first_input = self.first_input or nid
        if seq_first:
            self.result.warnings.append(ImportWarning(
                "sequence-first input", f"the model reads input '{node.target}' as (T, N, ...); the project takes it "
                f"batch-first, (N, T, ...), and gives sequence-first results batch-first too"))
        self.values[node] = Value(nid, seq_first=seq_first)

    def learned(self, node: fx.Node) -> None:
        """A tensor computed from stored tensors alone (a reshaped scale, a sliced table, an expanded token)."""
        sources = tuple(s for a in node.all_input_nodes if (v := self.values.get(a)) for s in v.sources)
        tensor = node.meta["dw_tensor"]
        if node.target in ("expand", "expand_as", "repeat"):
            base = self.values.get(node.args[0])
            if base is not None and base.kind == "learned" and base.tensor is not None \
                    and base.tensor.dim() == tensor.dim() and base.tensor.shape[0] == 1:
                tensor = base.tensor.expand(1, *tensor.shape[1:])
        self.values[node] = Value(kind="learned", tensor=tensor, sources=sources)

    def output(self, node: fx.Node) -> None:
        result = node.args[0]
        key = self.output_key
        if key is not None:
            result = _pick(result, key)
        if isinstance(result, dict):
            items = [(str(k), v) for k, v in result.items()]
        elif isinstance(result, tuple | list):
            items = [(str(i + 1), v) for i, v in enumerate(result)]
        else:
            items = [("", result)]
        for label, out in items:
            if not isinstance(out, fx.Node) or self.values.get(out) is None \
                    or self.values[out].kind not in TENSOR_KINDS:
                raise Unmappable(f"the model returns {'a dict' if isinstance(result, dict) else 'a tuple'} whose "
                                 f"entry {label!r} is not a tensor; pick the tensor to keep with --output KEY")
            value = self.values[out]
            if value.seq_first and 1 not in self.batch_axes.values():
                raise Unmappable("the model returns a sequence-first (T, N, ...) tensor from batch-first inputs")
            shape = self.shape(out)
            task = self.task or ("multiclass" if len(shape) >= 2 and shape[-1] >= 2 else "regression")
            self.current = None
            self.add("Output", "output" if len(items) == 1 else f"output_{label}", {"task": task}, [out])

    # ---- modules -------------------------------------------------------------------------
    def call_module(self, node: fx.Node) -> None:
        module = self.gm.get_submodule(node.target)
        if isinstance(module, nn.Identity):
            self.alias(node, node.args[0])
            return
        src = self.value(node.args[0])
        seq_first = src is not None and src.seq_first
        mapped = M.map_module(module, self.shape(node.args[0]))
        args = self.resolve(node.args)
        inputs: list[Any] = [a for a in args if isinstance(a, fx.Node)]
        ports = mapped.ports
        batch_first = _batch_first(module)
        if batch_first is not None:
            if batch_first == seq_first:
                raise Unmappable(self.layout_mismatch(node, batch_first))
            extra = list(args[1:]) + [v for k, v in node.kwargs.items() if k not in ("need_weights",)]
            if mapped.type_id == "MultiHeadAttention" and isinstance(module, nn.MultiheadAttention):
                inputs, ports = _attention_inputs(node, args)
                extra = [node.kwargs.get(k) for k in ("key_padding_mask", "attn_mask")]
            else:
                inputs = [args[0]]
            if any(e is not None and e is not False for e in extra):
                raise Unmappable("masks and extra arguments of attention layers do not map")
        elif seq_first and mapped.type_id not in SEQ_SAFE:
            raise Unmappable(f"{mapped.type_id} gets a sequence-first (T, N, ...) tensor")
        weights = mapped.weights if mapped.weights is not None else _module_weights(module)
        if mapped.type_id == "Dense" and len(self.shape(node.args[0])) > 3:
            self.dense_on_maps(node, node.target, mapped.params, weights)
            return
        nid = self.add(mapped.type_id, node.target, mapped.params, inputs, ports, weights)
        for extra_type, extra_params, extra_weights in mapped.after:
            nid = self.add(extra_type, f"{node.target}.{extra_type.lower()}", extra_params, [nid],
                           weights=extra_weights)
        kind = mapped.kind
        self.values[node] = Value(nid, kind, seq_first=seq_first)

    def training_branches(self, module: nn.Module, names: list[str], fixed: dict, examples: list[tuple]) -> None:
        """Compare with a training-mode trace: a training-only dropout on a value becomes a Dropout node after
        it; every other difference becomes a named warning with its source line (engine/importer_training)."""
        from engine.importer_layout import module_groups
        from engine.importer_training import compare_modes, dropout_type, report

        found = compare_modes(module, self.gm, names, fixed, examples)
        if isinstance(found, str):
            self.result.warnings.append(ImportWarning(
                "training mode", f"the model does not trace in training mode ({found}), so code under "
                "`if self.training:` is not checked"))
            return
        mapped: dict[fx.Node, str] = {}
        for n in found.train_only:
            drop = dropout_type(n, module)
            source = n.args[0] if n.args else None
            twin = found.twins.get(source)
            if drop is None or twin is None or len(source.users) != 1 or \
                    (v := self.values.get(twin)) is None or v.kind not in TENSOR_KINDS:
                continue
            if v.seq_first and drop[0] == "Dropout2d":
                continue
            mapped[n] = self.insert_after(v, drop[0], {"p": drop[1]}, n)
        if mapped:
            self.graph.groups = module_groups(self.graph, self.paths, self.classes)
        self.result.warnings += report(found, mapped)

    def insert_after(self, value: Value, type_id: str, params: dict, made_by: fx.Node) -> str:
        """A new node on every wire leaving `value` (its node and port); returns the new node's name."""
        leaving = {i for i, e in enumerate(self.graph.edges) if e.src == value.node_id and e.src_port == value.port}
        name = made_by.target if made_by.op == "call_module" else made_by.name
        self.current = made_by
        nid = self.add(type_id, name, params, [value.node_id if value.port == "out" else (value.node_id, value.port)])
        self.graph.edges = [Edge(nid, "out", e.dst, e.dst_port) if i in leaving else e  # in place: wire order counts
                            for i, e in enumerate(self.graph.edges)]
        return self.graph.nodes[nid].name

    def layout_mismatch(self, node: fx.Node, batch_first: bool) -> str:
        """Why a batch_first=False layer cannot read this tensor (or the reverse), naming the inputs behind it."""
        if batch_first:
            return "a batch-first layer reads a sequence-first (T, N, ...) tensor"
        inputs = sorted({n.target for n in _inputs_behind(node.args[0]) if self.batch_axes.get(n.target, 0) == 0})
        named = ", ".join(f"'{n}'" for n in inputs) or "the input"
        return (f"{type(self.gm.get_submodule(node.target)).__name__} '{node.target}' is sequence-first "
                f"(batch_first=False) but reads {named} as batch-first; if the model takes {named} as (T, N, ...), "
                "say where the batch is: --input-shape T,N,... with the letter N at the batch position "
                "(batch_axes=[1] in Python)")

    def dense_on_maps(self, node: fx.Node, name: str, params: dict, weights: dict) -> None:
        """A Linear applied to the last dim of a channels-last map (N, H, W, C), as ConvNeXt does: Dense
        layers take (N, T, F), so the map is flattened to (N, H*W, C) around it and restored after."""
        src = node.args[0]
        shape = self.shape(src)
        if self.values[src].seq_first:
            raise Unmappable("Dense on a sequence-first tensor of more than 3 dims")
        flat = self.add("Reshape", f"{name}.flatten", {"shape": [-1, shape[-1]]}, [src])
        dense = self.add("Dense", name, params, [flat], weights=weights)
        out = self.add("Reshape", f"{name}.unflatten", {"shape": [*shape[1:-1], params["units"]]}, [dense])
        self.values[node] = Value(out)

    # ---- functions and methods ----------------------------------------------------------
    def call_function(self, node: fx.Node) -> None:
        fn = node.target
        args, kwargs = self.resolve(node.args), self.resolve(node.kwargs)
        if fn is operator.getitem:
            self.getitem(node, args)
        elif fn in ("size", "dim") or fn is getattr:
            raise Unmappable(f"reads {args[1] if len(args) > 1 else fn!r} of a tensor in a way that does not map")
        elif fn in M.SAME or (fn in (F.dropout, F.dropout2d, "dropout") and _arg(args, kwargs, 1, "p", 0.5) == 0):
            self.alias(node, args[0])
        elif fn in M.ADD or fn in M.SUB or fn in M.MUL or fn in M.DIV or fn in (operator.neg, torch.neg, "neg",
                                                                                   torch.rsub):
            self.arithmetic(node, args, kwargs)
        elif fn is torch.cat or fn is torch.concat:
            self.concat(node, args, kwargs)
        elif fn in ("chunk", torch.chunk, "split", torch.split, "unbind", torch.unbind, "tensor_split",
                    torch.tensor_split):
            self.split(node, args, kwargs)
        elif fn in M.PERMUTES:
            self.permute(node, args)
        elif fn is F.layer_norm:
            self.layer_norm(node, args, kwargs)
        elif fn is F.batch_norm:
            self.batch_norm(node, args, kwargs)
        elif fn is F.linear:
            self.linear(node, args, kwargs)
        else:
            self.simple(node, args, kwargs)

    def simple(self, node: fx.Node, args: tuple, kwargs: dict) -> None:
        """One input tensor -> one node whose params come from the call's arguments."""
        fn = node.target
        src = args[0] if args else kwargs.get("input")
        value = self.value(src)
        if value is None or value.kind not in TENSOR_KINDS:
            raise Unmappable("no DeepWire layer does this")
        in_shape, out_shape = self.shape(src), tuple(node.meta.get("dw_shape") or ())
        seq_first = value.seq_first
        mapped = self.map_simple(fn, args, kwargs, in_shape, out_shape, seq_first)
        if mapped is None:
            self.alias(node, src)
            return
        if seq_first and mapped.type_id not in SEQ_SAFE and not mapped.params.pop("_seq_ok", False):
            raise Unmappable(f"{mapped.type_id} on a sequence-first (T, N, ...) tensor")
        mapped.params.pop("_seq_ok", None)
        nid = self.add(mapped.type_id, node.name, mapped.params, [src])
        self.values[node] = Value(nid, seq_first=seq_first and not mapped.kind == "batch_first")

    def map_simple(self, fn: Any, args: tuple, kwargs: dict, in_shape: tuple, out_shape: tuple,
                   seq_first: bool) -> Mapped | None:
        if fn in M.ACTIVATIONS:
            mapped = M.activation(M.ACTIVATIONS[fn], args, kwargs)
            if mapped.type_id in ("Softmax", "LogSoftmax"):
                dim = mapped.params["dim"]
                rank = len(in_shape)
                if seq_first and dim % rank in (0, 1):
                    raise Unmappable("softmax over the time or batch dim of a sequence-first tensor")
                mapped.params["_seq_ok"] = True  # over a feature dim: the same dim in the batch-first view
            return mapped
        if fn in (torch.flatten, "flatten"):
            start, end = _arg(args, kwargs, 1, "start_dim", 0), _arg(args, kwargs, 2, "end_dim", -1)
            if seq_first or start < 1 or end not in (-1, len(in_shape) - 1):
                raise Unmappable("flatten must keep the batch dim (start_dim >= 1) and run to the last dim")
            return Mapped("Flatten", {"start_dim": start})
        if fn in M.VIEWS:
            return _reshape(in_shape, out_shape, seq_first)
        if fn in ("squeeze", torch.squeeze, "unsqueeze", torch.unsqueeze):
            return _squeeze(fn, args, kwargs, in_shape, out_shape, seq_first)
        if fn in M.POOLS:
            type_id, kind = M.POOLS[fn]
            names = ("kernel_size", "stride", "padding", "dilation", "ceil_mode") if kind == "Max" else \
                ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")
            values = {n: _arg(args, kwargs, i + 1, n, None) for i, n in enumerate(names)}
            values = {k: v for k, v in values.items() if v is not None}
            if kwargs.get("return_indices") or (len(args) > 6 and kind == "Max" and args[6]):
                raise Unmappable("max pooling that returns indices")
            return Mapped(type_id, M.pool_params(kind, **{("kernel" if k == "kernel_size" else k): v
                                                           for k, v in values.items()}))
        if fn in M.ADAPTIVE:
            return M.adaptive(M.ADAPTIVE[fn], _arg(args, kwargs, 1, "output_size", None), in_shape)
        if fn in M.REDUCTIONS:
            return _reduce(M.REDUCTIONS[fn], args, kwargs, in_shape, seq_first)
        if fn in (F.interpolate, F.upsample):
            return M.interpolate(in_shape, _arg(args, kwargs, 1, "size", None),
                                 _arg(args, kwargs, 2, "scale_factor", None), _arg(args, kwargs, 3, "mode", "nearest"),
                                 _arg(args, kwargs, 4, "align_corners", None))
        if fn in (F.dropout, F.dropout2d, "dropout", F.alpha_dropout):
            p = _arg(args, kwargs, 1, "p", 0.5)
            return Mapped("Dropout2d" if fn is F.dropout2d else "Dropout", {"p": p})
        if fn in (F.channel_shuffle, torch.channel_shuffle, F.native_channel_shuffle):
            return Mapped("ChannelShuffle", {"groups": int(_arg(args, kwargs, 1, "groups", 1))})
        raise Unmappable("no DeepWire layer does this")

    # ---- structure: arithmetic, joins, splits, indexing, axes -----------------------------
    def arithmetic(self, node: fx.Node, args: tuple, kwargs: dict) -> None:
        fn = node.target
        if fn in (operator.neg, torch.neg, "neg"):
            self.scale_shift(node, args[0], -1.0, 0.0)
            return
        a, b = args[0], args[1] if len(args) > 1 else kwargs.get("other")
        if fn is torch.rsub:
            a, b, fn = b, a, operator.sub
        alpha = kwargs.get("alpha", 1)
        if kwargs.get("rounding_mode") is not None:
            raise Unmappable("division with rounding")
        va, vb = self.value(a), self.value(b)
        numbers = (int, float, bool)
        if isinstance(b, numbers) and va is not None and va.kind in TENSOR_KINDS:
            scale, shift = _number_op(fn, float(b) * alpha, first=True)
            self.scale_shift(node, a, scale, shift)
        elif isinstance(a, numbers) and vb is not None and vb.kind in TENSOR_KINDS:
            if fn in M.DIV:
                raise Unmappable("dividing a number by a tensor has no layer")
            scale, shift = _number_op(fn, float(a), first=False)
            self.scale_shift(node, b, scale * (alpha if fn in M.SUB | M.ADD else 1), shift)
        elif va is not None and vb is not None:
            if fn in M.DIV:
                raise Unmappable("dividing two tensors has no layer")
            if alpha != 1:
                raise Unmappable("add/sub with alpha")
            ref = a if va.kind in TENSOR_KINDS else b
            ids = [self.operand(x, ref) for x in (a, b)]
            if fn in M.SUB:
                ids[1] = self.add("ScaleShift", f"{node.name}_negate", {"scale": -1.0, "shift": 0.0}, [ids[1]])
            type_id = "Multiply" if fn in M.MUL else "Add"
            seq_first = self.values[ref].seq_first
            self.values[node] = Value(self.add(type_id, node.name, {}, ids), seq_first=seq_first)
        else:
            raise Unmappable("arithmetic on something that is not a tensor")

    def scale_shift(self, node: fx.Node, src: Any, scale: float, shift: float) -> None:
        if not (math.isfinite(scale) and math.isfinite(shift)):
            raise Unmappable("arithmetic with an infinite or undefined number")
        if scale == 1.0 and shift == 0.0:
            self.alias(node, src)
            return
        nid = self.add("ScaleShift", node.name, {"scale": scale, "shift": shift}, [src])
        self.values[node] = Value(nid, seq_first=self.values[src].seq_first)

    def operand(self, arg: Any, ref: Any) -> str:
        """The node id for one operand of a merge: a layer output, or a stored tensor made a Learned Tensor."""
        value = self.value(arg)
        if value is not None and value.kind == "learned":
            return self.materialize(value, ref)
        return self.tensor(arg)

    def materialize(self, value: Value, ref: Any) -> str:
        """A Learned Tensor node for a stored tensor that is combined with the tensor `ref`."""
        ref_value = self.values[ref]
        rank = len(self.shape(ref))
        t = value.tensor
        if t is None or t.dim() > rank:
            raise Unmappable("a stored tensor of a shape that does not broadcast against the batch")
        t = t.reshape((1,) * (rank - t.dim()) + tuple(t.shape))
        if ref_value.seq_first:
            t = t.transpose(0, 1)
        if t.shape[0] != 1:
            raise Unmappable("a stored tensor with a batch dim other than 1")
        shape = list(t.shape[1:])
        learned = any(isinstance(s, nn.Parameter) for s in value.sources)
        params = next((s for s in value.sources if isinstance(s, nn.Parameter)), None)
        data = t.reshape(1, *shape) if shape else t.reshape(1)
        key = params if params is not None and params.shape == data.shape else data.contiguous().clone()
        name = self.current.name if self.current is not None else "learned"
        return self.add("LearnedTensor", f"{name}_tensor", {"shape": shape or [1], "learned": learned}, [ref],
                        weights={"value": key})

    def concat(self, node: fx.Node, args: tuple, kwargs: dict) -> None:
        dim = _arg(args, kwargs, 1, "dim", 0)
        if isinstance(args[0], fx.Node):  # torch.cat(x.chunk(2)): every piece of a split, in order
            value = self.value(args[0])
            if value is None or value.kind != "pieces":
                raise Unmappable("concatenates something that is not a list of tensors")
            axis = _axis(dim, len(node.meta["dw_shape"]), value.seq_first)
            wires = [(value.node_id, f"out{i}") for i in range(value.pieces)]
            self.values[node] = Value(self.add("Concat", node.name, {"axis": axis}, wires), seq_first=value.seq_first)
            return
        tensors = list(args[0])
        refs = [t for t in tensors if (v := self.value(t)) is not None and v.kind in TENSOR_KINDS]
        if not refs:
            raise Unmappable("concatenating stored tensors only")
        seq_first = self.values[refs[0]].seq_first
        if any(self.values[r].seq_first != seq_first for r in refs):
            raise Unmappable("concatenating batch-first and sequence-first tensors")
        rank = len(self.shape(refs[0]))
        axis = _axis(dim, rank, seq_first)
        ids = [self.operand(t, refs[0]) for t in tensors]
        if len(ids) == 1:
            self.alias(node, refs[0])
            return
        self.values[node] = Value(self.add("Concat", node.name, {"axis": axis}, ids), seq_first=seq_first)

    def split(self, node: fx.Node, args: tuple, kwargs: dict) -> None:
        """chunk / split / tensor_split / unbind: one Split node whose output ports are the pieces."""
        src = args[0]
        self.tensor(src)
        value = self.values[src]
        real = node.args[0].meta["dw_shape"]
        unbind = node.target in ("unbind", torch.unbind)
        dim = _arg(args, kwargs, 1 if unbind else 2, "dim", 0) % len(real)
        axis = _axis(dim, len(real), value.seq_first)
        parts = _tensors(node.meta.get("dw_parts"))
        if not parts:
            raise Unmappable("a split into no pieces")
        if len(parts) > MAX_PIECES:
            raise Unmappable(f"a split into {len(parts)} pieces (a Split node has at most {MAX_PIECES})")
        sizes = [1] * len(parts) if unbind else [int(t.shape[dim]) for t in parts]
        params = {"axis": axis, "squeeze": unbind}
        params |= {"chunks": len(sizes), "sizes": []} if len(set(sizes)) == 1 else {"sizes": sizes}
        nid = self.add("Split", node.name, params, [src])
        seq_first = value.seq_first and not (unbind and axis == 0)  # unbinding the time dim leaves (N, ...)
        self.values[node] = Value(nid, "pieces", seq_first=seq_first, pieces=len(sizes))

    def getitem(self, node: fx.Node, args: tuple) -> None:
        src, index = args
        value = self.values.get(src) if isinstance(src, fx.Node) else None
        if value is None:
            raise Unmappable("indexes something that is not a mapped layer output")
        if value.kind == "pieces":
            if not isinstance(index, int) or not -value.pieces <= index < value.pieces:
                raise Unmappable(f"takes pieces {index!r} of a split (only one piece at a time maps)")
            self.values[node] = Value(value.node_id, seq_first=value.seq_first, port=f"out{index % value.pieces}")
        elif value.kind in (RNN_OUT, MHA_OUT) and index == 0:
            self.values[node] = Value(value.node_id, SEQ if value.kind == RNN_OUT else "tensor",
                                      seq_first=value.seq_first)
        elif value.kind == RNN_OUT and index == 1:
            lstm = self.graph.nodes[value.node_id].type == "LSTM"
            self.values[node] = Value(value.node_id, LSTM_STATE if lstm else HIDDEN)  # (layers, N, H) either way
        elif value.kind == LSTM_STATE and index == 0:
            self.values[node] = Value(value.node_id, HIDDEN)
        elif (value.kind == HIDDEN and index == -1) or (value.kind == SEQ and not value.seq_first
                                                         and _is_last_step(index)) \
                or (value.kind == SEQ and value.seq_first and index == -1):
            self.last_step(node, value.node_id)
        elif value.kind in (SEQ, HIDDEN):
            raise Unmappable(f"indexes a recurrent output with {index!r}; only out[:, -1] or h_n[-1] "
                             "(the last step) maps")
        elif value.kind == "tensor" and "dw_shape" not in src.meta:  # a Placeholder stands for a tuple
            if index != 0:
                raise Unmappable(f"takes item {index!r} of the results of an operation that did not map")
            self.alias(node, src)
        elif value.kind == "tensor":
            self.index(node, src, index)
        else:
            raise Unmappable(f"indexing with {index!r} has no layer equivalent")

    def index(self, node: fx.Node, src: fx.Node, index: Any) -> None:
        """x[:, 0], x[:, 1:], x[..., :k]: Select and Slice nodes, one per indexed dim."""
        value = self.values[src]
        real = list(node.args[0].meta["dw_shape"])
        items = list(index) if isinstance(index, tuple) else [index]
        if any(i is None or isinstance(i, fx.Node | torch.Tensor | list) for i in items):
            raise Unmappable(f"indexing with {index!r} (only whole numbers and plain slices map)")
        if Ellipsis in items:
            at = items.index(Ellipsis)
            items = items[:at] + [slice(None)] * (len(real) - len(items) + 1) + items[at + 1:]
        items += [slice(None)] * (len(real) - len(items))
        batch = 1 if value.seq_first else 0
        if items[batch] != slice(None):
            raise Unmappable("indexing the batch dim")
        steps = []
        for dim, item in enumerate(items):
            if item == slice(None):
                continue
            bf = _bf_dim(dim, value.seq_first)
            if isinstance(item, int):
                steps.append((bf, "Select", {"index": item}))
            elif isinstance(item, slice) and item.step in (None, 1):
                start, stop, _ = item.indices(real[dim])
                steps.append((bf, "Slice", {"start": start, "end": 0 if stop == real[dim] else stop}))
            else:
                raise Unmappable(f"indexing with {index!r} (only whole numbers and plain slices map)")
        nid = self.tensor(src)
        seq_first = value.seq_first
        for bf, type_id, params in sorted(steps, key=lambda s: -s[0]):
            nid = self.add(type_id, node.name, {"axis": bf - 1, **params}, [nid])
            if type_id == "Select" and seq_first and bf == 1:
                seq_first = False
        self.values[node] = Value(nid, seq_first=seq_first)

    def last_step(self, node: fx.Node, rnn_id: str) -> None:
        """out[:, -1] or h_n[-1]: the recurrent node emits only its last step."""
        rnn = self.graph.nodes[rnn_id]
        if rnn.params["bidirectional"]:
            raise Unmappable("the last step of a bidirectional layer is not its final state in both directions")
        if self.graph.outgoing(rnn_id) or any(v.node_id == rnn_id and v.kind == "tensor" for v in self.values.values()):
            raise Unmappable("uses both the full sequence and the last step of one recurrent layer")
        rnn.params["return_sequences"] = False
        for value in self.values.values():
            if value.node_id == rnn_id:
                value.kind = STALE
        self.values[node] = Value(rnn_id)

    def permute(self, node: fx.Node, args: tuple) -> None:
        """permute/transpose: a Permute node, or just a change of which dim is the batch (sequence-first)."""
        src = args[0]
        self.tensor(src)
        value = self.values[src]
        rank = len(node.args[0].meta["dw_shape"])
        if node.target in ("transpose", torch.transpose, "t"):
            a, b = (0, 1) if node.target == "t" else (d % rank for d in args[1:3])
            real = list(range(rank))
            real[a], real[b] = real[b], real[a]
        else:
            raw = args[1:] if len(args) > 2 or not isinstance(args[1], tuple | list) else args[1]
            real = [d % rank for d in raw]
        b_in = 1 if value.seq_first else 0
        b_out = real.index(b_in)
        if b_out not in (0, 1) or (b_out == 1 and rank < 3):
            raise Unmappable("permute that moves the batch dim")
        perm = [_bf_dim(real[_bf_dim(k, b_out == 1)], value.seq_first) for k in range(rank)]
        if perm == list(range(rank)):
            self.values[node] = Value(value.node_id, seq_first=b_out == 1, port=value.port)
            return
        nid = self.add("Permute", node.name, {"dims": [d - 1 for d in perm[1:]]}, [src])
        self.values[node] = Value(nid, seq_first=b_out == 1)

    # ---- functional layers with stored weights ---------------------------------------------
    def stored(self, arg: Any, what: str) -> torch.Tensor | None:
        if arg is None:
            return None
        value = self.value(arg)
        if value is None or value.kind != "learned":
            raise Unmappable(f"its {what} is computed from the input, not stored")
        source = value.sources[0] if len(value.sources) == 1 and isinstance(value.sources[0], torch.Tensor) else None
        if source is not None and source.shape == value.tensor.shape:
            return source
        return value.tensor

    def layer_norm(self, node: fx.Node, args: tuple, kwargs: dict) -> None:
        src, shape = args[0], _arg(args, kwargs, 1, "normalized_shape", None)
        weight = self.stored(_arg(args, kwargs, 2, "weight", None), "weight")
        bias = self.stored(_arg(args, kwargs, 3, "bias", None), "bias")
        eps = _arg(args, kwargs, 4, "eps", 1e-5)
        if len(shape) != 1 or (weight is None) != (bias is None):
            raise Unmappable("layer_norm over more than the last dim, or with a weight but no bias")
        affine = weight is not None
        weights = {"weight": weight, "bias": bias} if affine else None
        nid = self.add("LayerNorm", _owner_name(node) or node.name,
                       {"eps": float(eps), "elementwise_affine": affine}, [src], weights=weights)
        self.values[node] = Value(nid, seq_first=self.values[src].seq_first)

    def batch_norm(self, node: fx.Node, args: tuple, kwargs: dict) -> None:
        src = args[0]
        names = ("running_mean", "running_var", "weight", "bias")
        tensors = {n: self.stored(_arg(args, kwargs, i + 1, n, None), n) for i, n in enumerate(names)}
        momentum, eps = _arg(args, kwargs, 6, "momentum", 0.1), _arg(args, kwargs, 7, "eps", 1e-5)
        if tensors["running_mean"] is None or tensors["running_var"] is None:
            raise Unmappable("batch_norm without running statistics")
        if (tensors["weight"] is None) != (tensors["bias"] is None):
            raise Unmappable("batch_norm with a weight but no bias")
        rank = len(self.shape(src))
        if rank not in (2, 3, 4) or self.values[src].seq_first:
            raise Unmappable("batch_norm on a tensor that is not (N, C), (N, C, L) or (N, C, H, W)")
        affine = tensors["weight"] is not None
        weights = {k: v for k, v in tensors.items() if v is not None}
        owner = _owner_name(node)
        tracked = _fetch(self.gm, f"{owner}.num_batches_tracked") if owner else None
        weights["num_batches_tracked"] = tracked if isinstance(tracked, torch.Tensor) else torch.tensor(0)
        type_id = "BatchNorm2d" if rank == 4 else "BatchNorm1d"
        params = {"eps": float(eps), "momentum": 0.1 if momentum in (None, 0.0) else float(momentum), "affine": affine}
        nid = self.add(type_id, owner or node.name, params, [src], weights=weights)
        self.values[node] = Value(nid)

    def linear(self, node: fx.Node, args: tuple, kwargs: dict) -> None:
        src = args[0]
        weight = self.stored(_arg(args, kwargs, 1, "weight", None), "weight")
        bias = self.stored(_arg(args, kwargs, 2, "bias", None), "bias")
        weights = {"weight": weight} | ({"bias": bias} if bias is not None else {})
        params = {"units": int(weight.shape[0]), "bias": bias is not None}
        if len(self.shape(src)) > 3:
            self.dense_on_maps(node, _owner_name(node) or node.name, params, weights)
            return
        nid = self.add("Dense", _owner_name(node) or node.name, params, [src], weights=weights)
        self.values[node] = Value(nid, seq_first=self.values[src].seq_first)


# ---- helpers ---------------------------------------------------------------------------------

def _inputs_behind(node: Any) -> list[fx.Node]:
    """The model inputs (placeholders) a value is computed from."""
    seen, stack, found = set(), [node], []
    while stack:
        n = stack.pop()
        if not isinstance(n, fx.Node) or n in seen:
            continue
        seen.add(n)
        if n.op == "placeholder" and n.meta.get("dw_input"):
            found.append(n)
        stack.extend(n.all_input_nodes)
    return found


def check_batch_axes(batch_axes: Sequence[int] | None, count: int) -> list[int]:
    """One batch axis per input, each 0 (batch-first) or 1 (sequence-first); GraphError saying what to give."""
    axes = [0] * count if batch_axes is None else [int(a) for a in batch_axes]
    if len(axes) != count:
        raise GraphError(f"{len(axes)} batch axes for {count} input(s): give one per input")
    if any(a not in (0, 1) for a in axes):
        raise GraphError(f"batch axes {axes}: the batch must be an input's first (0) or second (1) dim")
    return axes


def _tie_allowed(node_type: str, owner_type: str) -> bool:
    from engine.layers.ties import tied_params

    return bool(tied_params(node_type, owner_type))


def _fetch(gm: fx.GraphModule, target: str) -> Any:
    obj: Any = gm
    for part in target.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _owner_name(node: fx.Node) -> str:
    """The module that holds a functional call's weight, e.g. 'blocks.0.norm1' for its get_attr target."""
    for a in node.all_input_nodes:
        if a.op == "get_attr" and a.target.rpartition(".")[0]:
            return a.target.rpartition(".")[0]
    return ""


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, tuple | list):
        return [t for v in value for t in _tensors(v)]
    return []


def _module_weights(module: nn.Module) -> dict[str, torch.Tensor]:
    """A module's parameters and buffers by state-dict name (the tensors themselves, so ties can be seen)."""
    out = dict(module.named_parameters(remove_duplicate=False))
    out.update(dict(module.named_buffers(remove_duplicate=False)))
    state = module.state_dict(keep_vars=True)
    return {k: out.get(k, v) for k, v in state.items()}


def _batch_first(module: nn.Module) -> bool | None:
    """For layers with a batch_first switch, its value; None for the rest."""
    if isinstance(module, nn.MultiheadAttention | nn.RNNBase):
        return module.batch_first
    if isinstance(module, nn.TransformerEncoder):
        return module.layers[0].self_attn.batch_first
    return None


def _attention_inputs(node: fx.Node, args: tuple) -> tuple[list, list[str]]:
    q, k, v = (list(args) + [node.kwargs.get(n) for n in ("query", "key", "value")])[:3]
    if k is not v:
        raise Unmappable("attention with different key and value tensors has no layer equivalent")
    return ([q], ["query"]) if k is q else ([q, k], ["query", "key_value"])


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    return M.arg(args, kwargs, index, name, default)


def _pick(result: Any, key: str | int) -> Any:
    if isinstance(result, dict):
        if key in result:
            return result[key]
        if str(key) in result:
            return result[str(key)]
        raise Unmappable(f"the model's output has no key {key!r} (keys: {', '.join(map(str, result))})")
    if isinstance(result, tuple | list):
        try:
            return result[int(key)]
        except (ValueError, IndexError):
            raise Unmappable(f"the model returns {len(result)} values; --output takes an index below "
                             f"{len(result)}") from None
    raise Unmappable("--output picks from a dict or tuple, but the model returns one tensor")


def _number_op(fn: Any, number: float, first: bool) -> tuple[float, float]:
    """(scale, shift) of tensor <op> number (first) or number <op> tensor."""
    if fn in M.ADD:
        return 1.0, number
    if fn in M.SUB:
        return (1.0, -number) if first else (-1.0, number)
    if fn in M.MUL:
        return number, 0.0
    if number == 0:
        raise Unmappable("division by zero")
    return 1.0 / number, 0.0


def _bf_dim(dim: int, seq_first: bool) -> int:
    """A real tensor dim -> the same dim in DeepWire's batch-first view (dims 0 and 1 swap when sequence-first)."""
    return {0: 1, 1: 0}.get(dim, dim) if seq_first else dim


def _axis(dim: int, rank: int, seq_first: bool) -> int:
    bf = _bf_dim(dim % rank, seq_first)
    if bf == 0:
        raise Unmappable("an operation along the batch dim")
    return bf - 1


def _input_params(shape: tuple[int, ...], dtype: torch.dtype) -> dict:
    if dtype in (torch.int64, torch.int32):
        if len(shape) != 1:
            raise Unmappable(f"token inputs must be (N, T), got per-sample shape {shape}")
        return {"kind": "tokens", "seq_len": shape[0]}
    if len(shape) == 1:
        return {"kind": "features", "features": shape[0]}
    if len(shape) == 2:
        return {"kind": "sequence", "seq_len": shape[0], "features": shape[1]}
    if len(shape) == 3:
        return {"kind": "image", "channels": shape[0], "height": shape[1], "width": shape[2]}
    raise Unmappable(f"inputs of per-sample shape {shape} have no Input kind")


def _is_last_step(index: Any) -> bool:
    return (isinstance(index, tuple) and len(index) in (2, 3) and index[0] == slice(None) and index[1] == -1
            and all(i == slice(None) for i in index[2:]))


def _reshape(in_shape: tuple, out_shape: tuple, seq_first: bool) -> Mapped:
    if seq_first:
        raise Unmappable("reshaping a sequence-first (T, N, ...) tensor")
    if not out_shape or out_shape[0] != in_shape[0]:
        raise Unmappable("reshape that changes the batch dim")
    if tuple(out_shape) == tuple(in_shape):
        return None
    if len(out_shape) == 2:
        return Mapped("Flatten", {"start_dim": 1})
    return Mapped("Reshape", {"shape": list(out_shape[1:])})


def _squeeze(fn: Any, args: tuple, kwargs: dict, in_shape: tuple, out_shape: tuple, seq_first: bool) -> Mapped | None:
    if seq_first:
        raise Unmappable("squeezing a sequence-first (T, N, ...) tensor")
    if not out_shape or out_shape[0] != in_shape[0]:
        raise Unmappable("squeeze that removes the batch dim")
    if tuple(out_shape) == tuple(in_shape):
        return None
    dim = _arg(args, kwargs, 1, "dim", None)
    if fn in ("unsqueeze", torch.unsqueeze):
        rank = len(in_shape) + 1
        d = dim % rank
        if d == 0:
            raise Unmappable("unsqueeze in front of the batch dim")
        return Mapped("Unsqueeze", {"axis": d - 1})
    if isinstance(dim, int):
        d = dim % len(in_shape)
        if d == 0:
            raise Unmappable("squeezing the batch dim")
        return Mapped("Squeeze", {"axis": d - 1})
    return Mapped("Reshape", {"shape": list(out_shape[1:])}) if len(out_shape) > 2 else \
        Mapped("Flatten", {"start_dim": 1})


def _reduce(op: str, args: tuple, kwargs: dict, in_shape: tuple, seq_first: bool) -> Mapped:
    rank = len(in_shape)
    dims = _arg(args, kwargs, 1, "dim", None)
    keepdim = bool(_arg(args, kwargs, 2, "keepdim", False))
    if dims is None or (isinstance(dims, tuple | list) and not dims):
        raise Unmappable(f"{op} over every dim, batch included")
    dims = [d % rank for d in (dims if isinstance(dims, tuple | list) else [dims])]
    bf = sorted(_bf_dim(d, seq_first) for d in dims)
    if 0 in bf:
        raise Unmappable(f"{op} over the batch dim")
    if seq_first and keepdim and 1 in bf:
        raise Unmappable(f"{op} over the time dim of a sequence-first tensor with keepdim")
    if op in ("mean", "max") and bf == list(range(2, rank)) and rank >= 3 and not keepdim and not seq_first:
        return Mapped("GlobalAvgPool" if op == "mean" else "GlobalMaxPool", {})
    mapped = Mapped("Reduce", {"op": op, "axes": [d - 1 for d in bf], "keepdim": keepdim, "_seq_ok": True})
    if seq_first and 1 in bf:
        mapped.kind = "batch_first"
    return mapped


def transfer_weights(imported: Imported, compiled: fx.GraphModule) -> None:
    """Copy an import's original weights into the compiled project (node names as compile_graph gives them)."""
    from engine.importer_weights import state_dict_for

    compiled.load_state_dict(state_dict_for(imported, compiled))


def split_reference(ref: str) -> tuple[str, str]:
    """(file or module, class or ''): a file path may hold ':' itself (C:\\models\\net.py:Net)."""
    if ref.endswith(".py"):
        return ref, ""
    target, _, cls_name = ref.rpartition(":") if ".py:" in ref else ref.partition(":")
    return target, cls_name


def load_reference(ref: str) -> type[nn.Module]:
    """`package.module:Class`, `path/file.py:Class` or `path/file.py` (its only nn.Module subclass)."""
    target, cls_name = split_reference(ref)
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise GraphError(f"{path}: no such file")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules.setdefault(path.stem, module)
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise GraphError(f"cannot import {target}: {exc}") from None
    if cls_name:
        cls = getattr(module, cls_name, None)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise GraphError(f"{target} has no nn.Module class '{cls_name}'")
        return cls
    found = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, nn.Module)
             and v.__module__ == module.__name__ and v.__name__ not in _HELPER_NAMES]
    if len(found) != 1:
        names = ", ".join(c.__name__ for c in found) or "none"
        raise GraphError(f"{target}: name the class to import as {target}:CLASS (found: {names})")
    return found[0]


_HELPER_NAMES = {cls.__name__ for cls in M.HELPERS}
"""Helper classes an exported model file defines next to its model class (skipped when guessing the class)."""
