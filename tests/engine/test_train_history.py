"""The metric-series helpers the doctor's RunRecord and the editor's live plots, run history and compare view
share: series stay aligned, batches sit inside their epoch, keys and curves of histories, value text."""

from __future__ import annotations

import math

from engine.train.events import BatchEnded, EpochEnded
from engine.train.history import append_aligned, batch_position, format_value, metric_curve, metric_keys


def _epoch(n: int, train: dict, val: dict) -> EpochEnded:
    return EpochEnded(n, 3, train, val, 0.01, 100.0, 0.1, False)


def _same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True))


def test_series_stay_aligned_when_metrics_come_and_go():
    series: dict[str, list[float]] = {}
    append_aligned(series, {"loss": 1.0}, 1)
    append_aligned(series, {"loss": 0.5, "accuracy": 0.7}, 2)  # a metric that first shows up in epoch 2
    append_aligned(series, {"accuracy": 0.9}, 3)  # and one that is missing in epoch 3
    assert _same(series["loss"], [1.0, 0.5, math.nan]) and _same(series["accuracy"], [math.nan, 0.7, 0.9])


def test_batches_lie_inside_their_epoch():
    event = BatchEnded(epoch=2, batch=5, batches=10, step=15, loss=0.3, lr=0.01)
    assert batch_position(event) == 1.5
    assert batch_position(BatchEnded(epoch=1, batch=3, batches=0, step=3, loss=0.3, lr=0.01)) == 3.0


def test_metric_keys_and_curves_of_histories():
    a = [{"epoch": 1, "train": {"loss": 1.0}, "val": {}}, {"epoch": 2, "train": {"loss": 0.8}, "val": {"loss": 0.9}}]
    b = [{"epoch": 1, "train": {"loss": 1.1, "accuracy": 0.5}}]  # no val split at all
    assert metric_keys([a, b]) == ["train_accuracy", "train_loss", "val_loss"]
    assert metric_curve(a, "val_loss") == ([2], [0.9])
    assert metric_curve(b, "val_loss") == ([], [])
    assert metric_curve(a, "train_loss") == ([1, 2], [1.0, 0.8])


def test_value_text():
    assert [format_value(v) for v in (None, 0.123456, 3, "adam")] == ["–", "0.1235", "3", "adam"]
