"""engine.layout: every template laid out without overlaps, in rows that fit a 16:10 view."""

from __future__ import annotations

import pytest

import engine.layers  # noqa: F401  (registers the layer specs)
from engine.graph import Graph
from engine.layout import DX, DY, extent, layered_layout
from engine.templates import list_templates, load_project


def _chain(n: int) -> Graph:
    g = Graph()
    ids = [g.add_node("Input", params={"kind": "features", "features": 4}).id]
    ids += [g.add_node("ReLU").id for _ in range(n - 2)]
    ids.append(g.add_node("Output", params={"task": "regression"}).id)
    for a, b in zip(ids, ids[1:], strict=False):
        g.connect(a, b)
    return g


@pytest.mark.parametrize("name", list_templates())
def test_template_layout_has_no_overlaps_and_a_window_shaped_extent(name):
    graph = load_project(name)
    pos = layered_layout(graph)
    assert set(pos) == set(graph.nodes)
    cells = list(pos.values())
    for i, (x1, y1) in enumerate(cells):  # every node owns a DX x DY cell
        for x2, y2 in cells[i + 1:]:
            assert abs(x1 - x2) >= DX - 1e-6 or abs(y1 - y2) >= DY - 1e-6
    for e in graph.edges:  # wires run right within a row or down to a later row
        (xs, ys), (xd, yd) = pos[e.src], pos[e.dst]
        assert xd > xs or yd > ys, (graph.nodes[e.src].name, graph.nodes[e.dst].name)
    width, height = extent(pos)
    zoom = min(1200 / width, 680 / height)  # the zoom that shows it all on the canvas of a 16:10 window
    assert zoom >= 0.5
    if zoom < 0.85:  # a net too big to show near 100 % is wrapped to the canvas's shape, not a strip
        assert 1.0 <= width / height <= 2.6


def test_a_long_chain_wraps_into_rows_and_a_short_one_does_not():
    assert len({y for _, y in layered_layout(_chain(5)).values()}) == 1
    pos = layered_layout(_chain(30))
    rows = sorted({y for _, y in pos.values()})
    assert 4 <= len(rows) <= 7
    assert all(sum(1 for _, y in pos.values() if y == row) <= 6 for row in rows)
    width, height = extent(pos)
    assert 1.0 <= width / height <= 2.2


def test_a_residual_skip_runs_straight_beside_the_layers_it_skips():
    graph = load_project("resnet")
    pos = layered_layout(graph)
    by_name = {graph.nodes[n].name: p for n, p in pos.items()}
    start, add = by_name["stem_relu"], by_name["block1_add"]
    assert start[1] == add[1]  # the identity wire is a straight line...
    skipped = ["block1_conv1", "block1_bn1", "block1_relu1", "block1_conv2", "block1_bn2"]
    assert all(by_name[n][1] != start[1] for n in skipped)  # ...that no skipped layer sits on
    assert len({by_name[n][1] for n in skipped}) == 1  # and the residual branch is one straight row


def test_a_group_stays_on_one_row_of_the_wrapped_layout():
    graph = load_project("resnet")
    pos = layered_layout(graph)
    for group in graph.groups:  # a block's lanes are one lane apart: no gap between wrapped rows inside
        rows = sorted({pos[n][1] for n in group.node_ids})
        assert len(rows) == 2 and all(b - a == pytest.approx(DY) for a, b in zip(rows, rows[1:], strict=False))


def test_separate_networks_are_stacked_not_interleaved():
    graph = load_project("gan")
    pos = layered_layout(graph)
    generator = [p[1] for n, p in pos.items() if graph.nodes[n].name.startswith(("gen", "noise", "fake"))]
    discriminator = [p[1] for n, p in pos.items() if graph.nodes[n].name.startswith(("disc", "image", "real"))]
    assert max(generator) < min(discriminator)
