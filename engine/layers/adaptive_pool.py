"""Adaptive pooling: average or max pooling to a chosen output size, whatever the input size."""

from __future__ import annotations

from engine.layers.checks import rank_error
from engine.layers.pool import LAYOUTS
from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Shape
from engine.lazy import LazyModule

nn = LazyModule("torch.nn")


def _size_param(length: int, default: tuple[int, ...]) -> Param:
    what = "length" if length == 1 else "height and width"
    return Param("output_size", "ints", default, min=1, max=4096, length=length, key=True,
                 doc=f"The {what} of each output map; the windows are sized to fit.")


def _check(title: str, rank: int):
    def check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
        return rank_error(title, shapes[0], {rank: LAYOUTS[rank]}, "insert a Reshape node before it")
    return check


EXPLAIN_AVG = (
    "Adaptive average pooling divides each feature map into output_size tiles, sized to fit whatever "
    "the input is, and keeps the mean of each. Unlike AvgPool, where you pick the window and the output "
    "size follows, here you pick the output size and the windows follow; when the input does not divide "
    "evenly, neighbouring windows overlap by a cell. Torchvision's VGG and AlexNet use a 7x7 one so the "
    "classifier always sees the same number of values; an output size of 1 is global average pooling "
    "that keeps the (N, C, 1, 1) layout.")
EXPLAIN_MAX = (
    "Adaptive max pooling divides each feature map into output_size tiles sized to fit the input and "
    "keeps the largest value of each. You choose the size of the result rather than the window, so the "
    "next layer sees a fixed number of values whatever the input size. When the input does not divide "
    "evenly, neighbouring windows overlap by a cell. An output size of 1 keeps, per channel, the "
    "strongest response anywhere in the map, in the (N, C, 1, 1) layout.")
ADVANTAGES = ("No weights; makes the layers after it independent of the input size.",)
DISADVANTAGES = ("Windows change with the input size, so features are pooled over different extents.",
                 "Fixed output sizes larger than the input repeat values instead of adding detail.")

ADAPTIVE_AVG_1D = LayerSpec(
    type_id="AdaptiveAvgPool1d", category="Pooling", title="Adaptive AvgPool 1D",
    summary="Averages windows of a signal sized so the output has a chosen length: (N, C, L) -> (N, C, size).",
    explanation=EXPLAIN_AVG, advantages=ADVANTAGES, disadvantages=DISADVANTAGES,
    when_to_use="Before a classifier on signals of varying length, when a global pool throws away too much.",
    params=(_size_param(1, (4,)),),
    build=lambda p, s: nn.AdaptiveAvgPool1d(p.output_size[0]),
    check=_check("Adaptive AvgPool 1D", 3), fix="Reshape", example=((None, 4, 32),),
)

ADAPTIVE_AVG_2D = LayerSpec(
    type_id="AdaptiveAvgPool2d", category="Pooling", title="Adaptive AvgPool 2D",
    summary="Averages tiles of a feature map sized so the output has a chosen height and width.",
    explanation=EXPLAIN_AVG, advantages=ADVANTAGES, disadvantages=DISADVANTAGES,
    when_to_use="VGG/AlexNet-style heads (7x7), segmentation pyramids, and global pooling that keeps (N, C, 1, 1).",
    params=(_size_param(2, (1, 1)),),
    build=lambda p, s: nn.AdaptiveAvgPool2d(tuple(p.output_size)),
    check=_check("Adaptive AvgPool 2D", 4), fix="Reshape", example=((None, 4, 9, 9),),
)

ADAPTIVE_MAX_1D = LayerSpec(
    type_id="AdaptiveMaxPool1d", category="Pooling", title="Adaptive MaxPool 1D",
    summary="Keeps the largest value of windows sized so the output has a chosen length.",
    explanation=EXPLAIN_MAX, advantages=ADVANTAGES, disadvantages=DISADVANTAGES,
    when_to_use="Text or signal CNNs that need a fixed-length summary of a varying-length input.",
    params=(_size_param(1, (4,)),),
    build=lambda p, s: nn.AdaptiveMaxPool1d(p.output_size[0]),
    check=_check("Adaptive MaxPool 1D", 3), fix="Reshape", example=((None, 4, 32),),
)

ADAPTIVE_MAX_2D = LayerSpec(
    type_id="AdaptiveMaxPool2d", category="Pooling", title="Adaptive MaxPool 2D",
    summary="Keeps the largest value of tiles sized so the output has a chosen height and width.",
    explanation=EXPLAIN_MAX, advantages=ADVANTAGES, disadvantages=DISADVANTAGES,
    when_to_use="Heads that need a fixed grid of strongest responses whatever the image size.",
    params=(_size_param(2, (1, 1)),),
    build=lambda p, s: nn.AdaptiveMaxPool2d(tuple(p.output_size)),
    check=_check("Adaptive MaxPool 2D", 4), fix="Reshape", example=((None, 4, 9, 9),),
)

register(ADAPTIVE_AVG_1D, ADAPTIVE_AVG_2D, ADAPTIVE_MAX_1D, ADAPTIVE_MAX_2D)
