"""The layer catalogue: importing this package registers every layer family."""

from engine.layers import (  # noqa: F401  (registration side effects)
    activation,
    activation_extra,
    adaptive_pool,
    attention,
    conv,
    core,
    detection,
    embedding,
    io,
    learned,
    merge,
    norm,
    pool,
    recurrent,
    regularization,
    reshape,
    split,
    tensor_ops,
)
from engine.layers.registry import all_specs, categories, get_spec, has_spec, register
from engine.layers.spec import LayerSpec, Param, Params, Port, Shape

__all__ = ["LayerSpec", "Param", "Params", "Port", "Shape", "all_specs", "categories", "get_spec",
           "has_spec", "register"]
