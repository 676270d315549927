"""torch.nn.Module -> DeepWire project: trace with torch.fx and map every operation to a layer spec.

`import_module` raises GraphError listing every operation it cannot map (with its fx node name);
`transfer_weights` copies the source module's weights into the compiled import, node by node.
"""

from __future__ import annotations

import importlib
import importlib.util
import operator
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp
from torch.nn import functional as F

from engine.errors import GraphError
from engine.graph import Graph
from engine.layers import conv
from engine.layers.spec import Params

HELPERS = {"Recurrent", "Attention", "PositionalEncoding", "Add", "Multiply", "Concat", "Distance", "MinPool2d",
           "GlobalAvgPool", "GlobalMaxPool", "Reshape", "Permute", "RepeatVector", "TokenEmbedding"}
"""DeepWire's helper classes (also inlined, under these names, in exported source): traced as one op each."""

SEQ, RNN_OUT, LSTM_STATE, HIDDEN, MHA_OUT, STALE = "seq", "rnn_out", "lstm_state", "hidden", "mha_out", "stale"


class Unmappable(Exception):
    """One fx node that has no layer spec equivalent."""


@dataclass
class Value:
    """What an fx node stands for: a DeepWire node's output, or a part of a tuple-returning layer's result."""

    node_id: str
    kind: str = "tensor"


class _Tracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return type(m).__name__ in HELPERS or super().is_leaf_module(m, qualname)


def trace(module: nn.Module) -> fx.GraphModule:
    try:
        graph = _Tracer().trace(module)
    except Exception as exc:  # noqa: BLE001  data-dependent control flow and the like
        raise GraphError(f"torch.fx cannot trace {type(module).__name__}: {exc}") from None
    gm = fx.GraphModule(module, graph, class_name=type(module).__name__)
    gm.graph.eliminate_dead_code()
    gm.recompile()
    return gm


def import_module(module: nn.Module, input_shapes: Sequence[Sequence[int]], name: str | None = None,
                  task: str | None = None) -> Graph:
    """The DeepWire project equivalent to `module`, given each input's per-sample shape (no batch dim).

    An input read by an Embedding becomes a token input; `task` sets the Output nodes' task (default:
    multiclass for a last dim >= 2, else regression). Raises GraphError naming every unmappable op.
    """
    gm = trace(module)
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != len(input_shapes):
        raise GraphError(f"{type(module).__name__}.forward takes {len(placeholders)} input(s) but "
                         f"{len(input_shapes)} shape(s) were given")
    examples = [_example(gm, p, shape) for p, shape in zip(placeholders, input_shapes, strict=True)]
    was_training = module.training
    module.eval()
    try:
        ShapeProp(gm).propagate(*examples)
    except Exception as exc:  # noqa: BLE001
        raise GraphError(f"{type(module).__name__} does not run on inputs of shape "
                         f"{[tuple(s) for s in input_shapes]}: {exc}") from None
    finally:
        module.train(was_training)
    return _Builder(gm, name or type(module).__name__, task).build()


def _example(gm: fx.GraphModule, placeholder: fx.Node, shape: Sequence[int]) -> torch.Tensor:
    dims = (2, *[int(d) for d in shape])
    if any(_is_embedding(gm, user) for user in placeholder.users):
        return torch.zeros(dims, dtype=torch.long)
    return torch.randn(dims)


def _is_embedding(gm: fx.GraphModule, node: fx.Node) -> bool:
    if node.op == "call_module":
        return isinstance(gm.get_submodule(node.target), nn.Embedding)
    return node.op == "call_function" and node.target is F.embedding


def _shape(node: Any) -> tuple[int, ...]:
    meta = node.meta.get("tensor_meta") if isinstance(node, fx.Node) else None
    if meta is None or not hasattr(meta, "shape"):
        raise Unmappable("its input is not a tensor")
    return tuple(meta.shape)


def _single(value: Any, what: str) -> int:
    """(3, 3) or 3 -> 3; unequal sizes per dimension have no spec equivalent."""
    if isinstance(value, tuple | list):
        if len(set(value)) != 1:
            raise Unmappable(f"{what} {tuple(value)} differs per dimension (DeepWire layers use one size)")
        return int(value[0])
    return int(value)


