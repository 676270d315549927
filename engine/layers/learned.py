"""Nodes imported models need beyond plain layers: a stored (learned) tensor, stochastic depth, and the
placeholder that stands for an operation no DeepWire layer computes."""

from __future__ import annotations

from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Port, Shape
from engine.lazy import LazyModule

ops = LazyModule("engine.layers.op_modules")


def _placeholder_check(p: Params, shapes: list[Shape]) -> tuple[str, str]:
    where = f" ({p.source})" if p.source else ""
    return (f"placeholder for '{p.op}'{where}: no DeepWire layer computes it",
            "replace this node with layers that compute the same, or change the model code and import again")


def _placeholder_declared(p: Params, shapes: list[Shape]) -> tuple[Shape, int]:
    """The recorded per-sample output shape with the batch dim of its first input, and the weight count."""
    return (shapes[0][0], *p.out_shape), int(p.param_count)


LEARNED_TENSOR = LayerSpec(
    type_id="LearnedTensor", category="Core", title="Learned Tensor",
    summary="A trained tensor of a fixed shape, the same for every sample: a class token or position embedding.",
    explanation=(
        "Learned Tensor holds one tensor of the given per-sample shape whose values are trained like a "
        "layer's weights, and outputs it once per sample of the batch. Its input is read only for the "
        "batch size. A vision transformer prepends a learned class token, shape (1, D), to its patch "
        "tokens with a Concat, and adds a learned position embedding, shape (T, D), with an Add, so each "
        "position gets its own trainable offset. A scale per channel, shape (C, 1, 1), multiplied onto a "
        "map is ConvNeXt's layer scale. With learned off, the tensor is fixed (a buffer), such as a "
        "precomputed sinusoidal position table."),
    advantages=("Trainable values with no input of their own, combined with any branch by Add, Multiply or Concat.",),
    disadvantages=("Tied to one shape: a position embedding for 16 tokens does not fit 17.",),
    when_to_use="Class tokens, learned position embeddings, per-channel scales; mostly from imported models.",
    params=(Param("shape", "ints", (1, 8), min=1, max=1_000_000, key=True,
                  doc="Per-sample shape of the tensor (the batch dim is added)."),
            Param("learned", "bool", True, doc="Train the values; off keeps them fixed.")),
    inputs=(Port("in", doc="Any tensor of the batch; only its batch size is used."),),
    build=lambda p, s: ops.LearnedTensor(list(p.shape), p.learned),
)

DROP_PATH = LayerSpec(
    type_id="DropPath", category="Regularization", title="DropPath (stochastic depth)",
    summary="While training, skips a residual branch for randomly chosen samples with probability p.",
    explanation=(
        "DropPath, or stochastic depth, sits at the end of a residual branch, just before the Add that "
        "joins it to the shortcut. While training it zeroes the whole branch output for a random subset "
        "of the samples (probability p each) and scales the others by 1 / (1 - p); those samples then "
        "pass through the block by the shortcut alone. The network trains as if it were a random, "
        "shallower version of itself, which regularises very deep models (EfficientNet, ConvNeXt, vision "
        "transformers). In evaluation mode it does nothing."),
    advantages=("Strong regulariser for deep residual networks; no weights.",
                "Shallower effective depth while training speeds up learning of early layers."),
    disadvantages=("Only makes sense on a residual branch; on the main path it drops the whole signal.",
                   "Too high a p makes deep models underfit."),
    when_to_use="Residual branches of deep CNNs and transformers, p rising with depth (e.g. 0 to 0.2).",
    params=(Param("p", "float", 0.1, min=0.0, max=1.0, key=True, doc="Probability that a sample's branch is dropped."),),
    build=lambda p, s: ops.DropPath(p.p),
)

PLACEHOLDER = LayerSpec(
    type_id="Placeholder", category="Core", title="Placeholder (replace me)",
    summary="Stands for an imported operation DeepWire cannot compute; the project runs once it is replaced.",
    explanation=(
        "The importer keeps a model whole even when one of its operations has no DeepWire layer: that "
        "operation becomes a Placeholder, which remembers the operation, the line of model code it came "
        "from, its output shape and how many weights it had, so the rest of the network shows its shapes "
        "and can be edited. A project with a Placeholder does not validate: replace the node with layers "
        "that compute the same (or change the model code and import again) before training."),
    advantages=("Imports the rest of a model instead of refusing it.",),
    disadvantages=("Cannot run: training and export stop until it is replaced.",),
    when_to_use="Never by choice; it appears only in imported projects.",
    params=(Param("op", "str", "", key=True, doc="The operation it stands for."),
            Param("source", "str", "", doc="Where it was in the model code (file:line)."),
            Param("out_shape", "ints", (1,), min=0, max=1_000_000, doc="Per-sample output shape it had."),
            Param("param_count", "int", 0, min=0, max=2**31 - 1, doc="Weights the original operation held.")),
    inputs=(Port("in", multi=True, doc="The tensors the operation read."),),
    build=lambda p, s: ops.Placeholder(list(p.out_shape)), check=_placeholder_check,
    declared=_placeholder_declared, role="placeholder",
)

register(LEARNED_TENSOR, DROP_PATH, PLACEHOLDER)
