"""Weights two different layer types may share (tie): a decoder Dense reusing an Embedding's table.

The word language model of pytorch/examples ties its output layer to its input embedding
(`decoder.weight = encoder.weight`); a node that `shares` a node of another type holds its own module
but takes the listed parameters from the owner.
"""

from __future__ import annotations

TIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("Dense", "Embedding"): ("weight",),
}
"""(node type, owner type) -> the parameters the node takes from its owner."""


def tied_params(node_type: str, owner_type: str) -> tuple[str, ...]:
    """The parameters a `node_type` node takes from an `owner_type` node it shares with; () if none."""
    return TIES.get((node_type, owner_type), ())


def tied_count(spec, params, in_shapes, owner_type: str) -> int:
    """How many of a node's weights come from the owner it is tied to (not its own to count)."""
    import torch

    names = tied_params(spec.type_id, owner_type)
    if not names:
        return 0
    with torch.device("meta"):
        module = spec.build(params, list(in_shapes))
    return sum(getattr(module, n).numel() for n in names if getattr(module, n, None) is not None)


def tie_modules(graph, root, targets: dict[str, str]) -> None:
    """Point each tied node's listed parameters at its owner's (compile_graph calls this once all are built)."""
    from engine.errors import GraphError

    for nid, target in targets.items():
        node = graph.nodes[nid]
        owner = graph.nodes.get(node.shares) if node.shares else None
        if owner is None or owner.type == node.type:
            continue
        mine, theirs = root.get_submodule(target), root.get_submodule(targets[owner.id])
        for name in tied_params(node.type, owner.type):
            param = getattr(theirs, name)
            if getattr(mine, name).shape != param.shape:
                raise GraphError(f"'{node.name}' cannot take the {name} of '{owner.name}': shapes "
                                 f"{tuple(getattr(mine, name).shape)} and {tuple(param.shape)} differ")
            setattr(mine, name, param)
