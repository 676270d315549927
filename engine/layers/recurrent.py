"""Recurrent layers: SimpleRNN, LSTM and GRU over batch-first sequences (N, T, F)."""

from __future__ import annotations

from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Shape
from engine.lazy import LazyModule
from engine.shapes_format import format_shape

nn = LazyModule("torch.nn")
seq_modules = LazyModule("engine.layers.seq_modules")


def _common_params() -> tuple[Param, ...]:
    return (
        Param("hidden_size", "int", 64, min=1, max=65_536, key=True,
              doc="Size of the hidden state: how many numbers the layer remembers per step."),
        Param("num_layers", "int", 1, min=1, max=32,
              doc="Recurrent layers stacked on top of each other; each reads the previous one's outputs."),
        Param("bidirectional", "bool", False,
              doc="Also read the sequence backwards and join both directions (doubles the output size)."),
        Param("dropout", "float", 0.0, min=0.0, max=0.95,
              doc="Dropout between stacked layers during training; needs num_layers of 2 or more."),
        Param("return_sequences", "bool", False, key=True,
              doc="On: one output per time step (N, T, H), many-to-many. Off: only the final step (N, H), "
                  "many-to-one; when bidirectional, both directions' final states joined."),
    )


def _check(title: str):
    def check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
        shape = shapes[0]
        if len(shape) != 3:
            hint = ("insert a RepeatVector node before it to repeat the vector over T steps, or a Reshape "
                    "node to split it into (T, F)" if len(shape) == 2 else
                    "insert a Reshape node before it that turns each sample into (T, F)")
            return f"{title} expects a sequence (N, T, F) but gets {format_shape(shape)}", hint, True
        if p.dropout > 0 and p.num_layers < 2:
            return (f"{title} dropout = {p.dropout:g} acts only between stacked layers, but num_layers is 1",
                    "set num_layers to 2 or more, or set dropout to 0 and add a Dropout node after it")
        return None
    return check


def _build(kind: str):
    def build(p: Params, shapes: list[Shape]) -> nn.Module:
        cls = getattr(nn, kind)
        extra = {"nonlinearity": p.nonlinearity} if "nonlinearity" in p else {}
        rnn = cls(shapes[0][-1], p.hidden_size, num_layers=p.num_layers, batch_first=True,
                  dropout=p.dropout if p.num_layers > 1 else 0.0, bidirectional=p.bidirectional, **extra)
        return seq_modules.Recurrent(rnn, p.return_sequences)
    return build


_OUTPUT_NOTE = (
    " With return sequences on it emits one vector per step, (N, T, H) or (N, T, 2H) when "
    "bidirectional, which suits tagging every step or stacking another recurrent layer; off, it emits "
    "only the final state, (N, H), which suits classifying or regressing a whole sequence. To go from "
    "one vector to a sequence (one-to-many), put a RepeatVector before it.")

SIMPLE_RNN = LayerSpec(
    type_id="SimpleRNN", category="Recurrent", title="Simple RNN",
    summary="Reads a sequence step by step, updating one hidden vector from the input and its previous value.",
    explanation=(
        "At every time step the layer mixes the current input with the hidden vector it computed at the "
        "step before, passes the sum through tanh (or ReLU) and keeps the result as its new memory. The "
        "same weights are used at every step, so it handles sequences of any length with a fixed number "
        "of parameters. Training unrolls the loop over all steps and back-propagates through it "
        "(backpropagation through time); the gradient is multiplied by the same recurrent weights once "
        "per step, so over long sequences it tends to shrink towards zero (vanishing) or blow up "
        "(exploding), and the layer effectively forgets what happened more than a few dozen steps ago."
        + _OUTPUT_NOTE),
    advantages=("The smallest and fastest recurrent layer: one weight matrix for the input, one for the memory.",
                "Easy to understand; a good first model of how recurrence works."),
    disadvantages=("Vanishing gradients: it struggles to learn dependencies more than a few dozen steps apart.",
                   "Exploding gradients are common, especially with ReLU; use gradient clipping.",
                   "Steps are computed one after another, so long sequences train slowly."),
    when_to_use="Short sequences, teaching, or a quick baseline before trying LSTM or GRU.",
    params=_common_params() + (
        Param("nonlinearity", "choice", "tanh", choices=("tanh", "relu"),
              doc="Squashing applied to the new hidden state; tanh keeps it bounded, relu can grow."),
    ),
    build=_build("RNN"), check=_check("Simple RNN"), fix="Reshape",
    example=((None, 10, 4),),
)

LSTM = LayerSpec(
    type_id="LSTM", category="Recurrent", title="LSTM",
    summary="Long short-term memory: a recurrent layer with gates that decide what to remember and forget.",
    explanation=(
        "An LSTM keeps two vectors per step: a cell state, a conveyor belt of long-term memory, and a "
        "hidden state that it outputs. Three learned gates, each a sigmoid between 0 and 1, control the "
        "cell: the forget gate decides what to erase, the input gate what new information to write, and "
        "the output gate how much of the cell to reveal. Because the cell is updated by addition rather "
        "than by repeated multiplication, gradients can flow back over hundreds of steps without "
        "vanishing, so the layer learns long-range dependencies that a simple RNN misses." + _OUTPUT_NOTE),
    advantages=("Remembers information over long sequences; the standard fix for vanishing gradients in RNNs.",
                "Robust and well understood; works for text, speech, sensor and time-series data."),
    disadvantages=("Four times the parameters of a simple RNN with the same hidden size; slower per step.",
                   "Still sequential: it cannot be parallelised across time steps like attention can.",
                   "Very long contexts (thousands of steps) are still hard; Transformers do better there.",
                   "Its many weights overfit small datasets; use its dropout param (between stacked layers) "
                   "or a Dropout node after it."),
    when_to_use="Sequence classification, forecasting and tagging when order matters and sequences are long.",
    params=_common_params(),
    build=_build("LSTM"), check=_check("LSTM"), fix="Reshape",
    example=((None, 10, 4),),
)

GRU = LayerSpec(
    type_id="GRU", category="Recurrent", title="GRU",
    summary="Gated recurrent unit: a lighter LSTM with two gates and a single hidden state.",
    explanation=(
        "A GRU merges the LSTM's cell and hidden state into one vector and uses two gates: an update gate "
        "that blends the old state with a new candidate (so it can copy memory forward unchanged), and a "
        "reset gate that decides how much of the past the candidate may look at. Like the LSTM it lets "
        "gradients pass through many steps, but with about three quarters of the parameters; on many "
        "tasks the two perform about the same." + _OUTPUT_NOTE),
    advantages=("Handles long-range dependencies much better than a simple RNN.",
                "Fewer parameters and faster than an LSTM; often trains well on smaller datasets."),
    disadvantages=("Slightly less expressive than an LSTM on some tasks (no separate memory cell).",
                   "Sequential over time, like every recurrent layer."),
    when_to_use="A good default recurrent layer; try it before an LSTM when data or compute is limited.",
    params=_common_params(),
    build=_build("GRU"), check=_check("GRU"), fix="Reshape",
    example=((None, 10, 4),),
)

register(SIMPLE_RNN, LSTM, GRU)