class _Builder:
    """Walks the traced graph in order, adding one DeepWire node per mappable op."""

    def __init__(self, gm: fx.GraphModule, name: str, task: str | None):
        self.gm, self.task = gm, task
        self.graph = Graph(name=name)
        self.values: dict[fx.Node, Value] = {}
        self.owners: dict[str, str] = {}
        """Submodule qualname -> the node that owns its weights (a second call shares them)."""
        self.problems: list[str] = []

    def build(self) -> Graph:
        failed: set[fx.Node] = set()
        for node in self.gm.graph.nodes:
            if any(arg in failed for arg in node.all_input_nodes):
                failed.add(node)  # only the first unmappable op of a chain is reported
                continue
            try:
                self.visit(node)
            except Unmappable as exc:
                failed.add(node)
                self.problems.append(f"  - {node.name} ({_describe(node)}): {exc}")
        if self.problems:
            raise GraphError(f"cannot import {self.graph.name}: {len(self.problems)} operation(s) have no DeepWire "
                             "layer:\n" + "\n".join(self.problems))
        return self.graph

    # ---- graph edits ----------------------------------------------------------------------
    def add(self, type_id: str, name: str, params: dict | None = None, inputs: Sequence[Any] = (),
            ports: Sequence[str] | None = None) -> str:
        node = self.graph.add_node(type_id, name=name, params=params or {},
                                   pos=(220.0 * len(self.graph.nodes), 0.0))
        for i, src in enumerate(inputs):
            port = ports[i] if ports else "in"
            self.graph.connect(self.tensor(src), node.id, dst_port=port)
        return node.id

    def tensor(self, arg: Any) -> str:
        value = self.values.get(arg) if isinstance(arg, fx.Node) else None
        if value is None:
            raise Unmappable(f"takes {arg!r}, which is not the output of a mapped layer")
        if value.kind == STALE:
            raise Unmappable("uses both the full sequence and the last step of one recurrent layer")
        if value.kind not in ("tensor", SEQ):
            raise Unmappable("uses the raw (output, state) tuple of a recurrent or attention layer")
        return value.node_id

    # ---- visiting -------------------------------------------------------------------------
    def visit(self, node: fx.Node) -> None:
        if node.op == "placeholder":
            shape = _shape(node)[1:]
            dtype = node.meta["tensor_meta"].dtype
            self.values[node] = Value(self.add("Input", node.name, _input_params(shape, dtype)))
        elif node.op == "output":
            outs = node.args[0] if isinstance(node.args[0], tuple | list) else (node.args[0],)
            for i, out in enumerate(outs):
                task = self.task or ("multiclass" if len(_shape(out)) >= 2 and _shape(out)[-1] >= 2 else "regression")
                self.add("Output", "output" if len(outs) == 1 else f"output_{i + 1}", {"task": task}, [out])
        elif node.op == "call_module":
            self.call_module(node)
        elif node.op in ("call_function", "call_method"):
            self.call_function(node)
        else:
            raise Unmappable("reads a raw parameter or buffer; wrap it in a layer module")

    def alias(self, node: fx.Node, src: Any, kind: str = "tensor") -> None:
        self.tensor(src)
        self.values[node] = Value(self.values[src].node_id, kind)

    def call_module(self, node: fx.Node) -> None:
        module = self.gm.get_submodule(node.target)
        if isinstance(module, nn.Identity):
            self.alias(node, node.args[0])
            return
        owner = self.owners.get(node.target)
        mapped = map_module(module, node, _shape(node.args[0]))
        inputs = list(node.args)
        ports = mapped.ports
        if mapped.type_id == "MultiHeadAttention":
            inputs, ports = _attention_inputs(node)
        name = node.target if owner is None else f"{node.target} ({node.name})"
        nid = self.add(mapped.type_id, name, mapped.params, inputs, ports)
        for extra_type, extra_params in mapped.after:
            prev, nid = nid, self.add(extra_type, f"{node.target}.{extra_type.lower()}", extra_params)
            self.graph.connect(prev, nid)
        if owner is None:
            self.owners[node.target] = nid
        elif _has_weights(module):
            self.graph.nodes[nid].shares = owner
        self.values[node] = Value(nid, mapped.kind)

    def call_function(self, node: fx.Node) -> None:
        fn = node.target
        if fn is operator.getitem or fn == "__getitem__":
            self.getitem(node)
            return
        if fn in ("size", "dim") or (fn is getattr and node.args[1] in ("shape", "ndim")):
            self.values[node] = Value("", "size")
            return
        if _is_dropout_off(node):
            self.alias(node, node.args[0])
            return
        mapped = map_function(node)
        inputs = mapped.inputs if mapped.inputs is not None else [node.args[0]]
        nid = self.add(mapped.type_id, node.name, mapped.params, inputs, mapped.ports)
        self.values[node] = Value(nid)

    def getitem(self, node: fx.Node) -> None:
        src, index = node.args
        value = self.values.get(src)
        if value is None:
            raise Unmappable("indexes something that is not a mapped layer output")
        if value.kind == "size":
            self.values[node] = Value("", "size")
        elif value.kind in (RNN_OUT, MHA_OUT) and index == 0:
            self.values[node] = Value(value.node_id, SEQ if value.kind == RNN_OUT else "tensor")
        elif value.kind == RNN_OUT and index == 1:
            lstm = self.graph.nodes[value.node_id].type == "LSTM"
            self.values[node] = Value(value.node_id, LSTM_STATE if lstm else HIDDEN)
        elif value.kind == LSTM_STATE and index == 0:
            self.values[node] = Value(value.node_id, HIDDEN)
        elif (value.kind == HIDDEN and index == -1) or (value.kind == SEQ and _is_last_step(index)):
            self.last_step(node, value.node_id)
        elif value.kind in (SEQ, HIDDEN):
            raise Unmappable(f"indexes a recurrent output with {index!r}; only out[:, -1] or h_n[-1] "
                             "(the last step) maps")
        else:
            raise Unmappable(f"indexing with {index!r} has no layer equivalent")

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


