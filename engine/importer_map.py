"""What each torch module or function becomes in DeepWire: a layer type, its params and its weights.

Modules are matched by class identity: torch.nn classes, DeepWire's own helper classes (or verbatim
copies of them, as exported source holds), and a few third-party classes named by module and class.
A user class that merely shares a name with one of them is traced through like any other.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from engine.detection import modules as detection_modules
from engine.layers import conv, modules, seq_modules
from engine.layers.spec import Params

SEQ, RNN_OUT, LSTM_STATE, HIDDEN, MHA_OUT, STALE = "seq", "rnn_out", "lstm_state", "hidden", "mha_out", "stale"


class Unmappable(Exception):
    """An operation with no layer spec equivalent."""


@dataclass
class Mapped:
    """A DeepWire node for one operation: its type, params, the output kind, and weights when they are not
    the source module's own state dict (None)."""

    type_id: str
    params: dict
    kind: str = "tensor"
    ports: list[str] | None = None
    weights: dict[str, torch.Tensor] | None = None
    after: tuple[tuple[str, dict, dict | None], ...] = ()
    """Nodes chained after this one: (type, params, weights)."""


def single(value: Any, what: str) -> int:
    """(3, 3) or 3 -> 3; unequal sizes per dimension have no spec equivalent."""
    if isinstance(value, tuple | list):
        if len(set(value)) != 1:
            raise Unmappable(f"{what} {tuple(value)} differs per dimension (DeepWire layers use one size)")
        return int(value[0])
    return int(value)


# ---- modules -----------------------------------------------------------------------------------

def _linear(m: nn.Linear, s) -> Mapped:
    return Mapped("Dense", {"units": m.out_features, "bias": m.bias is not None})


def _conv(m: nn.Conv1d | nn.Conv2d, s) -> Mapped:
    if m.padding_mode != "zeros":
        raise Unmappable(f"padding_mode '{m.padding_mode}' (only zero padding maps)")
    params = {"out_channels": m.out_channels, "kernel_size": single(m.kernel_size, "kernel_size"),
              "stride": single(m.stride, "stride"), "dilation": single(m.dilation, "dilation"),
              "groups": m.groups, "bias": m.bias is not None, "padding": "same"}
    padding = m.padding if isinstance(m.padding, str) else single(m.padding, "padding")
    if padding not in ("same", conv.same_padding(Params(params))):
        params["padding"] = "valid" if padding == 0 else padding
    return Mapped(type(m).__name__, params)


def _conv_transpose(m: nn.ConvTranspose2d, s) -> Mapped:
    """Numeric padding, except an output_padding that 'same' would choose (it is rarely set by hand)."""
    mapped = _conv(m, s)
    pads = (single(m.padding, "padding"), single(m.output_padding, "output_padding"))
    if pads[1] and pads == conv.transpose_same(Params(mapped.params)):
        mapped.params.update(padding="same", output_padding=0)
    else:
        mapped.params.update(padding=pads[0], output_padding=pads[1])
    return mapped


def pool_params(kind: str, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, count_include_pad=True,
                divisor_override=None) -> dict:
    """Params of a Max/AvgPool node from torch's arguments (module or functional)."""
    if divisor_override is not None:
        raise Unmappable("pooling with divisor_override")
    kernel = single(kernel, "kernel_size")
    stride = single(stride, "stride") if stride else kernel
    params = {"kernel_size": kernel, "stride": 0 if stride == kernel else stride,
              "padding": single(padding, "padding"), "ceil_mode": bool(ceil_mode)}
    if kind == "Max":
        params["dilation"] = single(dilation, "dilation")
    else:
        params["count_include_pad"] = bool(count_include_pad)
    return params


def _pool(m: nn.Module, s) -> Mapped:
    kind = "Max" if "Max" in type(m).__name__ else "Avg"
    extra = {"dilation": m.dilation} if kind == "Max" else {"count_include_pad": m.count_include_pad,
                                                            "divisor_override": m.divisor_override}
    return Mapped(type(m).__name__, pool_params(kind, m.kernel_size, m.stride, m.padding,
                                                ceil_mode=m.ceil_mode, **extra))


def adaptive(type_id: str, output_size: Any, in_shape: tuple[int, ...]) -> Mapped:
    """An adaptive pooling node; None in output_size keeps that input size."""
    sizes = list(output_size) if isinstance(output_size, tuple | list) else [output_size] * (len(in_shape) - 2)
    sizes = [in_shape[2 + i] if v is None else int(v) for i, v in enumerate(sizes)]
    return Mapped(type_id, {"output_size": sizes})


