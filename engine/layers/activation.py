"""Activation functions: the non-linearities between layers."""

from __future__ import annotations

from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Shape
from engine.lazy import LazyModule
from engine.shapes_format import format_shape

nn = LazyModule("torch.nn")

ANY_SHAPE = "Works element-wise on any shape."


def _softmax_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    rank = len(shapes[0])
    if not -rank <= p.dim < rank:
        return (f"Softmax dim {p.dim} does not exist in {format_shape(shapes[0])}",
                f"use a dim between 1 and {rank - 1}, or -1 for the last")
    if p.dim % rank == 0:
        return ("Softmax over dim 0 mixes the samples of a batch", "use dim -1 (the last dim) or 1 (channels)")
    return None


def _prelu_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    if p.num_parameters == "per channel" and len(shapes[0]) < 2:
        return (f"PReLU per channel needs a channel dim but gets {format_shape(shapes[0])}",
                "use num_parameters 'one'")
    return None


def _prelu(p: Params, shapes: list[Shape]) -> nn.Module:
    count = shapes[0][1] if p.num_parameters == "per channel" else 1
    return nn.PReLU(count, init=p.init)


RELU = LayerSpec(
    type_id="ReLU", category="Activation", title="ReLU",
    summary="max(0, x): passes positive values, zeroes negative ones.",
    explanation=(
        "The rectified linear unit keeps positive inputs unchanged and turns negative ones into zero. "
        "Without a non-linearity between them, stacked layers would collapse into one linear map; ReLU is "
        "the simplest function that prevents this. Its gradient is exactly 1 for every positive input, "
        "so signals do not fade through many layers the way they do with sigmoid or tanh. " + ANY_SHAPE),
    advantages=("Very cheap to compute.", "No vanishing gradient for positive inputs; deep nets train fast.",
                "Produces sparse activations (many exact zeros)."),
    disadvantages=("'Dying ReLU': a unit whose input stays negative gets zero gradient and stops learning.",
                   "Output is not centred on zero."),
    when_to_use="The default hidden-layer activation for MLPs and CNNs.",
    build=lambda p, s: nn.ReLU(),
)

LEAKY_RELU = LayerSpec(
    type_id="LeakyReLU", category="Activation", title="LeakyReLU",
    summary="Like ReLU, but negative inputs keep a small slope instead of becoming 0.",
    explanation=(
        "LeakyReLU returns x for positive inputs and negative_slope * x for negative ones (0.01 by "
        "default). The small leak means a unit that receives only negative inputs still gets a gradient "
        "and can recover, which avoids dying ReLUs. GAN discriminators commonly use a slope of 0.2. "
        + ANY_SHAPE),
    advantages=("Keeps ReLU's speed while never fully blocking the gradient.",),
    disadvantages=("One more setting to choose; gains over ReLU are often small.",),
    when_to_use="When many ReLU units die, and in GAN discriminators.",
    params=(Param("negative_slope", "float", 0.01, min=0.0, max=1.0, key=True,
                  doc="Slope used for negative inputs."),),
    build=lambda p, s: nn.LeakyReLU(p.negative_slope),
)

PRELU = LayerSpec(
    type_id="PReLU", category="Activation", title="PReLU",
    summary="Leaky ReLU whose negative slope is learned during training.",
    explanation=(
        "Parametric ReLU is a LeakyReLU where the slope for negative inputs is a weight trained with the "
        "rest of the network. It can learn one slope shared by the whole layer, or one per channel "
        "(dim 1: the channels of an image or signal, the features of a vector). It starts at init."),
    advantages=("Lets the data decide how much negative signal to keep.", "Adds only one or C weights."),
    disadvantages=("Extra weights can overfit small datasets.",
                   "Weight decay on the slopes pushes them toward plain ReLU; usually leave them undecayed."),
    when_to_use="Deep CNNs where a tuned leak helps; try it if LeakyReLU beats ReLU on your data.",
    params=(Param("num_parameters", "choice", "one", choices=("one", "per channel"), key=True,
                  doc="One learned slope for the layer, or one per channel (dim 1)."),
            Param("init", "float", 0.25, min=0.0, max=1.0, doc="Starting value of the slope.")),
    build=_prelu, check=_prelu_check, example=((None, 4, 6, 6),),
)

ELU = LayerSpec(
    type_id="ELU", category="Activation", title="ELU",
    summary="x for positive inputs, a smooth curve alpha*(exp(x)-1) toward -alpha for negative ones.",
    explanation=(
        "The exponential linear unit behaves like ReLU for positive inputs, but negative inputs bend "
        "smoothly down to -alpha instead of being cut to zero. Its outputs are closer to zero on average "
        "and its gradient never becomes exactly zero, which can speed up learning. " + ANY_SHAPE),
    advantages=("Smooth, no dead units, mean activation near zero.",),
    disadvantages=("The exponential is slower than ReLU's comparison.",),
    when_to_use="An alternative to ReLU in deep MLPs and CNNs, especially without batch normalisation.",
    params=(Param("alpha", "float", 1.0, min=0.0, max=100.0, key=True,
                  doc="The value negative inputs approach (-alpha)."),),
    build=lambda p, s: nn.ELU(p.alpha),
)

