"""Learning-rate range test: the loss while the LR grows exponentially, repeated with several seeds.

Each repeat trains a fresh model (its own seed: initial weights and batch order) for `steps` batches,
the LR rising from `min_lr` to `max_lr`, and stops when the loss has clearly diverged. A running
median smooths each repeat (one early spike cannot drag the curve the way an exponential average
does), the repeats' median is the curve and their range its spread. The suggestion is a tenth of
the LR where that curve is lowest; it is then checked against the project's LR by a short training
of each, so the answer is either a better LR or "the default is already good".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from engine.data import PreparedData, load_data
from engine.errors import TrainingError
from engine.graph import Graph
from engine.lazy import LazyModule
from engine.train.config import TrainingConfig
from engine.train.optim import set_lr
from engine.train.trainer import Trainer

torch = LazyModule("torch")

SMOOTH_WINDOW = 7
"""Batches in the running median of each repeat."""
DIVERGED = 4.0
"""A repeat stops once its smoothed loss exceeds this multiple of its best."""
MARGIN = 10.0
"""The suggestion is the LR of the lowest loss divided by this: the loss is lowest just before it blows up."""
SAME = 3.0
"""A suggestion within this factor of the project's LR counts as the same."""


@dataclass
class LRFindResult:
    """The range test's curve (median of repeats, with its spread), the suggestion and why."""

    lrs: list[float]
    curves: list[list[float]]
    """Smoothed loss per repeat at each LR (NaN after that repeat diverged)."""
    median: list[float]
    low: list[float]
    high: list[float]
    default_lr: float
    suggested_lr: float
    keep_default: bool
    reason: str
    repeat_suggestions: list[float] = field(default_factory=list)
    range_suggestion: float | None = None
    """A tenth of the LR at the curve's lowest point, before the check against the project's LR."""
    check: dict[str, float] = field(default_factory=dict)
    """Loss after the short check trainings: {'suggested': ..., 'default': ...}."""

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("lrs", "median", "low", "high", "default_lr", "suggested_lr",
                                             "keep_default", "reason", "repeat_suggestions", "range_suggestion", "check")}


def running_median(values: list[float], window: int = SMOOTH_WINDOW) -> list[float]:
    """The median of each value and the up to `window - 1` before it (non-finite values count as +inf)."""
    clean = [v if math.isfinite(v) else math.inf for v in values]
    return [float(np.median(clean[max(0, i - window + 1): i + 1])) for i in range(len(clean))]


def lr_grid(min_lr: float, max_lr: float, steps: int) -> list[float]:
    return [float(v) for v in np.geomspace(min_lr, max_lr, steps)]


def find_lr(graph: Graph, *, repeats: int = 3, steps: int = 100, min_lr: float = 1e-6, max_lr: float = 1.0,
            check_steps: int | None = None, device: str | None = None, data: PreparedData | None = None,
            progress: Callable[[str, float], None] | None = None) -> LRFindResult:
    """Run the range test on the project's data and training settings; see the module docstring."""
    if not 0 < min_lr < max_lr:
        raise TrainingError(f"lr-find: the LR range must satisfy 0 < min_lr < max_lr, found {min_lr} .. {max_lr}")
    if steps < 10 or repeats < 1:
        raise TrainingError("lr-find: use at least 10 steps and 1 repeat")
    cfg = _quiet(TrainingConfig.from_dict(graph.training))
    data = data if data is not None else load_data(graph.data, seed=cfg.seed)
    if data.task == "gan":
        raise TrainingError("lr-find: a GAN trains two networks with one LR each step; run the range test on a "
                            "project with one Output")
    lrs = lr_grid(min_lr, max_lr, steps)
    total = repeats + 2
    curves = []
    for r in range(repeats):
        if progress:
            progress(f"range test {r + 1} of {repeats}", r / total)
        curves.append(_range_test(graph, cfg.replace(seed=cfg.seed + r), data, lrs, device))
    table = np.array(curves, dtype=float)
    with np.errstate(all="ignore"):
        finite = np.where(np.isfinite(table), table, np.nan)
        median = _nan_rows(np.nanmedian, finite)
        low, high = _nan_rows(np.nanmin, finite), _nan_rows(np.nanmax, finite)
    median = [m if sum(math.isfinite(c[i]) for c in curves) * 2 > repeats else math.nan for i, m in enumerate(median)]
    default = cfg.lr
    repeat_suggestions = [s for s in (_suggest(lrs, c) for c in curves) if s is not None]
    suggested = _suggest(lrs, median)
    result = LRFindResult(lrs, curves, median, low, high, default, default, True, "", repeat_suggestions, suggested)
    if suggested is None:
        result.reason = (f"no LR from {min_lr:g} to {max_lr:g} lowered the loss clearly within {steps} batches; "
                         f"keep the default {default:g} (or try a wider range or more steps)")
        return result
    lowest = suggested * MARGIN
    spread = (f"; single repeats suggest {min(repeat_suggestions):.2g} to {max(repeat_suggestions):.2g}"
              if len(repeat_suggestions) > 1 else "")
    if max(suggested, default) / min(suggested, default) <= SAME:
        result.reason = (f"the default is already good: the loss is lowest near {lowest:.2g}, and a tenth of that "
                         f"({suggested:.2g}) is within a factor {SAME:g} of the current {default:g}{spread}")
        return result
    check = check_steps or steps
    if progress:
        progress("short training with the suggested LR", repeats / total)
    tried = short_run(graph, cfg.replace(lr=suggested), data, check, device)
    if progress:
        progress("short training with the current LR", (repeats + 1) / total)
    current = short_run(graph, cfg, data, check, device)
    result.check = {"suggested": tried, "default": current}
    if not tried < current:
        result.reason = (f"the default is already good: a tenth of the LR with the lowest loss ({suggested:.2g}) "
                         f"trained no better in {check} batches (loss {tried:.4g} vs {current:.4g} with "
                         f"{default:g}){spread}")
        return result
    result.suggested_lr, result.keep_default = suggested, False
    last = max(i for i, m in enumerate(median) if math.isfinite(m))
    where = (f"still falls at the end of the range, LR {lowest:.2g}" if lrs[last] <= lowest * 1.001
             else f"is lowest near LR {lowest:.2g} and rises above it")
    result.reason = (f"the loss {where}; a tenth of that, {suggested:.2g}, "
                     f"trained better than the current {default:g} in {check} batches (loss {tried:.4g} vs "
                     f"{current:.4g}){spread}")
    return result