def _adaptive(m: nn.Module, s) -> Mapped:
    return adaptive(type(m).__name__, m.output_size, s)


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
    """(The importer checks that a batch_first=False layer reads a sequence-first tensor.)"""
    if not m.bias or getattr(m, "proj_size", 0):
        raise Unmappable("recurrent layer without bias or with proj_size")
    type_id = {"LSTM": "LSTM", "GRU": "GRU", "RNN": "SimpleRNN"}[type(m).__name__]
    params = {"hidden_size": m.hidden_size, "num_layers": m.num_layers, "bidirectional": m.bidirectional,
              "dropout": m.dropout, "return_sequences": True}
    if type_id == "SimpleRNN":
        params["nonlinearity"] = m.nonlinearity
    return Mapped(type_id, params, kind=RNN_OUT)


def _mha(m: nn.MultiheadAttention, s) -> Mapped:
    if m.bias_k is not None or m.add_zero_attn or m.in_proj_bias is None:
        raise Unmappable("MultiheadAttention with bias_k, add_zero_attn or without biases")
    return Mapped("MultiHeadAttention", {"num_heads": m.num_heads, "dropout": m.dropout}, kind=MHA_OUT)


def _encoder(m: nn.TransformerEncoder, s) -> Mapped:
    layer = m.layers[0]
    if not isinstance(layer, nn.TransformerEncoderLayer) or layer.linear1.bias is None:
        raise Unmappable("a TransformerEncoder of custom layers or without biases")
    if layer.norm1.eps != 1e-5 or (m.norm is not None and not isinstance(m.norm, nn.LayerNorm)):
        raise Unmappable("a TransformerEncoder with layer_norm_eps other than 1e-5 or a custom final norm")
    state = m.state_dict()
    mapped = Mapped("TransformerEncoder", {
        "num_heads": layer.self_attn.num_heads, "ff_dim": layer.linear1.out_features, "num_layers": m.num_layers,
        "dropout": layer.dropout.p, "norm_first": layer.norm_first,
        "activation": "gelu" if getattr(layer, "activation_relu_or_gelu", 1) == 2 else "relu"},
        weights={k: v for k, v in state.items() if not k.startswith("norm.")})
    if m.norm is not None:
        mapped.after = (("LayerNorm", {"eps": m.norm.eps, "elementwise_affine": m.norm.elementwise_affine},
                         m.norm.state_dict()),)
    return mapped


def _upsample(m: nn.Upsample, s) -> Mapped:
    return interpolate(s, m.size, m.scale_factor, m.mode, m.align_corners)


def interpolate(in_shape, size, scale, mode: str, align_corners) -> Mapped:
    """UpSampling for a whole-number scale, otherwise Interpolate."""
    if mode not in ("nearest", "bilinear", "linear"):
        raise Unmappable(f"interpolation mode '{mode}' (nearest and bilinear map)")
    mode = "bilinear" if mode == "linear" else mode
    spatial = len(in_shape) - 2
    if size is not None:
        sizes = list(size) if isinstance(size, tuple | list) else [size] * spatial
        return Mapped("Interpolate", {"size": [int(v) for v in sizes], "mode": mode,
                                      "align_corners": bool(align_corners)})
    scales = list(scale) if isinstance(scale, tuple | list) else [scale] * spatial
    if len(set(scales)) != 1:
        raise Unmappable(f"scale_factor {tuple(scales)} differs per dimension")
    value = float(scales[0])
    if value.is_integer() and value >= 1 and not align_corners:
        return Mapped("UpSampling", {"scale_factor": int(value), "mode": mode})
    return Mapped("Interpolate", {"size": [], "scale": value, "mode": mode, "align_corners": bool(align_corners)})


def _flatten(m: nn.Flatten, s) -> Mapped:
    if m.end_dim not in (-1, len(s) - 1) or m.start_dim < 1:
        raise Unmappable("Flatten must keep the batch dim and run to the last dim")
    return Mapped("Flatten", {"start_dim": m.start_dim})


def _prelu(m: nn.PReLU, s) -> Mapped:
    return Mapped("PReLU", {"num_parameters": "one" if m.num_parameters == 1 else "per channel"})


def _softmax(type_id: str):
    def handler(m: nn.Module, s) -> Mapped:
        if m.dim is None:
            raise Unmappable(f"{type(m).__name__} without an explicit dim")
        return Mapped(type_id, {"dim": m.dim})
    return handler


