"""The project file: round trip, atomic save, and one clear error naming the place for each bad file."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.errors import ProjectFileError
from engine.graph import Graph
from engine.templates import template_dir
from engine.validate import validate


def lenet_doc() -> dict:
    return json.loads((template_dir() / "lenet.json").read_text(encoding="utf-8"))


def write(tmp_path: Path, doc_or_text: dict | list | str) -> Path:
    path = tmp_path / "project.json"
    text = doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text)
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, doc_or_text: dict | list | str) -> str:
    path = write(tmp_path, doc_or_text)
    with pytest.raises(ProjectFileError) as info:
        Graph.load(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message and "Traceback" not in message
    return message


def test_save_then_load_gives_the_same_project(tmp_path: Path):
    graph = Graph(name="tiny", description="two layers", tags=["tabular"])
    x = graph.add_node("Input", "x", {"kind": "features", "features": 3}, pos=(0, 0))
    h = graph.add_node("Dense", "hidden", {"units": 5, "bias": False}, pos=(220, 10))
    out = graph.add_node("Output", "y", {"task": "regression"}, pos=(440, 0))
    graph.connect(x.id, h.id)
    graph.connect(h.id, out.id)
    graph.data = {"source": "builtin", "name": "iris"}
    graph.training = {"lr": 0.01, "early_stopping": {"enabled": True}}
    path = tmp_path / "tiny.json"
    graph.save(path)
    again = Graph.load(path)
    assert again.to_dict() == graph.to_dict()
    assert again.nodes[h.id].params == {"units": 5, "bias": False} and again.nodes[h.id].pos == (220.0, 10.0)
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == "deepwire-project"


def test_save_leaves_no_temp_file_behind(tmp_path: Path):
    Graph.from_dict(lenet_doc()).save(tmp_path / "lenet.json")
    Graph.from_dict(lenet_doc()).save(tmp_path / "lenet.json")
    assert [p.name for p in tmp_path.iterdir()] == ["lenet.json"]


@pytest.mark.parametrize("broken", ["os.fsync", "os.replace"])
def test_failed_save_keeps_the_existing_file_untouched(tmp_path: Path, monkeypatch, broken: str):
    path = tmp_path / "project.json"
    path.write_text("the user's previous work\n", encoding="utf-8")

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, broken.split(".")[1], fail)
    with pytest.raises(OSError):
        Graph.from_dict(lenet_doc()).save(path)
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "the user's previous work\n"
    assert [p.name for p in tmp_path.iterdir()] == ["project.json"]


def mutate(change: Callable[[dict], object]) -> dict:
    doc = copy.deepcopy(lenet_doc())
    change(doc)
    return doc


def set_node(index: int, key: str, value) -> Callable[[dict], None]:
    return lambda doc: doc["nodes"][index].__setitem__(key, value)


BAD_FILES = {
    "truncated JSON": (lambda: json.dumps(lenet_doc(), indent=2)[:700], ["not valid JSON", "line", "truncated"]),
    "not an object": (lambda: [1, 2, 3], ["top level", "JSON object"]),
    "wrong format": (lambda: {**lenet_doc(), "format": "keras-model"}, ["format", "not a DeepWire project"]),
    "newer version": (lambda: {**lenet_doc(), "version": 7}, ["version", "newer", "update DeepWire"]),
    "version as text": (lambda: {**lenet_doc(), "version": "1"}, ["version", "whole number"]),
    "version zero": (lambda: {**lenet_doc(), "version": 0}, ["version", "unknown version 0"]),
    "unknown type": (lambda: mutate(set_node(1, "type", "Conv2D")),
                     ["nodes[1] (id 'n2')", "unknown layer type 'Conv2D'", "did you mean 'Conv2d'"]),
    "out-of-range param": (lambda: mutate(lambda d: d["nodes"][1]["params"].__setitem__("kernel_size", 0)),
                           ["nodes[1] (id 'n2')", "conv1", "kernel_size", "below the minimum"]),
    "infinite param": (lambda: mutate(lambda d: d["nodes"][1]["params"].__setitem__("stride", float("inf"))),
                       ["nodes[1] (id 'n2')", "stride must be a whole number, not inf"]),
    "unknown param": (lambda: mutate(lambda d: d["nodes"][1]["params"].__setitem__("filters", 8)),
                      ["nodes[1] (id 'n2')", "no param 'filters'", "out_channels"]),
    "wrongly typed param": (lambda: mutate(lambda d: d["nodes"][1]["params"].__setitem__("bias", "yes")),
                            ["nodes[1] (id 'n2')", "bias must be true or false"]),
    "dangling edge": (lambda: mutate(lambda d: d["edges"][0].__setitem__("dst", "n99")),
                      ["edges[0]", "'n99'", "dangling"]),
    "duplicate wire": (lambda: mutate(lambda d: d["edges"].append(dict(d["edges"][2]))),
                       [f"edges[{len(lenet_doc()['edges'])}]", "the same wire appears twice"]),
    "duplicate id": (lambda: mutate(set_node(2, "id", "n2")), ["nodes[2]", "duplicate node id 'n2'"]),
    "bad port": (lambda: mutate(lambda d: d["edges"][0].__setitem__("dst_port", "query")),
                 ["edges[0]", "no input port 'query'", "ports: in"]),
    "nodes not a list": (lambda: {**lenet_doc(), "nodes": {"n1": {}}}, ["nodes", "JSON list"]),
    "bad position": (lambda: mutate(set_node(0, "pos", [0, "left"])), ["nodes[0] (id 'n1')", "'pos'"]),
    "shares a missing node": (lambda: mutate(set_node(3, "shares", "n42")), ["node 'n4'", "'n42'", "does not exist"]),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_malformed_file_gives_one_clear_error_naming_the_place(tmp_path: Path, case: str):
    make, expected = BAD_FILES[case]
    message = load_error(tmp_path, make())
    for fragment in expected:
        assert fragment in message, f"{fragment!r} missing from: {message}"


def test_unreadable_bytes_and_missing_file_are_project_file_errors(tmp_path: Path):
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ProjectFileError, match="cannot be read"):
        Graph.load(path)
    with pytest.raises(ProjectFileError, match="no such file"):
        Graph.load(tmp_path / "missing.json")


def test_a_cycle_loads_but_validation_pins_it_to_its_nodes(tmp_path: Path):
    doc = lenet_doc()
    doc["edges"].append({"src": "n4", "src_port": "out", "dst": "n2", "dst_port": "in"})
    del doc["edges"][0]  # conv1 now only takes pool1's output: conv1 -> relu1 -> pool1 -> conv1
    graph = Graph.load(write(tmp_path, doc))
    cycle = {p.node_id for p in validate(graph).problems if p.kind == "cycle"}
    assert {"n2", "n3", "n4"} <= cycle
    assert "n1" not in cycle


def test_an_unconnected_input_is_a_validation_problem_of_that_node(tmp_path: Path):
    doc = lenet_doc()
    doc["edges"] = [e for e in doc["edges"] if e["dst"] != "n5"]  # conv2 loses its input
    result = validate(Graph.load(write(tmp_path, doc)))
    unconnected = [p for p in result.problems if p.kind == "unconnected"]
    assert [p.node_id for p in unconnected] == ["n5"]
    assert "conv2" in unconnected[0].message and "not connected" in unconnected[0].message
    assert unconnected[0].hint


def test_a_blank_node_name_gets_a_generated_one_so_the_graph_saves_and_copies(tmp_path):
    g = Graph()
    node = g.add_node("Dense", "   ", {"units": 3})
    assert node.name == "dense1"
    g.save(tmp_path / "blank.json")
    assert Graph.load(tmp_path / "blank.json").node(node.id).name == "dense1"
    assert g.copy().node(node.id).name == "dense1"
