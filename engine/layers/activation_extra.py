"""Activations of mobile and modern networks: ReLU6, Hardswish, Hardsigmoid, Mish, and LogSoftmax heads."""

from __future__ import annotations

from engine.layers.activation import ANY_SHAPE
from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Shape
from engine.lazy import LazyModule
from engine.shapes_format import format_shape

nn = LazyModule("torch.nn")


def _log_softmax_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    rank = len(shapes[0])
    if not -rank <= p.dim < rank:
        return (f"LogSoftmax dim {p.dim} does not exist in {format_shape(shapes[0])}",
                f"use a dim between 1 and {rank - 1}, or -1 for the last")
    if p.dim % rank == 0:
        return "LogSoftmax over dim 0 mixes the samples of a batch", "use dim -1 (the last dim) or 1 (classes)"
    return None


RELU6 = LayerSpec(
    type_id="ReLU6", category="Activation", title="ReLU6",
    summary="min(max(0, x), 6): a ReLU whose output is capped at 6.",
    explanation=(
        "ReLU6 behaves like ReLU for inputs between 0 and 6 and clips everything above 6 to 6. The cap "
        "keeps activations in a small, known range, which is what MobileNet was designed around: a "
        "bounded range survives being stored as 8-bit integers on phones with little loss. The price is "
        "that a unit pushed above 6 gets no gradient, just like a negative one. " + ANY_SHAPE),
    advantages=("As cheap as ReLU.", "Bounded outputs quantize well (8-bit inference on mobile hardware)."),
    disadvantages=("No gradient above 6 as well as below 0, so saturated units stop learning.",),
    when_to_use="MobileNetV2-style blocks and models meant to be quantized; otherwise plain ReLU is as good.",
    build=lambda p, s: nn.ReLU6(),
)

HARDSWISH = LayerSpec(
    type_id="Hardswish", category="Activation", title="Hardswish",
    summary="x * ReLU6(x + 3) / 6: a cheap, piecewise approximation of SiLU (swish).",
    explanation=(
        "Hardswish multiplies the input by a 'hard' sigmoid made of straight pieces: 0 below -3, 1 above "
        "3 and a straight ramp in between. The shape is close to SiLU (x * sigmoid(x)), which often "
        "trains better than ReLU in deep nets, but it needs no exponential, so it is fast on phones. "
        "MobileNetV3 uses it in its later layers. " + ANY_SHAPE),
    advantages=("Smooth-ish like SiLU, with ReLU-like cost.", "Lets small negative values through, unlike ReLU."),
    disadvantages=("Kinks at -3 and 3; a true SiLU is smoother where compute is not the limit.",),
    when_to_use="MobileNetV3-style networks; anywhere you want SiLU's behaviour at ReLU's cost.",
    build=lambda p, s: nn.Hardswish(),
)

HARDSIGMOID = LayerSpec(
    type_id="Hardsigmoid", category="Activation", title="Hardsigmoid",
    summary="ReLU6(x + 3) / 6: a straight-line approximation of the sigmoid, from 0 to 1.",
    explanation=(
        "Hardsigmoid is 0 for inputs below -3, 1 above 3 and a straight line in between. It squashes "
        "values into 0..1 like the sigmoid but without an exponential. Its usual job is the gate of a "
        "squeeze-and-excitation block: a small branch computes one number per channel, Hardsigmoid "
        "turns it into a weight between 0 and 1, and a Multiply scales the channel by it. " + ANY_SHAPE),
    advantages=("Cheap gate between 0 and 1.", "Exact 0 and 1 outside [-3, 3], which quantizes well."),
    disadvantages=("No gradient outside [-3, 3]: a gate stuck open or shut stops learning.",),
    when_to_use="Squeeze-and-excitation gates in MobileNetV3-style blocks.",
    build=lambda p, s: nn.Hardsigmoid(),
)

MISH = LayerSpec(
    type_id="Mish", category="Activation", title="Mish",
    summary="x * tanh(softplus(x)): a smooth, self-gated activation similar to SiLU.",
    explanation=(
        "Mish passes large positive values almost unchanged, lets small negative values through with a "
        "dip just below zero, and flattens towards 0 for large negative inputs. Like SiLU it is smooth "
        "everywhere, which some detection and classification networks (YOLOv4, some timm models) found "
        "to train slightly better than ReLU. It costs a softplus and a tanh per value. " + ANY_SHAPE),
    advantages=("Smooth everywhere, with a small negative range that keeps gradients alive.",),
    disadvantages=("Several times more compute than ReLU.", "Gains over SiLU are small and not consistent."),
    when_to_use="When importing a model built with it, or trying a smoother activation than ReLU in a deep CNN.",
    build=lambda p, s: nn.Mish(),
)

LOG_SOFTMAX = LayerSpec(
    type_id="LogSoftmax", category="Activation", title="LogSoftmax",
    summary="The logarithm of a softmax: log-probabilities that a negative log-likelihood loss reads.",
    explanation=(
        "LogSoftmax turns a vector of scores into log-probabilities: softmax makes them positive and sum "
        "to 1, and the logarithm makes them negative numbers whose exponentials are those probabilities. "
        "Computing both in one step avoids the underflow of taking the log of a tiny softmax value. "
        "Many PyTorch examples end their networks with it (MNIST, the word language model) because "
        "their loss, NLLLoss, expects log-probabilities. DeepWire's own losses take raw scores, so for a "
        "model trained here the Output node can take the scores directly; the ranking of classes is the "
        "same either way."),
    advantages=("Numerically stable log-probabilities.", "Matches models written for NLLLoss."),
    disadvantages=("Redundant before a loss that applies softmax itself (cross-entropy).",),
    when_to_use="Imported models that end in F.log_softmax, or any model whose loss wants log-probabilities.",
    params=(Param("dim", "int", -1, min=-8, max=7, key=True, doc="The dim holding the classes (-1 = last)."),),
    build=lambda p, s: nn.LogSoftmax(dim=p.dim), check=_log_softmax_check, example=((None, 10),),
)

register(RELU6, HARDSWISH, HARDSIGMOID, MISH, LOG_SOFTMAX)
