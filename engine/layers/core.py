"""Core layers: Dense (fully connected) and Flatten."""

from __future__ import annotations

from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Shape
from engine.lazy import LazyModule
from engine.shapes_format import format_shape

nn = LazyModule("torch.nn")


def _dense_check(p: Params, shapes: list[Shape]) -> tuple[str, str, bool] | None:
    if len(shapes[0]) not in (2, 3):
        return (f"Dense expects (N, F) or (N, T, F) but gets {format_shape(shapes[0])}",
                "insert a Flatten node before it", True)
    return None


DENSE = LayerSpec(
    type_id="Dense", category="Core", title="Dense",
    summary="Fully connected layer: every output is a weighted sum of all inputs plus a bias.",
    explanation=(
        "A Dense (linear, fully connected) layer, loosely modelled on neurons that sum weighted signals, "
        "multiplies its input vector by a learned weight matrix "
        "and adds a learned bias, so each of its units looks at every input feature. Stacked with "
        "non-linear activations in between, dense layers can approximate almost any function; they are "
        "the building block of the multilayer perceptron and the final classifier of most CNNs. On a "
        "sequence (N, T, F) it is applied to every time step with the same weights."),
    advantages=("Simple and general: learns any mix of the input features.",
                "Cheap to compute on a GPU (one matrix multiply)."),
    disadvantages=("Parameter count grows with inputs x units, so it overfits large inputs such as raw images.",
                   "Ignores spatial or temporal structure: a shifted image looks entirely different."),
    when_to_use="Tabular data, the classifier head after Flatten or global pooling, and projections inside bigger blocks.",
    params=(
        Param("units", "int", 64, min=1, max=1_000_000, key=True, doc="Number of output features (neurons)."),
        Param("bias", "bool", True, doc="Learn an additive bias per unit."),
    ),
    build=lambda p, s: nn.Linear(s[0][-1], p.units, bias=p.bias),
    check=_dense_check, fix="Flatten",
)

FLATTEN = LayerSpec(
    type_id="Flatten", category="Reshape", title="Flatten",
    summary="Folds every dimension after the batch into one, e.g. (N, 16, 5, 5) -> (N, 400).",
    explanation=(
        "Flatten reshapes each sample into a single long vector without changing any value. It is the "
        "bridge between convolutional feature maps and Dense layers, which expect one vector per sample."),
    advantages=("No parameters and no cost.",),
    disadvantages=("Throws away the spatial layout; the Dense layer after it must relearn where things are.",
                   "The next Dense layer can get very large; global pooling is a leaner alternative."),
    when_to_use="Between the last convolution/pooling block and the first Dense layer of a CNN.",
    params=(Param("start_dim", "int", 1, min=1, max=8, doc="First dimension to fold (1 keeps the batch)."),),
    build=lambda p, s: nn.Flatten(p.start_dim),
)

register(DENSE, FLATTEN)