GELU = LayerSpec(
    type_id="GELU", category="Activation", title="GELU",
    summary="Smooth ReLU-like curve that weights each input by how likely it is to be positive.",
    explanation=(
        "The Gaussian error linear unit multiplies x by the standard normal probability of a value being "
        "below x. Large positive inputs pass, large negative ones go to zero, and around zero the curve "
        "is smooth with a small negative dip. It is the activation of BERT, GPT and Vision Transformers; "
        "'tanh' uses a faster approximate formula. " + ANY_SHAPE),
    advantages=("Smooth gradients; works very well in Transformers.",),
    disadvantages=("More expensive than ReLU.", "Rarely better than ReLU in small CNNs."),
    when_to_use="Feed-forward parts of Transformer blocks and modern MLPs.",
    params=(Param("approximate", "choice", "none", choices=("none", "tanh"),
                  doc="'none' computes the exact function; 'tanh' a fast approximation."),),
    build=lambda p, s: nn.GELU(approximate=p.approximate),
)

SILU = LayerSpec(
    type_id="SiLU", category="Activation", title="SiLU (Swish)",
    summary="x * sigmoid(x): a smooth, self-gated version of ReLU.",
    explanation=(
        "SiLU, also called Swish, multiplies each input by its own sigmoid, so the input gates itself: "
        "large positive values pass almost unchanged, large negative ones fade to zero, and small "
        "negative values give a slight dip. Found by automated search, it often slightly outperforms ReLU "
        "in deep networks such as EfficientNet. " + ANY_SHAPE),
    advantages=("Smooth and non-monotonic; tends to train deep nets a bit better than ReLU.",),
    disadvantages=("Costs a sigmoid per value.",),
    when_to_use="Modern CNNs (EfficientNet, YOLO) and MLPs when you want a smooth ReLU.",
    build=lambda p, s: nn.SiLU(), aliases=("Swish",),
)

SIGMOID = LayerSpec(
    type_id="Sigmoid", category="Activation", title="Sigmoid",
    summary="Squashes any number into (0, 1).",
    explanation=(
        "The logistic sigmoid 1 / (1 + exp(-x)) maps any value smoothly into the range 0 to 1, so it can "
        "be read as a probability or used as a gate (how much to let through), as inside LSTMs and "
        "attention gates. For large positive or negative inputs it flattens out and its gradient almost "
        "vanishes, which makes deep stacks of sigmoids hard to train. Do not put it before a binary or "
        "multilabel Output: the loss applies the sigmoid itself, more stably. " + ANY_SHAPE),
    advantages=("Output reads as a probability in (0, 1).", "Ideal as a soft on/off gate."),
    disadvantages=("Vanishing gradients for large inputs.", "Outputs are not centred on zero."),
    when_to_use="Gates and outputs that must lie in (0, 1), e.g. an image decoder whose pixels are 0-1.",
    build=lambda p, s: nn.Sigmoid(),
)

TANH = LayerSpec(
    type_id="Tanh", category="Activation", title="Tanh",
    summary="Squashes any number into (-1, 1), centred on zero.",
    explanation=(
        "The hyperbolic tangent is an S-shaped curve like the sigmoid but ranges from -1 to 1 and is "
        "centred on zero, which keeps the next layer's inputs balanced. It is the classic activation of "
        "recurrent networks and of GAN generators whose images are scaled to [-1, 1]. It still saturates "
        "for large inputs, where gradients vanish. " + ANY_SHAPE),
    advantages=("Zero-centred output in (-1, 1).", "Smooth and bounded."),
    disadvantages=("Vanishing gradients when saturated; slower to train deep nets than ReLU.",),
    when_to_use="Outputs that must lie in (-1, 1) (GAN generators) and small recurrent or classic nets.",
    build=lambda p, s: nn.Tanh(),
)

SOFTMAX = LayerSpec(
    type_id="Softmax", category="Activation", title="Softmax",
    summary="Turns a vector of scores into probabilities that are positive and sum to 1.",
    explanation=(
        "Softmax exponentiates each value along one dim and divides by their sum, so the largest score "
        "gets the largest share and all shares add up to 1. It turns class scores into a probability "
        "distribution and weights in attention. Leave it out before a multiclass Output: the "
        "cross-entropy loss applies it internally and is more stable that way; add it only where another "
        "layer needs the probabilities."),
    advantages=("Outputs a proper probability distribution.", "Differentiable 'soft' version of argmax."),
    disadvantages=("Saturates: one large score takes almost everything and gradients vanish.",
                   "Before a cross-entropy loss it is applied twice and hurts training."),
    when_to_use="Attention weights, mixture weights, or a model that must output probabilities for another consumer.",
    params=(Param("dim", "int", -1, min=-8, max=8, key=True,
                  doc="Dimension that sums to 1 (-1 = the last, e.g. the classes)."),),
    build=lambda p, s: nn.Softmax(dim=p.dim), check=_softmax_check,
)

register(RELU, LEAKY_RELU, PRELU, ELU, GELU, SILU, SIGMOID, TANH, SOFTMAX)
