"""Tensor operations imported models are made of: reductions, constant scaling, resizing, slicing and
reshuffling. Axes count the dims of one sample: 0 is the first dim after the batch, -1 the last."""

from __future__ import annotations

from engine.layers.checks import rank_error
from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Shape
from engine.lazy import LazyModule
from engine.shapes_format import format_shape

ops = LazyModule("engine.layers.op_modules")

AXIS_DOC = "Per-sample axis: 0 = first dim after the batch, -1 = the last."


def tensor_dim(axis: int) -> int:
    """Per-sample axis -> tensor dim (the batch is dim 0)."""
    return axis + 1 if axis >= 0 else axis


def _axis_error(title: str, axis: int, shape: Shape) -> tuple[str, str] | None:
    rank = len(shape)
    if -(rank - 1) <= axis <= rank - 2:
        return None
    return (f"{title} axis {axis} does not exist for samples of shape {format_shape(shape[1:])}",
            f"pick an axis from {-(rank - 1)} to {rank - 2} (0 = first dim after the batch)")


def _axes_check(title: str):
    def check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
        axes = list(p.axes)
        if not axes:
            return f"{title} needs at least one axis", "list the per-sample axes to reduce, e.g. 1, 2"
        for axis in axes:
            problem = _axis_error(title, axis, shapes[0])
            if problem:
                return problem
        rank = len(shapes[0])
        if len({tensor_dim(a) % rank for a in axes}) != len(axes):
            return f"{title} lists an axis twice ({axes})", "list each axis once"
        return None
    return check


def _axis_check(title: str, size_one: bool = False, index: bool = False):
    def check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
        shape = shapes[0]
        problem = _axis_error(title, p.axis, shape)
        if problem:
            return problem
        size = shape[tensor_dim(p.axis)]
        if size_one and size != 1:
            return (f"{title} removes axis {p.axis}, which has size {size} in {format_shape(shape)} (it must be 1)",
                    "pick an axis of size 1, or use Reduce or Select to remove a longer one")
        if index and size is not None and not -size <= p.index < size:
            return (f"{title} index {p.index} is outside axis {p.axis} of {format_shape(shape)} (size {size})",
                    f"use an index from {-size} to {size - 1}")
        return None
    return check


def _unsqueeze_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    rank = len(shapes[0])
    if -rank <= p.axis <= rank - 1:
        return None
    return (f"Unsqueeze axis {p.axis} cannot be inserted into {format_shape(shapes[0])}",
            f"pick an axis from {-rank} to {rank - 1}")


