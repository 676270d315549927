"""The catalogue of layer types: one `LayerSpec` per type id."""

from __future__ import annotations

import difflib

from engine.errors import GraphError
from engine.layers.spec import LayerSpec

_REGISTRY: dict[str, LayerSpec] = {}

CATEGORY_ORDER = (
    "Input / Output", "Core", "Convolution", "Pooling", "Recurrent", "Attention", "Embedding",
    "Normalization", "Regularization", "Activation", "Merge", "Reshape", "Detection",
)


def register(*specs: LayerSpec) -> None:
    """Add layer specs to the catalogue; a type id may be registered once."""
    for spec in specs:
        if spec.type_id in _REGISTRY:
            raise ValueError(f"layer type {spec.type_id} registered twice")
        _REGISTRY[spec.type_id] = spec


def get_spec(type_id: str) -> LayerSpec:
    """Return the spec of `type_id`, or raise GraphError suggesting the closest known type."""
    try:
        return _REGISTRY[type_id]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(type_id), list(_REGISTRY), n=1)
        tip = f"; did you mean '{close[0]}'?" if close else "; `deepwire layers` lists the known types"
        raise GraphError(f"unknown layer type '{type_id}'{tip}") from None


def has_spec(type_id: str) -> bool:
    return isinstance(type_id, str) and type_id in _REGISTRY


def all_specs() -> list[LayerSpec]:
    """Every registered spec, ordered by category then title."""
    rank = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    return sorted(_REGISTRY.values(), key=lambda s: (rank.get(s.category, len(rank)), s.title))


def categories() -> list[str]:
    present = {s.category for s in _REGISTRY.values()}
    return [c for c in CATEGORY_ORDER if c in present] + sorted(present - set(CATEGORY_ORDER))
