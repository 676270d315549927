"""How shapes are written for people: the batch dimension shows as N."""

from __future__ import annotations

from collections.abc import Sequence


def format_shape(shape: Sequence[int | None] | None) -> str:
    """(None, 16, 7, 7) -> "(N, 16, 7, 7)"; None -> "?"."""
    if shape is None:
        return "?"
    dims = ["N" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