def _describe(node: fx.Node) -> str:
    if node.op == "call_module":
        return f"module {node.target}"
    target = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
    return f"{node.op} {target}"


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


def _has_weights(module: nn.Module) -> bool:
    return any(True for _ in module.parameters()) or any(True for _ in module.buffers())


def _is_dropout_off(node: fx.Node) -> bool:
    return node.target is F.dropout and node.kwargs.get("training") is False


def _is_last_step(index: Any) -> bool:
    return (isinstance(index, tuple) and len(index) in (2, 3) and index[0] == slice(None) and index[1] == -1
            and all(i == slice(None) for i in index[2:]))


def _attention_inputs(node: fx.Node) -> tuple[list, list[str]]:
    q, k, v = (list(node.args) + [node.kwargs.get(n) for n in ("query", "key", "value")])[:3]
    if k is not v:
        raise Unmappable("attention with different key and value tensors has no layer equivalent")
    return ([q], ["query"]) if k is q else ([q, k], ["query", "key_value"])


@dataclass
class Mapped:
    type_id: str
    params: dict
    kind: str = "tensor"
    ports: list[str] | None = None
    inputs: list | None = None
    after: tuple[tuple[str, dict], ...] = ()
    """Extra nodes chained after this one (e.g. a Reshape that keeps (N, C, 1, 1))."""


def map_module(m: nn.Module, node: fx.Node, in_shape: tuple[int, ...]) -> Mapped:
    """The layer spec (type and params) of a submodule; Unmappable when there is none."""
    cls = type(m).__name__
    handler = _MODULES.get(type(m)) or _HELPER_MODULES.get(cls)
    if handler is None:
        raise Unmappable(f"{cls} has no DeepWire layer")
    return handler(m, in_shape)


def _linear(m: nn.Linear, s) -> Mapped:
    return Mapped("Dense", {"units": m.out_features, "bias": m.bias is not None})


