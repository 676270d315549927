"""Python source that rebuilds a built layer module: `nn.Conv2d(1, 6, kernel_size=(5, 5), ...)` with sizes written out."""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable
from typing import Any

from torch import nn

from engine.detection import anchors, boxes, roi
from engine.detection import modules as detection_modules
from engine.errors import ExportError
from engine.layers import modules, op_modules, seq_modules

HELPER_MODULES = (modules, seq_modules, op_modules, detection_modules, boxes, anchors, roi)
"""Plain-torch files whose classes and functions exported source copies verbatim."""

_SIMPLE: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {
    nn.Linear: (("in_features", "out_features"), ()),
    nn.Dropout: ((), ("p",)),
    nn.Dropout2d: ((), ("p",)),
    nn.ReLU: ((), ()),
    nn.LeakyReLU: ((), ("negative_slope",)),
    nn.ELU: ((), ("alpha",)),
    nn.GELU: ((), ("approximate",)),
    nn.SiLU: ((), ()),
    nn.Sigmoid: ((), ()),
    nn.Tanh: ((), ()),
    nn.Softmax: ((), ("dim",)),
    nn.Identity: ((), ()),
    nn.Flatten: ((), ("start_dim", "end_dim")),
    nn.MaxPool1d: (("kernel_size",), ("stride", "padding", "dilation", "ceil_mode")),
    nn.MaxPool2d: (("kernel_size",), ("stride", "padding", "dilation", "ceil_mode")),
    nn.AvgPool1d: (("kernel_size",), ("stride", "padding", "ceil_mode", "count_include_pad")),
    nn.AvgPool2d: (("kernel_size",), ("stride", "padding", "ceil_mode", "count_include_pad")),
    nn.BatchNorm1d: (("num_features",), ("eps", "momentum", "affine", "track_running_stats")),
    nn.BatchNorm2d: (("num_features",), ("eps", "momentum", "affine", "track_running_stats")),
    nn.LayerNorm: (("normalized_shape",), ("eps", "elementwise_affine")),
    nn.Embedding: (("num_embeddings", "embedding_dim"), ("padding_idx",)),
    nn.Upsample: ((), ("scale_factor", "mode", "align_corners")),
    modules.MinPool2d: (("kernel_size", "stride", "padding"), ()),
    modules.GlobalAvgPool: ((), ()),
    modules.GlobalMaxPool: ((), ()),
    modules.Reshape: (("shape",), ()),
    modules.RepeatVector: (("times",), ()),
    seq_modules.Add: ((), ()),
    seq_modules.Multiply: ((), ()),
    seq_modules.Concat: (("dim",), ()),
    seq_modules.Distance: (("metric",), ()),
    nn.ReLU6: ((), ()),
    nn.Hardswish: ((), ()),
    nn.Hardsigmoid: ((), ()),
    nn.Mish: ((), ()),
    nn.LogSoftmax: ((), ("dim",)),
    nn.AdaptiveAvgPool1d: (("output_size",), ()),
    nn.AdaptiveAvgPool2d: (("output_size",), ()),
    nn.AdaptiveMaxPool1d: (("output_size",), ()),
    nn.AdaptiveMaxPool2d: (("output_size",), ()),
    op_modules.Reduce: (("op", "dims", "keepdim"), ()),
    op_modules.ScaleShift: (("scale", "shift"), ()),
    op_modules.Interpolate: (("size", "scale", "mode", "align_corners"), ()),
    op_modules.Chunk: (("chunks", "index", "dim"), ()),
    op_modules.Split: (("sizes", "dim", "squeeze"), ()),
    op_modules.Select: (("dim", "index"), ()),
    op_modules.Slice: (("dim", "start", "end"), ()),
    op_modules.Squeeze: (("dim",), ()),
    op_modules.Unsqueeze: (("dim",), ()),
    op_modules.ChannelShuffle: (("groups",), ()),
    op_modules.LearnedTensor: (("shape",), ("learned",)),
    op_modules.DropPath: (("p",), ()),
}


def literal(value: Any) -> str:
    """A Python literal for a config value; `ascii()` so no text can leave its string."""
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return f"float({ascii(str(value))})"
        return repr(value)
    if isinstance(value, str):
        return ascii(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise ExportError(f"cannot write a {type(value).__name__} value ({value!r}) as Python source")


def _short(value: Any) -> Any:
    """(3, 3) -> 3: torch layers take one int for equal sizes."""
    if isinstance(value, tuple) and value and all(v == value[0] for v in value) and isinstance(value[0], int):
        return value[0]
    return value


def call(name: str, args: list[Any], kwargs: dict[str, Any], cls: type | None = None) -> str:
    """`name(args, key=value)`; keywords equal to `cls.__init__`'s defaults are left out."""
    defaults = {}
    if cls is not None:
        defaults = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
                    if p.default is not inspect.Parameter.empty}
    kwargs = {k: _short(v) for k, v in kwargs.items()}
    parts = [literal(_short(a)) for a in args]
    parts += [f"{k}={literal(v)}" for k, v in kwargs.items() if k not in defaults or _differs(v, defaults[k])]
    return f"{name}({', '.join(parts)})"


def _differs(value: Any, default: Any) -> bool:
    return type(value) is not type(default) or value != default


def _qualified(cls: type) -> str:
    return f"nn.{cls.__name__}" if getattr(nn, cls.__name__, None) is cls else cls.__name__


