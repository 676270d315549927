"""The graph checked against its data: every template fits its own data, a default Input on the digits data
is a problem on the Input node, `match_data` mends it, and `deepwire validate` reports it."""

from __future__ import annotations

import pytest

from engine.cli import main
from engine.datacheck import MATCH_DATA, check_data, describe_data, match_data
from engine.graph import Graph
from engine.templates import list_templates, load_project
from engine.validate import validate_project


def blank_digits_net() -> Graph:
    """What a newcomer wires on a blank project after choosing the digits data: a default Input (1×28×28) →
    Flatten → Dense(64) → Output. (A project without a data section has no data to check against.)"""
    g = Graph(name="first", data={"source": "builtin", "name": "digits"})
    nodes = [g.add_node(t, pos=(i * 200.0, 0.0)) for i, t in enumerate(("Input", "Flatten", "Dense", "Output"))]
    for a, b in zip(nodes, nodes[1:], strict=False):
        g.connect(a.id, b.id)
    return g


@pytest.mark.parametrize("stem", list_templates())
def test_every_template_fits_its_own_data(stem):
    graph = load_project(stem)
    assert check_data(graph) == []


def test_a_default_input_on_digits_is_an_error_on_the_input_and_the_output():
    g = blank_digits_net()
    problems = check_data(g)
    by_node = {p.node_id: p for p in problems}
    inp, out = g.input_nodes()[0], g.output_nodes()[0]
    assert "(N, 1, 28, 28)" in by_node[inp.id].message and "(N, 1, 8, 8)" in by_node[inp.id].message
    assert "64 scores" in by_node[out.id].message and "10 classes" in by_node[out.id].message
    assert all(p.fix == MATCH_DATA and p.severity == "error" for p in problems)
    assert not validate_project(g).ok, "the data problems make the project invalid"


def test_match_data_mends_input_output_task_and_class_count():
    g = blank_digits_net()
    g.data = {"source": "builtin", "name": "breast_cancer"}
    g.output_nodes()[0].params["task"] = "multiclass"
    changes = match_data(g, describe_data(g.data))
    assert changes and check_data(g) == []
    assert g.input_nodes()[0].params["kind"] == "features" and g.input_nodes()[0].params["features"] == 30
    assert g.output_nodes()[0].params["task"] == "binary"
    dense = next(n for n in g.nodes.values() if n.type == "Dense")
    assert dense.params["units"] == 1
    assert validate_project(g).ok


def test_missing_csv_columns_are_a_data_problem(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n")
    g = blank_digits_net()
    g.data = {"source": "csv", "path": str(path), "features": ["a", "zzz"], "target": "label"}
    problems = check_data(g)
    assert len(problems) == 1 and problems[0].node_id is None and "zzz" in problems[0].message


def test_deepwire_validate_reports_the_data_mismatch(tmp_path, capsys):
    path = tmp_path / "p.json"
    blank_digits_net().save(path)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "(N, 1, 8, 8)" in out and "error" in out
    assert main(["validate", "--no-data", str(path)]) == 0