def _conv(m: nn.Conv1d | nn.Conv2d, s) -> Mapped:
    if m.padding_mode != "zeros":
        raise Unmappable(f"padding_mode '{m.padding_mode}' (only zero padding maps)")
    params = {"out_channels": m.out_channels, "kernel_size": _single(m.kernel_size, "kernel_size"),
              "stride": _single(m.stride, "stride"), "dilation": _single(m.dilation, "dilation"),
              "groups": m.groups, "bias": m.bias is not None, "padding": "same"}
    padding = m.padding if isinstance(m.padding, str) else _single(m.padding, "padding")
    if padding not in ("same", conv.same_padding(Params(params))):
        params["padding"] = "valid" if padding == 0 else padding
    return Mapped(type(m).__name__, params)


def _conv_transpose(m: nn.ConvTranspose2d, s) -> Mapped:
    """Numeric padding, except an output_padding that 'same' would choose (it is rarely set by hand)."""
    mapped = _conv(m, s)
    pads = (_single(m.padding, "padding"), _single(m.output_padding, "output_padding"))
    if pads[1] and pads == conv.transpose_same(Params(mapped.params)):
        mapped.params.update(padding="same", output_padding=0)
    else:
        mapped.params.update(padding=pads[0], output_padding=pads[1])
    return mapped


def _pool(m: nn.Module, s) -> Mapped:
    if getattr(m, "ceil_mode", False) or _single(getattr(m, "dilation", 1), "dilation") != 1:
        raise Unmappable("ceil_mode or dilation on pooling")
    if getattr(m, "count_include_pad", True) is False:
        raise Unmappable("count_include_pad=False")
    kernel = _single(m.kernel_size, "kernel_size")
    stride = _single(m.stride or kernel, "stride")
    return Mapped(type(m).__name__, {"kernel_size": kernel, "stride": 0 if stride == kernel else stride,
                                     "padding": _single(m.padding, "padding")})


def _adaptive(m: nn.Module, s) -> Mapped:
    if _single(m.output_size, "output_size") != 1:
        raise Unmappable("adaptive pooling to a size other than 1 (only global pooling maps)")
    kind = "GlobalAvgPool" if "Avg" in type(m).__name__ else "GlobalMaxPool"
    return Mapped(kind, {}, after=(("Reshape", {"shape": [s[1]] + [1] * (len(s) - 2)}),))


def _batchnorm(m: nn.Module, s) -> Mapped:
    if m.momentum is None or not m.track_running_stats:
        raise Unmappable("BatchNorm without running statistics or with a cumulative momentum")
    return Mapped(type(m).__name__, {"eps": m.eps, "momentum": m.momentum, "affine": m.affine})


def _layernorm(m: nn.LayerNorm, s) -> Mapped:
    if len(m.normalized_shape) != 1 or (m.elementwise_affine and m.bias is None):
        raise Unmappable("LayerNorm over more than the last dimension, or without a bias")
    return Mapped("LayerNorm", {"eps": m.eps, "elementwise_affine": m.elementwise_affine})


def _embedding(m: nn.Embedding, s) -> Mapped:
    if m.max_norm is not None or m.scale_grad_by_freq or m.sparse:
        raise Unmappable("Embedding with max_norm, scale_grad_by_freq or sparse gradients")
    return Mapped("Embedding", {"num_embeddings": m.num_embeddings, "embedding_dim": m.embedding_dim,
                                "padding_idx": -1 if m.padding_idx is None else m.padding_idx})


def _rnn(m: nn.RNNBase, s) -> Mapped:
    if not m.batch_first:
        raise Unmappable("recurrent layers must be batch_first=True (DeepWire sequences are (N, T, F))")
    if not m.bias or getattr(m, "proj_size", 0):
        raise Unmappable("recurrent layer without bias or with proj_size")
    type_id = {"LSTM": "LSTM", "GRU": "GRU", "RNN": "SimpleRNN"}[type(m).__name__]
    params = {"hidden_size": m.hidden_size, "num_layers": m.num_layers, "bidirectional": m.bidirectional,
              "dropout": m.dropout, "return_sequences": True}
    if type_id == "SimpleRNN":
        params["nonlinearity"] = m.nonlinearity
    return Mapped(type_id, params, kind=RNN_OUT)


def _mha(m: nn.MultiheadAttention, s) -> Mapped:
    if not m.batch_first or m.bias_k is not None or m.add_zero_attn:
        raise Unmappable("MultiheadAttention must be batch_first without bias_k/add_zero_attn")
    return Mapped("MultiHeadAttention", {"num_heads": m.num_heads, "dropout": m.dropout}, kind=MHA_OUT)


