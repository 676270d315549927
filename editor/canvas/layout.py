"""Auto-layout: columns left to right by topological depth, each column centred vertically."""

from __future__ import annotations

from engine.graph import Graph
from engine.topology import topology

COLUMN_GAP = 120.0
ROW_GAP = 40.0


def layered_positions(graph: Graph, sizes: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Top-left positions for every node: depth = longest path from a source (nodes on cycles stay in column 0)."""
    topo = topology(graph)
    depth = {nid: 0 for nid in graph.nodes}
    for nid in topo.order:
        depth[nid] = max((depth[e.src] + 1 for e in topo.inputs.get(nid, ())), default=0)
    columns: dict[int, list[str]] = {}
    for nid in graph.nodes:  # project order keeps siblings in a stable order
        columns.setdefault(depth[nid], []).append(nid)
    positions: dict[str, tuple[float, float]] = {}
    x = 0.0
    for d in sorted(columns):
        ids = columns[d]
        width = max(sizes[n][0] for n in ids)
        height = sum(sizes[n][1] for n in ids) + ROW_GAP * (len(ids) - 1)
        y = -height / 2
        for nid in ids:
            positions[nid] = (x, y)
            y += sizes[nid][1] + ROW_GAP
        x += width + COLUMN_GAP
    return positions
