"""Regularization layers: Dropout and Dropout2d."""

from __future__ import annotations

from dataclasses import replace

from engine.layers.checks import rank_error
from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Shape
from engine.lazy import LazyModule

nn = LazyModule("torch.nn")

P = Param("p", "float", 0.5, min=0.0, max=1.0, key=True,
          doc="Probability that a value (or channel) is zeroed during training.")


def _dropout2d_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    return rank_error("Dropout 2D", shapes[0], {4: "(N, C, H, W)"},
                      "use Dropout for vectors and sequences")


DROPOUT = LayerSpec(
    type_id="Dropout", category="Regularization", title="Dropout",
    summary="During training, zeroes random values with probability p to fight overfitting.",
    explanation=(
        "While training, Dropout sets each value of its input to zero with probability p and scales the "
        "survivors by 1 / (1 - p) so the expected sum stays the same. Every batch therefore trains a "
        "slightly different thinned network, and no unit can rely on one particular partner being "
        "present; the net learns redundant, more robust features. In evaluation mode it does nothing. "
        "Typical p: 0.2-0.5 after Dense layers."),
    advantages=("Simple, no weights, and very effective against overfitting in large Dense layers.",
                "Works like averaging many networks at no extra cost at prediction time."),
    disadvantages=("Slows training down: more epochs are needed to converge.",
                   "Too high a p makes the model underfit.",
                   "Mixes poorly with BatchNorm right after it (the statistics shift between modes)."),
    when_to_use="After Dense layers in classifier heads and between recurrent or attention blocks when the model overfits.",
    params=(P,),
    build=lambda p, s: nn.Dropout(p.p),
)

DROPOUT2D = LayerSpec(
    type_id="Dropout2d", category="Regularization", title="Dropout 2D",
    summary="During training, zeroes whole feature maps (channels) with probability p.",
    explanation=(
        "Neighbouring pixels of a feature map are strongly correlated, so dropping single pixels (plain "
        "Dropout) hardly removes any information. Dropout 2D instead switches off entire channels of an "
        "(N, C, H, W) input at random during training and rescales the rest, forcing the network not to "
        "depend on any one feature detector. It does nothing in evaluation mode."),
    advantages=("Regularises convolutional nets where ordinary dropout is too weak.", "No weights."),
    disadvantages=("Removes a lot of information per drop; keep p small (0.1-0.3).",
                   "Slows convergence like all dropout."),
    when_to_use="Between convolution blocks of a CNN that overfits.",
    params=(replace(P, default=0.2),),
    build=lambda p, s: nn.Dropout2d(p.p),
    check=_dropout2d_check, example=((None, 4, 8, 8),),
)

register(DROPOUT, DROPOUT2D)
