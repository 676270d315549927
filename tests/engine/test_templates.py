"""Every shipped template: loads, validates, compiles, trains one step on its own dataset, round-trips."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import torch

from engine.compile import compile_graph
from engine.data.builtin import builtin_info
from engine.data.load import load_data
from engine.graph import Graph
from engine.layers.registry import get_spec
from engine.templates import list_templates, load_project, template_dir
from engine.train.config import TrainingConfig
from engine.validate import validate

STEMS = ["mlp", "lenet", "resnet", "lstm_classifier", "gru_tagger", "sentiment", "next_word", "transformer_classifier",
         "wave_generator", "conv_autoencoder", "gan", "siamese", "recommender", "localizer", "unet", "detector",
         "two_stage_detector"]
GALLERY_TAGS = {"image classification", "sequence modelling", "text", "generative", "recommender", "similarity",
                "tabular", "object localization", "segmentation", "object detection"}
ROOT = Path(__file__).resolve().parents[2]


def make_templates_module():
    spec = importlib.util.spec_from_file_location("make_templates", ROOT / "tools" / "make_templates.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model_inputs(graph: Graph, n: int = 8) -> tuple[torch.Tensor, ...]:
    """The first `n` training samples of the template's own dataset, one tensor per Input node.

    A GAN's data holds only real images; its generator Input gets standard-normal noise.
    """
    data = load_data(graph.data, seed=0)
    inputs = tuple(x[:n] for x in data.train.inputs)
    if data.task == "gan":
        noise = torch.randn(n, graph.input_nodes()[0].params["features"])
        inputs = (noise, *inputs)
    return inputs


def as_input_shapes(graph: Graph, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """View each data input as its Input node's shape, as the trainer does (ids (N,) -> (N, 1))."""
    shapes = validate(graph).shapes
    return tuple(x.reshape(len(x), *shapes[n.id][1:]) for n, x in zip(graph.input_nodes(), inputs, strict=True))


def test_every_template_is_shipped():
    assert list_templates() == sorted(STEMS)


@pytest.fixture(params=STEMS)
def stem(request) -> str:
    return request.param


def test_template_is_described_for_the_gallery(stem: str):
    graph = load_project(stem)
    assert graph.name and graph.name != "Untitled"
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", graph.description.strip()) if s]
    assert 2 <= len(sentences) <= 4, graph.description
    assert graph.tags and set(graph.tags) <= GALLERY_TAGS
    names = [n.name for n in graph.nodes.values()]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in names), names
    positions = [n.pos for n in graph.nodes.values()]
    assert len(set(positions)) == len(positions), "two nodes sit on the same spot"
    for e in graph.edges:  # laid out by engine.layout: rows read left to right, long nets wrap downwards
        (xs, ys), (xd, yd) = graph.nodes[e.src].pos, graph.nodes[e.dst].pos
        assert xs < xd or ys < yd, "wires run left to right, or down to the next row"
    assert graph.data["source"] == "builtin" and builtin_info(graph.data["name"])
    assert {"loss", "optimizer", "lr", "epochs", "batch_size", "seed"} <= set(graph.training)


def test_template_validates_without_problems(stem: str):
    result = validate(load_project(stem))
    assert result.problems == []
    assert all(shape is not None for shape in result.shapes.values())


def test_template_inputs_match_its_dataset(stem: str):
    """Same shape up to size-1 dims (the trainer's rule: one id per sample feeds a tokens Input of length 1)."""
    graph = load_project(stem)
    inputs = model_inputs(graph)
    result = validate(graph)
    assert len(inputs) == len(graph.input_nodes())
    for node, x in zip(graph.input_nodes(), inputs, strict=True):
        want = result.shapes[node.id][1:]
        assert [d for d in x.shape[1:] if d != 1] == [d for d in want if d != 1], node.name
        assert (x.dtype == torch.int64) == (node.params["kind"] == "tokens"), node.name


def test_template_training_section_is_a_valid_config(stem: str):
    config = TrainingConfig.from_dict(load_project(stem).training)
    assert config.epochs * config.batch_size > 0


def test_template_compiles_and_runs_forward_and_backward_on_its_data(stem: str):
    graph = load_project(stem)
    torch.manual_seed(0)
    model = compile_graph(graph)
    inputs = as_input_shapes(graph, model_inputs(graph))
    outputs = model(*inputs)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    result = validate(graph)
    for node, out in zip(graph.output_nodes(), outputs, strict=True):
        assert tuple(out.shape) == (len(inputs[0]), *result.shapes[node.id][1:])
        assert torch.isfinite(out).all()
    sum(out.float().pow(2).mean() for out in outputs).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        if p.dim() > 1:  # a bias may get exactly zero (the Siamese embedding bias cancels in a - b)
            assert p.grad.abs().sum() > 0, f"{name} got no gradient"


def test_template_parameter_count_matches_compiled_model(stem: str):
    graph = load_project(stem)
    assert validate(graph).total_params == sum(p.numel() for p in compile_graph(graph).parameters())


def test_template_json_round_trip_is_identical(stem: str, tmp_path: Path):
    path = template_dir() / f"{stem}.json"
    graph = Graph.load(path)
    assert graph.to_dict() == json.loads(path.read_text(encoding="utf-8"))
    graph.save(tmp_path / "copy.json")
    assert (tmp_path / "copy.json").read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_shared_weights_are_declared_on_layers_with_weights():
    graph = load_project("siamese")
    shared = [n for n in graph.nodes.values() if n.shares]
    assert {n.type for n in shared} == {"Conv2d", "Dense"}
    for node in shared:
        owner = graph.nodes[node.shares]
        assert owner.type == node.type and owner.params == node.params and get_spec(node.type).has_weights


def test_make_templates_check_passes_and_notices_a_stale_file(monkeypatch, tmp_path: Path):
    module = make_templates_module()
    assert module.main(["--check"]) == 0
    for stem, build in module.TEMPLATES.items():
        assert module.render(build()) == (template_dir() / f"{stem}.json").read_text(encoding="utf-8")
    monkeypatch.setattr(module, "TEMPLATE_DIR", tmp_path)
    assert module.main([]) == 0
    (tmp_path / "mlp.json").write_text("{}", encoding="utf-8")
    assert module.main(["--check"]) == 1
