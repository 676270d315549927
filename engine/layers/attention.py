"""Attention layers: multi-head attention, a Transformer encoder block and positional encoding."""

from __future__ import annotations

from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Port, Shape
from engine.lazy import LazyModule
from engine.shapes_format import format_shape

nn = LazyModule("torch.nn")
seq_modules = LazyModule("engine.layers.seq_modules")

_SEQ_HINT = "insert a Reshape node before it that turns each sample into (T, E)"


def _not_sequence(title: str, shape: Shape, port: str = "") -> tuple[str, str] | None:
    if len(shape) == 3:
        return None
    where = f" on '{port}'" if port else ""
    return f"{title} expects a sequence (N, T, E){where} but gets {format_shape(shape)}", _SEQ_HINT, True


def _heads_mismatch(title: str, embed: int, heads: int) -> tuple[str, str] | None:
    if embed % heads == 0:
        return None
    options = ", ".join(str(d) for d in range(1, min(embed, 64) + 1) if embed % d == 0)
    return (f"{title}: embedding size {embed} is not divisible by num_heads = {heads}",
            f"pick num_heads from {options}, or project to a multiple of {heads} with a Dense node first")


def _mha_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    title = "Multi-head attention"
    problem = _not_sequence(title, shapes[0], "query")
    if problem is None and len(shapes) > 1:
        problem = _not_sequence(title, shapes[1], "key_value")
        if problem is None and p.causal:
            problem = (f"{title}: the causal mask applies to self-attention only, but key_value is connected",
                       "turn causal off, or disconnect key_value to attend within the query sequence")
    return problem or _heads_mismatch(title, shapes[0][-1], p.num_heads)


def _mha_build(p: Params, shapes: list[Shape]) -> nn.Module:
    kv_dim = shapes[1][-1] if len(shapes) > 1 else None
    return seq_modules.Attention(shapes[0][-1], p.num_heads, dropout=p.dropout, causal=p.causal, kv_dim=kv_dim)


MULTI_HEAD_ATTENTION = LayerSpec(
    type_id="MultiHeadAttention", category="Attention", title="Multi-Head Attention",
    summary="Each position gathers information from every position of a sequence, weighted by learned relevance.",
    explanation=(
        "Attention turns every position into a query, and every position it may look at into a key and a "
        "value (all three are learned linear projections). The dot product of a query with each key, "
        "scaled and passed through softmax, says how relevant each position is; the output is the "
        "relevance-weighted average of the values. Multi-head attention runs several such attentions in "
        "parallel on slices of the embedding, so different heads can track different relations (syntax, "
        "nearby words, a distant reference) and joins them with one more projection. Connect only 'query' "
        "for self-attention, where a sequence attends to itself; connect 'key_value' as well for "
        "cross-attention, where one sequence (e.g. a decoder) reads another (e.g. an encoder's output). "
        "The causal option hides later positions, so a step can only use the past, as text generation "
        "needs. The embedding size is read from the query and must be divisible by the number of heads."),
    advantages=("Links any two positions in one step, so long-range dependencies are easy to learn.",
                "Every position is computed in parallel: much faster on a GPU than a recurrent layer.",
                "The attention weights show what the model looked at, which helps interpretation."),
    disadvantages=("Cost and memory grow with the square of the sequence length.",
                   "Has no idea of order by itself: add a Positional Encoding before it.",
                   "Needs more data than an RNN or CNN to learn well from scratch."),
    when_to_use="Inside Transformer-style models, to let a sequence model relate distant items, or to fuse "
                "two sequences (cross-attention).",
    params=(
        Param("num_heads", "int", 4, min=1, max=256, key=True,
              doc="Parallel attention heads; the embedding size must be divisible by it."),
        Param("dropout", "float", 0.0, min=0.0, max=0.95, doc="Dropout on the attention weights during training."),
        Param("causal", "bool", False,
              doc="Self-attention only: each position sees itself and earlier positions, never later ones."),
    ),
    inputs=(Port("query", doc="The sequence (N, T, E) that asks; its embedding size E sets the layer's width."),
            Port("key_value", optional=True,
                 doc="Optional sequence (N, S, E2) to attend to (cross-attention); absent = self-attention.")),
    build=_mha_build, check=_mha_check, fix="Reshape",
    example=((None, 10, 16),),
)


def _encoder_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    title = "Transformer encoder"
    return _not_sequence(title, shapes[0]) or _heads_mismatch(title, shapes[0][-1], p.num_heads)


def _encoder_build(p: Params, shapes: list[Shape]) -> nn.Module:
    block = nn.TransformerEncoderLayer(shapes[0][-1], p.num_heads, p.ff_dim, p.dropout, p.activation,
                                       batch_first=True, norm_first=p.norm_first)
    return nn.TransformerEncoder(block, p.num_layers, enable_nested_tensor=False)


