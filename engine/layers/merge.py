"""Merge layers that join branches: Add, Concat, Multiply, and Distance for Siamese networks."""

from __future__ import annotations

from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Port, Shape
from engine.lazy import LazyModule
from engine.shapes_format import format_shape

seq_modules = LazyModule("engine.layers.seq_modules")

_MERGE_HINT = "make every branch end in the same shape, e.g. with a Dense or 1x1 Conv2d on the shorter path"


def _listed(shapes: list[Shape]) -> str:
    text = [format_shape(s) for s in shapes]
    return ", ".join(text[:-1]) + " and " + text[-1]


def _broadcastable(a: Shape, b: Shape) -> bool:
    """Same rank, and each per-sample dim equal, 1 (stretched) or unknown."""
    return len(a) == len(b) and all(x == y or 1 in (x, y) or None in (x, y) for x, y in zip(a[1:], b[1:], strict=True))


def _elementwise_check(title: str):
    def check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
        if all(_broadcastable(shapes[0], other) for other in shapes[1:]):
            return None
        return f"{title} needs inputs of the same shape but gets {_listed(shapes)}", _MERGE_HINT
    return check


def _concat_dim(axis: int) -> int:
    """Per-sample axis (0 = first dim after the batch, -1 = last) -> tensor dim."""
    return axis + 1 if axis >= 0 else axis


def _concat_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        return (f"Concat needs inputs with the same number of dimensions but gets {_listed(shapes)}",
                "insert a Flatten or Reshape node on one branch so both have the same layout")
    if not -(rank - 1) <= p.axis <= rank - 2:
        return (f"Concat axis = {p.axis} does not exist for samples of shape {format_shape(shapes[0][1:])}",
                f"pick an axis from {-(rank - 1)} to {rank - 2} (0 = first dimension after the batch)")
    dim = _concat_dim(p.axis) % rank
    for other in shapes[1:]:
        if any(a != b for i, (a, b) in enumerate(zip(shapes[0], other, strict=True)) if i not in (0, dim)):
            return (f"Concat along axis {p.axis} needs every other dimension equal but gets {_listed(shapes)}",
                    "make the branches agree on all other dimensions, or choose another axis")
    return None


ADD = LayerSpec(
    type_id="Add", category="Merge", title="Add",
    summary="Sums its inputs element by element; the join of a residual (skip) connection.",
    explanation=(
        "Add takes two or more tensors of the same shape and returns their elementwise sum. Its main use "
        "is the residual connection of ResNets and Transformers: a block's output is added to its own "
        "input, so the block only has to learn a correction, and gradients flow straight back through "
        "the addition. This is what makes networks with dozens or hundreds of layers trainable. A "
        "dimension of size 1 is broadcast (stretched) to match the other input."),
    advantages=("No parameters; makes very deep networks train well (shortcut for gradients).",
                "Keeps the size unchanged, so blocks can be stacked freely."),
    disadvantages=("Inputs must have identical shapes; a shortcut that changes size needs a projection.",
                   "Mixes the branches irreversibly, unlike Concat which keeps them apart."),
    when_to_use="Residual/skip connections, and combining branches that describe the same features.",
    inputs=(Port("in", multi=True, doc="Two or more tensors of the same shape."),),
    min_inputs=2, build=lambda p, s: seq_modules.Add(), check=_elementwise_check("Add"),
    example=((None, 8), (None, 8)),
)

