"""A project with two heads in the editor: the live plots draw each head's metrics as their own curves from a
real run's events, and the sweep dialog offers every head's metrics as the objective."""

from __future__ import annotations

import math

import pytest

from editor.training.live_plots import LivePlots
from editor.training.workspace import expected_metrics
from engine.runs import create_run, read_json
from engine.train.events import read_events
from engine.train.trainer import Trainer
from tests.engine.test_train_multihead import classifier_with_box_head
from tests.engine.train_helpers import single_thread

HEAD_METRICS = ["digit_loss", "digit_accuracy", "digit_precision", "digit_recall", "digit_f1",
                "box_loss", "box_mae", "box_rmse", "box_r2"]


def _graph():
    graph = classifier_with_box_head(epochs=2)
    graph.data["options"] = {"n_samples": 300}
    graph.training["events"] = {"summaries": False, "batch_rate_hz": 1.0}
    return graph


def test_live_plots_draw_every_heads_metrics_from_a_real_run(qtbot, tmp_path):
    graph = _graph()
    plots = LivePlots()
    qtbot.addWidget(plots)
    plots.show()
    plots.reset({}, expected_metrics(graph))
    assert plots.shown == ["loss", *HEAD_METRICS, "lr", "grads"], "laid out before the run starts"
    run = create_run(graph, tmp_path)
    with single_thread():
        Trainer(graph, run=run, device="cpu").fit()
    plots.add_events(read_events(run.events_path))
    history = read_json(run.path / "metrics.json", {})["history"]
    points = plots.points_per_epoch()
    for name in ("val_digit_accuracy", "val_box_r2", "train_digit_loss", "val_box_mae"):
        assert points[name] == [1, 2], name
    _, drawn = plots.curves["val_digit_accuracy"].getData()
    assert list(drawn) == pytest.approx([h["val"]["digit_accuracy"] for h in history])
    _, drawn = plots.curves["val_box_r2"].getData()
    assert list(drawn) == pytest.approx([h["val"]["box_r2"] for h in history])
    assert all(not math.isnan(v) for v in drawn)
    assert "Digit accuracy" in plots.plots["digit_accuracy"].getPlotItem().titleLabel.text

    replay = LivePlots()  # the run's events shown at once, without a layout made beforehand
    qtbot.addWidget(replay)
    replay.resize(1400, 700)
    replay.show()
    replay.add_events(read_events(run.events_path))

    def rows_equally_tall() -> None:
        heights = [replay.plots[name].height() for name in ("loss", "digit_recall", "box_r2")]  # one per row
        assert min(heights) > 100 and max(heights) - min(heights) <= 4, heights

    qtbot.waitUntil(rows_equally_tall, timeout=10_000)


def test_the_sweep_dialog_offers_each_heads_metrics(window, qtbot):
    window.document.new(_graph())
    dialog = window.sweeps.show_dialog()
    qtbot.waitExposed(dialog)
    try:
        offered = [dialog.metric_box.itemText(i) for i in range(dialog.metric_box.count())]
        assert {"val_digit_accuracy", "val_box_r2", "val_box_mae", "train_digit_f1", "val_loss"} <= set(offered)
        index = offered.index("val_box_mae")
        dialog.metric_box.setCurrentIndex(index)
        dialog.metric_box.activated.emit(index)
        qtbot.waitUntil(lambda: (window.controller.graph.sweep or {}).get("objective", {}).get("metric")
                        == "val_box_mae", timeout=10_000)
        assert dialog.direction.currentText() == "minimize"
    finally:
        dialog.shutdown()