def _quiet(cfg: TrainingConfig) -> TrainingConfig:
    """No summaries, schedule or warm-up: the range test sets the LR of every step itself."""
    return cfg.replace(events={**cfg.to_dict()["events"], "summaries": False}, schedule="none", warmup_epochs=0)


def _nan_rows(fn, table: np.ndarray) -> list[float]:
    return [float(fn(col)) if np.isfinite(col).any() else math.nan for col in table.T]


def _endless(trainer: Trainer) -> Iterator:
    while True:
        yield from trainer.data.batches("train", trainer.config.batch_size, shuffle=True, device=trainer.device,
                                        generator=trainer.shuffle_gen, augment=True)


def _step(trainer: Trainer, batch) -> float:
    inputs, target = batch
    task = trainer.task
    inputs = task.probe_inputs(inputs)
    with trainer.autocast():
        loss = task.loss_fn(trainer.net(*inputs), target)
    value = float(loss.detach())
    if math.isfinite(value):
        trainer.backward_step(loss, trainer.optimizers[0])
    return value


def _range_test(graph: Graph, cfg: TrainingConfig, data: PreparedData, lrs: list[float], device: str | None) -> list[float]:
    trainer = Trainer(graph, cfg, data, device=device)
    trainer.net.train()
    raw: list[float] = []
    best = math.inf
    for lr, batch in zip(lrs, _endless(trainer), strict=False):
        set_lr(trainer.optimizers[0], lr)
        raw.append(_step(trainer, batch))
        smooth = running_median(raw[-SMOOTH_WINDOW:], SMOOTH_WINDOW)[-1]
        best = min(best, smooth)
        if not math.isfinite(smooth) or (len(raw) > SMOOTH_WINDOW and smooth > DIVERGED * best):
            break
    smooth = running_median(raw)
    return [*smooth, *[math.nan] * (len(lrs) - len(smooth))]


def _suggest(lrs: list[float], curve: list[float]) -> float | None:
    """A tenth of the LR at the curve's lowest point, or None when the loss never fell clearly."""
    values = np.array([v if math.isfinite(v) else np.nan for v in curve])
    if not np.isfinite(values).any():
        return None
    start = values[np.isfinite(values)][0]
    i = int(np.nanargmin(values))
    if not values[i] < 0.95 * start:
        return None
    return lrs[i] / MARGIN


def short_run(graph: Graph, cfg: TrainingConfig, data: PreparedData, steps: int, device: str | None) -> float:
    """Validation loss (training loss when there is no validation split) after `steps` batches at `cfg.lr`."""
    trainer = Trainer(graph, cfg, data, device=device)
    trainer.net.train()
    last = []
    for _, batch in zip(range(steps), _endless(trainer), strict=False):
        last.append(_step(trainer, batch))
        if not math.isfinite(last[-1]):
            return math.inf
    if len(data.val):
        with torch.no_grad():
            loss = trainer.evaluate("val").get("loss", math.inf)
        return float(loss) if math.isfinite(loss) else math.inf
    return float(np.mean(last[-max(1, steps // 5):]))
