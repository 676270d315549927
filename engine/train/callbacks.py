"""The trainer's callback protocol and the callbacks every run has (events, early stopping, checkpoints, probes).

A callback overrides some of `Callback`'s hooks; the trainer calls them synchronously on the training
thread, in list order (`on_fit_failed` and `on_close` in reverse, so cleanup mirrors set-up). Hooks a
callback does not override are never called, so they cost nothing. `on_batch_end` returns when it
next wants to run (a step and a monotonic time); `BatchHooks` skips it until both are reached, so a
batch with nothing due costs two comparisons.
"""

from __future__ import annotations

import contextlib
import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from engine.lazy import LazyModule
from engine.runs import BEST
from engine.train import checkpoint
from engine.train.context import TrainContext
from engine.train.events import (
    Activations,
    BatchEnded,
    CheckpointSaved,
    EpochEnded,
    EpochStarted,
    Event,
    Gradients,
    RunFailed,
    RunFinished,
)
from engine.train.probes import activation_summaries, gradient_norms

torch = LazyModule("torch")

Due = tuple[int, float]
"""(step, monotonic time): an `on_batch_end` hook need not run again before both are reached."""

NOT_AGAIN: Due = (0, math.inf)


@dataclass(frozen=True)
class EpochSummary:
    """What `on_epoch_end` hooks get: the epoch just finished (1-based) and its record."""

    epoch: int
    train: dict[str, float]
    val: dict[str, float]
    lr: float
    samples_per_s: float
    epoch_time: float
    monitored: float
    """The value of `training.monitor` this epoch (NaN when missing)."""
    best: bool
    """True when `monitored` is the best so far (the best weights were just kept)."""


class Callback:
    """Base of trainer callbacks: every hook does nothing; override the ones you need."""

    def on_fit_start(self, ctx: TrainContext) -> None:
        """Before the first epoch (after a resume, before the first remaining one)."""

    def on_epoch_start(self, ctx: TrainContext) -> None:
        """Before an epoch's first batch; `ctx.epoch + 1` is the epoch starting."""

    def on_batch_end(self, ctx: TrainContext, loss: torch.Tensor, now: float) -> Due:
        """After a training step (`loss` still on the device); return when to be called next."""
        return NOT_AGAIN

    def on_train_batches_end(self, ctx: TrainContext) -> None:
        """After an epoch's last training batch, before its validation pass."""

    def on_interrupt(self, ctx: TrainContext) -> None:
        """The control token stopped the run in the middle of an epoch."""

    def on_epoch_end(self, ctx: TrainContext, summary: EpochSummary) -> None:
        """After an epoch's validation, once it is in `ctx.history`; `ctx.request_stop` ends the run here."""

    def on_train_end(self, ctx: TrainContext, reason: str) -> None:
        """Training is over (`reason`: completed, stopped, early_stopping, ...), before the test pass."""

    def on_fit_end(self, ctx: TrainContext, result) -> None:
        """The run succeeded; `result` is the TrainResult `fit()` returns."""

    def on_fit_failed(self, ctx: TrainContext, failure: RunFailed) -> None:
        """The run failed with `failure` (called in reverse order; errors raised here are ignored)."""

    def on_close(self, ctx: TrainContext) -> None:
        """Always last, success or not (reverse order): release threads and files."""

    def state_dict(self) -> dict | None:
        """What to keep in a checkpoint to resume this callback (None: nothing)."""
        return None

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned."""


HOOKS = ("on_fit_start", "on_epoch_start", "on_batch_end", "on_train_batches_end", "on_interrupt", "on_epoch_end",
         "on_train_end", "on_fit_end", "on_fit_failed", "on_close")
_REVERSED = {"on_fit_failed", "on_close"}


def bind_hooks(callbacks: list[Callback]) -> dict[str, list]:
    """Each hook name to the bound methods of the callbacks that override it, in call order."""
    hooks = {}
    for name in HOOKS:
        base = getattr(Callback, name)
        bound = [getattr(cb, name) for cb in callbacks if getattr(type(cb), name) is not base]
        hooks[name] = bound[::-1] if name in _REVERSED else bound
    return hooks


class BatchHooks:
    """The `on_batch_end` hooks of a run, each called only once its own (step, time) is reached.

    The trainer checks `now >= next_time or step >= next_step` after every batch and calls `run` only then:
    `next_time` is the earliest time among hooks whose step has come, `next_step` the earliest step still ahead.
    """

    def __init__(self, hooks: list) -> None:
        self.hooks = hooks
        self.start_epoch()

    def start_epoch(self) -> None:
        """Every hook runs after an epoch's first batch."""
        self.dues: list[Due] = [(0, 0.0)] * len(self.hooks)
        self.next_step, self.next_time = (0, 0.0) if self.hooks else (math.inf, math.inf)

    def run(self, ctx: TrainContext, loss: torch.Tensor, step: int, now: float) -> None:
        dues = self.dues
        for i, hook in enumerate(self.hooks):
            due_step, due_time = dues[i]
            if step >= due_step and now >= due_time:
                dues[i] = hook(ctx, loss, now)
        self.next_time = min((t for s, t in dues if s <= step + 1), default=math.inf)
        self.next_step = min((s for s, _ in dues if s > step + 1), default=math.inf)


