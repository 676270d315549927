"""How shapes and a node's key params are written for people: the batch dimension shows as N."""

from __future__ import annotations

from collections.abc import Sequence


def format_shape(shape: Sequence[int | None] | None) -> str:
    """(None, 16, 7, 7) -> "(N, 16, 7, 7)"; None -> "?"."""
    if shape is None:
        return "?"
    dims = ["N" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def format_param(value: object, name: str = "") -> str:
    """A param value as a node shows it: sizes as 3×3, an axis order (Permute's dims) as (1, 0), floats short."""
    if isinstance(value, list | tuple):
        return f"({', '.join(str(v) for v in value)})" if name == "dims" else "\u00d7".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def format_key_params(node_type: str, params: dict) -> str:
    """The key params line of a node face: 'out_channels 16  kernel_size 3'."""
    from engine.layers.registry import get_spec  # here, not at the top: the layer modules import this module

    return "  ".join(f"{p.name} {format_param(params.get(p.name), p.name)}" for p in get_spec(node_type).params if p.key)
