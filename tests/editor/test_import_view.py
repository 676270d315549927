"""An imported project in the editor: groups on the canvas, every new layer's properties, no Placeholder in the palette."""

from __future__ import annotations

import torch
from torch import nn

from engine.importer import import_model
from tests.engine.import_zoo import ShuffleUnit


class WithPlaceholder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.scale = nn.Parameter(torch.ones(1, 4, 1, 1))

    def forward(self, x):
        y = torch.erf(self.conv(x)) * self.scale
        return torch.nn.functional.interpolate(y.mean((2, 3), keepdim=True), size=(2, 2)).flatten(1)


def test_imported_project_opens_with_groups_and_editable_nodes(window, qtbot, tmp_path):
    imported = import_model(ShuffleUnit().eval(), [(3, 12, 12)])
    path = tmp_path / "shuffle.json"
    imported.graph.save(path)
    assert window.open_file(path)
    ctl = window.controller
    assert [g.name for g in ctl.graph.groups] == ["branch2 (Sequential)"]
    assert set(ctl.view.groups) == {g.id for g in ctl.graph.groups}
    for node in ctl.graph.nodes.values():
        ctl.select_node(node.id)
        assert window.properties.node_id == node.id


def test_a_placeholder_shows_its_problem_and_the_palette_never_offers_one(window, tmp_path):
    imported = import_model(WithPlaceholder().eval(), [(3, 6, 6)])
    path = tmp_path / "placeholder.json"
    imported.graph.save(path)
    assert window.open_file(path)
    ctl = window.controller
    holder = next(n for n in ctl.graph.nodes.values() if n.type == "Placeholder")
    ctl.select_node(holder.id)
    assert window.properties.node_id == holder.id
    assert any("replace this node" in p.hint for p in ctl.validation.problems_for(holder.id))
    assert "Placeholder" not in window.palette.visible_type_ids()
    assert {"LearnedTensor", "Reduce", "Interpolate"} <= set(window.palette.visible_type_ids())


def test_an_imported_split_is_one_node_with_a_port_per_piece(window, tmp_path):
    imported = import_model(ShuffleUnit().eval(), [(3, 12, 12)])
    path = tmp_path / "shuffle.json"
    imported.graph.save(path)
    assert window.open_file(path)
    ctl = window.controller
    split = next(n for n in ctl.graph.nodes.values() if n.type == "Split")
    view = ctl.view.nodes[split.id]
    assert list(view.outputs()) == ["out0", "out1"]
    wires = [e for e in ctl.graph.edges if e.src == split.id]
    assert sorted(e.src_port for e in wires) == ["out0", "out1"]
    for edge in wires:  # each piece is its own drawn wire, labelled with the piece's shape
        assert ctl.view.pipe(edge) is not None
        assert ctl.view._wire_labels[edge] == "(N, 8, 12, 12)"
    ctl.set_param(split.id, "chunks", 4)
    view = ctl.view.nodes[split.id]
    assert list(view.outputs()) == ["out0", "out1", "out2", "out3"]
    assert all(ctl.view.pipe(e) is not None for e in wires)
    ctl.set_param(split.id, "chunks", 1)
    assert list(ctl.view.nodes[split.id].outputs()) == ["out0"]
    assert [e.src_port for e in ctl.graph.edges if e.src == split.id] == ["out0"]
    ctl.undo()
    ctl.undo()
    assert list(ctl.view.nodes[split.id].outputs()) == ["out0", "out1"]
    assert all(ctl.view.pipe(e) is not None for e in wires)
