"""Every layer spec in the registry, a new one included: documented, defaults valid, saved and reloaded,
built on its example input with the same output shape as on the meta device, and finite gradients."""

from __future__ import annotations

import json

import pytest
import torch

import engine.layers  # noqa: F401  (registers every family)
from engine.graph import Graph
from engine.layers.registry import all_specs
from engine.layers.spec import LayerSpec, Params

SPECS = all_specs()
NOT_BUILT = {"Placeholder": "stands for an op the importer could not map: its check always refuses it"}
"""Specs with a build that is not meant to run on its example, and why."""
TOKEN_INPUTS = {"Embedding"}


def _default(value):
    return list(value) if isinstance(value, tuple) else value


@pytest.fixture(params=SPECS, ids=[s.type_id for s in SPECS])
def spec(request) -> LayerSpec:
    return request.param


def test_the_registry_holds_every_layer_family():
    assert len(SPECS) == len({s.type_id for s in SPECS}) > 40


def test_spec_is_documented_and_its_defaults_are_valid(spec: LayerSpec):
    assert spec.title and spec.category and len(spec.explanation) > 100
    for p in spec.params:
        assert p.doc, f"{spec.type_id}.{p.name} has no doc"
        assert p.coerce(_default(p.default)) == _default(p.default)


def test_params_survive_a_save_and_reload(spec: LayerSpec):
    graph = Graph()
    node = graph.add_node(spec.type_id, params=spec.defaults())
    again = Graph.from_dict(json.loads(json.dumps(graph.to_dict())))
    assert again.nodes[node.id].params == graph.nodes[node.id].params


def test_builds_on_its_example_with_the_meta_shape_and_finite_gradients(spec: LayerSpec):
    if spec.build is None:
        assert spec.role in ("input", "output"), f"{spec.type_id} has no build but is a layer"
        return
    if spec.type_id in NOT_BUILT:
        return
    torch.manual_seed(0)
    p = Params({x.name: x.coerce(_default(x.default)) for x in spec.params})
    shapes = list(spec.example)
    assert spec.check is None or spec.check(p, shapes) is None
    dims = [[2 if d is None else d for d in s] for s in shapes]
    tokens = spec.type_id in TOKEN_INPUTS
    xs = [torch.randint(0, 5, d) if tokens else torch.randn(d, requires_grad=True) for d in dims]
    module = spec.build(p, shapes)
    out = module(*xs)
    with torch.device("meta"):
        meta_module = spec.build(p, shapes)
    meta_out = meta_module(*[torch.empty(d, device="meta", dtype=x.dtype) for d, x in zip(dims, xs, strict=True)])
    first = out[0] if isinstance(out, tuple | list) else out
    meta_first = meta_out[0] if isinstance(meta_out, tuple | list) else meta_out
    assert first.shape == meta_first.shape
    if first.is_floating_point():
        (first * torch.randn_like(first)).sum().backward()
        for name, weight in module.named_parameters():
            if weight.grad is not None:
                assert torch.isfinite(weight.grad).all(), name
