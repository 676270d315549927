"""engine.layout: every template laid out without overlaps, in bands that fit the smallest canvas."""

from __future__ import annotations

import pytest

import engine.layers  # noqa: F401  (registers the layer specs)
from engine.graph import Graph, Group
from engine.layout import (
    DY,
    GAP_X,
    LEGIBLE_ZOOM,
    MARGIN,
    ROW_WIDTH,
    VIEW,
    extent,
    fit_zoom,
    layered_layout,
    node_widths,
)
from engine.templates import list_templates, load_project
from engine.validate import validate


def _chain(n: int) -> Graph:
    g = Graph()
    ids = [g.add_node("Input", params={"kind": "features", "features": 4}).id]
    ids += [g.add_node("ReLU").id for _ in range(n - 2)]
    ids.append(g.add_node("Output", params={"task": "regression"}).id)
    for a, b in zip(ids, ids[1:], strict=False):
        g.connect(a, b)
    return g


def _laid_out(name: str) -> tuple[Graph, dict, dict]:
    graph = load_project(name)
    widths = node_widths(graph, validate(graph))
    return graph, widths, layered_layout(graph, widths=widths)


def _rows(pos: dict) -> dict[float, list[str]]:
    rows: dict[float, list[str]] = {}
    for nid, (_, y) in pos.items():
        rows.setdefault(y, []).append(nid)
    return rows


def test_the_widest_band_shows_whole_on_a_1280x800_canvas_at_the_legible_zoom():
    assert (ROW_WIDTH + 2 * MARGIN) * LEGIBLE_ZOOM == pytest.approx(VIEW[0])
    assert LEGIBLE_ZOOM >= 0.65


@pytest.mark.parametrize("name", list_templates())
def test_template_layout_has_no_overlaps_and_no_band_wider_than_the_smallest_canvas(name):
    graph, widths, pos = _laid_out(name)
    assert set(pos) == set(graph.nodes)
    left = min(x for x, _ in pos.values())
    for row in _rows(pos).values():  # nodes of a row keep at least GAP_X between them
        spans = sorted((pos[n][0], pos[n][0] + widths[n]) for n in row)
        assert all(b[0] - a[1] >= GAP_X - 1e-6 for a, b in zip(spans, spans[1:], strict=False))
        assert spans[-1][1] - left <= ROW_WIDTH
    ys = sorted({y for _, y in pos.values()})
    assert all(b - a >= DY - 1e-6 for a, b in zip(ys, ys[1:], strict=False))  # rows never overlap
    for e in graph.edges:  # wires run right within a row or down to a later row
        (xs, ys_), (xd, yd) = pos[e.src], pos[e.dst]
        assert xd > xs or yd > ys_, (graph.nodes[e.src].name, graph.nodes[e.dst].name)
    assert extent(pos, widths)[0] <= ROW_WIDTH


WIDE_BRANCHING = {"two_stage_detector"}
"""Its proposal branch and its RoI branch sit side by side: whole at 48 % zoom, not yet at the legible 65 %."""


@pytest.mark.parametrize("name", [n for n in list_templates()
                                  if len(load_project(n).nodes) <= 14 and n not in WIDE_BRANCHING])
def test_a_template_of_up_to_14_layers_shows_whole_at_a_legible_zoom_on_the_smallest_canvas(name):
    _, widths, pos = _laid_out(name)
    assert fit_zoom(pos, widths) >= LEGIBLE_ZOOM


def test_columns_are_as_wide_as_their_widest_node_plus_the_gap():
    graph, widths, pos = _laid_out("lenet")
    for row in _rows(pos).values():
        xs = sorted((pos[n][0], widths[n]) for n in row)
        for (x, w), (nx, _) in zip(xs, xs[1:], strict=False):
            assert nx == pytest.approx(x + w + GAP_X)  # a chain: one node per column
    assert len({round(widths[n]) for n in graph.nodes}) > 2  # the nodes really differ in width


