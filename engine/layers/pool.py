"""Pooling and upsampling: Max/Avg/Min pooling, global pooling and UpSampling."""

from __future__ import annotations

from engine.layers.checks import rank_error, too_small
from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Shape
from engine.lazy import LazyModule

nn = LazyModule("torch.nn")
modules = LazyModule("engine.layers.modules")

LAYOUTS = {3: "(N, C, L)", 4: "(N, C, H, W)"}

KERNEL = Param("kernel_size", "int", 2, min=1, max=255, key=True, doc="Width (and height) of each pooling window.")
STRIDE = Param("stride", "int", 0, min=0, max=255,
               doc="Step between windows; 0 means the kernel size, so windows do not overlap.")
PADDING = Param("padding", "int", 0, min=0, max=127, doc="Cells added on each side; at most half the kernel.")
CEIL_MODE = Param("ceil_mode", "bool", False,
                  doc="Round the output size up: a last, partial window at the edge is kept.")
DILATION = Param("dilation", "int", 1, min=1, max=64, doc="Spacing between the cells of a window (1 = adjacent).")
COUNT_PAD = Param("count_include_pad", "bool", True,
                  doc="Count padded cells (zeros) in each average; off averages only real cells.")
MAX_PARAMS = (KERNEL, STRIDE, PADDING, DILATION, CEIL_MODE)
AVG_PARAMS = (KERNEL, STRIDE, PADDING, CEIL_MODE, COUNT_PAD)


def pool_stride(p: Params) -> int:
    """The effective stride: the kernel size when the stride param is 0."""
    return p.stride or p.kernel_size


def _pool_check(title: str, rank: int):
    def check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
        shape = shapes[0]
        problem = rank_error(title, shape, {rank: LAYOUTS[rank]}, "insert a Reshape node before it")
        if problem:
            return problem
        if 2 * p.padding > p.kernel_size:
            return (f"{title} padding = {p.padding} is more than half the kernel size {p.kernel_size}",
                    f"use padding of at most {p.kernel_size // 2}")
        return too_small(title, shape, list(shape[2:]), p.kernel_size, pool_stride(p), p.padding,
                         p.get("dilation", 1))
    return check


def _global_check(title: str):
    def check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
        hint = ("the input is already one vector per sample; remove this node" if len(shapes[0]) == 2
                else "insert a Reshape node before it")
        return rank_error(title, shapes[0], LAYOUTS, hint)
    return check


def _upsampling_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    shape = shapes[0]
    if p.mode == "bilinear":
        return rank_error("Bilinear UpSampling", shape, {4: LAYOUTS[4]},
                          "use mode 'nearest' for (N, C, L) signals, or Reshape to (N, C, H, W)")
    return rank_error("UpSampling", shape, LAYOUTS, "insert a Reshape node before it")


def _upsample(p: Params, shapes: list[Shape]) -> nn.Module:
    if p.mode == "bilinear":
        return nn.Upsample(scale_factor=float(p.scale_factor), mode="bilinear", align_corners=False)
    return nn.Upsample(scale_factor=float(p.scale_factor), mode="nearest")


POOL_DISADVANTAGES = ("Throws away exact positions inside each window.",
                      "Fixed rule with no weights; a strided convolution can learn a better downsampling.")

MAXPOOL1D = LayerSpec(
    type_id="MaxPool1d", category="Pooling", title="MaxPool 1D",
    summary="Keeps the largest value in each window along a signal, shortening it.",
    explanation=(
        "Max pooling cuts each channel of an (N, C, L) signal into windows of kernel_size steps and keeps "
        "only the largest value of each. With the default stride (= kernel) a kernel of 2 halves the "
        "length. Because a maximum does not care where in the window it sits, the result tolerates small "
        "shifts, and the following layers see a longer stretch of the original signal."),
    advantages=("No weights; cheap.", "Keeps the strongest response of each detector.",
                "Shrinks the sequence, so later layers are cheaper and see further."),
    disadvantages=POOL_DISADVANTAGES,
    when_to_use="After Conv 1D layers to shorten audio, sensor or text feature sequences.",
    params=MAX_PARAMS,
    build=lambda p, s: nn.MaxPool1d(p.kernel_size, pool_stride(p), p.padding, p.dilation, ceil_mode=p.ceil_mode),
    check=_pool_check("MaxPool 1D", 3), fix="Reshape", example=((None, 4, 32),),
)

