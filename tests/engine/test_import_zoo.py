"""The import zoo: real model definitions (pytorch/examples and tutorial idioms, timm) import exactly.

For each: import, compile, copy the original weights, then compare outputs on a random batch with the
BatchNorm statistics randomised first (so a wrong mapping shows) and the parameter counts.
"""

from __future__ import annotations

import inspect

import pytest
import torch
from safetensors.torch import load_file

from engine.compile import compile_graph
from engine.export.preprocessing import example_inputs
from engine.graph import Graph
from engine.importer import import_model, transfer_weights
from engine.importer_weights import save_weights
from engine.validate import validate
from tests.engine.import_zoo import (
    TUTORIAL_CASES,
    ZooCase,
    load_timm,
    load_torchvision_models,
    randomize_batchnorm,
    timm_cases,
    torchvision_cases,
)


def _source_output(src: torch.nn.Module, inputs: tuple, output) -> torch.Tensor:
    """The original module's output; forward arguments beyond the inputs get their defaults (None without)."""
    params = list(inspect.signature(src.forward).parameters.values())[len(inputs):]
    extra = [None if p.default is p.empty else p.default for p in params]
    result = src(*inputs, *extra)
    return result[output] if output is not None else result


def check_exact(case: ZooCase, tmp_path=None) -> Graph:
    torch.manual_seed(0)
    src = case.build().eval()
    randomize_batchnorm(src)
    imported = import_model(src, case.shapes, output=case.output)
    assert not imported.problems, imported.report()
    validation = validate(imported.graph)
    assert validation.ok, validation.report()
    model = compile_graph(imported.graph, validation=validation).eval()
    if tmp_path is None:
        transfer_weights(imported, model)
    else:  # the safetensors file deepwire import writes loads into the compiled project as is
        model.load_state_dict(load_file(save_weights(imported, tmp_path / "weights.safetensors")))
    inputs = example_inputs(imported.graph, 3, seed=1)
    with torch.no_grad():
        want, got = _source_output(src, inputs, case.output), model(*inputs)
    assert (want - got).abs().max().item() <= 1e-5
    count = sum(p.numel() for p in src.parameters())
    assert sum(p.numel() for p in model.parameters()) == count
    assert validation.total_params == count
    return imported.graph