def _simple(type_id: str, **attrs: str) -> Callable[[nn.Module, Any], Mapped]:
    return lambda m, s: Mapped(type_id, {param: getattr(m, attr) for param, attr in attrs.items()})


def _dropout(type_id: str):
    return lambda m, s: Mapped(type_id, {"p": m.p})


MODULES: dict[type, Callable[[Any, Any], Mapped]] = {
    nn.Linear: _linear, nn.Conv1d: _conv, nn.Conv2d: _conv, nn.ConvTranspose2d: _conv_transpose,
    nn.MaxPool1d: _pool, nn.MaxPool2d: _pool, nn.AvgPool1d: _pool, nn.AvgPool2d: _pool,
    nn.AdaptiveAvgPool1d: _adaptive, nn.AdaptiveAvgPool2d: _adaptive,
    nn.AdaptiveMaxPool1d: _adaptive, nn.AdaptiveMaxPool2d: _adaptive,
    nn.BatchNorm1d: _batchnorm, nn.BatchNorm2d: _batchnorm, nn.LayerNorm: _layernorm, nn.Embedding: _embedding,
    nn.LSTM: _rnn, nn.GRU: _rnn, nn.RNN: _rnn, nn.MultiheadAttention: _mha, nn.TransformerEncoder: _encoder,
    nn.Upsample: _upsample, nn.Flatten: _flatten, nn.PReLU: _prelu,
    nn.Dropout: _dropout("Dropout"), nn.Dropout1d: _dropout("Dropout"), nn.Dropout2d: _dropout("Dropout2d"),
    nn.ReLU: _simple("ReLU"), nn.LeakyReLU: _simple("LeakyReLU", negative_slope="negative_slope"),
    nn.ELU: _simple("ELU", alpha="alpha"), nn.GELU: _simple("GELU", approximate="approximate"),
    nn.SiLU: _simple("SiLU"), nn.Sigmoid: _simple("Sigmoid"), nn.Tanh: _simple("Tanh"),
    nn.ReLU6: _simple("ReLU6"), nn.Hardswish: _simple("Hardswish"), nn.Hardsigmoid: _simple("Hardsigmoid"),
    nn.Mish: _simple("Mish"), nn.Softmax: _softmax("Softmax"), nn.LogSoftmax: _softmax("LogSoftmax"),
    nn.ChannelShuffle: _simple("ChannelShuffle", groups="groups"),
}
"""torch.nn classes, by identity (a subclass is traced through instead)."""


# ---- DeepWire's helper classes and third-party classes ------------------------------------------

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


def _h_minpool(m: nn.Module, s) -> Mapped:
    return Mapped("MinPool2d", {"kernel_size": m.kernel_size, "stride": m.stride, "padding": m.padding})


def _anchor_shapes(ratios: tuple[float, ...]) -> str:
    from engine.layers.detection import ANCHOR_SHAPES

    for name, value in ANCHOR_SHAPES.items():
        if tuple(value) == tuple(ratios):
            return name
    raise Unmappable(f"anchor ratios {tuple(ratios)} are none of the Dense detection head's shapes")


def _whole(value: float, what: str) -> int:
    if float(value) != int(value):
        raise Unmappable(f"{what} {value} is not a whole number")
    return int(value)


def _anchors(stride: float, sizes: tuple[float, ...], ratios: tuple[float, ...]) -> dict:
    return {"stride": _whole(stride, "stride"), "sizes": [_whole(v, "anchor size") for v in sizes],
            "shapes": _anchor_shapes(ratios)}


def _h_dense_head(m: nn.Module, s) -> Mapped:
    _, _, _, classes, stride, sizes, ratios, hidden, depth = m.config
    return Mapped("DenseDetectionHead", {"num_classes": classes, **_anchors(stride, sizes, ratios),
                                         "hidden": hidden, "depth": depth})


def _h_proposals(m: nn.Module, s) -> Mapped:
    _, _, _, stride, sizes, ratios, hidden = m.config
    return Mapped("RegionProposalNetwork", {**_anchors(stride, sizes, ratios), "hidden": hidden})


def _h_roi_align(m: nn.Module, s) -> Mapped:
    count, size, stride, pre_nms, iou, pool = m.config
    return Mapped("RoIAlign", {"count": count, "size": size, "stride": _whole(stride, "stride"),
                               "mode": "pool" if pool else "align", "pre_nms": pre_nms, "nms_iou": float(iou)},
                  ports=["features", "proposals"])


def _h_box_head(m: nn.Module, s) -> Mapped:
    _, classes, hidden = m.config
    return Mapped("BoxHead", {"num_classes": classes, "hidden": hidden})


