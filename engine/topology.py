"""Adjacency, topological order and cycles of a Graph, computed once per validation pass."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from engine.graph import Edge, Graph
from engine.layers.registry import get_spec


@dataclass
class Topology:
    """Wires grouped per node and a topological order; `cyclic` holds nodes on or behind a cycle."""

    inputs: dict[str, list[Edge]]
    outputs: dict[str, list[Edge]]
    order: list[str]
    cyclic: set[str]

    def ordered_inputs(self, graph: Graph, node_id: str) -> list[Edge]:
        """Incoming wires in argument order: by the spec's port order, then wire order within a port."""
        ports = [p.name for p in get_spec(graph.nodes[node_id].type).inputs]
        edges = self.inputs.get(node_id, [])
        return [e for port in ports for e in edges if e.dst_port == port]


def topology(graph: Graph) -> Topology:
    """Kahn's algorithm over the graph's wires; nodes never freed sit on (or after) a cycle.

    A layer that shares another's weights also waits for that owner, so the owner is built first.
    """
    inputs: dict[str, list[Edge]] = defaultdict(list)
    outputs: dict[str, list[Edge]] = defaultdict(list)
    for e in graph.edges:
        inputs[e.dst].append(e)
        outputs[e.src].append(e)
    sharers: dict[str, list[str]] = defaultdict(list)
    for n in graph.nodes.values():
        if n.shares in graph.nodes and n.shares != n.id and get_spec(n.type).has_weights:
            sharers[n.shares].append(n.id)
    indegree = {nid: len(inputs.get(nid, ())) for nid in graph.nodes}
    for owned in sharers.values():
        for nid in owned:
            indegree[nid] += 1
    ready = deque(nid for nid, d in indegree.items() if d == 0)
    order: list[str] = []
    while ready:
        nid = ready.popleft()
        order.append(nid)
        for dst in [e.dst for e in outputs.get(nid, ())] + sharers.get(nid, []):
            indegree[dst] -= 1
            if indegree[dst] == 0:
                ready.append(dst)
    cyclic = set(graph.nodes) - set(order)
    return Topology(dict(inputs), dict(outputs), order, cyclic)