def _encoder(m: nn.TransformerEncoder, s) -> Mapped:
    layer = m.layers[0]
    if m.norm is not None or not layer.self_attn.batch_first:
        raise Unmappable("TransformerEncoder with a final norm or not batch_first")
    return Mapped("TransformerEncoder", {
        "num_heads": layer.self_attn.num_heads, "ff_dim": layer.linear1.out_features, "num_layers": m.num_layers,
        "dropout": layer.dropout.p, "norm_first": layer.norm_first,
        "activation": "gelu" if getattr(layer, "activation_relu_or_gelu", 1) == 2 else "relu"})


def _upsample(m: nn.Upsample, s) -> Mapped:
    scale = float(_single(m.scale_factor, "scale_factor") if isinstance(m.scale_factor, tuple) else m.scale_factor or 0)
    if not scale.is_integer() or scale < 1 or m.mode not in ("nearest", "bilinear") or m.align_corners:
        raise Unmappable("UpSampling needs a whole-number scale_factor, mode nearest/bilinear, align_corners off")
    return Mapped("UpSampling", {"scale_factor": int(scale), "mode": m.mode})


def _flatten(m: nn.Flatten, s) -> Mapped:
    if m.end_dim not in (-1, len(s) - 1) or m.start_dim < 1:
        raise Unmappable("Flatten must keep the batch dim and run to the last dim")
    return Mapped("Flatten", {"start_dim": m.start_dim})


def _prelu(m: nn.PReLU, s) -> Mapped:
    return Mapped("PReLU", {"num_parameters": "one" if m.num_parameters == 1 else "per channel"})


def _simple(type_id: str, **attrs: str) -> Callable[[nn.Module, Any], Mapped]:
    return lambda m, s: Mapped(type_id, {param: getattr(m, attr) for param, attr in attrs.items()})


_MODULES: dict[type, Callable[[Any, Any], Mapped]] = {
    nn.Linear: _linear, nn.Conv1d: _conv, nn.Conv2d: _conv, nn.ConvTranspose2d: _conv_transpose,
    nn.MaxPool1d: _pool, nn.MaxPool2d: _pool, nn.AvgPool1d: _pool, nn.AvgPool2d: _pool,
    nn.AdaptiveAvgPool1d: _adaptive, nn.AdaptiveAvgPool2d: _adaptive,
    nn.AdaptiveMaxPool1d: _adaptive, nn.AdaptiveMaxPool2d: _adaptive,
    nn.BatchNorm1d: _batchnorm, nn.BatchNorm2d: _batchnorm, nn.LayerNorm: _layernorm, nn.Embedding: _embedding,
    nn.LSTM: _rnn, nn.GRU: _rnn, nn.RNN: _rnn, nn.MultiheadAttention: _mha, nn.TransformerEncoder: _encoder,
    nn.Upsample: _upsample, nn.Flatten: _flatten, nn.PReLU: _prelu,
    nn.Dropout: _simple("Dropout", p="p"), nn.Dropout2d: _simple("Dropout2d", p="p"),
    nn.ReLU: _simple("ReLU"), nn.LeakyReLU: _simple("LeakyReLU", negative_slope="negative_slope"),
    nn.ELU: _simple("ELU", alpha="alpha"), nn.GELU: _simple("GELU", approximate="approximate"),
    nn.SiLU: _simple("SiLU"), nn.Sigmoid: _simple("Sigmoid"), nn.Tanh: _simple("Tanh"),
    nn.Softmax: _simple("Softmax", dim="dim"),
}


def _h_recurrent(m: nn.Module, s) -> Mapped:
    mapped = _rnn(m.rnn, s)
    mapped.params["return_sequences"] = bool(m.return_sequences)
    mapped.kind = "tensor"
    return mapped


def _h_attention(m: nn.Module, s) -> Mapped:
    return Mapped("MultiHeadAttention", {"num_heads": m.attn.num_heads, "dropout": m.attn.dropout,
                                         "causal": bool(m.causal)}, ports=["query", "key_value"])