MULTIPLY = LayerSpec(
    type_id="Multiply", category="Merge", title="Multiply",
    summary="Multiplies its inputs element by element; used for gating and feature interactions.",
    explanation=(
        "Multiply returns the elementwise product of two or more tensors of the same shape. When one "
        "input comes from a Sigmoid it acts as a learned gate that lets features through or blocks them "
        "(as in attention gates and squeeze-and-excitation blocks); with two embeddings it models the "
        "interaction of, say, a user and an item, as in matrix-factorisation recommenders. A dimension "
        "of size 1 is broadcast to match the other input."),
    advantages=("No parameters; expresses interactions that sums cannot (a feature matters only if another does).",),
    disadvantages=("Products of many inputs can shrink or grow quickly, which can destabilise training.",
                   "Inputs must have the same shape."),
    when_to_use="Gating a branch with a Sigmoid mask, or combining user and item embeddings.",
    inputs=(Port("in", multi=True, doc="Two or more tensors of the same shape."),),
    min_inputs=2, build=lambda p, s: seq_modules.Multiply(), check=_elementwise_check("Multiply"),
    example=((None, 8), (None, 8)),
)

CONCAT = LayerSpec(
    type_id="Concat", category="Merge", title="Concat",
    summary="Joins its inputs side by side along one axis, e.g. (N, 8) and (N, 4) -> (N, 12).",
    explanation=(
        "Concat stacks two or more tensors together along the chosen axis, keeping every value of every "
        "input. The axis counts dimensions of one sample, never the batch: 0 is the first dimension after "
        "the batch (the channels of an image) and -1 the last (the features of a vector or of each time "
        "step). All other dimensions must be equal. It joins multi-branch designs such as Inception "
        "blocks, U-Net skip connections and models that read several inputs (numbers plus text)."),
    advantages=("No parameters and no information lost: later layers can use each branch separately.",
                "Branches may have different widths along the joined axis."),
    disadvantages=("The output grows with every input, which makes the next layer bigger.",
                   "All dimensions except the joined one must match."),
    when_to_use="Combining branches or inputs that carry different information.",
    params=(Param("axis", "int", -1, min=-8, max=7, key=True,
                  doc="Per-sample axis to join along: 0 = first after the batch (channels), -1 = last."),),
    inputs=(Port("in", multi=True, doc="Two or more tensors that agree on every dimension but the axis."),),
    min_inputs=2, build=lambda p, s: seq_modules.Concat(_concat_dim(p.axis)), check=_concat_check,
    example=((None, 8), (None, 4)),
)


def _distance_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    if shapes[0] != shapes[1]:
        return (f"Distance compares two inputs of the same shape but gets {_listed(shapes)}",
                "feed both inputs through the same (shared-weight) branch so they end in the same shape")
    return None


DISTANCE = LayerSpec(
    type_id="Distance", category="Merge", title="Distance",
    summary="How far apart two embeddings are, one number per pair: (N, D) and (N, D) -> (N, 1).",
    explanation=(
        "Distance compares sample i of input a with sample i of input b and outputs one number per pair "
        "(each sample is flattened first). L1 sums the absolute differences, L2 is the straight-line "
        "(Euclidean) distance, and cosine is 1 minus the cosine of the angle between the vectors, so it "
        "ignores their length (0 = same direction, 2 = opposite). It is the head of a Siamese network: "
        "two inputs go through the same shared-weight branch, and a contrastive loss teaches the branch "
        "to map similar pairs close together and different pairs far apart. Typical tasks are signature "
        "or face verification and finding duplicates."),
    advantages=("Learns a similarity measure, so it works for classes never seen in training (one-shot).",
                "No parameters; the output is easy to threshold and to interpret."),
    disadvantages=("Needs pairs (or triplets) of examples and a suitable loss, such as contrastive loss.",
                   "L1 and L2 depend on the scale of the embeddings; normalise them or use cosine."),
    when_to_use="The end of a Siamese network, and any model that judges whether two inputs are alike.",
    params=(Param("metric", "choice", "l2", choices=("l1", "l2", "cosine"), key=True,
                  doc="l1: sum of absolute differences; l2: Euclidean distance; cosine: 1 - cosine similarity."),),
    inputs=(Port("a", doc="First sample of each pair (N, D)."), Port("b", doc="Second sample of each pair (N, D).")),
    build=lambda p, s: seq_modules.Distance(p.metric), check=_distance_check,
    example=((None, 8), (None, 8)),
)

register(ADD, CONCAT, MULTIPLY, DISTANCE)
