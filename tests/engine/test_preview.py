"""Live preview: each node's preview equals the compiled model's hooked output on the same sample (images,
vectors, sequences); an edit updates it; a broken graph is previewed up to its first broken node."""

from __future__ import annotations

import pytest
import torch

from engine.compile import compile_graph
from engine.preview import Previewer
from engine.templates import load_project
from engine.train.probes import NodeMap, node_outputs


def hooked_outputs(graph, model, inputs) -> dict[str, torch.Tensor]:
    outs: dict[str, torch.Tensor] = {}
    with torch.no_grad(), node_outputs(NodeMap(model, graph), lambda nid, out: outs.setdefault(nid, out)):
        model(*inputs)
    return outs


@pytest.mark.parametrize(("template", "kinds"), [
    ("lenet", {"image", "vector", "classes"}),
    ("mlp", {"vector", "classes"}),
    ("transformer_classifier", {"tokens", "sequence", "vector", "classes"}),
])
def test_every_node_preview_equals_the_compiled_models_intermediate_output(template: str, kinds: set[str]):
    graph = load_project(template)
    model = compile_graph(graph).eval()
    previewer = Previewer()
    previewer.use_weights(model)
    result = previewer.run(graph, sample=5)
    assert result.stopped_at is None and result.sample == 5 and result.label
    split = previewer.data(graph).val
    expected = hooked_outputs(graph, model, tuple(x[5:6] for x in split.inputs))
    assert expected and set(expected) <= set(result.nodes)
    for nid, out in expected.items():
        assert torch.allclose(result.nodes[nid].output, out, atol=1e-5), graph.nodes[nid].name
    assert kinds <= {p.kind for p in result.nodes.values()}


def test_image_vector_and_class_previews_hold_what_the_views_draw():
    graph = load_project("lenet")
    result = Previewer().run(graph, sample=0)
    conv1 = result.nodes[graph.by_name("conv1").id]
    assert conv1.kind == "image" and conv1.values.shape == (6, 8, 8) and conv1.low <= conv1.high
    fc1 = result.nodes[graph.by_name("fc1").id]
    assert fc1.kind == "vector" and fc1.values.shape == (120,)
    digit = result.nodes[graph.by_name("digit").id]
    assert digit.kind == "classes" and len(digit.classes) == 5
    probs = [p for _, p in digit.classes]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    assert result.samples > 100


def test_an_edit_updates_the_preview_and_reuses_what_it_did_not_touch():
    graph = load_project("lenet")
    previewer = Previewer()
    before = previewer.run(graph, sample=1)
    conv1, pool1, fc1 = (graph.by_name(n).id for n in ("conv1", "pool1", "fc1"))
    graph.set_param(fc1, "units", 50)
    after = previewer.run(graph, sample=1)
    assert after.nodes[pool1].output is before.nodes[pool1].output  # upstream of the edit: not recomputed
    assert after.nodes[fc1].values.shape == (50,)
    graph.set_param(conv1, "out_channels", 4)
    again = previewer.run(graph, sample=1)
    assert again.nodes[conv1].values.shape[0] == 4
    assert not torch.equal(again.nodes[pool1].output, after.nodes[pool1].output)
    stepped = previewer.run(graph, sample=2)
    assert stepped.sample == 2 and not torch.equal(stepped.nodes[conv1].output, again.nodes[conv1].output)


def test_a_broken_graph_is_previewed_up_to_its_first_broken_node():
    graph = load_project("lenet")
    conv2 = graph.by_name("conv2").id
    for edge in graph.incoming(conv2):
        graph.disconnect(edge)
    result = Previewer().run(graph)
    assert result.stopped_at == conv2
    assert "not connected" in result.message
    names = {graph.nodes[nid].name for nid in result.nodes}
    assert {"image", "conv1", "relu1", "pool1"} <= names
    assert not names & {"conv2", "relu2", "fc1", "digit"}


def test_a_shape_error_stops_the_preview_at_that_node():
    graph = load_project("lenet")
    flatten = graph.by_name("flatten").id
    [into], [out_of] = graph.incoming(flatten), graph.outgoing(flatten)
    graph.remove_node(flatten)
    graph.connect(into.src, out_of.dst)  # Dense now gets a 4-D map
    result = Previewer().run(graph)
    assert result.stopped_at == out_of.dst and "fc1" in result.message
    assert graph.by_name("pool2").id in result.nodes


def test_trained_weights_change_the_preview_and_random_ones_come_back():
    graph = load_project("lenet")
    previewer = Previewer()
    fc3 = graph.by_name("fc3").id
    random_out = previewer.run(graph).nodes[fc3].output
    model = compile_graph(graph)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2.0)
    previewer.use_weights(model)
    trained_out = previewer.run(graph).nodes[fc3].output
    assert not torch.allclose(trained_out, random_out)
    previewer.use_weights(None)
    assert torch.equal(previewer.run(graph).nodes[fc3].output, random_out)


def test_a_gan_previews_its_generator_from_noise_and_its_discriminator_from_a_sample():
    graph = load_project("gan")
    result = Previewer().run(graph, sample=3)
    assert result.stopped_at is None and set(result.nodes) == set(graph.nodes)
    noise = graph.by_name("noise").id
    again = Previewer().run(graph, sample=3)
    assert torch.equal(result.nodes[noise].output, again.nodes[noise].output)  # seeded by the sample
    assert result.nodes[graph.by_name("image").id].kind == "image"