HELPERS: dict[type, Callable[[Any, Any], Mapped]] = {
    seq_modules.Recurrent: _h_recurrent, seq_modules.Attention: _h_attention,
    seq_modules.PositionalEncoding: _h_positional,
    seq_modules.Add: _simple("Add"), seq_modules.Multiply: _simple("Multiply"), seq_modules.Concat: _h_concat,
    seq_modules.Distance: lambda m, s: Mapped("Distance", {"metric": m.metric}, ports=["a", "b"]),
    modules.MinPool2d: _h_minpool, modules.GlobalAvgPool: _simple("GlobalAvgPool"),
    modules.GlobalMaxPool: _simple("GlobalMaxPool"),
    modules.Reshape: lambda m, s: Mapped("Reshape", {"shape": list(m.shape)}),
    modules.Permute: lambda m, s: Mapped("Permute", {"dims": [d - 1 for d in m.dims[1:]]}),
    modules.RepeatVector: _simple("RepeatVector", times="times"), seq_modules.TokenEmbedding: _embedding,
    detection_modules.DenseHead: _h_dense_head, detection_modules.ProposalNetwork: _h_proposals,
    detection_modules.RoIAlign: _h_roi_align, detection_modules.BoxHead: _h_box_head,
}
"""DeepWire's own helper classes; exported model files hold verbatim copies, matched by their source."""


def _timm_attention(m: nn.Module, s) -> Mapped:
    plain = all(isinstance(getattr(m, n, None), nn.Identity) for n in ("q_norm", "k_norm", "norm"))
    if not plain or getattr(m, "gate", None) is not None or m.qkv.bias is None or m.proj.bias is None \
            or m.attn_dim != m.qkv.in_features or m.proj.out_features != m.qkv.in_features or m.proj_drop.p:
        raise Unmappable("timm Attention with q/k norms, a gate, no biases, another width or projection dropout")
    weights = {"in_proj_weight": m.qkv.weight, "in_proj_bias": m.qkv.bias,
               "out_proj.weight": m.proj.weight, "out_proj.bias": m.proj.bias}
    return Mapped("MultiHeadAttention", {"num_heads": m.num_heads, "dropout": m.attn_drop.p}, ports=["query"],
                  weights=weights)


def _drop_path(attr: str):
    def handler(m: nn.Module, s) -> Mapped:
        if getattr(m, "mode", "row") != "row":
            raise Unmappable("stochastic depth in 'batch' mode")
        return Mapped("DropPath", {"p": float(getattr(m, attr))})
    return handler


THIRD_PARTY: dict[str, Callable[[Any, Any], Mapped]] = {
    "timm.layers.attention.Attention": _timm_attention,
    "timm.models.vision_transformer.Attention": _timm_attention,
    "timm.layers.drop.DropPath": _drop_path("drop_prob"),
    "torchvision.ops.stochastic_depth.StochasticDepth": _drop_path("p"),
}
"""Classes of other libraries, named by defining module and class name (a full identity, not a bare name)."""

_BY_NAME: dict[str, type] = {}


def _helper_copy(cls: type) -> type | None:
    """The DeepWire helper class `cls` is a verbatim copy of (exported model files hold such copies): same
    name, same bases and the same bytecode in every method. A user class that only shares the name is not."""
    if not _BY_NAME:
        _BY_NAME.update({helper.__name__: helper for helper in HELPERS})
    helper = _BY_NAME.get(cls.__name__)
    if helper is None or [b.__name__ for b in cls.__bases__] != [b.__name__ for b in helper.__bases__]:
        return None
    mine = {k: v for k, v in vars(cls).items() if inspect.isfunction(v)}
    theirs = {k: v for k, v in vars(helper).items() if inspect.isfunction(v)}
    if mine.keys() != theirs.keys():
        return None
    return helper if all(_same_code(mine[k].__code__, theirs[k].__code__) for k in mine) else None


def _same_code(a: Any, b: Any) -> bool:
    if a.co_code != b.co_code or a.co_names != b.co_names or len(a.co_consts) != len(b.co_consts):
        return False
    for x, y in zip(a.co_consts, b.co_consts, strict=True):
        if hasattr(x, "co_code") and hasattr(y, "co_code"):
            if not _same_code(x, y):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


