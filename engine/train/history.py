"""A run's metrics over time as plots and tables read them (Qt-free, shared by the doctor and the editor):
where a batch lies on the epoch axis, per-epoch series kept aligned, the 'split_metric' keys of a history
(`Trainer.history` records: {"epoch", "train": {...}, "val": {...}}) and the text of one value."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from engine.train.events import BatchEnded, EpochEnded

SPLITS = ("train", "val")
"""The splits a history record holds metrics for."""


def batch_position(event: BatchEnded) -> float:
    """Where a batch lies on an axis in epochs (epoch 1's batches between 0 and 1)."""
    return event.epoch - 1 + event.batch / max(event.batches, 1)


def append_aligned(series: dict[str, list[float]], values: Mapping[str, float], length: int) -> None:
    """Add point number `length` to every named series: a name seen for the first time is padded with NaN
    before it, a series `values` has nothing for gets NaN, so all series stay `length` long."""
    for name, value in values.items():
        series.setdefault(name, [math.nan] * (length - 1)).append(value)
    for points in series.values():
        if len(points) < length:
            points.append(math.nan)


def append_epoch(train: dict[str, list[float]], val: dict[str, list[float]], event: EpochEnded,
                 length: int) -> None:
    """An epoch's train and validation metrics onto their series (`length`: epochs recorded so far)."""
    append_aligned(train, event.train, length)
    append_aligned(val, event.val, length)


def metric_keys(histories: Iterable[list[dict]]) -> list[str]:
    """Every 'split_metric' key ('val_loss', 'train_accuracy', ...) in the histories, sorted."""
    return sorted({f"{split}_{name}" for history in histories for record in history for split in SPLITS
                   for name in record.get(split, {})})


def metric_curve(history: list[dict], key: str) -> tuple[list[int], list[float]]:
    """(epochs, values) of one 'split_metric' key over a history (epochs without it are left out)."""
    split, name = key.split("_", 1)
    points = [(r["epoch"], r.get(split, {}).get(name)) for r in history]
    points = [(e, v) for e, v in points if v is not None]
    return [e for e, _ in points], [v for _, v in points]


def format_value(value: object) -> str:
    """A value as comparison tables show it: 4 significant digits for a float, '–' for none."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
