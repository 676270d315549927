"""Looking inside a compiled model: per-node activation summaries, gradient norms, the first non-finite node.

Forward hooks go on the submodules of `gm.deepwire_targets` only for the one forward pass that needs
them; a shared submodule runs once per node that uses it, and its k-th call belongs to its k-th node
in topological order. Everything is computed on the device and read back in one transfer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from engine.graph import Graph
from engine.lazy import LazyModule
from engine.topology import topology

torch = LazyModule("torch")
fx = LazyModule("torch.fx")
nn = LazyModule("torch.nn")
F = LazyModule("torch.nn.functional")

THUMB_SIZE = 32


class NodeMap:
    """Which node ids each submodule serves, in execution order, and each node's parameters."""

    def __init__(self, gm: fx.GraphModule, graph: Graph) -> None:
        targets: dict[str, str] = gm.deepwire_targets
        self.targets = targets
        self.order = [nid for nid in topology(graph).order if nid in targets]
        self.calls: dict[str, list[str]] = {}
        for nid in self.order:
            self.calls.setdefault(targets[nid], []).append(nid)
        self.modules: dict[str, nn.Module] = {t: gm.get_submodule(t) for t in self.calls}
        self.params: dict[str, list[nn.Parameter]] = {t: list(m.parameters()) for t, m in self.modules.items()}

    def node_ids(self, target: str) -> list[str]:
        return self.calls[target]


@contextmanager
def node_outputs(node_map: NodeMap, record: Callable[[str, torch.Tensor], None]) -> Iterator[None]:
    """Call `record(node_id, output)` for every node output of forward passes inside the block."""
    handles = []
    for target, module in node_map.modules.items():
        ids, calls = node_map.calls[target], [0]

        def hook(_mod: nn.Module, _args: tuple, out: object, ids: list[str] = ids, calls: list[int] = calls) -> None:
            i = calls[0] % len(ids)
            calls[0] += 1
            tensor = out[0] if isinstance(out, tuple | list) else out
            if isinstance(tensor, torch.Tensor):
                record(ids[i], tensor.detach())

        handles.append(module.register_forward_hook(hook))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _dead_units(x: torch.Tensor) -> torch.Tensor:
    """Fraction of units that output zero for every sample (and every position): features of (N, F), channels
    of (N, C, ...); for (N, A, B) a unit must be dead read either way (channels first or features last)."""
    active = x != 0
    channels = active.transpose(0, 1).reshape(x.shape[1], -1).any(1)
    dead = 1 - channels.float().mean()
    if x.dim() == 3:
        dead = torch.minimum(dead, 1 - active.reshape(-1, x.shape[-1]).any(0).float().mean())
    return dead


def _stats(x: torch.Tensor, bins: int) -> torch.Tensor:
    """[sum, sum of squares, non-zeros, min, max, dead, hist...] of one output, on its device, in a few ops.

    `dead` is the fraction of units (features or channels) that are zero for every sample (`_dead_units`).

    A non-finite value makes the sum non-finite; `_finish_row` then recomputes that row on cleaned values.
    """
    flat = x.reshape(-1) if x.is_floating_point() else x.reshape(-1).float()
    wide = flat.double() if flat.device.type != "mps" else flat.float()
    lo, hi = torch.aminmax(flat)
    clean = torch.nan_to_num(flat.float(), nan=0.0, posinf=0.0, neginf=0.0)  # histc refuses a non-finite range
    hist = torch.histc(clean.cpu() if clean.device.type == "mps" else clean, bins=bins, min=0, max=0)
    dead = _dead_units(x) if x.dim() > 1 and len(x) else flat.new_zeros(())
    head = torch.stack([wide.sum(), torch.dot(wide, wide), torch.count_nonzero(flat).to(wide.dtype),
                        lo.to(wide.dtype), hi.to(wide.dtype), dead.to(wide.dtype)])
    return torch.cat([head, hist.to(head.device, head.dtype)])


