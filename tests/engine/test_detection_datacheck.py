"""A detector checked against its data: the class count of every class-scoring detection layer and the Output
task, pinned to the Output node with the 'Match the data' fix, which mends them."""

from __future__ import annotations

import pytest

from engine.datacheck import MATCH_DATA, check_data, describe_data, match_data
from engine.templates import load_project
from engine.validate import validate_project


@pytest.mark.parametrize("stem", ["detector", "two_stage_detector"])
def test_a_head_scoring_other_classes_than_the_data_is_pinned_to_its_output_and_matched(stem):
    graph = load_project(stem)
    graph.data["options"] = {"classes": 3, "n_samples": 60}
    problems = check_data(graph)
    final = graph.output_nodes()[-1]
    assert [(p.node_id, p.kind, p.fix) for p in problems] == [(final.id, "data_classes", MATCH_DATA)]
    assert "scores 5 classes but the data has 3" in problems[0].message
    assert not validate_project(graph).ok
    changes = match_data(graph, describe_data(graph.data))
    layer = graph.nodes[graph.incoming(final.id)[0].src]
    assert layer.params["num_classes"] == 3 and changes == [f"{layer.name} scores 3 classes"]
    assert check_data(graph) == []
    if stem == "two_stage_detector":  # the proposals' objectness is one class whatever the data
        rpn = graph.nodes[graph.incoming(graph.output_nodes()[0].id)[0].src]
        assert rpn.type == "RegionProposalNetwork" and "num_classes" not in rpn.params


def test_an_output_that_is_not_a_detection_output_on_detection_data_is_matched():
    graph = load_project("detector")
    graph.data["options"] = {"n_samples": 60}
    out = graph.output_nodes()[0]
    out.params["task"] = "multiclass"
    [problem] = check_data(graph)
    assert problem.node_id == out.id and problem.kind == "data_task" and problem.fix == MATCH_DATA
    assert match_data(graph, describe_data(graph.data)) == [f"{out.name} predicts detection"]
    assert check_data(graph) == []
