"""Normalization layers: BatchNorm1d, BatchNorm2d and LayerNorm."""

from __future__ import annotations

from engine.layers.checks import rank_error
from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Shape
from engine.lazy import LazyModule

nn = LazyModule("torch.nn")

EPS = Param("eps", "float", 1e-5, min=1e-12, max=1.0, doc="Small number added to the variance to avoid dividing by zero.")
MOMENTUM = Param("momentum", "float", 0.1, min=0.0, max=1.0,
                 doc="How fast the running mean/variance used at evaluation time follow each batch.")
AFFINE = Param("affine", "bool", True, doc="Learn a scale and shift per channel after normalising.")


def _bn1d_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    return rank_error("BatchNorm 1D", shapes[0], {2: "(N, F)", 3: "(N, C, L)"},
                      "use BatchNorm 2D for images, or Flatten first")


def _bn2d_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    hint = "use BatchNorm 1D for (N, F) and (N, C, L) inputs" if len(shapes[0]) in (2, 3) else "Reshape it first"
    return rank_error("BatchNorm 2D", shapes[0], {4: "(N, C, H, W)"}, hint)


def _layernorm_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    if len(shapes[0]) < 2:
        return rank_error("LayerNorm", shapes[0], {2: "(N, F)", 3: "(N, T, F)"}, "it has nothing to normalise here")
    return None


BN_DISADVANTAGES = ("Depends on the batch: very small batches (under ~8) give noisy statistics and worse results.",
                    "Behaves differently in training and evaluation, a common source of bugs.",
                    "Awkward for recurrent nets and variable-length sequences.")

BATCHNORM1D = LayerSpec(
    type_id="BatchNorm1d", category="Normalization", title="BatchNorm 1D",
    summary="Normalises each feature over the batch to mean 0 and variance 1, then rescales it.",
    explanation=(
        "Batch normalisation standardises every feature (or channel) with the mean and variance of the "
        "current batch, then applies a learned scale and shift so the layer can still pass any range on. "
        "Keeping each layer's inputs in a steady range (less 'internal covariate shift', the drift of a "
        "layer's input distribution while the layers before it learn) lets you use higher learning rates, makes training "
        "less sensitive to weight initialisation, and adds a little noise that regularises. During "
        "training it also keeps a running mean and variance, which replace the batch statistics at "
        "evaluation time. Accepts (N, F) feature vectors and (N, C, L) signals (per channel)."),
    advantages=("Faster, more stable training; tolerates higher learning rates.",
                "Mild regularisation from the batch noise."),
    disadvantages=BN_DISADVANTAGES,
    when_to_use="Between a Dense or Conv 1D layer and its activation in MLPs and 1-D conv nets.",
    params=(EPS, MOMENTUM, AFFINE),
    build=lambda p, s: nn.BatchNorm1d(s[0][1], eps=p.eps, momentum=p.momentum, affine=p.affine),
    check=_bn1d_check, example=((None, 8),), aliases=("BatchNormalization",),
)

BATCHNORM2D = LayerSpec(
    type_id="BatchNorm2d", category="Normalization", title="BatchNorm 2D",
    summary="Normalises each channel of a feature map over the batch and all pixels, then rescales it.",
    explanation=(
        "BatchNorm 2D does for images what BatchNorm 1D does for vectors: for each channel it takes the "
        "mean and variance over the batch and every pixel, standardises the channel with them and then "
        "applies a learned per-channel scale and shift. It is the usual companion of Conv 2D "
        "(conv -> batchnorm -> ReLU) and is what made very deep CNNs such as ResNet easy to train. At "
        "evaluation time it uses running statistics gathered during training."),
    advantages=("Deep CNNs train faster and more reliably, with higher learning rates.",
                "Only two weights per channel."),
    disadvantages=BN_DISADVANTAGES[:2] + ("Makes the conv bias redundant (set bias off in the Conv 2D before it).",),
    when_to_use="After Conv 2D layers, before the activation, in most image networks.",
    params=(EPS, MOMENTUM, AFFINE),
    build=lambda p, s: nn.BatchNorm2d(s[0][1], eps=p.eps, momentum=p.momentum, affine=p.affine),
    check=_bn2d_check, fix="Reshape", example=((None, 4, 8, 8),),
)

LAYERNORM = LayerSpec(
    type_id="LayerNorm", category="Normalization", title="LayerNorm",
    summary="Normalises each sample over its last dimension, independently of the rest of the batch.",
    explanation=(
        "Layer normalisation standardises the values of the last dimension of every sample (for example "
        "the features of each time step) to mean 0 and variance 1, then applies a learned scale and "
        "shift. Unlike batch normalisation it never looks at other samples, so it behaves the same in "
        "training and evaluation and works with a batch of one and with sequences of any length. That is "
        "why Transformers and many recurrent models use it."),
    advantages=("Independent of batch size; identical in training and evaluation.",
                "Works naturally on sequences (N, T, F), normalising each time step."),
    disadvantages=("Usually a little less effective than BatchNorm in convolutional nets.",
                   "Normalises only the last dimension, so on (N, C, H, W) it mixes along the width only."),
    when_to_use="Transformers, recurrent nets, and any model trained with small or variable batches.",
    params=(EPS, Param("elementwise_affine", "bool", True, doc="Learn a scale and shift per feature.")),
    build=lambda p, s: nn.LayerNorm(s[0][-1], eps=p.eps, elementwise_affine=p.elementwise_affine),
    check=_layernorm_check, example=((None, 10, 8),),
)

register(BATCHNORM1D, BATCHNORM2D, LAYERNORM)