def _finish_row(row: list[float], x: torch.Tensor, bins: int) -> dict:
    """The summary of one output from its `_stats` row (recomputed on cleaned values when it is not finite)."""
    nonfinite = 0
    if not math.isfinite(row[0]):
        finite = torch.isfinite(x)
        nonfinite = int(x.numel() - finite.sum())
        row = _stats(torch.where(finite, x.float(), 0.0), bins).cpu().tolist()
    n = max(x.numel(), 1)
    total, squares, nonzero, lo, hi, dead = row[:6]
    mean = total / n
    return {"mean": mean, "std": max(squares / n - mean * mean, 0.0) ** 0.5, "zeros": 1.0 - nonzero / n,
            "dead": dead, "nonfinite": nonfinite, "min": lo, "max": hi, "hist": [int(v) for v in row[6:]]}


def _thumbs(x: torch.Tensor, count: int) -> torch.Tensor:
    """The first `count` channels of the first sample, at most 32x32, scaled per channel to 0..255."""
    maps = x[0, :count].float()
    if maps.shape[-1] > THUMB_SIZE or maps.shape[-2] > THUMB_SIZE:
        maps = F.adaptive_avg_pool2d(maps[None], (min(THUMB_SIZE, maps.shape[-2]), min(THUMB_SIZE, maps.shape[-1])))[0]
    maps = torch.nan_to_num(maps, nan=0.0, posinf=0.0, neginf=0.0)
    lo = maps.amin(dim=(-2, -1), keepdim=True)
    span = (maps.amax(dim=(-2, -1), keepdim=True) - lo).clamp(min=1e-12)
    return ((maps - lo) / span * 255).round().to(torch.uint8)


def activation_summaries(model: nn.Module, node_map: NodeMap, inputs: tuple[torch.Tensor, ...],
                         bins: int = 30, thumbnails: int = 4) -> dict[str, dict]:
    """Per-node output summaries of one forward pass in eval mode (the model's mode is restored)."""
    outputs: dict[str, torch.Tensor] = {}
    stats: dict[str, torch.Tensor] = {}
    thumbs: dict[str, torch.Tensor] = {}

    def record(nid: str, out: torch.Tensor) -> None:
        outputs[nid] = out
        stats[nid] = _stats(out, bins)
        if thumbnails and out.dim() == 4 and out.is_floating_point():
            thumbs[nid] = _thumbs(out, thumbnails)

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), node_outputs(node_map, record):
            model(*inputs)
    finally:
        model.train(was_training)
    if not stats:
        return {}
    table = torch.stack(list(stats.values())).cpu().tolist()
    thumb_values = {nid: t.cpu().tolist() for nid, t in thumbs.items()}
    out = {}
    for nid, row in zip(stats, table, strict=True):
        out[nid] = {**_finish_row(row, outputs[nid], bins), "shape": [None, *outputs[nid].shape[1:]]}
        if nid in thumb_values:
            out[nid]["thumbs"] = thumb_values[nid]
    return out


def gradient_norms(node_map: NodeMap) -> tuple[dict[str, float], float]:
    """L2 norm of each node's parameter gradients (shared nodes report their shared module's) and in total."""
    targets = [t for t, ps in node_map.params.items() if any(p.grad is not None for p in ps)]
    if not targets:
        return {}, 0.0
    per_target = []
    for t in targets:
        grads = [p.grad for p in node_map.params[t] if p.grad is not None]
        per_target.append(torch.stack([g.detach().float().norm() for g in grads]).square().sum())
    norms = torch.stack(per_target).sqrt()
    values = torch.cat([norms, norms.square().sum().sqrt()[None]]).cpu().tolist()
    out = {nid: values[i] for i, t in enumerate(targets) for nid in node_map.node_ids(t)}
    return out, values[-1]


def first_nonfinite(model: nn.Module, node_map: NodeMap, inputs: tuple[torch.Tensor, ...]) -> tuple[str | None, str]:
    """(node id, 'weights' | 'output') of the first node, in topological order, that is not finite."""
    for nid in node_map.order:
        if any(not torch.isfinite(p).all() for p in node_map.params[node_map.targets[nid]]):
            return nid, "weights"
    flags: dict[str, torch.Tensor] = {}
    with torch.no_grad(), node_outputs(node_map, lambda nid, out: flags.setdefault(nid, torch.isfinite(out).all())):
        model(*inputs)
    for nid in node_map.order:
        if nid in flags and not bool(flags[nid]):
            return nid, "output"
    return None, "loss"