def _chunk_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    problem = _axis_check("Chunk")(p, shapes)
    if problem:
        return problem
    size = shapes[0][tensor_dim(p.axis)]
    pieces = -(-size // p.chunks)
    count = -(-size // pieces)
    if p.index >= count:
        return (f"Chunk index {p.index} does not exist: axis {p.axis} of size {size} splits into {count} piece(s)",
                f"use an index below {count}")
    return None


def _slice_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    problem = _axis_check("Slice")(p, shapes)
    if problem:
        return problem
    size = shapes[0][tensor_dim(p.axis)]
    start = p.start + size if p.start < 0 else p.start
    end = size if p.end == 0 else (p.end + size if p.end < 0 else p.end)
    if not 0 <= start < end <= size:
        return (f"Slice {p.start}:{p.end or ''} is empty or outside axis {p.axis} of {format_shape(shapes[0])}",
                f"choose start < end within 0..{size} (negative values count from the end)")
    return None


def _interpolate_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    shape = shapes[0]
    layouts = {4: "(N, C, H, W)"} if p.mode == "bilinear" else {3: "(N, C, L)", 4: "(N, C, H, W)"}
    problem = rank_error("Interpolate", shape, layouts, "insert a Reshape node before it")
    if problem:
        return problem
    if p.size and len(p.size) != len(shape) - 2:
        return (f"Interpolate size {list(p.size)} needs {len(shape) - 2} number(s) for {format_shape(shape)}",
                "give one size per spatial dim, or leave size empty and set a scale")
    if not p.size and p.scale <= 0:
        return "Interpolate needs a size or a scale above 0", "set the output size, or a scale such as 2"
    return None


def _shuffle_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    shape = shapes[0]
    if len(shape) < 3:
        return (f"ChannelShuffle needs channels and a map or signal, (N, C, ...), but gets {format_shape(shape)}",
                "use it between grouped convolutions")
    if shape[1] % p.groups:
        return (f"ChannelShuffle groups = {p.groups} must divide the {shape[1]} channels of {format_shape(shape)}",
                "choose the groups of the grouped convolution before it")
    return None


def _interpolate(p: Params, shapes: list[Shape]) -> ops.Interpolate:
    return ops.Interpolate(list(p.size), p.scale, p.mode, p.align_corners)


AXIS = Param("axis", "int", 0, min=-8, max=7, key=True, doc=AXIS_DOC)

REDUCE = LayerSpec(
    type_id="Reduce", category="Reshape", title="Reduce",
    summary="Mean, max, min or sum over chosen axes, e.g. (N, C, H, W) -> (N, C, 1, 1) or (N, T, F) -> (N, F).",
    explanation=(
        "Reduce collapses the chosen axes of each sample into one number per remaining position, by "
        "averaging, taking the largest or smallest value, or adding up. With keepdim the reduced axes "
        "stay with size 1, which is what a squeeze-and-excitation block needs: the mean over height and "
        "width, (N, C, 1, 1), can then gate (N, C, H, W) through a Multiply. Averaging a sequence over "
        "its time axis (axis 0 of (N, T, F)) turns per-token features into one vector per text, the "
        "usual head of a transformer classifier. Global AvgPool is the special case 'mean over every "
        "axis after the channels, without keepdim'."),
    advantages=("No weights; one node for the many reductions model code writes inline.",
                "keepdim keeps the layout, so the result broadcasts against its input."),
    disadvantages=("Throws away the reduced positions; a max passes gradient to one position only.",),
    when_to_use="Squeeze-and-excitation blocks, pooling a sequence over time, or summing scores.",
    params=(Param("op", "choice", "mean", choices=("mean", "max", "min", "sum"), key=True,
                  doc="mean, max, min or sum of the values along the axes."),
            Param("axes", "ints", (1, 2), min=-8, max=7, key=True,
                  doc="Per-sample axes to reduce: 0 = first dim after the batch, -1 = the last."),
            Param("keepdim", "bool", False, doc="Keep each reduced axis with size 1 instead of dropping it.")),
    build=lambda p, s: ops.Reduce(p.op, [tensor_dim(a) for a in p.axes], p.keepdim),
    check=_axes_check("Reduce"), example=((None, 4, 5, 5),),
)

SCALE_SHIFT = LayerSpec(
    type_id="ScaleShift", category="Core", title="Scale / Shift",
    summary="x * scale + shift with two fixed numbers, e.g. the * sqrt(d) after a transformer's embedding.",
    explanation=(
        "Scale / Shift multiplies every value by a fixed number and adds another. Model code does this "
        "inline all the time: a transformer multiplies its token embeddings by the square root of their "
        "width so they are not drowned by the position encoding, image models rescale pixels from 0..1 "
        "to -1..1 (scale 2, shift -1), and 1 - x flips a mask (scale -1, shift 1). Neither number is "
        "learned; use a Dense layer or a LayerNorm when the network should learn them."),
    advantages=("No weights; makes a constant factor visible on the canvas instead of hidden in code.",),
    disadvantages=("Fixed: a badly chosen scale slows training and nothing corrects it.",),
    when_to_use="Embedding scaling, input rescaling, or any constant multiply/add an imported model does.",
    params=(Param("scale", "float", 1.0, min=-1e6, max=1e6, key=True, doc="Every value is multiplied by this."),
            Param("shift", "float", 0.0, min=-1e6, max=1e6, key=True, doc="Then this is added.")),
    build=lambda p, s: ops.ScaleShift(p.scale, p.shift),
)

INTERPOLATE = LayerSpec(
    type_id="Interpolate", category="Pooling", title="Interpolate",
    summary="Resizes maps or signals to a fixed size or by a scale factor (nearest or bilinear).",
    explanation=(
        "Interpolate resamples each feature map: to an exact output size (height and width, or a length) "
        "or by a scale factor that may be fractional, such as 0.5 or 1.5. 'nearest' copies the closest "
        "input value and 'bilinear' blends the four nearest pixels (maps only); align_corners pins the "
        "corner pixels of input and output together, which some segmentation models expect. Segmentation "
        "networks use it to bring coarse predictions back to the image size and feature pyramids use it "
        "to match the sizes of maps before adding them. UpSampling is the whole-factor special case."),
    advantages=("No weights; any output size, including shrinking.",),
    disadvantages=("Adds no detail: upsampled maps are blocky (nearest) or blurred (bilinear).",
                   "A fixed size ties the model to one input size."),
    when_to_use="Segmentation heads, feature pyramids and any resize to match another branch.",
    params=(Param("size", "ints", (), min=1, max=16384, key=True,
                  doc="Output length or height, width; leave empty to use scale instead."),
            Param("scale", "float", 2.0, min=0.0, max=64.0, key=True, doc="Factor for each spatial dim when size is empty."),
            Param("mode", "choice", "nearest", choices=("nearest", "bilinear"), doc="'nearest' copies; 'bilinear' blends."),
            Param("align_corners", "bool", False, doc="Bilinear only: map the corner pixels exactly onto each other.")),
    build=_interpolate, check=_interpolate_check, fix="Reshape", example=((None, 4, 6, 6),),
)

CHUNK = LayerSpec(
    type_id="Chunk", category="Reshape", title="Chunk",
    summary="One of `chunks` equal pieces along an axis, e.g. the first half of the channels.",
    explanation=(
        "Chunk cuts each sample into `chunks` equal pieces along an axis (the last piece is smaller when "
        "the size does not divide) and passes on piece number `index`. Split does the same with every piece "
        "on its own output (the importer makes a, b = x.chunk(2, dim=1) one Split node); Chunk is the "
        "single-piece form, for when only one piece is needed."),
    advantages=("No weights; makes each piece of a split a separate, visible wire.",),
    disadvantages=("One node per piece: for several pieces, Split is one node to edit instead of many.",),
    when_to_use="Channel splits (ShuffleNet), gated linear units, separating a joint projection.",
    params=(Param("chunks", "int", 2, min=1, max=4096, key=True, doc="How many pieces the axis is cut into."),
            Param("index", "int", 0, min=0, max=4095, key=True, doc="Which piece to pass on (0 = first)."),
            Param("axis", "int", 0, min=-8, max=7, doc=AXIS_DOC)),
    build=lambda p, s: ops.Chunk(p.chunks, p.index, tensor_dim(p.axis)),
    check=_chunk_check, example=((None, 6, 4),),
)

SELECT = LayerSpec(
    type_id="Select", category="Reshape", title="Select",
    summary="One position along an axis, which disappears: x[:, 0] takes a transformer's class token.",
    explanation=(
        "Select keeps a single position along an axis and drops that axis: on a sequence (N, T, F), "
        "axis 0 and index 0 give (N, F), the first token, which is how a vision transformer reads its "
        "class token; index -1 is the last step. It is x[:, i] in model code."),
    advantages=("No weights; picks the one position a head should read.",),
    disadvantages=("Everything else along the axis is dropped; Reduce summarises all positions instead.",),
    when_to_use="Class-token heads, last-step readouts, one channel of a multi-channel map.",
    params=(AXIS, Param("index", "int", 0, min=-65536, max=65535, key=True,
                        doc="Position to keep; negative counts from the end.")),
    build=lambda p, s: ops.Select(tensor_dim(p.axis), p.index),
    check=_axis_check("Select", index=True), example=((None, 5, 8),),
)

SLICE = LayerSpec(
    type_id="Slice", category="Reshape", title="Slice",
    summary="A range of positions along an axis, e.g. x[:, 1:] drops a class token.",
    explanation=(
        "Slice keeps positions start to end - 1 along one axis and drops the rest; negative numbers count "
        "from the end and an end of 0 means 'to the end'. x[:, 1:] on a vision transformer's tokens "
        "(start 1, end 0) keeps the patch tokens and drops the class token; x[:, :, :-1] trims the last "
        "step of each feature."),
    advantages=("No weights; the size of the result is fixed and shown on the wire.",),
    disadvantages=("The range is fixed, so the node must be edited if the input size changes.",),
    when_to_use="Dropping or keeping a fixed part of a sequence or of the channels.",
    params=(AXIS, Param("start", "int", 0, min=-65536, max=65535, key=True, doc="First position kept."),
            Param("end", "int", 0, min=-65536, max=65536, doc="One past the last position kept; 0 = to the end.")),
    build=lambda p, s: ops.Slice(tensor_dim(p.axis), p.start, p.end),
    check=_slice_check, example=((None, 5, 8),),
)

SQUEEZE = LayerSpec(
    type_id="Squeeze", category="Reshape", title="Squeeze",
    summary="Removes an axis of size 1, e.g. (N, C, 1) -> (N, C).",
    explanation=(
        "Squeeze drops one axis whose size is 1, leaving the values unchanged. Models use it after a "
        "pooling that keeps the layout, such as (N, C, 1, 1), or to remove the singleton axis a "
        "convolution over one row leaves behind. The axis must have size 1; use Reduce or Select to "
        "remove a longer one."),
    advantages=("No weights and no cost.",),
    disadvantages=("Fails if the axis is not of size 1, so it ties the model to that shape.",),
    when_to_use="Cleaning up size-1 axes before a Dense layer or a sequence layer.",
    params=(Param("axis", "int", -1, min=-8, max=7, key=True, doc=AXIS_DOC),),
    build=lambda p, s: ops.Squeeze(tensor_dim(p.axis)),
    check=_axis_check("Squeeze", size_one=True), example=((None, 4, 1),),
)

UNSQUEEZE = LayerSpec(
    type_id="Unsqueeze", category="Reshape", title="Unsqueeze",
    summary="Inserts an axis of size 1, e.g. (N, F) -> (N, 1, F).",
    explanation=(
        "Unsqueeze adds a new axis of size 1 at the given position without changing any value. It turns "
        "one vector per sample into a sequence of one step, (N, F) -> (N, 1, F), so it can be "
        "concatenated with other tokens, or a channel vector into (N, C, 1) for broadcasting against a "
        "signal."),
    advantages=("No weights and no cost.",),
    disadvantages=("Easy to put the axis in the wrong place; check the shape shown on the wire.",),
    when_to_use="Before concatenating a single token with a sequence, or to broadcast a vector.",
    params=(Param("axis", "int", 0, min=-8, max=7, key=True, doc="Where the new axis goes (per-sample count)."),),
    build=lambda p, s: ops.Unsqueeze(tensor_dim(p.axis)), check=_unsqueeze_check,
)

CHANNEL_SHUFFLE = LayerSpec(
    type_id="ChannelShuffle", category="Reshape", title="ChannelShuffle",
    summary="Interleaves the channels of groups so the next grouped convolution mixes them.",
    explanation=(
        "A grouped convolution only connects channels within its group, so stacking them would keep the "
        "groups apart forever. ChannelShuffle reorders the channels so that each new group takes one "
        "channel from every old group: with 2 groups of 3, channels 0 1 2 | 3 4 5 become 0 3 1 4 2 5. "
        "It is the trick that makes ShuffleNet's cheap grouped convolutions work, and costs nothing but "
        "a reshuffle of memory."),
    advantages=("No weights; lets information flow between the groups of grouped convolutions.",),
    disadvantages=("Only useful between grouped convolutions; elsewhere it is an arbitrary reordering.",),
    when_to_use="ShuffleNet-style blocks, after a grouped convolution or a channel split and concat.",
    params=(Param("groups", "int", 2, min=1, max=4096, key=True, doc="Number of channel groups to interleave."),),
    build=lambda p, s: ops.ChannelShuffle(p.groups), check=_shuffle_check, example=((None, 6, 4, 4),),
)

register(REDUCE, SCALE_SHIFT, INTERPOLATE, CHUNK, SELECT, SLICE, SQUEEZE, UNSQUEEZE, CHANNEL_SHUFFLE)