def test_node_widths_follow_the_text_the_editor_prints():
    graph = load_project("resnet")
    widths = node_widths(graph, validate(graph))
    by_name = {graph.nodes[n].name: w for n, w in widths.items()}
    assert by_name["stem_relu"] == 170.0  # short text: the editor's narrowest node
    assert by_name["block2_conv2"] > by_name["block2_bn2"] > by_name["stem_relu"]  # "9,216 params" is longer
    guessed = node_widths(graph)  # without shapes, a typical output line
    assert abs(guessed[next(n for n in graph.nodes if graph.nodes[n].name == "block1_conv1")] - by_name["block1_conv1"]) < 20


def test_a_long_chain_wraps_into_bands_and_a_short_one_does_not():
    assert len(_rows(layered_layout(_chain(3)))) == 1
    graph = _chain(30)
    widths = node_widths(graph)
    pos = layered_layout(graph)
    assert 5 <= len(_rows(pos)) <= 12
    assert extent(pos, widths)[0] <= ROW_WIDTH
    wide = layered_layout(graph, row_width=10_000.0, max_per_row=40)
    assert len(_rows(wide)) < len(_rows(pos))  # the limit, not the chain, made the bands


def test_a_residual_skip_runs_straight_past_the_layer_it_skips_when_the_block_fits_a_band():
    g = Graph()
    x = g.add_node("Input", params={"kind": "features", "features": 4}).id
    relu, add = g.add_node("ReLU").id, g.add_node("Add").id
    out = g.add_node("Output", params={"task": "regression"}).id
    for a, b in ((x, relu), (relu, add), (x, add), (add, out)):
        g.connect(a, b)
    pos = layered_layout(g)
    assert pos[x][1] == pos[add][1] == pos[out][1]  # the identity wire is a straight line...
    assert pos[relu][1] == pos[x][1] - DY  # ...with the layer it skips one lane above it
    assert pos[x][0] < pos[relu][0] < pos[add][0]


def test_a_residual_block_too_wide_for_a_band_gets_bands_of_its_own_read_downwards():
    graph, widths, pos = _laid_out("resnet")
    by_name = {graph.nodes[n].name: n for n in graph.nodes}
    for group in graph.groups:
        members = set(group.node_ids)
        left = min(pos[n][0] for n in members)
        right = max(pos[n][0] + widths[n] for n in members)
        top, bottom = min(pos[n][1] for n in members), max(pos[n][1] for n in members)
        assert len({pos[n][1] for n in members}) >= 3  # cut: it is wider than one band
        for nid in set(pos) - members:  # its frame holds none but its own layers
            x, y = pos[nid]
            assert not (top <= y <= bottom and x < right and x + widths[nid] > left), graph.nodes[nid].name
    add, source = pos[by_name["block1_add"]], pos[by_name["stem_relu"]]
    assert add[0] + 2 * 22 < source[0] + widths[by_name["stem_relu"]]  # the skip wraps back, as a wire to a later band
    conv2, bn2 = pos[by_name["block1_conv2"]], pos[by_name["block1_bn2"]]
    assert conv2[1] == bn2[1] < add[1]  # the second half of the block steps down into the Add


def test_a_group_that_fits_a_band_is_not_cut():
    graph = _chain(14)
    ids = list(graph.nodes)
    for start in range(1, 11):
        graph.groups = [Group("g1", "block", ids[start:start + 3])]
        pos = layered_layout(graph)
        assert len({pos[n][1] for n in ids[start:start + 3]}) == 1, start


def test_separate_networks_are_stacked_not_interleaved():
    graph = load_project("gan")
    pos = layered_layout(graph)
    generator = [p[1] for n, p in pos.items() if graph.nodes[n].name.startswith(("gen", "noise", "fake"))]
    discriminator = [p[1] for n, p in pos.items() if graph.nodes[n].name.startswith(("disc", "image", "real"))]
    assert max(generator) < min(discriminator)
