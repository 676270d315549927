"""Split: one node that cuts a tensor into pieces along an axis, each piece on its own output port."""

from __future__ import annotations

from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Port, Shape
from engine.layers.tensor_ops import AXIS_DOC, _axis_error, tensor_dim
from engine.lazy import LazyModule
from engine.shapes_format import format_shape

ops = LazyModule("engine.layers.op_modules")

MAX_PIECES = 64
"""More pieces than this would crowd the node with ports; such a split stays in the model code."""


def piece_count(p: Params) -> int:
    """How many pieces (output ports) the params give."""
    return len(p.sizes) if p.sizes else p.chunks


def _ports(p: Params) -> tuple[Port, ...]:
    return tuple(Port(f"out{i}", doc=f"Piece {i} (x.split(...)[{i}]).") for i in range(piece_count(p)))


def piece_sizes(p: Params, shape: Shape) -> list[int]:
    """The length of each piece along the axis, for an input of `shape`."""
    if p.sizes:
        return list(p.sizes)
    return [shape[tensor_dim(p.axis)] // p.chunks] * p.chunks


def _check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    shape = shapes[0]
    problem = _axis_error("Split", p.axis, shape)
    if problem:
        return problem
    size = shape[tensor_dim(p.axis)]
    if p.sizes and sum(p.sizes) != size:
        return (f"Split sizes {list(p.sizes)} add up to {sum(p.sizes)}, but axis {p.axis} of {format_shape(shape)} "
                f"has {size}", f"make the sizes add up to {size}")
    if not p.sizes and size % p.chunks:
        return (f"Split cannot cut axis {p.axis} of {format_shape(shape)} (size {size}) into {p.chunks} equal pieces",
                f"choose chunks that divide {size}, or list the piece sizes")
    if piece_count(p) > MAX_PIECES:
        return f"Split into {piece_count(p)} pieces: at most {MAX_PIECES}", "cut into fewer pieces"
    if p.squeeze and any(s != 1 for s in piece_sizes(p, shape)):
        return ("Split with squeeze needs pieces of length 1 (one per position, like x.unbind)",
                f"set chunks to {size}, or turn squeeze off")
    return None


SPLIT = LayerSpec(
    type_id="Split", category="Reshape", title="Split",
    summary="Cuts a tensor into pieces along an axis, one output per piece: a, b = x.chunk(2, dim=1).",
    explanation=(
        "Split cuts each sample along one axis into `chunks` equal pieces, or into pieces of the listed "
        "`sizes`, and gives every piece its own output port (out0, out1, ...), so a, b = x.chunk(2, dim=1) is "
        "one node with two outputs. With `squeeze` each piece must have length 1 and loses that axis, which "
        "is x.unbind(axis): a (N, 3, F) tensor becomes three (N, F) tensors. ShuffleNet splits its channels "
        "so half go through a branch and half skip it; gated units split one projection into a value and a "
        "gate; attention code unbinds a joint query/key/value tensor."),
    advantages=("No weights; one node holds the whole split, and each wire shows its piece's shape.",),
    disadvantages=("The sizes are fixed: a change of the input size along the axis needs new sizes.",),
    when_to_use="Channel splits (ShuffleNet), gated linear units, separating a joint projection, unbinding.",
    params=(Param("chunks", "int", 2, min=1, max=MAX_PIECES, key=True,
                  doc="How many equal pieces (used when sizes is empty)."),
            Param("sizes", "ints", (), min=1, max=1_000_000,
                  doc="Length of each piece along the axis, e.g. 16, 48; empty = chunks equal pieces."),
            Param("axis", "int", 0, min=-8, max=7, key=True, doc=AXIS_DOC),
            Param("squeeze", "bool", False, doc="Drop the axis from each piece (pieces of length 1: x.unbind).")),
    outputs=(Port("out0"), Port("out1")),
    ports_out=_ports,
    build=lambda p, s: ops.Split(piece_sizes(p, s[0]), tensor_dim(p.axis), p.squeeze),
    check=_check, example=((None, 6, 4),),
)

register(SPLIT)
