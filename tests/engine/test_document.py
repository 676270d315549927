"""The Qt-free document: every named edit does, undoes and redoes as one step and leaves validation current."""

from __future__ import annotations

import pytest

from engine.document import Document
from engine.errors import GraphError
from engine.graph import Edge, Graph
from engine.subgraph import extract
from engine.validate import validate


def chain() -> Graph:
    """Input(image 1x8x8) -> Conv2d -> Dense -> Output: the Dense needs a Flatten (a shape error with a fix)."""
    g = Graph(name="doc", data={"source": "builtin", "name": "digits"}, training={"epochs": 2})
    g.add_node("Input", "input", {"kind": "image", "channels": 1, "height": 8, "width": 8}, node_id="n1")
    g.add_node("Conv2d", "conv", {"out_channels": 4}, pos=(200, 0), node_id="n2")
    g.add_node("Dense", "dense", {"units": 10}, pos=(400, 0), node_id="n3")
    g.add_node("Output", "output", pos=(600, 0), node_id="n4")
    for a, b in (("n1", "n2"), ("n2", "n3"), ("n3", "n4")):
        g.connect(a, b)
    return g


def first_fix(doc: Document):
    return next(p for p in doc.validation.problems if p.fix)


EDITS = {
    "add": lambda d: d.add_node("ReLU", (100, 100)),
    "add on a wire": lambda d: d.add_node("ReLU", (300, 0), on_wire=Edge("n2", "out", "n3", "in")),
    "connect": lambda d: d.connect("n1", "n3"),
    "disconnect": lambda d: d.disconnect(Edge("n2", "out", "n3", "in")),
    "rewire": lambda d: d.rewire([Edge("n3", "out", "n4", "in")], [Edge("n2", "out", "n4", "in")]),
    "remove": lambda d: d.remove_nodes(["n3"]),
    "set param": lambda d: d.set_param("n3", "units", 32),
    "rename": lambda d: d.rename_node("n3", "classifier"),
    "swap type": lambda d: d.swap_type("n2", "MaxPool2d"),
    "apply a fix": lambda d: d.apply_fix(first_fix(d)),
    "insert on a wire": lambda d: d.insert_on_wire("n5", Edge("n2", "out", "n3", "in")),
    "group": lambda d: d.group(["n2", "n3"], "body"),
    "ungroup": lambda d: d.ungroup("g1"),
    "collapse a group": lambda d: d.toggle_group("g1"),
    "paste": lambda d: d.paste(extract(d.graph, ["n2", "n3"]), (0, 300)),
    "insert a block": lambda d: d.insert_block(extract(d.graph, ["n2"]), "conv block", (0, 300)),
    "move": lambda d: d.move_nodes({"n1": (-50, 20)}),
    "share weights": lambda d: d.set_shares("n5", "n2"),
    "match the data": lambda d: d.match_data({"input_shapes": [[1, 16, 16]], "input_dtypes": ["float32"],
                                              "task": "multiclass", "num_classes": 5, "target_shape": []}),
    "set a section key": lambda d: d.set_section_key("training", "early_stopping.patience", 3),
    "set a section": lambda d: d.set_section("data", {"source": "builtin", "name": "iris"}),
}


SETUP = {
    "insert on a wire": lambda d: d.add_node("ReLU", (900, 900)),
    "ungroup": lambda d: d.group(["n2", "n3"], "body"),
    "collapse a group": lambda d: d.group(["n2", "n3"], "body"),
    "share weights": lambda d: d.add_node("Conv2d", (200, 200)),
}
"""What an edit needs first (its own step, not counted): a node n5 or a group g1."""


def state(graph: Graph) -> dict:
    return graph.to_dict()


@pytest.mark.parametrize("edit", list(EDITS))
def test_every_named_edit_does_undoes_and_redoes_as_one_step_with_fresh_validation(edit):
    changes = []
    doc = Document(chain(), on_change=changes.append)
    if edit in SETUP:
        SETUP[edit](doc)
    before, setup_steps = state(doc.graph), len(doc.history)
    changes.clear()

    EDITS[edit](doc)
    after = state(doc.graph)
    assert after != before
    steps = len(doc.history) - setup_steps
    assert steps == 1
    assert doc.can_undo and changes, "an edit tells on_change"
    assert changes[-1].validation is doc.validation
    assert doc.validation.report() == validate(doc.graph).report()

    for _ in range(steps):
        assert doc.undo()
    assert state(doc.graph) == before
    assert doc.validation.report() == validate(doc.graph).report()
    assert doc.can_redo

    for _ in range(steps):
        assert doc.redo()
    assert state(doc.graph) == after
    assert doc.validation.report() == validate(doc.graph).report()
    assert changes[-1].name == doc.history[-1]


def test_the_fix_inserts_a_flatten_that_clears_the_error():
    doc = Document(chain())
    problem = first_fix(doc)
    assert (problem.node_id, problem.fix) == ("n3", "Flatten")
    assert doc.apply_fix(problem)
    assert doc.validation.ok, doc.validation.report()
    flatten = next(n for n in doc.graph.nodes.values() if n.type == "Flatten")
    assert Edge("n2", "out", flatten.id, "in") in doc.graph.edges and Edge(flatten.id, "out", "n3", "in") in doc.graph.edges
    assert doc.graph.nodes["n2"].pos[0] < flatten.pos[0] < doc.graph.nodes["n3"].pos[0]
    doc.undo()
    assert not doc.validation.ok


def test_consecutive_edits_of_one_value_merge_and_refused_edits_change_nothing():
    doc = Document(chain())
    for units in (11, 12, 13):
        doc.set_param("n3", "units", units)
    for lr in (0.1, 0.2):
        doc.set_section_key("training", "lr", lr)
    assert doc.history == ["set units", "set training lr"]
    doc.undo()
    assert "lr" not in doc.graph.training
    doc.undo()
    assert doc.graph.nodes["n3"].params["units"] == 10
    with pytest.raises(GraphError, match="units"):
        doc.set_param("n3", "units", -1)
    with pytest.raises(GraphError):
        doc.connect("n4", "n1")  # an Output has no output port
    assert state(doc.graph) == state(chain()) and not doc.can_undo
    assert doc.set_param("n3", "units", 10) is False


def test_a_section_edit_revalidates_so_no_problem_goes_stale():
    """Section edits re-validate like graph edits (the Problems list once kept a section-dependent warning)."""
    doc = Document(chain())
    doc.set_section_key("data", "task", "gan")
    doc.set_section_key("training", "epochs", -1)
    assert [p.message for p in doc.validation.problems if p.kind == "section"] == \
        ["training.epochs: must be greater than 0, found -1"]
    doc.undo()
    assert [p for p in doc.validation.problems if p.kind == "section"] == []
    doc.redo()
    assert any(p.kind == "section" for p in doc.validation.problems)
    doc.set_section_key("training", "epochs", 3)
    assert [p for p in doc.validation.problems if p.kind == "section"] == []
    assert doc.validation.report() == validate(doc.graph).report()


def test_an_outside_history_gets_the_steps_and_replays_them():
    recorded = []
    doc = Document(chain(), record=recorded.append)
    doc.set_param("n3", "units", 20)
    doc.set_section_key("training", "epochs", 5)
    assert [s.name for s in recorded] == ["set units", "set training epochs"] and not doc.can_undo
    doc.undo_step(recorded[1])
    doc.undo_step(recorded[0])
    assert state(doc.graph) == state(chain())
    doc.redo_step(recorded[0])
    assert doc.graph.nodes["n3"].params["units"] == 20
