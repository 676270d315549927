"""Shape checks shared by layer families: rank tests and sliding-window sizes."""

from __future__ import annotations

from engine.layers.spec import Shape
from engine.shapes_format import format_shape


def rank_error(title: str, shape: Shape, layouts: dict[int, str], hint: str) -> tuple[str, str, bool] | None:
    """(message, hint, True) when `shape` has none of the ranks in `layouts` (rank -> layout text).

    The True marks a layout error, which the spec's `fix` (e.g. insert a Reshape) can mend.
    """
    if len(shape) in layouts:
        return None
    wanted = " or ".join(layouts.values())
    return f"{title} expects {wanted} but gets {format_shape(shape)}", hint, True


def window_out(size: int | None, kernel: int, stride: int, padding: int, dilation: int = 1) -> int | None:
    """Output length of a convolution or pooling window over `size` (None stays None)."""
    if size is None:
        return None
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def too_small(title: str, shape: Shape, spatial: list[int | None], kernel: int,
              stride: int, padding: int, dilation: int = 1) -> tuple[str, str] | None:
    """(message, hint) when the window does not fit the padded input along some spatial dim."""
    outs = [window_out(s, kernel, stride, padding, dilation) for s in spatial]
    if all(o is None or o >= 1 for o in outs):
        return None
    span = dilation * (kernel - 1) + 1
    return (f"{title} window of {span} does not fit the input {format_shape(shape)} (padding {padding})",
            "use a smaller kernel, more padding, or remove a downsampling layer before it")
