"""A small summary of the training split as the network sees it, recorded when a run starts.

The doctor's data checks (class imbalance, unnormalised inputs, labels that do not fit the task) read
it from `RunStarted.data["summary"]`, so a run folder's events.jsonl is enough to diagnose it later.
"""

from __future__ import annotations

from engine.data import PreparedData
from engine.lazy import LazyModule

torch = LazyModule("torch")

SAMPLE_ROWS = 4096
"""At most this many training rows are summarised (the first ones; splits are shuffled at load)."""


def data_summary(data: PreparedData) -> dict:
    """{'inputs': [{'mean', 'std', 'min', 'max'} | None per input], 'classes': [count per class] | None,
    'target': {'distinct', 'integer', 'min', 'max'} | None}; {} for streamed data (not in memory)."""
    if data.streaming or not len(data.train):
        return {}
    split = data.split("train")
    inputs = [_input_stats(x[:SAMPLE_ROWS]) for x in split.inputs]
    target = split.target if data.task != "autoencoder" else None
    return {"inputs": inputs, "classes": _class_counts(data, target), "target": _target_stats(data, target)}


def _input_stats(x: torch.Tensor) -> dict | None:
    if not x.is_floating_point() or not x.numel():
        return None
    x = x.double()
    finite = x[torch.isfinite(x)]
    if not finite.numel():
        return None
    return {"mean": float(finite.mean()), "std": float(finite.std(unbiased=False)),
            "min": float(finite.min()), "max": float(finite.max())}


def _class_counts(data: PreparedData, target: torch.Tensor | None) -> list[int] | None:
    """Samples per class of a multiclass (one class per sample) or binary target."""
    if target is None or data.task not in ("multiclass", "binary") or target.dim() > 1 and target.shape[1:].numel() > 1:
        return None
    ids = target.reshape(-1).round().long()
    if len(ids) and ids.min() < 0:
        return None
    size = max(int(data.num_classes or 0), int(ids.max()) + 1 if len(ids) else 0, 2 if data.task == "binary" else 0)
    return torch.bincount(ids, minlength=size).tolist()


def _target_stats(data: PreparedData, target: torch.Tensor | None) -> dict | None:
    """How regression targets look in data units: the number of distinct values, whether all are whole numbers."""
    if target is None or data.task != "regression" or not target.is_floating_point():
        return None
    values = data.denormalize_target(target.double()).reshape(-1)[: SAMPLE_ROWS * 8]
    values = values[torch.isfinite(values)]
    if not values.numel():
        return None
    distinct = torch.unique(values)
    integer = bool(torch.all((values - values.round()).abs() < 1e-4))
    return {"distinct": int(min(len(distinct), 10_000)), "integer": integer,
            "min": float(values.min()), "max": float(values.max())}