@pytest.mark.parametrize("case", TUTORIAL_CASES, ids=[c.name for c in TUTORIAL_CASES])
def test_tutorial_model_imports_exactly(case, tmp_path):
    check_exact(case, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("case", timm_cases(), ids=[c.name for c in timm_cases()])
def test_timm_model_imports_exactly(case):
    try:
        load_timm()
    except ImportError:
        pytest.skip("timm is not installed")
    graph = check_exact(case)
    assert not any(n.type == "Placeholder" for n in graph.nodes.values())


@pytest.mark.slow
@pytest.mark.parametrize("case", torchvision_cases(), ids=[c.name for c in torchvision_cases()])
def test_torchvision_model_imports_exactly(case):
    try:
        load_torchvision_models()
    except ImportError:
        pytest.skip("torchvision is not installed")
    graph = check_exact(case)
    if case.name == "tv_shufflenet_v2_x0_5":  # every unit's chunk is one Split node with both pieces wired
        splits = [n for n in graph.nodes.values() if n.type == "Split"]
        assert splits and all(len({e.src_port for e in graph.outgoing(n.id)}) == 2 for n in splits)


def test_tied_weights_become_one_shared_table():
    graph = check_exact(TUTORIAL_CASES[0])
    decoder, encoder = graph.by_name("decoder"), graph.by_name("encoder")
    assert decoder.type == "Dense" and decoder.shares == encoder.id
    model = compile_graph(graph)
    targets = model.deepwire_targets
    assert model.get_submodule(targets[decoder.id]).weight is model.get_submodule(targets[encoder.id]).weight


def test_sequence_first_transformer_maps_onto_batch_first_layers():
    graph = check_exact(next(c for c in TUTORIAL_CASES if c.name == "transformer_classifier"))
    types = [n.type for n in graph.nodes.values()]
    assert "TransformerEncoder" in types and "ScaleShift" in types and "Permute" not in types
    reduce = next(n for n in graph.nodes.values() if n.type == "Reduce")
    assert reduce.params["axes"] == [0] and reduce.params["op"] == "mean"
    table = next(n for n in graph.nodes.values() if n.type == "LearnedTensor")
    assert table.params["learned"] is False  # the tutorial's sinusoid table is a buffer


def test_module_hierarchy_becomes_groups_and_the_graph_is_laid_out():
    graph = check_exact(next(c for c in TUTORIAL_CASES if c.name == "channel_shuffle"))
    assert [g.name for g in graph.groups] == ["branch2 (Sequential)"]
    split = next(n for n in graph.nodes.values() if n.type == "Split")  # x1, x2 = x.chunk(2, dim=1): one node
    assert sorted(e.src_port for e in graph.outgoing(split.id)) == ["out0", "out1"]
    assert len({n.pos for n in graph.nodes.values()}) == len(graph.nodes)


class ManyOps(torch.nn.Module):
    """One small network using most of the import-only layers, to check they export."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.gate = torch.nn.Conv2d(8, 8, 1)
        self.pool = torch.nn.MaxPool2d(3, 2, ceil_mode=True)
        self.token = torch.nn.Parameter(torch.randn(1, 1, 4))
        self.head = torch.nn.Linear(4, 3)

    def forward(self, x):
        x = torch.nn.functional.hardswish(self.conv(x))
        x = x * torch.nn.functional.hardsigmoid(self.gate(x.mean((2, 3), keepdim=True)))
        a, b = x.chunk(2, dim=1)
        x = torch.nn.functional.channel_shuffle(torch.cat([b, a], dim=1), 2)
        x = torch.nn.functional.interpolate(self.pool(x), scale_factor=1.5, mode="bilinear")
        x = torch.nn.functional.adaptive_avg_pool2d(x, (2, 3)).flatten(2).transpose(1, 2)[:, :, 2:6]
        x = torch.cat([self.token.expand(x.shape[0], -1, -1), x * 0.5 - 1], dim=1)
        return torch.log_softmax(self.head(x[:, 0]).unsqueeze(1).squeeze(1), dim=-1)


@pytest.mark.parametrize("fmt", ["python", "torchscript", "onnx"])
def test_a_graph_of_import_layers_exports(fmt, tmp_path):
    from engine.export import export_model

    graph = check_exact(ZooCase("many_ops", ManyOps, [(3, 9, 9)]))
    types = {n.type for n in graph.nodes.values()}
    assert {"Hardswish", "Reduce", "Hardsigmoid", "Split", "ChannelShuffle", "Interpolate", "AdaptiveAvgPool2d",
            "Slice", "LearnedTensor", "ScaleShift", "Select", "LogSoftmax", "Unsqueeze", "Squeeze"} <= types
    model = compile_graph(graph).eval()
    result = export_model(graph, model, None, fmt, tmp_path)
    assert result.check["passed"], result.check


@pytest.mark.parametrize("fmt", ["python", "safetensors"])
def test_tied_weights_export_once_per_key_and_stay_tied_in_source(fmt, tmp_path):
    from engine.export import export_model

    graph = check_exact(TUTORIAL_CASES[0])
    model = compile_graph(graph).eval()
    result = export_model(graph, model, None, fmt, tmp_path)
    assert result.check["passed"], result.check
    if fmt == "python":
        assert "self.decoder.weight = self.encoder.weight" in (tmp_path / "model.py").read_text()


@pytest.mark.slow
def test_googlenet_auxiliary_heads_are_named_as_training_only_branches():
    try:
        tv = load_torchvision_models()
    except ImportError:
        pytest.skip("torchvision is not installed")
    torch.manual_seed(0)
    src = tv.googlenet(weights=None, aux_logits=True, init_weights=False).eval()
    randomize_batchnorm(src)
    imported = import_model(src, [(3, 224, 224)])
    assert not imported.problems, imported.report()
    branches = [w for w in imported.warnings if w.kind == "training-only branch"]
    heads = [w for w in branches if "module 'aux1." in w.message or "module 'aux2." in w.message]
    assert len(heads) == 2 and all(w.source.startswith("googlenet.py:") for w in heads)
    assert not any(n.name.startswith("aux") for n in imported.graph.nodes.values())
    model = compile_graph(imported.graph).eval()
    transfer_weights(imported, model)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert (model(x) - src(x)).abs().max().item() <= 1e-5
