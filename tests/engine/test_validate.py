"""Validation: every problem at once, pinned to nodes with hints; cached re-validation; counts and heads."""

from __future__ import annotations

import pytest

import engine.shapes
from engine.compile import compile_graph
from engine.graph import Graph
from engine.templates import list_templates, load_project
from engine.validate import Validator, validate


def image_graph() -> tuple[Graph, dict[str, str]]:
    """Input (1, 8, 8) -> conv -> Dense -> Output: Dense gets a 4-D tensor."""
    g = Graph(name="broken")
    ids = {"image": g.add_node("Input", "image", {"kind": "image", "channels": 1, "height": 8, "width": 8}).id}
    ids["conv"] = g.add_node("Conv2d", "conv", {"out_channels": 6}).id
    ids["fc"] = g.add_node("Dense", "fc", {"units": 10}).id
    ids["out"] = g.add_node("Output", "out").id
    g.connect(ids["image"], ids["conv"])
    g.connect(ids["conv"], ids["fc"])
    g.connect(ids["fc"], ids["out"])
    return g, ids


def test_dense_after_conv_says_what_it_expects_and_offers_flatten():
    graph, ids = image_graph()
    result = validate(graph)
    assert not result.ok
    [problem] = result.problems
    assert problem.node_id == ids["fc"] and problem.kind == "shape_mismatch"
    assert "expects (N, F)" in problem.message and "(N, 6, 8, 8)" in problem.message
    assert "insert a Flatten node" in problem.hint
    assert problem.fix == "Flatten"
    assert result.shapes[ids["conv"]] == (None, 6, 8, 8) and result.shapes[ids["fc"]] is None


def test_applying_the_fix_makes_the_graph_valid():
    graph, ids = image_graph()
    flat = graph.add_node(validate(graph).problems[0].fix, "flatten").id
    graph.connect(ids["conv"], flat)
    graph.connect(flat, ids["fc"])
    result = validate(graph)
    assert result.ok and result.shapes[ids["fc"]] == (None, 10)
    assert result.param_counts[ids["fc"]] == 6 * 8 * 8 * 10 + 10


def test_every_problem_of_a_graph_is_reported_at_once():
    graph, ids = image_graph()
    graph.nodes[ids["conv"]].params["kernel_size"] = 0                        # out of range
    stray = graph.add_node("ReLU", "stray").id                                # input not connected
    add = graph.add_node("Add", "lonely_add").id                              # needs two inputs
    graph.connect(ids["image"], add)
    graph.connect(add, stray)
    head = graph.add_node("Dense", "head", {"units": 3}).id
    binary = graph.add_node("Output", "flag", {"task": "binary"}).id          # 3 logits, binary
    flat = graph.add_node("Flatten", "flat").id
    graph.connect(ids["image"], flat)
    graph.connect(flat, head)
    graph.connect(head, binary)
    problems = validate(graph).problems
    found = {(p.node_id, p.kind) for p in problems}
    assert {(ids["conv"], "param"), (add, "arity"), (ids["fc"], "shape_mismatch"), (binary, "head"),
            (stray, "dead_end")} <= found
    assert all(p.message and p.hint for p in problems)


def test_graph_level_problems_have_no_node():
    problems = validate(Graph()).problems
    assert {(p.node_id, p.kind) for p in problems} == {(None, "no_input"), (None, "no_output")}


def test_unconnected_input_and_cycle_are_pinned_to_their_nodes():
    g = Graph()
    x = g.add_node("Input", "x", {"kind": "features", "features": 4}).id
    a, b = g.add_node("Dense", "a").id, g.add_node("Add", "b").id
    out = g.add_node("Output", "y", {"task": "regression"}).id
    g.connect(x, b)
    g.connect(b, a)
    g.connect(a, b)
    g.connect(a, out)
    dense2 = g.add_node("Dense", "unwired").id
    problems = validate(g).problems
    assert {p.node_id for p in problems if p.kind == "cycle"} == {a, b, out}
    assert [p.node_id for p in problems if p.kind == "unconnected"] == [dense2]


@pytest.mark.parametrize("task, units, complaint", [
    ("binary", 10, "expects one logit per sample (last dim 1) but gets (N, 10)"),
    ("multiclass", 1, "expects one score per class"),
])
def test_output_head_must_fit_its_task(task: str, units: int, complaint: str):
    g = Graph()
    x = g.add_node("Input", "x", {"kind": "features", "features": 4}).id
    fc = g.add_node("Dense", "fc", {"units": units}).id
    out = g.add_node("Output", "y", {"task": task}).id
    g.connect(x, fc)
    g.connect(fc, out)
    [problem] = validate(g).problems
    assert problem.node_id == out and problem.kind == "head" and complaint in problem.message
    g.set_param(fc, "units", 1 if task == "binary" else 3)
    assert validate(g).ok


@pytest.mark.parametrize("task", ["regression", "multilabel"])
def test_regression_and_multilabel_heads_take_any_width(task: str):
    g = Graph()
    x = g.add_node("Input", "x", {"kind": "features", "features": 4}).id
    fc = g.add_node("Dense", "fc", {"units": 7}).id
    out = g.add_node("Output", "y", {"task": task}).id
    g.connect(x, fc)
    g.connect(fc, out)
    assert validate(g).ok


def test_shares_with_another_layer_type_is_a_problem():
    graph = load_project("siamese")
    conv_b = graph.by_name("conv_b")
    conv_b.shares = graph.by_name("embed_a").id
    [problem] = [p for p in validate(graph).problems if p.kind == "shares"]
    assert problem.node_id == conv_b.id and "types differ" in problem.message