def _conv(m: nn.Module) -> str:
    kw = {"stride": m.stride, "padding": m.padding, "dilation": m.dilation, "groups": m.groups,
          "bias": m.bias is not None, "padding_mode": m.padding_mode}
    if isinstance(m, nn.ConvTranspose2d):
        kw["output_padding"] = m.output_padding
    return call(_qualified(type(m)), [m.in_channels, m.out_channels, m.kernel_size], kw, type(m))


def _rnn(m: nn.RNNBase) -> str:
    kw = {"num_layers": m.num_layers, "bias": m.bias, "batch_first": m.batch_first, "dropout": m.dropout,
          "bidirectional": m.bidirectional}
    if isinstance(m, nn.RNN):
        kw["nonlinearity"] = m.nonlinearity
    if isinstance(m, nn.LSTM) and m.proj_size:
        kw["proj_size"] = m.proj_size
    return call(_qualified(type(m)), [m.input_size, m.hidden_size], kw, nn.RNNBase)


def _prelu(m: nn.PReLU) -> str:
    return call("nn.PReLU", [], {"num_parameters": m.num_parameters})


def _encoder(m: nn.TransformerEncoder) -> str:
    layer = m.layers[0]
    if not isinstance(layer, nn.TransformerEncoderLayer) or m.norm is not None:
        raise ExportError("only TransformerEncoder stacks of TransformerEncoderLayer without a final norm export")
    activation = "gelu" if getattr(layer, "activation_relu_or_gelu", 1) == 2 else "relu"
    block = call("nn.TransformerEncoderLayer", [layer.self_attn.embed_dim, layer.self_attn.num_heads], {
        "dim_feedforward": layer.linear1.out_features, "dropout": layer.dropout.p, "activation": activation,
        "layer_norm_eps": layer.norm1.eps, "batch_first": layer.self_attn.batch_first,
        "norm_first": layer.norm_first, "bias": layer.linear1.bias is not None}, nn.TransformerEncoderLayer)
    return f"nn.TransformerEncoder({block}, {m.num_layers}, enable_nested_tensor=False)"


def _recurrent(m: seq_modules.Recurrent) -> str:
    return f"Recurrent({constructor(m.rnn)}, return_sequences={literal(m.return_sequences)})"


def _attention(m: seq_modules.Attention) -> str:
    a = m.attn
    return call("Attention", [a.embed_dim, a.num_heads], {
        "dropout": a.dropout, "causal": m.causal, "kv_dim": None if a._qkv_same_embed_dim else a.kdim},  # noqa: SLF001
        seq_modules.Attention)


def _positional(m: seq_modules.PositionalEncoding) -> str:
    _, max_len, d_model = m.pe.shape
    return call("PositionalEncoding", [d_model, max_len],
                {"learned": isinstance(m.pe, nn.Parameter), "dropout": m.dropout.p}, seq_modules.PositionalEncoding)


def _permute(m: modules.Permute) -> str:
    return call("Permute", [[d - 1 for d in m.dims[1:]]], {})


def _detection(m: nn.Module) -> str:
    return call(type(m).__name__, list(m.config), {})


_SPECIAL: dict[type, Callable[[Any], str]] = {
    detection_modules.DenseHead: _detection, detection_modules.RoIAlign: _detection,
    detection_modules.BoxHead: _detection,
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.ConvTranspose2d: _conv,
    nn.RNN: _rnn, nn.LSTM: _rnn, nn.GRU: _rnn, nn.PReLU: _prelu, nn.TransformerEncoder: _encoder,
    seq_modules.Recurrent: _recurrent, seq_modules.Attention: _attention,
    seq_modules.PositionalEncoding: _positional, modules.Permute: _permute,
}


def constructor(module: nn.Module) -> str:
    """Source of an expression that builds a module of the same class and configuration.

    A helper subclass of a torch layer (e.g. TokenEmbedding(nn.Embedding)) takes its base's arguments.
    """
    cls = type(module)
    for base in cls.__mro__:
        if base in _SPECIAL:
            return _SPECIAL[base](module)
        if base in _SIMPLE:
            positional, keywords = _SIMPLE[base]
            return call(_qualified(cls), [getattr(module, a) for a in positional],
                        {k: getattr(module, k) for k in keywords}, base)
    raise ExportError(f"no Python source template for {cls.__module__}.{cls.__name__}; "
                      "add one to engine/export/constructors.py")


HELPER_NAMES = {h.__name__ for h in HELPER_MODULES}


def helper_classes(module: nn.Module) -> list[type]:
    """Classes from the helper files that `module` and its children are instances of."""
    found = []
    for m in module.modules():
        cls = type(m)
        if any(cls.__module__ == h.__name__ for h in HELPER_MODULES) and cls not in found:
            found.append(cls)
    return found


def helper_source(classes: list[type]) -> str:
    """The source of `classes` plus the helper functions they call, in dependency order."""
    wanted: list[Any] = []
    seen: set[int] = set()

    def visit(obj: Any) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        source = inspect.getsource(obj)
        namespace = vars(sys.modules[obj.__module__])
        for name in sorted(set(re.findall(r"\b[A-Za-z_]\w*\b", source))):
            dep = namespace.get(name)
            if dep is not obj and (inspect.isclass(dep) or inspect.isfunction(dep)) \
                    and getattr(dep, "__module__", None) in HELPER_NAMES:
                visit(dep)
        wanted.append(obj)

    for cls in classes:
        visit(cls)
    return "\n\n".join(inspect.getsource(obj).rstrip() for obj in wanted)
