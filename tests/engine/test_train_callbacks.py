"""The trainer's callback protocol: hook order, stopping from a hook, batch hooks called only when due."""

from __future__ import annotations

import threading

import pytest
from train_helpers import iris_mlp, single_thread

from engine.runs import create_run
from engine.train.callbacks import BatchHooks, Callback, bind_hooks
from engine.train.events import EpochEnded, RunFinished
from engine.train.trainer import ControlToken, Trainer


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


class Recorder(Callback):
    """Writes down every hook call (the batch hook asks to run every 4th step)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_fit_start(self, ctx):
        self.calls.append(("fit_start", ctx.epoch))

    def on_epoch_start(self, ctx):
        self.calls.append(("epoch_start", ctx.epoch + 1))

    def on_batch_end(self, ctx, loss, now):
        self.calls.append(("batch", ctx.step))
        return ctx.step + 4, 0.0

    def on_epoch_end(self, ctx, summary):
        self.calls.append(("epoch_end", summary.epoch, len(ctx.history), summary.best))

    def on_train_end(self, ctx, reason):
        self.calls.append(("train_end", reason))

    def on_fit_end(self, ctx, result):
        self.calls.append(("fit_end", result.reason, result.epochs_done))

    def on_close(self, ctx):
        self.calls.append(("close",))


def test_hooks_run_in_order_and_batch_hooks_only_when_due():
    recorder = Recorder()
    trainer = Trainer(iris_mlp({"epochs": 2, "batch_size": 16}), callbacks=[recorder])
    trainer.fit()
    names = [c[0] for c in recorder.calls]
    assert names[0] == "fit_start" and names[-3:] == ["train_end", "fit_end", "close"]
    assert [c[:3] for c in recorder.calls if c[0] == "epoch_end"] == [("epoch_end", 1, 1), ("epoch_end", 2, 2)]
    assert recorder.calls[names.index("epoch_end")][3] is True  # the first epoch is always the best so far
    steps = [c[1] for c in recorder.calls if c[0] == "batch"]
    per_epoch = trainer.steps_per_epoch
    # the first batch of each epoch, then every 4th step after it
    first = [1, *range(5, per_epoch + 1, 4)]
    expected = first + [per_epoch + 1, *range(per_epoch + 5, 2 * per_epoch + 1, 4)]
    assert steps == expected
    assert recorder.calls[-2] == ("fit_end", "completed", 2)


def test_hooks_a_callback_does_not_override_are_not_bound():
    hooks = bind_hooks([Callback(), Recorder()])
    assert len(hooks["on_batch_end"]) == 1 and hooks["on_interrupt"] == []
    assert BatchHooks([]).next_time == float("inf")


class StopAfter(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, ctx, summary):
        if summary.epoch == self.epoch:
            ctx.request_stop("enough")


def test_a_callback_ends_the_run_after_the_epoch_with_its_reason(tmp_path):
    graph = iris_mlp({"epochs": 5})
    trainer = Trainer(graph, run=create_run(graph, tmp_path), callbacks=[StopAfter(2)])
    seen = []
    trainer.bus.subscribe(seen.append)
    result = trainer.fit()
    assert (result.reason, result.epochs_done) == ("enough", 2)
    assert [e.epoch for e in seen if isinstance(e, EpochEnded)] == [1, 2]
    assert isinstance(seen[-1], RunFinished) and seen[-1].reason == "enough"
    assert (result.run.checkpoint_dir / "last.safetensors").exists()


def test_control_token_also_stops_when_another_token_is_set():
    outer = threading.Event()
    token = ControlToken(also_stop_when=outer)
    assert not token.stopped
    outer.set()
    assert token.stopped
    trainer = Trainer(iris_mlp({"epochs": 3}), control=token)
    assert trainer.fit().reason == "stopped"