MAXPOOL2D = LayerSpec(
    type_id="MaxPool2d", category="Pooling", title="MaxPool 2D",
    summary="Keeps the largest value in each window of a feature map, shrinking height and width.",
    explanation=(
        "Max pooling splits each feature map into small tiles (2x2 by default) and keeps the largest "
        "value of each tile, so a 28x28 map becomes 14x14. A convolution filter answers strongly where "
        "its pattern is present; keeping the maximum says 'the pattern is somewhere here' and drops the "
        "exact pixel. This makes the network less sensitive to small shifts and quarters the work of the "
        "layers that follow."),
    advantages=("No weights; cheap.", "Keeps the strongest feature responses and adds some shift tolerance.",
                "Cuts memory and compute for later layers and grows their receptive field."),
    disadvantages=POOL_DISADVANTAGES,
    when_to_use="Between convolution blocks of a classic CNN (LeNet, VGG) to halve the map size.",
    params=MAX_PARAMS,
    build=lambda p, s: nn.MaxPool2d(p.kernel_size, pool_stride(p), p.padding, p.dilation, ceil_mode=p.ceil_mode),
    check=_pool_check("MaxPool 2D", 4), fix="Reshape", example=((None, 4, 16, 16),),
)

AVGPOOL1D = LayerSpec(
    type_id="AvgPool1d", category="Pooling", title="AvgPool 1D",
    summary="Averages each window along a signal, shortening and smoothing it.",
    explanation=(
        "Average pooling replaces each window of kernel_size steps with the mean of its values. It "
        "shortens an (N, C, L) signal like max pooling does, but every value in the window contributes, "
        "so it acts like a low-pass filter that smooths noise instead of picking peaks. Padded cells "
        "count as zeros in the average."),
    advantages=("No weights; cheap.", "Smooths noise and keeps the overall level of the signal."),
    disadvantages=POOL_DISADVANTAGES + ("Dilutes a strong but short response with its weaker neighbours.",),
    when_to_use="Shortening smooth signals (audio envelopes, sensor data) where the average matters more than peaks.",
    params=AVG_PARAMS,
    build=lambda p, s: nn.AvgPool1d(p.kernel_size, pool_stride(p), p.padding, p.ceil_mode, p.count_include_pad),
    check=_pool_check("AvgPool 1D", 3), fix="Reshape", example=((None, 4, 32),),
)

AVGPOOL2D = LayerSpec(
    type_id="AvgPool2d", category="Pooling", title="AvgPool 2D",
    summary="Averages each window of a feature map, shrinking height and width.",
    explanation=(
        "Average pooling splits each feature map into tiles and keeps the mean of each, so a 2x2 kernel "
        "halves height and width. Compared with max pooling it keeps how much of a feature is present "
        "in the tile rather than only the strongest spot, giving smoother, less noisy maps. The original "
        "LeNet used it for downsampling. Padded cells count as zeros in the average."),
    advantages=("No weights; cheap.", "Smooth downsampling that uses every value and reduces noise."),
    disadvantages=POOL_DISADVANTAGES + ("Blurs sharp, sparse features that max pooling would keep.",),
    when_to_use="Downsampling where overall intensity matters, e.g. LeNet-style nets or smooth inputs.",
    params=AVG_PARAMS,
    build=lambda p, s: nn.AvgPool2d(p.kernel_size, pool_stride(p), p.padding, p.ceil_mode, p.count_include_pad),
    check=_pool_check("AvgPool 2D", 4), fix="Reshape", example=((None, 4, 16, 16),),
)

MINPOOL2D = LayerSpec(
    type_id="MinPool2d", category="Pooling", title="MinPool 2D",
    summary="Keeps the smallest value in each window of a feature map, shrinking height and width.",
    explanation=(
        "Min pooling is the mirror image of max pooling: each tile of a feature map is replaced by its "
        "smallest value (computed as minus the max pool of minus the input). It highlights dark or "
        "low-response regions instead of bright ones. After a ReLU most minima are zero, so it is rarely "
        "useful there; it makes sense on signed features or raw inputs where small values carry meaning."),
    advantages=("No weights; cheap.", "Picks out dark spots, gaps and dips that max pooling ignores."),
    disadvantages=POOL_DISADVANTAGES + ("After ReLU the minimum is usually 0, which carries no information.",),
    when_to_use="Inputs where low values are the signal (dark defects on a bright surface, dips in a map).",
    params=(KERNEL, STRIDE, PADDING),
    build=lambda p, s: modules.MinPool2d(p.kernel_size, pool_stride(p), p.padding),
    check=_pool_check("MinPool 2D", 4), fix="Reshape", example=((None, 4, 16, 16),),
)

