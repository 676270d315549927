"""Pieces of a Graph as plain JSON (clipboard, duplicates, saved blocks) and pasting them back with new ids."""

from __future__ import annotations

import copy
import re

from engine.errors import GraphError
from engine.graph import Edge, Graph, Group, Node
from engine.layers.registry import get_spec

FORMAT = "deepwire-subgraph"


def extract(graph: Graph, ids: list[str]) -> dict:
    """The nodes `ids`, the wires between them and the groups wholly inside them."""
    keep = [nid for nid in graph.nodes if nid in set(ids)]
    inside = set(keep)
    return {
        "format": FORMAT,
        "nodes": [graph.nodes[nid].to_dict() for nid in keep],
        "edges": [e.to_dict() for e in graph.edges if e.src in inside and e.dst in inside],
        "groups": [g.to_dict() for g in graph.groups if g.node_ids and set(g.node_ids) <= inside],
    }


def bounds(sub: dict) -> tuple[float, float]:
    """Top-left corner of the sub-graph's node positions."""
    xs = [n["pos"][0] for n in sub["nodes"]] or [0.0]
    ys = [n["pos"][1] for n in sub["nodes"]] or [0.0]
    return min(xs), min(ys)


def new_group_id(graph: Graph) -> str:
    taken = [int(m.group(1)) for g in graph.groups if (m := re.fullmatch(r"g(\d+)", g.id))]
    return f"g{max(taken, default=0) + 1}"


def insert(graph: Graph, sub: dict, at: tuple[float, float]) -> list[str]:
    """Add a copy of `sub` with fresh ids and names, its top-left node at `at`; return the new ids."""
    if not isinstance(sub, dict) or sub.get("format") != FORMAT:
        raise GraphError("the clipboard does not hold DeepWire layers")
    x0, y0 = bounds(sub)
    mapping: dict[str, str] = {}
    for raw in sub["nodes"]:
        get_spec(raw["type"])
        name = raw["name"]
        if any(n.name == name for n in graph.nodes.values()):
            name = graph.unique_name(re.sub(r"\d+$", "", name) or raw["type"])
        nid = graph.new_id()
        pos = (at[0] + raw["pos"][0] - x0, at[1] + raw["pos"][1] - y0)
        graph.nodes[nid] = Node(nid, raw["type"], name, copy.deepcopy(raw["params"]), pos)
        mapping[raw["id"]] = nid
    for raw in sub["nodes"]:
        owner = raw.get("shares")
        if owner:
            owner = mapping.get(owner, owner if owner in graph.nodes else None)
            graph.nodes[mapping[raw["id"]]].shares = owner
    for raw in sub["edges"]:
        graph.edges.append(Edge(mapping[raw["src"]], raw["src_port"], mapping[raw["dst"]], raw["dst_port"]))
    for raw in sub.get("groups", []):
        graph.groups.append(Group(new_group_id(graph), raw["name"], [mapping[n] for n in raw["node_ids"]],
                                  bool(raw.get("collapsed", False))))
    graph.touch()
    return list(mapping.values())
