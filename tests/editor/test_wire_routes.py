"""Issue 16 item 10: wires into a later row stay readable. The U-Net's skip wire and its upsampling wire into the
same Concat port run in separate lanes (they were drawn on top of each other), and a shortcut whose way down
is blocked by a layer goes around it instead of cutting across it."""

from __future__ import annotations

from editor.canvas import CanvasController
from engine.graph import Edge
from engine.templates import load_project


def _pipe(ctl: CanvasController, src: str, dst: str):
    return ctl.view.pipe(next(e for e in ctl.graph.edges if (e.src, e.dst) == (src, dst)))


def _points(pipe, count: int = 60) -> list:
    path = pipe.path()
    return [path.pointAtPercent(i / count) for i in range(count + 1)]


def test_unet_skip_and_upsampling_wires_into_one_concat_do_not_overlap(ctl):
    ctl.load_graph(load_project("unet"))
    names = {n.name: n.id for n in ctl.graph.nodes.values()}
    concat = names["skip_concat"]
    into = [e for e in ctl.graph.edges if e.dst == concat]
    assert len(into) == 2
    first, second = (_points(ctl.view.pipe(e), 400) for e in into)
    shared = [p for p in first if any(abs(p.x() - q.x()) + abs(p.y() - q.y()) < 3 for q in second)]
    assert len(shared) < 0.15 * len(first), f"{len(shared)} of {len(first)} points of one wire lie on the other"


def test_a_shortcut_goes_around_a_layer_on_its_way_down(ctl):
    ids = {}
    for key, type_id, pos in (("inp", "Input", (0, 0)), ("src", "Dense", (240, 0)), ("mid", "Dense", (300, 170)),
                              ("dst", "Add", (40, 340)), ("out", "Output", (300, 340))):
        ids[key] = ctl.add_node(type_id, pos=pos)
    ctl.connect(ids["inp"], ids["src"])
    ctl.connect(ids["src"], ids["mid"])
    ctl.connect(ids["src"], ids["dst"])
    ctl.connect(ids["mid"], ids["dst"])
    ctl.connect(ids["dst"], ids["out"])
    assert Edge(ids["src"], "out", ids["dst"], "in") in ctl.graph.edges
    pipe = _pipe(ctl, ids["src"], ids["dst"])
    blocker = ctl.view.node_rect(ids["mid"]).adjusted(4, 4, -4, -4)
    crossing = [p for p in _points(pipe, 200) if blocker.contains(p)]
    assert not crossing, f"the shortcut runs over the layer below its source at {crossing[:3]}"
    assert pipe.label_end is not None, "it is routed around (a wrap wire), not a straight S-curve"
