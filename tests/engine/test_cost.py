"""Cost per node: FLOPs agree with torch's FlopCounterMode and the textbook formulas; the training-memory
estimate is within 20 % of the measured peak of a real CPU training step; the does-not-fit warning."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

import engine.memory
from engine.compile import compile_graph
from engine.cost import analyse, recurrent_flops
from engine.graph import Graph
from engine.memory import backward_peak, memory_problems, training_config
from engine.templates import load_project
from engine.train.optim import make_optimizer
from engine.validate import validate


def batch_for(graph: Graph, batch: int) -> tuple[torch.Tensor, ...]:
    v = validate(graph)
    out = []
    for node in graph.input_nodes():
        shape = (batch, *v.shapes[node.id][1:])
        ints = v.dtypes[node.id].startswith("int")
        out.append(torch.zeros(shape, dtype=torch.int64) if ints else torch.randn(shape))
    return tuple(out)


@pytest.mark.parametrize("template", ["lenet", "resnet", "transformer_classifier", "siamese"])
def test_flops_per_node_add_up_to_flop_counter_mode_of_the_whole_model(template: str):
    graph = load_project(template)
    report = analyse(graph, batch_size=12, latency=False)
    model, inputs = compile_graph(graph).train(), batch_for(graph, 12)
    with FlopCounterMode(display=False) as counter:  # training mode: eval's fused attention kernel is not counted
        model(*inputs)
    assert counter.get_total_flops() > 0
    assert report.total("flops") == counter.get_total_flops()


def conv_dense_graph() -> Graph:
    g = Graph(name="textbook")
    image = g.add_node("Input", "image", {"kind": "image", "channels": 3, "height": 16, "width": 12}).id
    conv = g.add_node("Conv2d", "conv", {"out_channels": 8, "kernel_size": 5, "padding": "valid", "stride": 1}).id
    flat = g.add_node("Flatten", "flat").id
    fc = g.add_node("Dense", "fc", {"units": 7}).id
    out = g.add_node("Output", "out", {"task": "multiclass"}).id
    for a, b in ((image, conv), (conv, flat), (flat, fc), (fc, out)):
        g.connect(a, b)
    return g


def test_conv2d_and_dense_flops_follow_the_textbook_formula():
    graph = conv_dense_graph()
    batch = 6
    report = analyse(graph, batch_size=batch, latency=False)
    conv, fc = graph.by_name("conv").id, graph.by_name("fc").id
    h_out, w_out = 16 - 5 + 1, 12 - 5 + 1
    assert report.nodes[conv].flops == 2 * batch * 8 * h_out * w_out * 3 * 5 * 5  # 2 FLOPs per multiply-add
    assert report.nodes[fc].flops == 2 * batch * (8 * h_out * w_out) * 7
    assert report.nodes[conv].params == 8 * 3 * 5 * 5 + 8
    assert report.nodes[conv].activation_bytes == batch * 8 * h_out * w_out * 4
    assert report.biggest("flops", 1) == [conv]


def test_latency_is_measured_for_every_layer():
    report = analyse(load_project("lenet"), batch_size=8)
    assert report.device == "cpu"
    assert report.nodes and all(c.latency_ms is not None and c.latency_ms > 0 for c in report.nodes.values())


def measured_peak(graph: Graph, batch: int, tmp_path: Path) -> int:
    """Peak bytes of live tensors during one training step (forward, backward, optimizer step), read from torch
    profiler's memory timeline: every CPU allocation and free, by category (parameters, gradients, optimizer
    state, inputs, activations, temporaries). The step before the profiled one creates the optimizer state."""
    torch.manual_seed(0)
    model = compile_graph(graph).train()
    optimizer = make_optimizer(model.parameters(), training_config(graph))
    inputs = batch_for(graph, batch)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        out = model(*inputs)
        (out[0] if isinstance(out, tuple) else out).float().square().mean().backward()
        optimizer.step()

    step()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True, with_stack=True) as prof:
        step()
    path = tmp_path / "timeline.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated in favour of a CUDA-only recorder; the CPU timeline still works
        prof.export_memory_timeline(str(path), device="cpu")
    _times, sizes = json.loads(path.read_text())
    return max(sum(row) for row in sizes)


@pytest.mark.parametrize("template", ["lenet", "mlp", "resnet"])
def test_training_memory_estimate_is_within_20_percent_of_the_measured_peak(template: str, tmp_path: Path):
    graph = load_project(template)
    estimate = analyse(graph, batch_size=64, latency=False).memory
    peak = measured_peak(graph, 64, tmp_path)
    assert estimate.weights == 4 * validate(graph).total_params
    assert estimate.optimizer == 2 * estimate.gradients  # Adam keeps two moments
    assert abs(estimate.total - peak) <= 0.2 * peak, (estimate, peak)


def test_frozen_nodes_need_no_gradients_or_optimizer_state():
    graph = load_project("lenet")
    full = analyse(graph, batch_size=8, latency=False).memory
    fc2 = graph.by_name("fc2")
    fc2.trainable = False
    frozen = analyse(graph, batch_size=8, latency=False).memory
    fc2_bytes = 4 * (84 * 120 + 84)
    assert frozen.weights == full.weights
    assert frozen.gradients == full.gradients - fc2_bytes
    assert frozen.optimizer == full.optimizer - 2 * fc2_bytes


def test_backward_peak_frees_what_each_node_saved_as_the_backward_pass_passes_it():
    # forward keeps 10 + 20 + 30; backward through the last node holds those plus its output and input grads
    assert backward_peak([(10, 5, 1), (20, 6, 5), (30, 7, 6)]) == 60 + 7 + 6
    assert backward_peak([(100, 50, 1), (0, 1, 50)]) == 100 + 50 + 1
    assert backward_peak([]) == 0


def test_a_model_too_big_for_the_device_gets_a_warning_naming_its_biggest_nodes(monkeypatch):
    graph = load_project("resnet")
    v = validate(graph)
    assert not [p for p in v.problems if p.kind == "memory"]
    [problem] = memory_problems(graph, v, capacity=1_000_000)
    assert problem.severity == "warning" and problem.node_id is None
    assert "batch size 64" in problem.message and "'stem_conv'" in problem.message
    assert "batch_size" in problem.hint
    monkeypatch.setattr(engine.memory, "device_memory", lambda device: 1_000_000)
    assert [p.kind for p in validate(graph).problems] == ["memory"]
    graph.training = {**graph.training, "batch_size": 1}
    assert not validate(graph).problems


RECURRENT = {"LSTM": (torch.nn.LSTM, torch.nn.LSTMCell, 4), "GRU": (torch.nn.GRU, torch.nn.GRUCell, 3),
             "SimpleRNN": (torch.nn.RNN, torch.nn.RNNCell, 1)}


def unrolled_flops(cell_cls, features: int, hidden: int, layers: int, directions: int, steps: int, batch: int) -> int:
    """FlopCounterMode's count of the same network written as a loop of cells, step by step, layer by layer."""
    torch.manual_seed(0)
    x = torch.randn(steps, batch, features)
    with FlopCounterMode(display=False) as counter:
        for _layer in range(layers):
            outs = []
            for _ in range(directions):
                cell = cell_cls(x.shape[-1], hidden)
                h = torch.zeros(batch, hidden)
                state = (h, torch.zeros(batch, hidden)) if cell_cls is torch.nn.LSTMCell else h
                seq = []
                for t in range(steps):
                    state = cell(x[t], state)
                    seq.append(state[0] if isinstance(state, tuple) else state)
                outs.append(torch.stack(seq))
            x = torch.cat(outs, dim=-1)
    return counter.get_total_flops()


