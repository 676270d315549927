"""Convolution layers: Conv1d, Conv2d and ConvTranspose2d."""

from __future__ import annotations

from engine.layers.checks import rank_error, too_small
from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Shape
from engine.lazy import LazyModule
from engine.shapes_format import format_shape

nn = LazyModule("torch.nn")

RESHAPE_HINT = "insert a Reshape node before it"

OUT_CHANNELS = Param("out_channels", "int", 16, min=1, max=65536, key=True,
                     doc="Number of filters, i.e. feature maps (channels) the layer produces.")
KERNEL = Param("kernel_size", "int", 3, min=1, max=255, key=True,
               doc="Width (and height) of each filter window.")
STRIDE = Param("stride", "int", 1, min=1, max=64,
               doc="Step between window positions; 2 halves the output size.")
PADDING = Param("padding", "int_or_choice", "same", choices=("same", "valid"), min=0, max=1024,
                doc="'same' keeps the size (divided by the stride), 'valid' adds none, a number pads "
                    "that many zeros on each side.")
DILATION = Param("dilation", "int", 1, min=1, max=64,
                 doc="Gap between the taps of a filter; widens the view without more weights.")
GROUPS = Param("groups", "int", 1, min=1, max=65536,
               doc="Split channels into independent groups; groups = input channels is a depthwise conv.")
BIAS = Param("bias", "bool", True, doc="Learn an additive bias per output channel.")


def same_padding(p: Params) -> int | str | None:
    """Torch padding that makes a conv's output size ceil(input / stride); None if it cannot."""
    span = p.dilation * (p.kernel_size - 1) + 1
    if span % 2 == 1:
        return (span - 1) // 2
    return "same" if p.stride == 1 else None


def conv_padding(p: Params) -> int | str:
    """The torch padding for a Conv1d/Conv2d from the padding param."""
    if p.padding == "valid":
        return 0
    if p.padding == "same":
        pad = same_padding(p)
        if pad is None:
            raise ValueError("padding 'same' needs an odd kernel span when stride > 1")
        return pad
    return p.padding


def transpose_same(p: Params) -> tuple[int, int] | None:
    """(padding, output_padding) that make a transposed conv's output input * stride; None if none do."""
    excess = p.dilation * (p.kernel_size - 1) + 1 - p.stride
    if excess < 0:
        return None
    pad = (excess + 1) // 2
    extra = 2 * pad - excess
    return (pad, extra) if extra < max(p.stride, p.dilation) else None


def transpose_padding(p: Params) -> tuple[int, int]:
    """(padding, output_padding) for a ConvTranspose2d from the params."""
    if p.padding == "same":
        pads = transpose_same(p)
        if pads is None:
            raise ValueError("padding 'same' is impossible for this kernel and stride")
        return pads
    return (0 if p.padding == "valid" else p.padding), p.output_padding


def _groups_error(title: str, in_channels: int | None, p: Params) -> tuple[str, str] | None:
    if in_channels is None or (in_channels % p.groups == 0 and p.out_channels % p.groups == 0):
        return None
    return (f"{title} groups = {p.groups} must divide both the input channels ({in_channels}) "
            f"and out_channels ({p.out_channels})",
            "pick a groups value that divides both (1 always works)")


def _conv_check(title: str, layout: str, rank: int):
    def check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
        shape = shapes[0]
        problem = rank_error(title, shape, {rank: layout}, RESHAPE_HINT) or _groups_error(title, shape[1], p)
        if problem:
            return problem
        if p.padding == "same":
            if same_padding(p) is None:
                return (f"{title} padding 'same' with stride {p.stride} needs an odd kernel span, but kernel "
                        f"{p.kernel_size} with dilation {p.dilation} spans an even number of cells",
                        "use an odd kernel_size, stride 1, or a number for padding")
            return None
        return too_small(title, shape, list(shape[2:]), p.kernel_size, p.stride, conv_padding(p), p.dilation)
    return check


def _transpose_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    title, shape = "ConvTranspose 2D", shapes[0]
    problem = (rank_error(title, shape, {4: "(N, C, H, W)"}, RESHAPE_HINT)
               or _groups_error(title, shape[1], p))
    if problem:
        return problem
    if p.padding == "same":
        if transpose_same(p) is None:
            return (f"{title} padding 'same' cannot make the output {p.stride}x the input with kernel "
                    f"{p.kernel_size}, stride {p.stride}, dilation {p.dilation}",
                    "use kernel_size >= stride (an odd kernel when stride is 1) or a number for padding")
        return None
    if p.output_padding >= max(p.stride, p.dilation):
        return (f"{title} output_padding = {p.output_padding} must be smaller than the stride "
                f"({p.stride}) or the dilation ({p.dilation})", "lower output_padding or raise the stride")
    pad, extra = transpose_padding(p)
    for size in shape[2:]:
        if size is not None and (size - 1) * p.stride - 2 * pad + p.dilation * (p.kernel_size - 1) + extra + 1 < 1:
            return (f"{title} padding {pad} removes more than the whole output for input {format_shape(shape)}",
                    "use less padding")
    return None


