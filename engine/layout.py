"""Auto-layout of a Graph (no Qt): depth columns, parallel branches in lanes, long chains wrapped into rows.

Every node gets a column (its depth from the inputs) and a lane (a row inside its band). A wire that
skips columns reserves its lane in the columns it passes, so a residual block's identity wire runs
straight while the layers it skips sit in the next lane. A network deeper than `max_per_row` columns
is cut into bands of columns, stacked top to bottom and each read left to right; cuts go where one
wire crosses (a band may run two columns long to reach such a cut rather than split a block). The
number of columns per band is the one that shows the whole drawing in a 16:10 view at the largest
zoom. Separate networks (a GAN's generator and discriminator) are laid out one below the other.
"""

from __future__ import annotations

from collections import defaultdict

from engine.graph import Graph
from engine.topology import topology

DX = 280.0
"""Default distance between the left edges of neighbouring columns (a node is ~170-240 px wide)."""
DY = 125.0
"""Default distance between the tops of neighbouring lanes (a node is ~60-90 px tall)."""
BAND_GAP = 0.45
"""Extra space between wrapped bands, as a fraction of `dy`, so the wire to the next band shows."""
VIEW = (1200.0, 680.0)
"""The canvas a layout should fill: a 16:10 window less its side panels (scene px at 100 % zoom)."""
OVERRUN = 2
GROUP_PENALTY = 100
"""How many columns past `max_per_row` a band may run to end at a single-wire cut."""


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


def _nearest_free(taken: set[int], want: int) -> int:
    for step in range(len(taken) + 1):
        for lane in (want + step, want - step):
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
        for nid in by_col[c]:
            incoming = [wire_lane.get((p, nid), lane[p]) for p in preds[nid] if p in lane]
            want = min(incoming, key=lambda v: (abs(v), v), default=0)
            lane[nid] = _nearest_free(taken[c], want)
            taken[c].add(lane[nid])
    return lane


def _crossings(graph: Graph, col: dict[str, int], last: int) -> list[int]:
    """The cost of wrapping after each column: the wires that cross there, plus a large penalty
    inside a group's columns (a residual block reads best on one row)."""
    count = [0] * (last + 1)
    for e in graph.edges:
        for c in range(min(col[e.src], col[e.dst]), max(col[e.src], col[e.dst])):
            count[c] += 1
    for group in graph.groups:
        cols = [col[n] for n in group.node_ids if n in col]
        for c in range(min(cols, default=0), max(cols, default=0)):
            count[c] += GROUP_PENALTY
    return count


def _bands(crossings: list[int], per_row: int) -> list[range]:
    """Cut columns 0..len-1 into runs of about `per_row`, preferring cuts that one wire crosses."""
    bands, start, total = [], 0, len(crossings)
    while total - start > per_row:
        options = range(start + max(1, (per_row + 1) // 2), start + per_row + 1)
        end = min(options, key=lambda e: (crossings[e - 1], -e))
        longer = range(start + per_row + 1, min(total, start + per_row + OVERRUN + 1))
        if crossings[end - 1] > 1 and longer:
            end = min([end, *longer], key=lambda e: (crossings[e - 1], e))
        bands.append(range(start, end))
        start = end
    bands.append(range(start, total))
    return bands


def _place(col: dict[str, int], lane: dict[str, int], bands: list[range], dx: float, dy: float,
           top: float) -> tuple[dict[str, tuple[float, float]], float]:
    """Positions of one part's nodes band by band from `top` down; also the y where the next part starts."""
    positions: dict[str, tuple[float, float]] = {}
    for band in bands:
        ids = [n for n in col if col[n] in band]
        if not ids:
            continue
        low = min(lane[n] for n in ids)
        for nid in ids:
            positions[nid] = ((col[nid] - band.start) * dx, top + (lane[nid] - low) * dy)
        top += (max(lane[n] for n in ids) - low + 1 + BAND_GAP) * dy
    return positions, top


def extent(positions: dict[str, tuple[float, float]], dx: float = DX, dy: float = DY) -> tuple[float, float]:
    """Width and height of a layout, counting each node as one `dx` by `dy` cell."""
    if not positions:
        return 0.0, 0.0
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    return max(xs) - min(xs) + dx, max(ys) - min(ys) + dy


def _zoom(positions: dict[str, tuple[float, float]], dx: float, dy: float) -> float:
    """The zoom at which the layout just fits `VIEW`, capped at 100 %."""
    width, height = extent(positions, dx, dy)
    return min(VIEW[0] / width, VIEW[1] / height, 1.0)


def layered_layout(graph: Graph, *, max_per_row: int = 6, dx: float = DX, dy: float = DY
                   ) -> dict[str, tuple[float, float]]:
    """Top-left position of every node: depth columns, branches in lanes, deep nets wrapped into rows."""
    if not graph.nodes:
        return {}
    parts = []
    for ids in _components(graph):
        part = Graph(nodes={n: graph.nodes[n] for n in ids},
                     edges=[e for e in graph.edges if e.src in ids or e.dst in ids], groups=graph.groups)
        col = _columns(part)
        parts.append((col, _lanes(part, col), _crossings(part, col, max(col.values()))))
    deepest = max(len(crossings) for _, _, crossings in parts)
    options = []
    for per_row in range(max(1, max_per_row), 2, -1) if deepest > max_per_row else [max_per_row]:
        positions: dict[str, tuple[float, float]] = {}
        top, split = 0.0, 0
        for col, lane, crossings in parts:
            bands = _bands(crossings, per_row)
            split += sum(crossings[b.stop - 1] >= GROUP_PENALTY for b in bands[:-1])
            placed, top = _place(col, lane, bands, dx, dy, top)
            positions.update(placed)
        options.append((split, _zoom(positions, dx, dy), positions))
    fewest = min(split for split, _, _ in options)
    best: tuple[float, dict[str, tuple[float, float]]] = (0.0, {})
    for split, zoom, positions in options:  # widest rows first; no group cut in two if avoidable
        if split == fewest and zoom > best[0] * 1.04:  # shorter rows only for a visibly larger zoom
            best = (zoom, positions)
    return best[1]
