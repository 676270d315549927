"""Auto-layout of a Graph (no Qt): depth columns, parallel branches in lanes, long chains wrapped into bands.

Every node gets a column (its depth from the inputs) and a lane (a row inside its band). A wire that
skips columns reserves its lane in the columns it passes, so a residual block's identity wire runs
straight while the layers it skips sit in the lane above (a block cut into two bands then steps down
into its Add). A column is as wide as its widest node (the
editor measures them; `node_widths` estimates them from the nodes' text) plus `GAP_X`.

Columns are cut into bands, stacked top to bottom and each read left to right. No band is wider than
`ROW_WIDTH`, what the canvas of a 1280x800 window with the editor's docks open shows at the smallest
legible zoom, so a network too big to show whole is read by scrolling down, never sideways. Cuts go
where few wires cross and not inside a group; a group (a residual block) too wide for one band gets
bands of its own, so its frame holds only its layers. Of the band lengths allowed, the longest wins
unless shorter bands show the whole drawing at a visibly larger zoom while it is still small. Separate networks (a GAN's generator and discriminator)
are laid out one below the other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.graph import Graph, Node
from engine.layers.registry import get_spec
from engine.shapes_format import format_key_params, format_shape
from engine.topology import topology

if TYPE_CHECKING:
    from engine.validate import Validation

GAP_X = 36.0
"""Space between a column's widest node and the next column: room for a wire and its arrow."""
DY = 125.0
"""Default distance between the tops of neighbouring lanes (a node is ~60-90 px tall)."""
BAND_GAP = 0.45
"""Extra space between wrapped bands, as a fraction of `dy`, so the wire to the next band shows."""
VIEW = (666.0, 529.0)
"""The canvas of a 1280x800 window with the editor's docks open, in screen px: the smallest one served."""
LEGIBLE_ZOOM = 0.65
"""The smallest zoom at which a node's text still reads (the editor fits no band below it)."""
MARGIN = 58.0
"""Room the editor leaves beside a fitted layout: its fit margin (40) plus a group frame's side (18)."""
ROW_WIDTH = VIEW[0] / LEGIBLE_ZOOM - 2 * MARGIN
"""The widest band, in scene px: one that shows whole on the smallest canvas at the legible zoom."""
COMFORTABLE_ZOOM = 0.7
"""A layout shown whole at this zoom or more is not cut into shorter bands for a larger one."""
GROUP_PENALTY = 100
"""Added to the cost of a cut inside a group's columns: a residual block reads best on one band."""

NODE_MIN_WIDTH = 170.0
"""The editor's narrowest node; wider ones grow with their text."""
_CHAR_W = {"name": 8.1, "badge": 6.0, "params": 6.2, "shape": 6.65}
"""Average advance of a character in each line of a node (10 pt bold, 8.5 pt, 8.5 pt, 9 pt bold)."""
_WEIGHTED = {"Core", "Convolution", "Recurrent", "Attention", "Embedding", "Normalization"}
"""Categories whose layers usually show a parameter count on their output line."""


def _width(graph: Graph, node: Node, shape_line: str | None) -> float:
    """About how wide the editor draws `node`: its widest line of text plus the node's padding."""
    spec = get_spec(node.type)
    params = format_key_params(node.type, node.params)
    if shape_line is None:  # a typical output line when the shapes are not known
        shape_line = "\u2192 (N, 16, 8, 8)" + ("   1,234 params" if spec.category in _WEIGHTED else "")
    title = len(node.name) * _CHAR_W["name"] + 12
    owner = graph.nodes.get(node.shares) if node.shares else None
    if owner is not None:
        title += len(f"shares {owner.name}") * _CHAR_W["badge"] + 20
    return max(NODE_MIN_WIDTH, title, len(params) * _CHAR_W["params"] + 34 if params else 0.0,
               len(shape_line) * _CHAR_W["shape"] + 34)


def node_widths(graph: Graph, validation: Validation | None = None) -> dict[str, float]:
    """Estimated canvas width of every node (the engine has no fonts); `validation` gives the real
    output shapes and parameter counts that the editor prints on each node."""
    widths = {}
    for nid, node in graph.nodes.items():
        line = None
        if validation is not None:
            arrow = "\u2190" if get_spec(node.type).role == "output" else "\u2192"
            count = validation.param_counts.get(nid, 0)
            line = f"{arrow} {format_shape(validation.shapes.get(nid))}" + (f"   {count:,} params" if count else "")
        widths[nid] = _width(graph, node, line)
    return widths


