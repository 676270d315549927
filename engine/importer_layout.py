"""An imported project laid out on import, its module hierarchy (layer1.0, features.3) as collapsible groups."""

from __future__ import annotations

from collections import Counter

from engine.graph import Graph, Group
from engine.layout import layered_layout

GROUP_MIN, GROUP_MAX = 3, 16
"""The fewest and most nodes a group holds: the outermost module with at most GROUP_MAX nodes is the group
(a ResNet block, not a whole stage)."""


def module_groups(graph: Graph, paths: dict[str, str], classes: dict[str, str] | None = None) -> list[Group]:
    """A group per module of GROUP_MIN..GROUP_MAX nodes that is not inside a small-enough parent module,
    named by its path and class, e.g. 'layer1.0 (Bottleneck)'."""
    counts: Counter[str] = Counter()
    for path in paths.values():
        for prefix in _prefixes(path):
            counts[prefix] += 1
    members: dict[str, list[str]] = {}
    for nid in graph.nodes:
        path = paths.get(nid, "")
        chosen = next((p for p in _prefixes(path) if counts[p] <= GROUP_MAX), None)
        if chosen is not None and counts[chosen] >= GROUP_MIN:
            members.setdefault(chosen, []).append(nid)
    classes = classes or {}
    return [Group(f"g{i + 1}", f"{path} ({classes[path]})" if path in classes else path, ids)
            for i, (path, ids) in enumerate(members.items())]


def _prefixes(path: str) -> list[str]:
    """'layer1.0.downsample' -> ['layer1', 'layer1.0', 'layer1.0.downsample'] (outermost first)."""
    parts = path.split(".") if path else []
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def arrange(graph: Graph) -> None:
    """Place every node with the editor's auto-layout (groups kept on one band where they fit)."""
    for nid, pos in layered_layout(graph).items():
        graph.nodes[nid].pos = (float(pos[0]), float(pos[1]))
