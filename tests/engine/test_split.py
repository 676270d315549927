"""Split: one node with an output port per piece, through the graph, shapes, compile, preview, export and import."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.compile import compile_graph
from engine.document import Document
from engine.errors import GraphError
from engine.graph import Graph
from engine.importer import import_model, transfer_weights
from engine.layers.registry import get_spec
from engine.validate import validate


def _split_graph(params: dict) -> tuple[Graph, str]:
    """Input (6, 4) -> Split -> piece 2 through ReLU, then Concat(ReLU, piece 0) -> Output."""
    g = Graph(name="split")
    i = g.add_node("Input", params={"kind": "sequence", "seq_len": 6, "features": 4})
    s = g.add_node("Split", params=params)
    relu, cat = g.add_node("ReLU"), g.add_node("Concat", params={"axis": 0})
    out = g.add_node("Output", params={"task": "regression"})
    port = get_spec("Concat").inputs[0].name
    g.connect(i.id, s.id)
    g.connect(s.id, relu.id, "out2")
    g.connect(relu.id, cat.id, dst_port=port)
    g.connect(s.id, cat.id, "out0", port)
    g.connect(cat.id, out.id)
    return g, s.id


def test_split_ports_follow_params_and_each_wire_carries_its_piece():
    g, sid = _split_graph({"sizes": [1, 2, 3]})
    assert [p.name for p in get_spec("Split").output_ports(g.nodes[sid].params)] == ["out0", "out1", "out2"]
    v = validate(g)
    assert v.ok, v.report()
    assert v.port_shapes[sid] == {"out0": (None, 1, 4), "out1": (None, 2, 4), "out2": (None, 3, 4)}
    wire = next(e for e in g.edges if e.src == sid and e.src_port == "out2")
    assert v.wire_shape(wire) == (None, 3, 4)
    model = compile_graph(g, validation=v)
    x = torch.randn(2, 6, 4)
    torch.testing.assert_close(model(x), torch.cat([x[:, 3:].relu(), x[:, :1]], 1))
    with pytest.raises(GraphError, match="no output port 'out3'"):
        g.connect(sid, g.by_name("relu1").id, "out3")


def test_split_file_round_trip_keeps_the_wires_of_each_port(tmp_path):
    g, sid = _split_graph({"chunks": 3})
    g.save(tmp_path / "p.json")
    back = Graph.load(tmp_path / "p.json")
    assert sorted(e.src_port for e in back.edges if e.src == sid) == ["out0", "out2"]
    x = torch.randn(2, 6, 4)
    torch.testing.assert_close(compile_graph(back)(x), torch.cat([x[:, 4:].relu(), x[:, :2]], 1))


def test_fewer_pieces_drop_the_wires_of_the_ports_that_went_and_undo_brings_them_back():
    g, sid = _split_graph({"chunks": 3})
    doc = Document(g)
    assert doc.set_param(sid, "chunks", 2)
    assert sorted(e.src_port for e in doc.graph.edges if e.src == sid) == ["out0"]
    assert any(p.node_id for p in doc.validation.errors)  # the ReLU lost its input
    doc.undo()
    assert doc.graph.nodes[sid].params["chunks"] == 3
    assert sorted(e.src_port for e in doc.graph.edges if e.src == sid) == ["out0", "out2"]


@pytest.mark.parametrize(("params", "message"), [
    ({"chunks": 4}, "cannot cut axis 0"),
    ({"sizes": [2, 2, 1]}, "add up to 5"),
    ({"chunks": 3, "squeeze": True}, "pieces of length 1"),
    ({"chunks": 3, "axis": 5}, "axis 5 does not exist"),
])
def test_split_params_that_do_not_fit_the_input_are_errors_on_the_node(params, message):
    g, sid = _split_graph(params)
    problems = [p for p in validate(g).errors if p.node_id == sid]
    assert problems and message in problems[0].message


def test_unbind_mode_drops_the_axis():
    g = Graph(name="unbind")
    i = g.add_node("Input", params={"kind": "sequence", "seq_len": 3, "features": 4})
    s = g.add_node("Split", params={"chunks": 3, "squeeze": True})
    add, out = g.add_node("Add"), g.add_node("Output", params={"task": "regression"})
    g.connect(i.id, s.id)
    port = get_spec("Add").inputs[0].name
    g.connect(s.id, add.id, "out0", port)
    g.connect(s.id, add.id, "out2", port)
    g.connect(add.id, out.id)
    v = validate(g)
    assert v.ok and v.port_shapes[s.id]["out1"] == (None, 4)
    x = torch.randn(2, 3, 4)
    torch.testing.assert_close(compile_graph(g)(x), x[:, 0] + x[:, 2])


def test_exported_source_unpacks_the_pieces(tmp_path):
    from engine.export import export_model

    g, _ = _split_graph({"chunks": 3})
    model = compile_graph(g).eval()
    result = export_model(g, model, None, "python", tmp_path)
    assert result.check["passed"], result.check
    text = (tmp_path / "model.py").read_text()
    assert "split1_out0, split1_out1, split1_out2 = self.split1(" in text


class GatedShuffle(nn.Module):
    """chunk, split with uneven sizes, tensor_split and unbind: every piece taken by getitem or unpacking."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(6, 6, 1)

    def forward(self, x):
        value, gate = self.conv(x).chunk(2, dim=1)
        y = value * torch.sigmoid(gate)
        a, b = torch.split(y, [1, 2], dim=1)
        first, rest = torch.tensor_split(x, 2, dim=2)
        rows = x.unbind(1)
        return torch.cat([b, a], 1).sum(-1) + first.mean(-1)[:, :3] + rest.amax(-1)[:, 3:] + rows[0][:, :1]