CONV1D = LayerSpec(
    type_id="Conv1d", category="Convolution", title="Conv 1D",
    summary="Slides learned filters along a signal or sequence to detect local patterns.",
    explanation=(
        "A 1-D convolution moves a small window (the kernel) along the length of its input and, at every "
        "position, takes a weighted sum of all input channels inside the window. Each filter learns to "
        "respond to one short pattern, such as a rising edge in a sensor trace or a word pair in embedded "
        "text, and the same weights are reused at every position, so a pattern is found wherever it "
        "occurs. Its input is (N, C, L): channels first, then length. A sequence from an Input node is "
        "(N, T, F), so put a Permute [1, 0] in front to make the features the channels."),
    advantages=("Few weights, shared across the whole length, so it trains fast and generalises well.",
                "Sees local order (which value comes after which), unlike a Dense layer.",
                "Runs in parallel over the whole sequence, much faster than a recurrent layer."),
    disadvantages=("Each layer only sees a window of kernel_size steps; long-range links need many layers, "
                   "dilation or pooling.",),
    when_to_use="Audio, sensor and other 1-D signals, and fast text or time-series models.",
    params=(OUT_CHANNELS, KERNEL, STRIDE, PADDING, DILATION, GROUPS, BIAS),
    build=lambda p, s: nn.Conv1d(s[0][1], p.out_channels, p.kernel_size, p.stride, conv_padding(p),
                                 p.dilation, p.groups, p.bias),
    check=_conv_check("Conv 1D", "(N, C, L)", 3), fix="Reshape",
    example=((None, 3, 32),), aliases=("Convolution 1D",),
)

CONV2D = LayerSpec(
    type_id="Conv2d", category="Convolution", title="Conv 2D",
    summary="Slides learned filters over an image to extract local features such as edges and textures.",
    explanation=(
        "A 2-D convolution slides each of its filters over the height and width of the input. At each "
        "position it multiplies the filter with the patch under it (across all input channels) and sums "
        "the result into one number of a feature map; out_channels filters give out_channels maps. Early "
        "layers learn edges and colour blobs, deeper layers combine them into textures, parts and objects. "
        "Padding decides what happens at the borders ('same' keeps the size, 'valid' shrinks it), stride "
        "skips positions to shrink the map, and dilation spreads the taps to see further. The patch of the "
        "input image that one output value depends on is its receptive field: each stacked layer, stride, "
        "dilation and pooling grows it, which is how deep layers come to see whole objects. The idea "
        "echoes the visual cortex, whose neurons each respond to a small region of what the eye sees."),
    advantages=("Weight sharing: a 3x3 filter has 9 weights per channel pair whatever the image size.",
                "Translation equivariance: a feature is detected wherever it appears in the image.",
                "Keeps the spatial layout, so later layers can reason about where things are."),
    disadvantages=("Costly on large images with many channels (compute grows with H x W x channels).",
                   "Only sees a local window; global context needs depth, pooling or attention.",
                   "Kernel size, stride and padding decide what it sees: 'valid' padding under-uses the "
                   "border pixels and a large stride skips fine detail.",
                   "Needs an (N, C, H, W) input, so flat feature vectors must be reshaped first."),
    when_to_use="Images and anything grid-shaped (spectrograms, board games); the core of every CNN.",
    params=(OUT_CHANNELS, KERNEL, STRIDE, PADDING, DILATION, GROUPS, BIAS),
    build=lambda p, s: nn.Conv2d(s[0][1], p.out_channels, p.kernel_size, p.stride, conv_padding(p),
                                 p.dilation, p.groups, p.bias),
    check=_conv_check("Conv 2D", "(N, C, H, W)", 4), fix="Reshape",
    example=((None, 3, 16, 16),), aliases=("Convolution 2D",),
)

CONV_TRANSPOSE2D = LayerSpec(
    type_id="ConvTranspose2d", category="Convolution", title="ConvTranspose 2D",
    summary="Learned upsampling: spreads each input pixel through a filter to make a larger feature map.",
    explanation=(
        "A transposed convolution (sometimes called deconvolution) runs the gradient of a convolution "
        "forwards: every input pixel stamps a learned filter, scaled by its value, onto the output, and "
        "overlapping stamps add up. With stride 2 the output is twice as tall and wide, so it undoes the "
        "downsampling of a strided convolution while learning how to fill in detail. Here padding 'same' "
        "means output = input x stride and sets output_padding itself; with a number, output size is "
        "(input - 1) x stride - 2 x padding + dilation x (kernel - 1) + output_padding + 1."),
    advantages=("Learns how to upsample instead of using a fixed rule.",
                "One layer both enlarges and transforms the feature maps."),
    disadvantages=("Kernels that the stride does not divide overlap unevenly and can leave checkerboard "
                   "artefacts; UpSampling followed by Conv 2D avoids them.",
                   "More weights and compute than fixed upsampling."),
    when_to_use="Decoders of autoencoders and segmentation nets, and GAN generators that grow an image.",
    params=(OUT_CHANNELS, KERNEL,
            Param("stride", "int", 2, min=1, max=64, doc="Upsampling factor: 2 doubles height and width."),
            PADDING, Param("output_padding", "int", 0, min=0, max=63,
                           doc="Extra rows/columns added on one side (only with a numeric padding; "
                               "must be smaller than stride or dilation)."),
            DILATION, GROUPS, BIAS),
    build=lambda p, s: nn.ConvTranspose2d(s[0][1], p.out_channels, p.kernel_size, p.stride,
                                          *transpose_padding(p), groups=p.groups, bias=p.bias,
                                          dilation=p.dilation),
    check=_transpose_check, fix="Reshape",
    example=((None, 8, 7, 7),), aliases=("Deconvolution 2D",),
)

register(CONV1D, CONV2D, CONV_TRANSPOSE2D)
