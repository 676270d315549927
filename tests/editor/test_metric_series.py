"""The doctor's RunRecord (engine) and the live plots' RunSeries (editor) build their series with the same helpers
(engine/train/history.py): the same events give the same series."""

from __future__ import annotations

import math

from editor.training.live_plots import RunSeries
from engine.doctor.record import record_of
from engine.train.events import BatchEnded, EpochEnded


def _epoch(n: int, train: dict, val: dict) -> EpochEnded:
    return EpochEnded(n, 3, train, val, 0.01, 100.0, 0.1, False)


def _same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True))


def test_the_doctor_record_and_the_live_plots_build_the_same_series():
    events = [BatchEnded(1, 1, 2, 1, 2.0, 0.01), BatchEnded(1, 2, 2, 2, 1.5, 0.01),
              _epoch(1, {"loss": 1.6}, {}), _epoch(2, {"loss": 1.2}, {"loss": 1.3, "accuracy": 0.6})]
    record, plots = record_of(events), RunSeries()
    for event in events:
        plots.add(event)
    assert record.batch_x == plots.batch_x == [0.5, 1.0]
    for split in ("train", "val"):
        mine, theirs = getattr(record, split), getattr(plots, split)
        assert mine.keys() == theirs.keys() and all(_same(mine[k], theirs[k]) for k in mine)
    assert _same(record.val["accuracy"], [math.nan, 0.6])