def _h_positional(m: nn.Module, s) -> Mapped:
    return Mapped("PositionalEncoding", {"kind": "learned" if isinstance(m.pe, nn.Parameter) else "sinusoidal",
                                         "max_len": int(m.pe.shape[1]), "dropout": m.dropout.p})


def _h_concat(m: nn.Module, s) -> Mapped:
    return Mapped("Concat", {"axis": m.dim - 1 if m.dim > 0 else m.dim})


def _h_pool(m: nn.Module, s) -> Mapped:
    return Mapped("MinPool2d", {"kernel_size": m.kernel_size, "stride": m.stride, "padding": m.padding})


_HELPER_MODULES: dict[str, Callable[[Any, Any], Mapped]] = {
    "Recurrent": _h_recurrent, "Attention": _h_attention, "PositionalEncoding": _h_positional,
    "Add": _simple("Add"), "Multiply": _simple("Multiply"), "Concat": _h_concat,
    "Distance": lambda m, s: Mapped("Distance", {"metric": m.metric}, ports=["a", "b"]),
    "MinPool2d": _h_pool, "GlobalAvgPool": _simple("GlobalAvgPool"), "GlobalMaxPool": _simple("GlobalMaxPool"),
    "Reshape": lambda m, s: Mapped("Reshape", {"shape": list(m.shape)}),
    "Permute": lambda m, s: Mapped("Permute", {"dims": [d - 1 for d in m.dims[1:]]}),
    "RepeatVector": _simple("RepeatVector", times="times"), "TokenEmbedding": _embedding,
}

_ACTIVATIONS: dict[Any, str] = {
    F.relu: "ReLU", torch.relu: "ReLU", "relu": "ReLU", torch.sigmoid: "Sigmoid", F.sigmoid: "Sigmoid",
    "sigmoid": "Sigmoid", torch.tanh: "Tanh", F.tanh: "Tanh", "tanh": "Tanh", F.silu: "SiLU",
    F.gelu: "GELU", F.leaky_relu: "LeakyReLU", F.elu: "ELU", F.softmax: "Softmax", torch.softmax: "Softmax",
    "softmax": "Softmax",
}
_ADD = {operator.add, operator.iadd, torch.add, "add"}
_MUL = {operator.mul, operator.imul, torch.mul, "mul"}


def _arg(node: fx.Node, index: int, name: str, default: Any) -> Any:
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def map_function(node: fx.Node) -> Mapped:
    """The layer spec of a call_function / call_method node; Unmappable when there is none."""
    fn = node.target
    if fn in _ACTIVATIONS:
        return _activation(node, _ACTIVATIONS[fn])
    if fn in _ADD or fn in _MUL:
        a, b = node.args[:2]
        if not (isinstance(a, fx.Node) and isinstance(b, fx.Node)) or node.kwargs.get("alpha", 1) != 1:
            raise Unmappable("arithmetic with a constant has no layer equivalent")
        return Mapped("Add" if fn in _ADD else "Multiply", {}, inputs=[a, b])
    if fn is torch.cat:
        tensors, dim = node.args[0], _arg(node, 1, "dim", 0)
        if dim == 0:
            raise Unmappable("concatenating along the batch dim")
        return Mapped("Concat", {"axis": dim - 1 if dim > 0 else dim}, inputs=list(tensors))
    if fn in (torch.flatten, "flatten"):
        start, end = _arg(node, 1, "start_dim", 0), _arg(node, 2, "end_dim", -1)
        if start < 1 or end not in (-1, len(_shape(node.args[0])) - 1):
            raise Unmappable("flatten must keep the batch dim (start_dim >= 1) and run to the last dim")
        return Mapped("Flatten", {"start_dim": start})
    if fn in ("view", "reshape") or fn is torch.reshape:
        return _reshape(node)
    if fn in ("permute", "transpose") or fn in (torch.permute, torch.transpose):
        return _permute(node)
    if fn in (F.max_pool2d, F.avg_pool2d, F.max_pool1d, F.avg_pool1d):
        return _functional_pool(node)
    if fn in ("mean", torch.mean, "amax", torch.amax):
        return _global_pool(node)
    if fn is F.dropout:
        return Mapped("Dropout", {"p": _arg(node, 1, "p", 0.5)})
    raise Unmappable("no DeepWire layer does this")


