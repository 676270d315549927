"""Reshaping layers: Reshape, Permute and RepeatVector (Flatten lives in core.py)."""

from __future__ import annotations

import math

from engine.layers.checks import rank_error
from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Shape
from engine.lazy import LazyModule
from engine.shapes_format import format_shape

modules = LazyModule("engine.layers.modules")


def _reshape_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    target = list(p.shape)
    shown = format_shape((None, *target))
    if not target:
        return "Reshape needs at least one size in its target shape", "enter the per-sample shape, e.g. 1, 28, 28"
    if 0 in target:
        return f"Reshape target {shown} has a size 0", "every size must be at least 1 (or -1 once)"
    if target.count(-1) > 1:
        return f"Reshape target {shown} uses -1 more than once", "give every size but one explicitly"
    sample = shapes[0][1:]
    if any(d is None for d in sample):
        return None
    total, known = math.prod(sample), math.prod(d for d in target if d != -1)
    if -1 in target and total % known:
        return (f"Reshape to {shown} cannot fit {total} values per sample from {format_shape(shapes[0])}: "
                f"{total} is not a multiple of {known}",
                f"make the sizes other than -1 multiply to a divisor of {total}")
    if -1 not in target and total != known:
        return (f"Reshape to {shown} needs {known} values per sample but the input {format_shape(shapes[0])} "
                f"has {total}", f"change the target shape so its sizes multiply to {total}, or use -1 once")
    return None


def _permute_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    rank = len(shapes[0]) - 1
    if sorted(p.dims) != list(range(rank)):
        return (f"Permute dims {list(p.dims)} must reorder all {rank} dims of each sample "
                f"{format_shape(shapes[0])} (a permutation of {', '.join(map(str, range(rank)))})",
                "list every per-sample dim exactly once; 0 is the first dim after the batch")
    return None


def _repeat_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    return rank_error("RepeatVector", shapes[0], {2: "(N, F)"}, "insert a Flatten node before it")


RESHAPE = LayerSpec(
    type_id="Reshape", category="Reshape", title="Reshape",
    summary="Gives each sample a new shape with the same number of values, e.g. (N, 784) -> (N, 1, 28, 28).",
    explanation=(
        "Reshape rearranges the values of each sample into a new shape without changing or reordering "
        "them; the batch dimension is kept. The sizes must multiply to the same count as the input; one "
        "size may be -1, meaning 'whatever is left'. Its main use is turning a flat vector into an image "
        "(N, C, H, W) for convolutions, e.g. after the Dense layer of a GAN generator or decoder, or a "
        "flat (N, T*F) vector into a sequence (N, T, F)."),
    advantages=("No weights and no cost: only the view of the data changes.",),
    disadvantages=("Does not move values between positions: to swap axes (time and features) use Permute.",
                   "Target sizes are fixed, so the node must be edited when the input size changes."),
    when_to_use="Flat vector -> image or sequence, before Conv or recurrent layers.",
    params=(Param("shape", "ints", (1, 28, 28), min=-1, max=1_000_000, key=True,
                  doc="Shape of one sample after the batch dim; -1 once means 'infer this size'."),),
    build=lambda p, s: modules.Reshape(p.shape), check=_reshape_check,
    example=((None, 784),),
)

PERMUTE = LayerSpec(
    type_id="Permute", category="Reshape", title="Permute",
    summary="Reorders the dimensions of each sample, e.g. (N, T, F) -> (N, F, T).",
    explanation=(
        "Permute swaps axes: dims lists, for each output axis, which input axis it comes from, counting "
        "from 0 after the batch. [1, 0] turns a sequence (N, T, F) into (N, F, T), the channels-first "
        "layout that Conv 1D and pooling expect, and back again. Unlike Reshape it really moves values, "
        "so time steps stay time steps."),
    advantages=("No weights; connects layers that want different axis orders.",),
    disadvantages=("Makes the tensor non-contiguous, which can cost a copy in the next layer.",),
    when_to_use="Between sequence layers (N, T, F) and Conv 1D / pooling layers (N, C, L), or to move channels last.",
    params=(Param("dims", "ints", (1, 0), min=0, max=7, key=True,
                  doc="New order of the per-sample dims (0 = first dim after the batch)."),),
    build=lambda p, s: modules.Permute(p.dims), check=_permute_check,
    example=((None, 20, 4),),
)

REPEAT_VECTOR = LayerSpec(
    type_id="RepeatVector", category="Reshape", title="RepeatVector",
    summary="Repeats a vector over a new time axis: (N, F) -> (N, times, F).",
    explanation=(
        "RepeatVector copies each sample's vector times times to make a sequence. It is how a "
        "one-to-many or sequence-to-sequence model starts its decoder: an encoder squeezes the input into "
        "one vector, RepeatVector feeds that same summary to every time step of a recurrent decoder, "
        "which then writes out the output sequence (captions, forecasts, an autoencoded series)."),
    advantages=("No weights; the simplest way to turn one vector into a sequence.",),
    disadvantages=("Every step gets the same input; the decoder must track the position in its own state.",),
    when_to_use="Before an LSTM/GRU decoder in one-to-many and encoder-decoder sequence models.",
    params=(Param("times", "int", 10, min=1, max=100_000, key=True, doc="Length of the output sequence."),),
    build=lambda p, s: modules.RepeatVector(p.times), check=_repeat_check, fix="Flatten",
)

register(RESHAPE, PERMUTE, REPEAT_VECTOR)