def _components(graph: Graph) -> list[list[str]]:
    """Weakly connected parts, each in project order, in the order their first node appears."""
    root = {nid: nid for nid in graph.nodes}

    def find(n: str) -> str:
        while root[n] != n:
            root[n] = root[root[n]]
            n = root[n]
        return n
    for e in graph.edges:
        root[find(e.src)] = find(e.dst)
    parts: dict[str, list[str]] = {}
    for nid in graph.nodes:
        parts.setdefault(find(nid), []).append(nid)
    return list(parts.values())


def _columns(graph: Graph) -> dict[str, int]:
    """Longest path from an input; an input sits just before its first consumer; cycles go last."""
    topo = topology(graph)
    order = topo.order + [n for n in graph.nodes if n in topo.cyclic]
    depth: dict[str, int] = {}
    for nid in order:
        preds = [depth[e.src] for e in topo.inputs.get(nid, ()) if e.src in depth]
        depth[nid] = max(preds, default=-1) + 1
    for nid in graph.nodes:
        succ = [depth[e.dst] for e in topo.outputs.get(nid, ()) if depth[e.dst] > depth[nid]]
        if not topo.inputs.get(nid) and succ:
            depth[nid] = min(succ) - 1
    return depth


def _nearest_free(taken: set[int], want: int, up: bool = False) -> int:
    """The free lane closest to `want`, looking below first (above first if `up`)."""
    for step in range(len(taken) + 1):
        for lane in (want - step, want + step) if up else (want + step, want - step):
            if lane not in taken:
                return lane
    return want + len(taken) + 1


def _lanes(graph: Graph, col: dict[str, int]) -> dict[str, int]:
    """A lane per node: the lane of its closest-to-centre predecessor where free (chains stay straight)."""
    preds: dict[str, list[str]] = defaultdict(list)
    for e in graph.edges:
        preds[e.dst].append(e.src)
    lane: dict[str, int] = {}
    taken: dict[int, set[int]] = defaultdict(set)
    passing: dict[int, list[tuple[str, str]]] = defaultdict(list)  # column -> long wires crossing it
    for e in graph.edges:
        for c in range(col[e.src] + 1, col[e.dst]):
            passing[c].append((e.src, e.dst))
    wire_lane: dict[tuple[str, str], int] = {}
    by_col: dict[int, list[str]] = defaultdict(list)
    for nid in graph.nodes:  # project order keeps siblings in the order they were built
        by_col[col[nid]].append(nid)
    for c in sorted(set(by_col) | set(passing)):
        for wire in passing[c]:  # long wires first: a skip connection keeps its straight line
            want = wire_lane.get(wire, lane.get(wire[0], 0))
            wire_lane[wire] = _nearest_free(taken[c], want)
            taken[c].add(wire_lane[wire])
        wires = {wire_lane[w] for w in passing[c]}
        for nid in by_col[c]:
            incoming = [wire_lane.get((p, nid), lane[p]) for p in preds[nid] if p in lane]
            want = min(incoming, key=lambda v: (abs(v), v), default=0)
            # the layers a skip wire passes go above it, so a block cut into two bands reads downwards
            lane[nid] = _nearest_free(taken[c], want, up=want in wires)
            taken[c].add(lane[nid])
    return lane


def _crossings(graph: Graph, col: dict[str, int], last: int) -> list[int]:
    """The cost of wrapping after each column: the wires that cross there, plus a large penalty
    inside a group's columns (a residual block reads best on one band)."""
    count = [0] * (last + 1)
    for e in graph.edges:
        for c in range(min(col[e.src], col[e.dst]), max(col[e.src], col[e.dst])):
            count[c] += 1
    for start, stop in _group_spans(graph, col):
        for c in range(start, stop - 1):
            count[c] += GROUP_PENALTY
    return count


def _group_spans(graph: Graph, col: dict[str, int]) -> list[tuple[int, int]]:
    """The columns (start, stop) each group with members in `col` covers."""
    spans = []
    for group in graph.groups:
        cols = [col[n] for n in group.node_ids if n in col]
        if cols:
            spans.append((min(cols), max(cols) + 1))
    return spans


@dataclass
class _Part:
    """One connected network: its nodes' columns and lanes, the cost of cutting after each column,
    the width of each column and the columns each group covers."""

    col: dict[str, int]
    lane: dict[str, int]
    crossings: list[int]
    widths: list[float]
    groups: list[tuple[int, int]]

    def span(self, start: int, stop: int, gap: float) -> float:
        """Width of a band of columns start..stop-1."""
        return sum(self.widths[start:stop]) + gap * (stop - start - 1)

    def keeps_groups(self, start: int, stop: int) -> bool:
        """Whether a band start..stop-1 holds each group it touches whole, or holds nothing but it."""
        return all(stop <= a or b <= start or (start <= a and b <= stop) or (a <= start and stop <= b)
                   for a, b in self.groups)