class EventEmitter(Callback):
    """Turns the run's progress into events: EpochStarted, BatchEnded (rate-limited), EpochEnded, RunFinished, RunFailed.

    RunStarted is the trainer's own (it describes the whole set-up); CheckpointSaved comes from `Checkpointer`.
    """

    def on_fit_start(self, ctx: TrainContext) -> None:
        self.interval = 1.0 / ctx.config.events.batch_rate_hz
        self.started = time.time()

    def on_epoch_start(self, ctx: TrainContext) -> None:
        ctx.emit(EpochStarted(ctx.epoch + 1, ctx.config.epochs, ctx.lr))

    def on_batch_end(self, ctx: TrainContext, loss: torch.Tensor, now: float) -> Due:
        ctx.emit(BatchEnded(ctx.epoch + 1, ctx.batch_in_epoch, ctx.steps_per_epoch, ctx.step, loss.detach().item(),
                            ctx.lr))
        return 0, now + self.interval

    def on_epoch_end(self, ctx: TrainContext, summary: EpochSummary) -> None:
        ctx.emit(EpochEnded(summary.epoch, ctx.config.epochs, summary.train, summary.val, summary.lr,
                            summary.samples_per_s, summary.epoch_time, summary.best))

    def on_fit_end(self, ctx: TrainContext, result) -> None:
        ctx.emit(RunFinished(result.epochs_done, result.final, result.best, result.best_epoch, result.reason,
                             time.time() - self.started))

    def on_fit_failed(self, ctx: TrainContext, failure: RunFailed) -> None:
        ctx.emit(failure)


class EarlyStopping(Callback):
    """Stops the run when the monitored metric has not improved for `patience` epochs; restores the best weights."""

    def __init__(self) -> None:
        self.wait = 0

    def on_epoch_end(self, ctx: TrainContext, summary: EpochSummary) -> None:
        self.wait = 0 if summary.best else self.wait + 1
        settings = ctx.config.early_stopping
        if settings.enabled and self.wait >= settings.patience:
            ctx.request_stop("early_stopping")

    def on_train_end(self, ctx: TrainContext, reason: str) -> None:
        if reason == "early_stopping" and ctx.config.early_stopping.restore_best and ctx.best_state is not None:
            ctx.model.load_state_dict(ctx.best_state)

    def state_dict(self) -> dict:
        return {"wait": self.wait}

    def load_state_dict(self, state: dict) -> None:
        self.wait = int(state.get("wait", 0))