@pytest.mark.parametrize("type_id", list(RECURRENT))
def test_recurrent_flops_match_the_textbook_formula_and_an_unrolled_cell_loop(type_id: str):
    rnn_cls, cell_cls, gates = RECURRENT[type_id]
    features, hidden, layers, steps, batch = 5, 7, 2, 6, 3
    rnn = rnn_cls(features, hidden, layers, bidirectional=True)
    textbook = steps * batch * 2 * (2 * gates * hidden * (features + hidden)  # first layer, both directions
                                    + 2 * gates * hidden * (2 * hidden + hidden))  # second reads both directions
    assert recurrent_flops(rnn, torch.zeros(steps, batch, features)) == textbook
    assert unrolled_flops(cell_cls, features, hidden, layers, 2, steps, batch) == textbook


def test_an_lstm_with_a_projection_counts_the_projection():
    rnn = torch.nn.LSTM(4, 6, proj_size=3, batch_first=True)
    # gates read the input (4) and the projected state (3); the projection maps 6 -> 3 every step
    assert recurrent_flops(rnn, torch.zeros(2, 5, 4)) == 2 * 5 * (2 * 4 * 6 * (4 + 3) + 2 * 6 * 3)


@pytest.mark.parametrize("type_id", list(RECURRENT))
def test_recurrent_nodes_cost_their_formula_not_zero(type_id: str):
    gates = RECURRENT[type_id][2]
    g = Graph(name="sequence")
    seq = g.add_node("Input", "seq", {"kind": "sequence", "seq_len": 9, "features": 4}).id
    rnn = g.add_node(type_id, "rnn", {"hidden_size": 10}).id
    fc = g.add_node("Dense", "fc", {"units": 3}).id
    out = g.add_node("Output", "out", {"task": "multiclass"}).id
    for a, b in ((seq, rnn), (rnn, fc), (fc, out)):
        g.connect(a, b)
    report = analyse(g, batch_size=8, latency=False)
    assert report.nodes[rnn].flops == 8 * 9 * 2 * gates * 10 * (4 + 10)
    assert report.nodes[fc].flops == 2 * 8 * 10 * 3