def _activation(node: fx.Node, type_id: str) -> Mapped:
    if type_id == "LeakyReLU":
        return Mapped(type_id, {"negative_slope": _arg(node, 1, "negative_slope", 0.01)})
    if type_id == "ELU":
        return Mapped(type_id, {"alpha": _arg(node, 1, "alpha", 1.0)})
    if type_id == "GELU":
        return Mapped(type_id, {"approximate": node.kwargs.get("approximate", "none")})
    if type_id == "Softmax":
        dim = _arg(node, 1, "dim", None)
        if dim is None:
            raise Unmappable("softmax without an explicit dim")
        return Mapped(type_id, {"dim": dim})
    return Mapped(type_id, {})


def _reshape(node: fx.Node) -> Mapped:
    in_shape, out_shape = _shape(node.args[0]), _shape(node)
    if out_shape[0] != in_shape[0]:
        raise Unmappable("reshape that changes the batch dim")
    if len(out_shape) == 2:
        return Mapped("Flatten", {"start_dim": 1})
    return Mapped("Reshape", {"shape": list(out_shape[1:])})


def _permute(node: fx.Node) -> Mapped:
    rank = len(_shape(node.args[0]))
    if node.target in ("transpose", torch.transpose):
        a, b = (d % rank for d in node.args[1:3])
        dims = list(range(rank))
        dims[a], dims[b] = dims[b], dims[a]
    else:
        raw = node.args[1:] if len(node.args) > 2 or not isinstance(node.args[1], tuple | list) else node.args[1]
        dims = [d % rank for d in raw]
    if dims[0] != 0:
        raise Unmappable("permute that moves the batch dim")
    return Mapped("Permute", {"dims": [d - 1 for d in dims[1:]]})


def _functional_pool(node: fx.Node) -> Mapped:
    kernel = _single(_arg(node, 1, "kernel_size", None), "kernel_size")
    stride = _arg(node, 2, "stride", None)
    name = node.target.__name__.replace("_pool", "Pool").replace("max", "Max").replace("avg", "Avg")
    stride = _single(stride, "stride") if stride else kernel
    return Mapped(name, {"kernel_size": kernel, "stride": 0 if stride == kernel else stride,
                         "padding": _single(_arg(node, 3, "padding", 0), "padding")})


def _global_pool(node: fx.Node) -> Mapped:
    rank = len(_shape(node.args[0]))
    dims = _arg(node, 1, "dim", None)
    dims = sorted(d % rank for d in (dims if isinstance(dims, tuple | list) else [dims])) if dims is not None else []
    if dims != list(range(2, rank)) or rank < 3 or _arg(node, 2, "keepdim", False):
        raise Unmappable("only a mean/amax over every dim after the channels (global pooling) maps")
    return Mapped("GlobalAvgPool" if node.target in ("mean", torch.mean) else "GlobalMaxPool", {})


def transfer_weights(src: nn.Module, compiled: fx.GraphModule, graph: Graph) -> None:
    """Copy the weights of an imported module into `compiled` (the compiled import), node by node."""
    for nid, target in compiled.deepwire_targets.items():
        node = graph.nodes[nid]
        dst = compiled.get_submodule(target)
        if node.shares or not _has_weights(dst):
            continue
        state = src.get_submodule(node.name).state_dict()
        for candidate in dst.modules():
            theirs = candidate.state_dict()
            if theirs.keys() == state.keys() and all(theirs[k].shape == state[k].shape for k in state):
                candidate.load_state_dict(state)
                break
        else:
            raise GraphError(f"the weights of '{node.name}' do not fit the imported {node.type} layer")


def load_reference(ref: str) -> type[nn.Module]:
    """`package.module:Class`, `path/file.py:Class` or `path/file.py` (its only nn.Module subclass)."""
    target, _, cls_name = ref.partition(":")
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
             and v.__module__ == module.__name__ and v.__name__ not in HELPERS]
    if len(found) != 1:
        names = ", ".join(c.__name__ for c in found) or "none"
        raise GraphError(f"{target}: name the class to import as {target}:CLASS (found: {names})")
    return found[0]