def test_import_maps_chunk_split_tensor_split_and_unbind_onto_one_split_node_each():
    torch.manual_seed(0)
    src = GatedShuffle().eval()
    imported = import_model(src, [(6, 4)])
    assert not imported.problems, imported.report()
    splits = [n for n in imported.graph.nodes.values() if n.type == "Split"]
    assert len(splits) == 4 and not any(n.type == "Chunk" for n in imported.graph.nodes.values())
    params = sorted((n.params["chunks"], n.params["sizes"], n.params["squeeze"]) for n in splits)
    assert params == [(2, [], False), (2, [], False), (2, [1, 2], False), (6, [], True)]
    by_split = {n.id: sorted(e.src_port for e in imported.graph.edges if e.src == n.id) for n in splits}
    assert sorted(map(tuple, by_split.values())) == [("out0",), ("out0", "out1"), ("out0", "out1"),
                                                     ("out0", "out1")]
    model = compile_graph(imported.graph).eval()
    transfer_weights(imported, model)
    x = torch.randn(3, 6, 4)
    with torch.no_grad():
        torch.testing.assert_close(model(x), src(x), atol=1e-6, rtol=1e-5)


def test_a_whole_split_concatenated_maps_and_a_slice_of_its_pieces_is_a_placeholder_with_a_reason():
    class Whole(nn.Module):
        def forward(self, x):
            return torch.cat(x.chunk(2, dim=1), 1) + torch.cat(x.chunk(2, dim=1)[::-1], 1)

    imported = import_model(Whole(), [(4,)])
    assert [p.op for p in imported.problems][0] == "operator.getitem"
    assert "takes pieces slice(None, None, -1) of a split" in imported.report()
    concat = next(n for n in imported.graph.nodes.values() if n.type == "Concat")
    assert sorted(e.src_port for e in imported.graph.incoming(concat.id)) == ["out0", "out1"]


def test_a_new_head_after_a_split_piece_keeps_reading_that_piece():
    from engine.head import HeadTarget, adapt_head

    g = Graph(name="head")
    i = g.add_node("Input", params={"kind": "image", "channels": 4, "height": 3, "width": 3})
    s = g.add_node("Split", params={"sizes": [1, 3]})
    out = g.add_node("Output", params={"task": "multiclass"})
    g.connect(i.id, s.id)
    g.connect(s.id, out.id, "out1")
    adapt_head(g, HeadTarget("multiclass", 5))
    v = validate(g)
    assert v.ok, v.report()
    flatten = next(n for n in g.nodes.values() if n.type == "Flatten")
    assert [e.src_port for e in g.incoming(flatten.id)] == ["out1"]
    assert v.in_shapes[flatten.id] == ((None, 3, 3, 3),) and v.shapes[out.id] == (None, 5)