class Probes(Callback):
    """Gradient norms and activation summaries every `events.summaries_every` steps (or once per epoch)."""

    def __init__(self) -> None:
        self.next_time = 0.0

    def on_fit_start(self, ctx: TrainContext) -> None:
        ev = ctx.config.events
        self.enabled = ev.summaries and ctx.main
        self.every = ev.summaries_every if self.enabled else 0
        self.gap = 1.0 / ev.summaries_max_hz if ev.summaries_max_hz else 0.0
        self.probe = self._probe_batch(ctx) if self.enabled else None

    @staticmethod
    def _probe_batch(ctx: TrainContext) -> tuple[torch.Tensor, ...]:
        ev, data = ctx.config.events, ctx.data
        split = "val" if len(data.val) else "train"
        if data.streaming:
            inputs, _ = next(iter(data.batches(split, ev.probe_size, shuffle=False, device=ctx.device,
                                               generator=torch.Generator().manual_seed(0))))
        else:
            inputs = tuple(x[: ev.probe_size].to(ctx.device) for x in data.split(split).inputs)
        return ctx.probe_inputs(inputs)

    def on_batch_end(self, ctx: TrainContext, loss: torch.Tensor, now: float) -> Due:
        if not self.every:
            return NOT_AGAIN
        step = ctx.step
        if step % self.every == 0 and now >= self.next_time:
            self.next_time = now + self.gap
            self.summarize(ctx)
        return step - step % self.every + self.every, self.next_time

    def on_train_batches_end(self, ctx: TrainContext) -> None:
        if self.enabled and not self.every:
            self.summarize(ctx)

    def summarize(self, ctx: TrainContext) -> None:
        norms, total = gradient_norms(ctx.node_map)
        ctx.emit(Gradients(ctx.epoch + 1, ctx.step, norms, total))
        ev = ctx.config.events
        nodes = activation_summaries(ctx.model, ctx.node_map, self.probe, ev.histogram_bins, ev.thumbnails)
        ctx.emit(Activations(ctx.epoch + 1, ctx.step, nodes))


class Checkpointer(Callback):
    """Writes checkpoints/last.* (every `checkpoint_every` epochs, every `checkpoint_every_s` seconds, at the
    last epoch and when stopped) and best.safetensors, on one writer thread so training does not wait for the disk."""

    def __init__(self) -> None:
        self.next_time = math.inf
        self.best_unsaved = False
        self._writer: ThreadPoolExecutor | None = None
        self._writes: list[Future] = []

    def on_fit_start(self, ctx: TrainContext) -> None:
        self._schedule(ctx)

    def _schedule(self, ctx: TrainContext) -> None:
        gap = ctx.config.checkpoint_every_s
        self.next_time = time.monotonic() + gap if gap else math.inf

    def on_batch_end(self, ctx: TrainContext, loss: torch.Tensor, now: float) -> Due:
        if now >= self.next_time:
            self.save_last(ctx, partial=True)
        return 0, self.next_time

    def on_interrupt(self, ctx: TrainContext) -> None:
        self.save_last(ctx, partial=True)

    def on_epoch_end(self, ctx: TrainContext, summary: EpochSummary) -> None:
        self.best_unsaved = self.best_unsaved or summary.best
        cfg, epoch = ctx.config, summary.epoch
        every = cfg.checkpoint_every
        if (every and epoch % every == 0) or epoch == cfg.epochs or ctx.stop_requested:
            self.save_last(ctx, partial=False)

    def on_train_end(self, ctx: TrainContext, reason: str) -> None:
        self.flush()

    def on_fit_failed(self, ctx: TrainContext, failure: RunFailed) -> None:
        """Write best weights not yet on disk and let pending writes end (their errors matter less than the failure)."""
        with contextlib.suppress(Exception):
            self.save_best(ctx)
        with contextlib.suppress(Exception):
            self.flush()

    def on_close(self, ctx: TrainContext) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def save_last(self, ctx: TrainContext, partial: bool) -> None:
        """Queue checkpoints/last.* (and best.safetensors when a newer best is only in memory) for writing."""
        self._schedule(ctx)
        self.save_best(ctx)
        run = ctx.run
        weights, tensors, info = ctx.checkpoint_state(partial)
        done = CheckpointSaved(ctx.epoch, ctx.step, str(run.checkpoint_dir / "last.safetensors"), "last")
        self._in_background(ctx, lambda: checkpoint.save_checkpoint(run, weights, tensors, info), done)

    def save_best(self, ctx: TrainContext) -> None:
        """Queue best.safetensors for writing if the best weights changed since they were last written."""
        if not self.best_unsaved or ctx.best_state is None:
            return
        self.best_unsaved = False
        path, state = ctx.run.path / BEST, checkpoint.on_cpu(ctx.best_state)
        self._in_background(ctx, lambda: checkpoint.save_weights(state, path),
                            CheckpointSaved(ctx.best_epoch, ctx.best_step, str(path), "best"))

    def _in_background(self, ctx: TrainContext, write, event: Event) -> None:
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deepwire-checkpoint")

        def job() -> None:
            write()
            ctx.emit(event)

        self._writes = [f for f in self._writes if not f.done()] + [self._writer.submit(job)]

    def flush(self) -> None:
        """Wait for pending checkpoint files; re-raise a failed write."""
        writes, self._writes = self._writes, []
        for future in writes:
            future.result()