@pytest.fixture
def probes(monkeypatch) -> list[tuple[str, tuple]]:
    """Records every layer the shape engine builds and runs (type id, input shapes)."""
    calls: list[tuple[str, tuple]] = []
    real = engine.shapes._probe

    def counting(spec, params, build_shapes, in_shapes, dtypes):
        calls.append((spec.type_id, in_shapes))
        return real(spec, params, build_shapes, in_shapes, dtypes)

    monkeypatch.setattr(engine.shapes, "_probe", counting)
    return calls


def test_param_edit_rebuilds_only_the_node_and_what_its_change_reaches(probes):
    graph = load_project("lenet")
    validator = Validator()
    first = validator.validate(graph)
    assert first.ok and len(probes) == len({(t, s) for t, s in probes}) > 0
    probes.clear()
    assert validator.validate(graph).ok and probes == []              # nothing changed: nothing built
    conv2 = graph.by_name("conv2").id
    graph.set_param(conv2, "out_channels", 8)
    result = validator.validate(graph)
    assert [t for t, _ in probes] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Dense"]  # fc1's input changed
    assert result.ok and result.shapes[conv2] == (None, 8, 4, 4)
    fc1 = graph.by_name("fc1").id
    assert result.shapes[fc1] == (None, 120) and result.param_counts[fc1] == 8 * 2 * 2 * 120 + 120
    assert result.param_counts == validate(graph).param_counts
    probes.clear()
    graph.set_param(graph.by_name("fc3").id, "units", 12)
    validator.validate(graph)
    assert [t for t, _ in probes] == ["Dense"]


def test_param_edit_that_breaks_a_shape_is_reported_and_undoing_it_is_free(probes):
    graph = load_project("lenet")
    validator = Validator()
    validator.validate(graph)
    conv1 = graph.by_name("conv1").id
    graph.set_param(conv1, "padding", "valid")            # 8x8 -> 6x6 -> 3x3 -> 3x3 -> 1x1
    graph.set_param(conv1, "kernel_size", 5)              # 8x8 -> 4x4 -> 2x2 -> 2x2 -> 1x1
    graph.set_param(graph.by_name("conv2").id, "padding", "valid")
    broken = validator.validate(graph)
    assert not broken.ok and broken.problems_for(graph.by_name("conv2").id)
    graph.set_param(conv1, "kernel_size", 3)
    graph.set_param(conv1, "padding", "same")
    graph.set_param(graph.by_name("conv2").id, "padding", "same")
    probes.clear()
    assert validator.validate(graph).ok and probes == []


@pytest.mark.parametrize("stem", list_templates())
def test_parameter_counts_equal_the_compiled_model(stem: str):
    graph = load_project(stem)
    result = validate(graph)
    model = compile_graph(graph, validation=result)
    assert result.total_params == sum(p.numel() for p in model.parameters())
    for nid, target in model.deepwire_targets.items():
        if not graph.nodes[nid].shares:
            assert result.param_counts[nid] == sum(p.numel() for p in getattr(model, target).parameters())


def test_sharing_works_in_either_direction_between_parallel_branches():
    """The owner may come later in the project than the node that shares it (found by fuzzing)."""
    graph = load_project("siamese")
    for a_name, b_name in (("conv", "conv"), ("embed", "embed")):
        a, b = graph.by_name(f"{a_name}_a"), graph.by_name(f"{b_name}_b")
        a.shares, b.shares = b.id, None
    result = validate(graph)
    assert result.ok and result.total_params == 8384
    model = compile_graph(graph, validation=result)
    assert sum(p.numel() for p in model.parameters()) == 8384
    assert model.deepwire_targets[graph.by_name("conv_a").id] == model.deepwire_targets[graph.by_name("conv_b").id]


def test_sharing_with_a_node_downstream_is_reported_not_crashed():
    graph = load_project("lenet")
    conv1, conv2 = graph.by_name("conv1"), graph.by_name("conv2")
    conv1.shares = conv2.id
    result = validate(graph)
    assert not result.ok and conv1.id in {p.node_id for p in result.errors}


def test_distance_with_one_side_wired_is_an_unconnected_input():
    graph = load_project("siamese")
    distance = graph.by_name("distance")
    graph.disconnect(next(e for e in graph.incoming(distance.id) if e.dst_port == "b"))
    problems = validate(graph).problems_for(distance.id)
    assert [p.kind for p in problems] == ["unconnected"] and "'b'" in problems[0].message


def test_dense_on_token_ids_asks_for_an_embedding():
    """Meta tensors skip dtype checks; the shape engine still catches a Dense fed int64 ids."""
    graph = load_project("lstm_classifier")
    for name in ("embedding", "lstm"):
        graph.remove_node(graph.by_name(name).id)
    fc = graph.by_name("fc")
    graph.connect(graph.by_name("tokens").id, fc.id)
    [problem] = validate(graph).problems_for(fc.id)
    assert problem.kind == "shape_mismatch" and "put an Embedding before it" in problem.hint


def test_a_second_output_is_a_multi_task_head_not_a_problem():
    graph = load_project("mlp")
    first = graph.output_nodes()[0]
    extra = graph.add_node("Output", "second_head", {"task": "regression"})
    graph.connect(graph.incoming(first.id)[0].src, extra.id)
    assert not validate(graph).problems_for(extra.id)