GLOBAL_AVGPOOL = LayerSpec(
    type_id="GlobalAvgPool", category="Pooling", title="Global AvgPool",
    summary="Averages each channel over its whole length or map: (N, C, ...) -> (N, C).",
    explanation=(
        "Global average pooling collapses every feature map to one number, its mean, so (N, C, H, W) or "
        "(N, C, L) becomes a vector of C values per sample. It replaces Flatten before the classifier: "
        "each channel becomes 'how much of this feature is in the input', whatever the input size. "
        "Modern CNNs such as ResNet end with it. For a sequence (N, T, F) use Permute [1, 0] first so "
        "it averages over time."),
    advantages=("No weights, and the Dense layer after it stays small.",
                "Works for any input size and acts as a strong regulariser against overfitting."),
    disadvantages=("Forgets where features are, which matters for localisation tasks.",
                   "Needs enough channels before it to carry the information."),
    when_to_use="At the end of a CNN (or 1-D conv net) right before the classifier.",
    build=lambda p, s: modules.GlobalAvgPool(), check=_global_check("Global AvgPool"),
    example=((None, 8, 5, 5),), aliases=("GlobalAveragePooling", "AdaptiveAvgPool"),
)

GLOBAL_MAXPOOL = LayerSpec(
    type_id="GlobalMaxPool", category="Pooling", title="Global MaxPool",
    summary="Keeps each channel's largest value over the whole length or map: (N, C, ...) -> (N, C).",
    explanation=(
        "Global max pooling keeps the single strongest response of each feature map, turning (N, C, H, W) "
        "or (N, C, L) into (N, C). Each channel then answers 'does this feature appear anywhere?', which "
        "suits detecting a keyword in a text or an object anywhere in an image. For a sequence (N, T, F) "
        "use Permute [1, 0] first so the maximum is taken over time."),
    advantages=("No weights; works for any input size.", "Finds a feature no matter where or how small it is."),
    disadvantages=("Uses one position per channel, so gradients reach only that position.",
                   "Sensitive to single noisy spikes."),
    when_to_use="Text CNNs and detectors where the presence of a feature matters more than its amount.",
    build=lambda p, s: modules.GlobalMaxPool(), check=_global_check("Global MaxPool"),
    example=((None, 8, 5, 5),), aliases=("GlobalMaxPooling", "AdaptiveMaxPool"),
)

UPSAMPLING = LayerSpec(
    type_id="UpSampling", category="Pooling", title="UpSampling",
    summary="Enlarges feature maps by a whole factor by copying (nearest) or interpolating (bilinear).",
    explanation=(
        "UpSampling makes each feature map scale_factor times larger without any weights. 'nearest' "
        "repeats every value (a 2x2 block per pixel for factor 2) and works on (N, C, L) and "
        "(N, C, H, W); 'bilinear' blends neighbouring pixels for a smoother image and needs "
        "(N, C, H, W). Followed by a Conv 2D it is a learned upsampling step that avoids the "
        "checkerboard artefacts a transposed convolution can make."),
    advantages=("No weights; cheap and predictable.", "No checkerboard artefacts."),
    disadvantages=("Adds no detail by itself: a convolution afterwards has to learn it.",
                   "Nearest gives blocky maps; bilinear blurs edges."),
    when_to_use="Decoders of autoencoders, U-Nets and GAN generators, usually followed by a Conv 2D.",
    params=(Param("scale_factor", "int", 2, min=1, max=16, key=True, doc="How many times larger each spatial dim gets."),
            Param("mode", "choice", "nearest", choices=("nearest", "bilinear"), key=True,
                  doc="'nearest' copies values; 'bilinear' interpolates (2-D only).")),
    build=_upsample, check=_upsampling_check, fix="Reshape",
    example=((None, 4, 7, 7),), aliases=("Upsample",),
)

register(MAXPOOL1D, MAXPOOL2D, AVGPOOL1D, AVGPOOL2D, MINPOOL2D, GLOBAL_AVGPOOL, GLOBAL_MAXPOOL, UPSAMPLING)
