"""Divergence guard: a training loss that grows by orders of magnitude above its first value stops the run
as failed, with the remedy (the NaN guard catches losses that are no longer numbers at all)."""

from __future__ import annotations

import math

from engine.errors import TrainingError
from engine.lazy import LazyModule
from engine.train.callbacks import Callback, Due, EpochSummary
from engine.train.context import TrainContext

torch = LazyModule("torch")

GROWTH = 1e4
"""How many times its first value the loss may grow before the run counts as diverged."""
FLOOR = 1e-3
"""A first loss smaller than this is taken as this (a nearly solved start must not make noise look like divergence)."""
HINT = ("lower the learning rate (try 10 times lower), turn on gradient clipping (training.clip = 'norm'), or "
        "add normalization (BatchNorm/LayerNorm)")


class Diverged(TrainingError):
    """The loss grew far beyond where it started; `summary` and `hint` are the message's two halves."""

    def __init__(self, summary: str) -> None:
        super().__init__(f"{summary}. Hint: {HINT}")
        self.summary, self.hint = summary, HINT


class DivergenceGuard:
    """Fed losses as they come; raises Diverged once one is `growth` times the first."""

    def __init__(self, growth: float = GROWTH) -> None:
        self.growth = growth
        self.first: float | None = None

    def check(self, loss: float | None, where: str) -> None:
        if loss is None or not math.isfinite(loss):
            return
        if self.first is None:
            self.first = loss
            return
        reference = max(abs(self.first), FLOOR)
        if loss > reference * self.growth:
            raise Diverged(f"The training loss diverged at {where}: {loss:.3g}, more than {self.growth:.0e} times "
                           f"its first value {self.first:.3g}")


class DivergenceStop(Callback):
    """Checks the training loss at the rate BatchEnded events read it, and each epoch's mean training loss."""

    def __init__(self) -> None:
        self.guard = DivergenceGuard()

    def on_fit_start(self, ctx: TrainContext) -> None:
        self.guard = DivergenceGuard()  # a resumed run measures growth from where it continues
        self.interval = 1.0 / ctx.config.events.batch_rate_hz

    def on_batch_end(self, ctx: TrainContext, loss: torch.Tensor, now: float) -> Due:
        self.guard.check(loss.detach().item(), f"epoch {ctx.epoch + 1}, batch {ctx.batch_in_epoch}")
        return 0, now + self.interval

    def on_epoch_end(self, ctx: TrainContext, summary: EpochSummary) -> None:
        self.guard.check(summary.train.get("loss"), f"the end of epoch {summary.epoch}")