def module_handler(m: nn.Module) -> Callable[[Any, Any], Mapped] | None:
    """How a module maps, by class identity; None when it has to be traced through (or cannot map)."""
    cls = type(m)
    handler = MODULES.get(cls) or HELPERS.get(cls) or THIRD_PARTY.get(f"{cls.__module__}.{cls.__qualname__}")
    if handler is None and cls.__module__ not in ("torch.nn", "engine.layers.modules", "engine.layers.seq_modules",
                                                  "engine.detection.modules"):
        helper = _helper_copy(cls)
        handler = HELPERS.get(helper) if helper is not None else None
    return handler


def is_leaf(m: nn.Module) -> bool:
    """Kept whole while tracing: modules that map, and torch.nn modules (that become placeholders if not)."""
    if module_handler(m) is not None or isinstance(m, nn.Identity):
        return True
    container = isinstance(m, nn.Sequential | nn.ModuleList | nn.ModuleDict)
    return type(m).__module__.startswith("torch.nn") and not container


def map_module(m: nn.Module, in_shape: tuple[int, ...]) -> Mapped:
    handler = module_handler(m)
    if handler is None:
        raise Unmappable(f"{type(m).__name__} has no DeepWire layer")
    return handler(m, in_shape)


# ---- functions ---------------------------------------------------------------------------------

ACTIVATIONS: dict[Any, str] = {
    F.relu: "ReLU", torch.relu: "ReLU", "relu": "ReLU", torch.relu_: "ReLU", "relu_": "ReLU", F.relu_: "ReLU",
    torch.sigmoid: "Sigmoid", F.sigmoid: "Sigmoid", "sigmoid": "Sigmoid", torch.tanh: "Tanh", F.tanh: "Tanh",
    "tanh": "Tanh", F.silu: "SiLU", F.gelu: "GELU", F.leaky_relu: "LeakyReLU", F.elu: "ELU",
    F.softmax: "Softmax", torch.softmax: "Softmax", "softmax": "Softmax",
    F.log_softmax: "LogSoftmax", torch.log_softmax: "LogSoftmax", "log_softmax": "LogSoftmax",
    F.relu6: "ReLU6", F.hardswish: "Hardswish", F.hardsigmoid: "Hardsigmoid", F.mish: "Mish",
}
POOLS = {F.max_pool1d: ("MaxPool1d", "Max"), F.max_pool2d: ("MaxPool2d", "Max"),
         F.avg_pool1d: ("AvgPool1d", "Avg"), F.avg_pool2d: ("AvgPool2d", "Avg")}
ADAPTIVE = {F.adaptive_avg_pool1d: "AdaptiveAvgPool1d", F.adaptive_avg_pool2d: "AdaptiveAvgPool2d",
            F.adaptive_max_pool1d: "AdaptiveMaxPool1d", F.adaptive_max_pool2d: "AdaptiveMaxPool2d"}
ADD = {operator.add, operator.iadd, torch.add, "add", "add_"}
SUB = {operator.sub, operator.isub, torch.sub, "sub", "sub_"}
MUL = {operator.mul, operator.imul, torch.mul, "mul", "mul_"}
DIV = {operator.truediv, operator.itruediv, torch.div, "div", "div_"}
REDUCTIONS = {"mean": "mean", torch.mean: "mean", "sum": "sum", torch.sum: "sum", "amax": "max", torch.amax: "max",
              "amin": "min", torch.amin: "min"}
SAME = {"contiguous", "clone", "detach", "float", torch.clone, "type_as", "to", F.dropout1d}
"""Calls that leave a float tensor as it is (in eval mode)."""
VIEWS = {"view", "reshape", torch.reshape}
PERMUTES = {"permute", "transpose", torch.permute, torch.transpose, "t"}


def arg(call_args: tuple, call_kwargs: dict, index: int, name: str, default: Any) -> Any:
    if len(call_args) > index:
        return call_args[index]
    return call_kwargs.get(name, default)


def activation(type_id: str, args: tuple, kwargs: dict) -> Mapped:
    if type_id == "LeakyReLU":
        return Mapped(type_id, {"negative_slope": arg(args, kwargs, 1, "negative_slope", 0.01)})
    if type_id == "ELU":
        return Mapped(type_id, {"alpha": arg(args, kwargs, 1, "alpha", 1.0)})
    if type_id == "GELU":
        return Mapped(type_id, {"approximate": kwargs.get("approximate", "none")})
    if type_id in ("Softmax", "LogSoftmax"):
        dim = arg(args, kwargs, 1, "dim", None)
        if dim is None:
            raise Unmappable(f"{type_id.lower()} without an explicit dim")
        return Mapped(type_id, {"dim": dim})
    return Mapped(type_id, {})