def _bands(part: _Part, per_row: int, gap: float, limit: float) -> list[range]:
    """Cut the columns into bands of at most `per_row` columns and `limit` px (a lone column may be
    wider): the cheapest cuts (fewest wires crossed, no group split if avoidable), then the most even."""
    n = len(part.widths)
    best: list[tuple[float, float, int]] = [(0.0, 0.0, 0)] + [(float("inf"), 0.0, 0)] * n
    for stop in range(1, n + 1):
        for start in range(stop - 1, max(-1, stop - per_row - 1), -1):
            width = part.span(start, stop, gap)
            if stop - start > 1 and width > limit:
                break
            if not part.keeps_groups(start, stop):
                continue
            cost = (best[start][0] + (part.crossings[start - 1] if start else 0), best[start][1] + width ** 2)
            if cost < best[stop][:2]:
                best[stop] = (*cost, start)
    bands, stop = [], n
    while stop:
        bands.append(range(best[stop][2], stop))
        stop = best[stop][2]
    return bands[::-1]


def _place(part: _Part, bands: list[range], gap: float, dy: float, top: float
           ) -> tuple[dict[str, tuple[float, float]], float]:
    """Positions of one part's nodes band by band from `top` down; also the y where the next part starts."""
    positions: dict[str, tuple[float, float]] = {}
    for band in bands:
        ids = [n for n in part.col if part.col[n] in band]
        if not ids:
            continue
        low = min(part.lane[n] for n in ids)
        for nid in ids:
            c = part.col[nid]
            positions[nid] = (part.span(band.start, c + 1, gap) - part.widths[c], top + (part.lane[nid] - low) * dy)
        top += (max(part.lane[n] for n in ids) - low + 1 + BAND_GAP) * dy
    return positions, top


def extent(positions: Mapping[str, tuple[float, float]], widths: Mapping[str, float], dy: float = DY
           ) -> tuple[float, float]:
    """Width and height of a layout, counting each node as `widths[node]` wide and one lane (`dy`) tall."""
    if not positions:
        return 0.0, 0.0
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    right = max(p[0] + widths[n] for n, p in positions.items())
    return right - min(xs), max(ys) - min(ys) + dy


def fit_zoom(positions: Mapping[str, tuple[float, float]], widths: Mapping[str, float], dy: float = DY
             ) -> float:
    """The zoom at which the editor shows the whole layout on the canvas of `VIEW`, capped at 100 %."""
    width, height = extent(positions, widths, dy)
    return min(VIEW[0] / (width + 2 * MARGIN), VIEW[1] / (height + 2 * MARGIN), 1.0)


def layered_layout(graph: Graph, *, max_per_row: int = 6, widths: Mapping[str, float] | None = None,
                   dy: float = DY, gap: float = GAP_X, row_width: float = ROW_WIDTH
                   ) -> dict[str, tuple[float, float]]:
    """Top-left position of every node: depth columns, branches in lanes, deep nets wrapped into bands
    no wider than `row_width`. `widths` are the nodes' widths (estimated by `node_widths` if not given)."""
    if not graph.nodes:
        return {}
    widths = widths or node_widths(graph)
    parts = []
    for ids in _components(graph):
        part = Graph(nodes={n: graph.nodes[n] for n in ids},
                     edges=[e for e in graph.edges if e.src in ids or e.dst in ids], groups=graph.groups)
        col = _columns(part)
        column_widths = [0.0] * (max(col.values()) + 1)
        for nid, c in col.items():
            column_widths[c] = max(column_widths[c], widths[nid])
        parts.append(_Part(col, _lanes(part, col), _crossings(part, col, len(column_widths) - 1),
                           column_widths, _group_spans(part, col)))
    options = []
    for per_row in range(max(2, min(max_per_row, max(len(p.widths) for p in parts))), 1, -1):
        positions: dict[str, tuple[float, float]] = {}
        top, split = 0.0, 0
        for part in parts:
            bands = _bands(part, per_row, gap, row_width)
            split += sum(part.crossings[b.stop - 1] >= GROUP_PENALTY for b in bands[:-1])
            placed, top = _place(part, bands, gap, dy, top)
            positions.update(placed)
        options.append((split, fit_zoom(positions, widths, dy), positions))
    fewest = min(split for split, _, _ in options)
    best: tuple[float, dict[str, tuple[float, float]]] = (0.0, {})
    for split, zoom, positions in options:  # longest bands first; no group cut in two if avoidable
        if split == fewest and zoom > best[0] * 1.04 and best[0] < COMFORTABLE_ZOOM:  # shorter bands only
            best = (zoom, positions)  # for a visibly larger zoom, and only while the text is still small
    return best[1]