TRANSFORMER_ENCODER = LayerSpec(
    type_id="TransformerEncoder", category="Attention", title="Transformer Encoder",
    summary="Stacked Transformer blocks: self-attention then a small feed-forward net, each with a residual path.",
    explanation=(
        "One encoder block lets every position attend to every other (multi-head self-attention), then "
        "passes each position through the same two-layer feed-forward network; around each of the two "
        "parts sits a residual connection and a layer normalisation, which keep deep stacks trainable. "
        "The output has the input's shape (N, T, E), so blocks can be repeated; num_layers stacks that "
        "many, each with its own weights. With norm first the normalisation happens before each part "
        "(pre-norm), which trains more stably without a learning-rate warm-up; off gives the original "
        "post-norm design. Add a Positional Encoding before the first block, and for classification pool "
        "the output over time (e.g. a global average pool) before a Dense head."),
    advantages=("State of the art for text and increasingly for images, audio and time series.",
                "Parallel over the whole sequence, so it uses a GPU far better than an RNN.",
                "Captures long-range context directly through attention."),
    disadvantages=("Memory and time grow quadratically with sequence length.",
                   "Data-hungry and sensitive to learning rate; small datasets often favour an LSTM or CNN.",
                   "Order-blind without positional encoding."),
    when_to_use="Sequence or token classification, and any task where distant parts of the input interact.",
    params=(
        Param("num_heads", "int", 4, min=1, max=256, key=True,
              doc="Attention heads per block; the embedding size must be divisible by it."),
        Param("ff_dim", "int", 128, min=1, max=1_000_000,
              doc="Hidden size of each block's feed-forward network (often 2-4 times the embedding size)."),
        Param("num_layers", "int", 1, min=1, max=64, key=True, doc="Encoder blocks stacked, each with its own weights."),
        Param("dropout", "float", 0.1, min=0.0, max=0.95, doc="Dropout inside each block during training."),
        Param("norm_first", "bool", True, doc="Pre-norm (on, more stable) or the original post-norm (off)."),
        Param("activation", "choice", "relu", choices=("relu", "gelu"),
              doc="Non-linearity of the feed-forward network; GELU is common in modern Transformers."),
    ),
    build=_encoder_build, check=_encoder_check, fix="Reshape",
    example=((None, 10, 16),),
)


def _pe_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    shape = shapes[0]
    problem = _not_sequence("Positional encoding", shape)
    if problem is None and shape[1] is not None and shape[1] > p.max_len:
        problem = (f"Positional encoding: the sequence has {shape[1]} steps but max_len is {p.max_len}",
                   f"raise max_len to at least {shape[1]}, or shorten the sequences")
    return problem


POSITIONAL_ENCODING = LayerSpec(
    type_id="PositionalEncoding", category="Attention", title="Positional Encoding",
    summary="Adds a vector that encodes each position to a sequence, so attention can tell order apart.",
    explanation=(
        "Attention treats its input as a set: shuffle the steps and each output is shuffled the same way. "
        "Positional encoding fixes that by adding to step t a vector that depends only on t. The "
        "sinusoidal kind uses sines and cosines of many frequencies (no weights; nearby positions get "
        "similar vectors and relative offsets are easy to read); the learned kind is a trainable table "
        "with one vector per position. The output has the input's shape (N, T, E); max_len is the "
        "longest sequence it supports."),
    advantages=("Gives order information to attention at almost no cost.",
                "Sinusoidal: no parameters and well-defined for any position up to max_len."),
    disadvantages=("Learned: max_len x E extra weights, and positions never seen in training stay untrained.",
                   "Absolute positions only; the model must learn relative distances itself."),
    when_to_use="Right after an Embedding (or a Dense projection) and before the first attention or "
                "Transformer layer.",
    params=(
        Param("kind", "choice", "sinusoidal", choices=("sinusoidal", "learned"), key=True,
              doc="Fixed sine/cosine pattern or a trainable vector per position."),
        Param("max_len", "int", 512, min=1, max=1_000_000, doc="Longest sequence (time steps) supported."),
        Param("dropout", "float", 0.1, min=0.0, max=0.95, doc="Dropout applied after adding the encoding."),
    ),
    build=lambda p, s: seq_modules.PositionalEncoding(s[0][-1], p.max_len, learned=p.kind == "learned", dropout=p.dropout),
    check=_pe_check, fix="Reshape",
    example=((None, 10, 16),),
)

register(MULTI_HEAD_ATTENTION, TRANSFORMER_ENCODER, POSITIONAL_ENCODING)
