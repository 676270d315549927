"""The declarative description of a layer type: typed params, ports, docs and how to build it."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

Shape = tuple[int, ...]
"""A tensor shape; dim 0 is the batch (shown as N)."""

PARAM_KINDS = ("int", "float", "bool", "choice", "str", "ints", "int_or_choice")


@dataclass(frozen=True)
class Param:
    """One typed, documented setting of a layer type.

    kinds: int, float, bool, choice (one of `choices`), str, ints (a list of ints, `length` items
    when set), int_or_choice (an int within min/max or one of `choices`, e.g. padding).
    """

    name: str
    kind: str
    default: Any
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] = ()
    length: int | None = None
    key: bool = False
    """Shown on the node's face on the canvas."""

    def __post_init__(self) -> None:
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"param {self.name}: unknown kind {self.kind!r}")

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    def coerce(self, value: Any) -> Any:
        """Return `value` checked and normalised for this param; raise ValueError saying what is wrong."""
        kind = self.kind
        if kind == "bool":
            if isinstance(value, bool):
                return value
            raise ValueError(f"{self.name} must be true or false, not {value!r}")
        if kind == "int_or_choice" and isinstance(value, str):
            return self._choice(value)
        if kind in ("int", "int_or_choice"):
            return self._range(self._int(value))
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{self.name} must be a finite number, not {value!r}")
            return self._range(float(value))
        if kind == "choice":
            return self._choice(value)
        if kind == "str":
            if not isinstance(value, str):
                raise ValueError(f"{self.name} must be text, not {value!r}")
            return value
        if not isinstance(value, list | tuple):
            raise ValueError(f"{self.name} must be a list of whole numbers, not {value!r}")
        items = [self._range(self._int(v)) for v in value]
        if self.length is not None and len(items) != self.length:
            raise ValueError(f"{self.name} needs exactly {self.length} numbers, got {len(items)}")
        return items

    def _int(self, value: Any) -> int:
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or (isinstance(value, float) and not math.isfinite(value)) or value != int(value)):
            raise ValueError(f"{self.name} must be a whole number, not {value!r}")
        return int(value)

    def _range(self, value: float) -> Any:
        if self.min is not None and value < self.min:
            raise ValueError(f"{self.name} = {value} is below the minimum {self.min:g}")
        if self.max is not None and value > self.max:
            raise ValueError(f"{self.name} = {value} is above the maximum {self.max:g}")
        return value

    def _choice(self, value: Any) -> Any:
        if value not in self.choices:
            options = ", ".join(repr(c) for c in self.choices)
            raise ValueError(f"{self.name} must be one of {options}, not {value!r}")
        return value


@dataclass(frozen=True)
class Port:
    """A named input or output socket; `multi` input ports accept several wires (merges)."""

    name: str
    multi: bool = False
    optional: bool = False
    doc: str = ""


class Params(Mapping):
    """Read-only param values with attribute access (`p.out_channels`)."""

    def __init__(self, values: Mapping[str, Any]):
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Params({self._values!r})"


BuildFn = Callable[[Params, list[Shape]], "nn.Module"]
CheckFn = Callable[[Params, list[Shape]], "tuple[str, str] | tuple[str, str, bool] | None"]


@dataclass(frozen=True)
class LayerSpec:
    """Everything DeepWire knows about one layer type; every other part reads it from here.

    `build(params, in_shapes)` returns the torch module; its forward takes one tensor per connected
    input (multi ports: every wire, in order). Input nodes have `role="input"` and `input_shape`;
    Output nodes have `role="output"`; neither builds a module. `role="placeholder"` marks the importer's
    stand-in for an operation no layer computes (never offered in the palette, never validates).
    `check(params, in_shapes)` returns (message, hint) for an input shape the layer cannot take, or
    (message, hint, True) for a layout error (wrong number of dims) that inserting `fix` mends.
    `declared(params, in_shapes)` gives (output shape, weight count) a node passes on even though its
    check refuses it (the Placeholder's recorded shape), so the nodes after it still get shapes.
    """

    type_id: str
    category: str
    title: str
    summary: str
    explanation: str
    advantages: tuple[str, ...] = ()
    disadvantages: tuple[str, ...] = ()
    when_to_use: str = ""
    params: tuple[Param, ...] = ()
    inputs: tuple[Port, ...] = (Port("in"),)
    outputs: tuple[Port, ...] = (Port("out"),)
    build: BuildFn | None = None
    check: CheckFn | None = None
    fix: str | None = None
    role: str = "layer"
    declared: Callable[[Params, list[Shape]], tuple[Shape, int]] | None = None
    input_shape: Callable[[Params], tuple[Shape, str]] | None = None
    """For Input nodes: (per-sample shape, dtype name) from the params."""
    min_inputs: int = 1
    """For a multi input port: the fewest wires it needs."""
    example: tuple[Shape, ...] = ((None, 8),)
    """Input shapes (dim 0 None = batch) the layer accepts with default params: used by tests and docs."""
    aliases: tuple[str, ...] = field(default=())
    ports_out: Callable[[Params], tuple[Port, ...]] | None = None
    """For a layer whose number of outputs follows its params (Split): its output ports. Its module then
    returns a tuple with one tensor per port, in port order."""

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def output_ports(self, params: Mapping[str, Any]) -> tuple[Port, ...]:
        """The node's output ports: `outputs`, or the ones its params give (a Split's pieces)."""
        if self.ports_out is None:
            return self.outputs
        return self.ports_out(Params({**self.defaults(), **params}))

    @property
    def multi_output(self) -> bool:
        """Its module returns one tensor per output port (a tuple)."""
        return self.ports_out is not None

    def defaults(self) -> dict[str, Any]:
        return {p.name: (list(p.default) if isinstance(p.default, tuple | list) else p.default) for p in self.params}

    @property
    def has_weights(self) -> bool:
        return self.role == "layer" and self.build is not None
