"""Live training plots: loss and every metric (train/val, per batch and per epoch), LR, throughput, gradient norms.

`LivePlots.add_events(events)` takes one tick's worth of events from the runner and calls `setData`
once per changed curve, so the plots refresh at the runner's ~20 Hz however many events arrived.
The x axis of every plot is the epoch (batches are fractions of an epoch); it is not labelled, to leave the
height to the curves.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from editor import theme
from editor.training.diagnosis import format_eta, gradient_warning, overfitting_hint
from editor.training.plotting import SMOOTH, TRAIN_COLOR, VAL_COLOR, curve, palette, plot_widget, tidy_ranges
from editor.training.widgets import banner
from engine.train.events import BatchEnded, EpochEnded, Event, Gradients, RunFailed, RunFinished, RunStarted
from engine.train.history import append_aligned, append_epoch, batch_position

COLUMNS = 4
BATCH_REDRAW_S = 0.25
STAGGER_MS = 12
"""Pause between the repaints of plots changed together (an epoch's end): each paints on its own event-loop turn,
so the window never waits for all of them at once."""
"""Batch curves are redrawn at most this often (every redraw repaints the plots; at each 50 ms drain of the events
that kept the GUI thread busy enough to make the editor stutter during a run)."""
GRAD_LEGEND_COLUMNS = 5
"""Layer names per row under the gradient plot: one row for a small network, so the curves keep the height."""
LOG_FLOOR = 1e-12


@dataclass
class RunSeries:
    """Every number of one run that the plots draw, as plain lists."""

    steps_per_epoch: int = 1
    start_step: int = 0
    batch_size: int = 0
    total_steps: int = 0
    batch_x: list[float] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    batch_smooth: list[float] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    train: dict[str, list[float]] = field(default_factory=dict)
    val: dict[str, list[float]] = field(default_factory=dict)
    lr_x: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_x: list[float] = field(default_factory=list)
    grads: dict[str, list[float]] = field(default_factory=dict)
    last_grads: dict[str, float] = field(default_factory=dict)
    first_batch: tuple[float, int] | None = None
    last_batch: BatchEnded | None = None
    samples_per_s: float | None = None

    def x_of_step(self, step: int) -> float:
        return step / max(self.steps_per_epoch, 1)

    def add(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.steps_per_epoch, self.batch_size = event.steps_per_epoch, int(event.params.get("batch_size", 0))
            self.start_step = event.start_epoch * event.steps_per_epoch
            self.total_steps = event.epochs * event.steps_per_epoch
        elif isinstance(event, BatchEnded):
            x = batch_position(event)
            prev = self.batch_smooth[-1] if self.batch_smooth else event.loss
            smooth = event.loss if not math.isfinite(prev) else prev + SMOOTH * (event.loss - prev)
            self.batch_x.append(x)
            self.batch_loss.append(event.loss)
            self.batch_smooth.append(smooth)
            self.lr_x.append(x)
            self.lr.append(event.lr)
            self.first_batch = self.first_batch or (event.time, event.step)
            self.last_batch = event
        elif isinstance(event, EpochEnded):
            self.epochs.append(event.epoch)
            append_epoch(self.train, self.val, event, len(self.epochs))
            self.samples_per_s = event.samples_per_s
        elif isinstance(event, Gradients):
            self.grad_x.append(self.x_of_step(event.step))
            append_aligned(self.grads, {nid: max(v, LOG_FLOOR) for nid, v in event.norms.items()}, len(self.grad_x))
            self.last_grads = dict(event.norms)

    def metric_names(self) -> list[str]:
        names = list(dict.fromkeys([*self.train, *self.val]))
        return [n for n in names if n != "loss"]

    def rate(self) -> float | None:
        """Batches per second since the first batch event of this session."""
        if self.first_batch is None or self.last_batch is None:
            return None
        t0, s0 = self.first_batch
        elapsed, steps = self.last_batch.time - t0, self.last_batch.step - s0
        return steps / elapsed if elapsed > 0 and steps > 0 else None

    def eta(self) -> float | None:
        rate = self.rate()
        if rate is None or self.last_batch is None:
            return None
        return max(self.total_steps - self.last_batch.step, 0) / rate


IDLE_TEXT = "Press Train to start a run; its loss, metrics and gradients appear here live."


class LivePlots(QWidget):
    """The live view of a run; `names` maps node ids to the names shown in the gradient legend."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("No run yet")
        self.progress.setValue(0)
        self.stats = QLabel(IDLE_TEXT)
        self.stats.setStyleSheet(f"color: {theme.MUTED};")
        self.stats.setWordWrap(True)
        self.gradient_banner = banner("warning")
        self.overfit_banner = banner("info")
        for widget in (self.progress, self.stats, self.gradient_banner, self.overfit_banner):
            layout.addWidget(widget)
        self.grid = QGridLayout()
        self.grid.setSpacing(6)
        layout.addLayout(self.grid, 1)
        self.names: dict[str, str] = {}
        self.series = RunSeries()
        self.plots: dict = {}
        self.curves: dict = {}
        self._grad_curves: dict = {}
        loss = self.plots["loss"] = plot_widget("Loss", legend_in_title=True)
        self.curves["batch_raw"] = curve(loss, None, TRAIN_COLOR, 1.0, alpha=70)
        self.curves["batch_smooth"] = curve(loss, "batches", TRAIN_COLOR, 1.5)
        self.curves["train_loss"] = curve(loss, "train", TRAIN_COLOR, 2.0, dashed=True, symbol="o")
        self.curves["val_loss"] = curve(loss, "val", VAL_COLOR, 2.0, symbol="o")
        self.plots["lr"] = plot_widget("Learning rate")
        self.curves["lr"] = curve(self.plots["lr"], None, theme.OK_COLOR, 2.0)
        self.plots["grads"] = plot_widget("Gradient norm per layer (log)", log_y=True)
        self.plots["grads"].getPlotItem().setLimits(minYRange=1.0)  # at least one decade: readable log ticks
        self.shown: list[str] = []
        self._batches_drawn = 0.0
        self._batch_timer = QTimer(self)
        self._batch_timer.setSingleShot(True)
        self._batch_timer.timeout.connect(self._draw_batches)
        self._held: list = []
        """Plots changed but not repainted yet (updates off), released one per STAGGER_MS."""
        self._release_timer = QTimer(self)
        self._release_timer.setSingleShot(True)
        self._release_timer.timeout.connect(self._release_one)
        self.show_metrics([])

    # ---- layout --------------------------------------------------------------------------------
    def show_metrics(self, metrics: list[str]) -> None:
        """Lay out loss, one plot per metric, LR and gradients; plots are made once and reused across runs
        (making a plot takes long enough to be felt mid-run, so the workspace calls this before a run starts)."""
        wanted = ["loss", *[m for m in metrics if m not in ("loss", "lr", "grads")], "lr", "grads"]
        if wanted == self.shown:
            return
        for name in wanted:
            if name not in self.plots:
                plot = self.plots[name] = plot_widget(name.replace("_", " ").capitalize(), legend_in_title=True)
                self.curves[f"train_{name}"] = curve(plot, "train", TRAIN_COLOR, 2.0, dashed=True, symbol="o")
                self.curves[f"val_{name}"] = curve(plot, "val", VAL_COLOR, 2.0, symbol="o")
        for plot in self.plots.values():
            self.grid.removeWidget(plot)
            plot.hide()
        for i, name in enumerate(wanted):
            self.grid.addWidget(self.plots[name], i // COLUMNS, i % COLUMNS)
            self.plots[name].show()
        rows = -(-len(wanted) // COLUMNS)
        for row in range(max(rows, self.grid.rowCount())):  # every row of plots as tall as the others
            self.grid.setRowStretch(row, 1 if row < rows else 0)
        self.shown = wanted

    def _grad_curve(self, node_id: str):
        if node_id not in self._grad_curves:
            self._grad_curves[node_id] = curve(self.plots["grads"], self.names.get(node_id, node_id), "#ffffff", 1.5)
            colours = palette(len(self._grad_curves))
            for c, colour in zip(self._grad_curves.values(), colours, strict=True):
                c.setPen(colour, width=1.5)
            self.plots["grads"].getPlotItem().legend.setColumnCount(min(len(self._grad_curves), GRAD_LEGEND_COLUMNS))
        return self._grad_curves[node_id]

    # ---- staggered repaints ------------------------------------------------------------------------
    def _hold(self, names) -> None:
        """Keep the plots `names` from repainting until their turn (call before changing them)."""
        for name in names:
            plot = self.plots[name]
            if plot.isVisible() and plot not in self._held:
                plot.setUpdatesEnabled(False)
                self._held.append(plot)
        if self._held and not self._release_timer.isActive():
            self._release_timer.start(STAGGER_MS)

    def _release_one(self) -> None:
        """Let the longest-waiting held plot repaint; the next one follows after STAGGER_MS."""
        if self._held:
            self._held.pop(0).setUpdatesEnabled(True)
        if self._held:
            self._release_timer.start(STAGGER_MS)

    def _release_all(self) -> None:
        self._release_timer.stop()
        while self._held:
            self._held.pop(0).setUpdatesEnabled(True)

    # ---- events --------------------------------------------------------------------------------
    def reset(self, names: dict[str, str] | None = None, metrics: list[str] | None = None) -> None:
        """Forget the current run; `names` maps node ids to display names, `metrics` are the expected metrics."""
        self.names = dict(names or {})
        self.series = RunSeries()
        self._batch_timer.stop()
        self._release_all()
        self.gradient_banner.hide()
        self.overfit_banner.hide()
        self.progress.setValue(0)
        self.progress.setFormat("Starting…")
        self.stats.setText("Loading the data and compiling the graph…")
        for item in self.curves.values():
            item.setData([], [])
        grads = self.plots["grads"].getPlotItem()
        for item in self._grad_curves.values():
            grads.removeItem(item)
        self._grad_curves = {}
        self.show_metrics(metrics if metrics is not None else self.shown)

    def clear_run(self) -> None:
        """Show no run at all (another project is open)."""
        self.progress.setFormat("No run yet")
        self.stats.setText(IDLE_TEXT)

    def add_events(self, events: list[Event]) -> None:
        """Take one tick of events and redraw what changed (one setData per curve)."""
        s = self.series
        kinds, end = set(), None
        for event in events:
            if isinstance(event, RunStarted):
                self.show_metrics(list(event.metrics))
            s.add(event)
            kinds.add(type(event))
            if isinstance(event, RunFinished | RunFailed):
                end = event
        if set(s.metric_names()) - set(self.shown):
            self.show_metrics(s.metric_names())
        if kinds & {EpochEnded, Gradients}:
            self._hold(self.shown)
        if BatchEnded in kinds:
            due = time.monotonic() - self._batches_drawn >= BATCH_REDRAW_S
            if due or EpochEnded in kinds or end is not None:
                self._draw_batches(tidy=not kinds & {EpochEnded, Gradients})
            elif not self._batch_timer.isActive():
                self._batch_timer.start(int(BATCH_REDRAW_S * 1000))
        if EpochEnded in kinds:
            for split in ("train", "val"):
                for name, values in getattr(s, split).items():
                    if f"{split}_{name}" in self.curves:
                        self.curves[f"{split}_{name}"].setData(s.epochs, values)
            hint = overfitting_hint(s.train.get("loss", []), s.val.get("loss", []))
            self.overfit_banner.setText(hint or "")
            self.overfit_banner.setVisible(bool(hint))
            self._show_progress()
        if Gradients in kinds:
            for nid, values in s.grads.items():
                self._grad_curve(nid).setData(s.grad_x, values)
            warning = gradient_warning(s.last_grads, self.names)
            self.gradient_banner.setText(warning or "")
            self.gradient_banner.setVisible(bool(warning))
        if kinds & {EpochEnded, Gradients}:
            for name in self.shown:
                tidy_ranges(self.plots[name])
        if end is not None:
            self._show_end(end)

    def _draw_batches(self, tidy: bool = True) -> None:
        """The per-batch loss, learning rate and progress as received so far."""
        s = self.series
        self._batch_timer.stop()
        self._batches_drawn = time.monotonic()
        self._hold(("loss", "lr"))
        self.curves["batch_raw"].setData(s.batch_x, s.batch_loss)
        self.curves["batch_smooth"].setData(s.batch_x, s.batch_smooth)
        self.curves["lr"].setData(s.lr_x, s.lr)
        self._show_progress()
        for name in ("loss", "lr") if tidy else ():
            tidy_ranges(self.plots[name])

    def _show_progress(self) -> None:
        s, b = self.series, self.series.last_batch
        done = b.step if b else (s.epochs[-1] * s.steps_per_epoch if s.epochs else 0)
        self.progress.setMaximum(max(s.total_steps, 1))
        self.progress.setValue(min(done, max(s.total_steps, 1)))
        epoch = b.epoch if b else (s.epochs[-1] if s.epochs else 0)
        total_epochs = s.total_steps // max(s.steps_per_epoch, 1)
        batch = f" · batch {b.batch}/{b.batches}" if b else ""
        self.progress.setFormat(f"epoch {epoch}/{total_epochs}{batch}  (%p%)")
        rate = s.rate()
        live = f"{rate * s.batch_size:,.0f} samples/s" if rate and s.batch_size else "– samples/s"
        epoch_rate = f" (last epoch {s.samples_per_s:,.0f})" if s.samples_per_s else ""
        loss = f"loss {s.batch_smooth[-1]:.4g}" if s.batch_smooth else ""
        self.stats.setText(f"{live}{epoch_rate} · ETA {format_eta(s.eta())} · {loss}")

    def _show_end(self, event: RunFinished | RunFailed) -> None:
        if isinstance(event, RunFailed):
            self.progress.setFormat(f"failed at epoch {event.epoch}" if event.epoch else "failed")
            self.stats.setText(event.message + (f"\nWhat to do: {event.hint}" if event.hint else ""))
            return
        what = {"completed": "finished", "early_stopping": "stopped early", "stopped": "stopped",
                "pruned": "pruned by the sweep"}.get(event.reason, f"ended ({event.reason})")
        self.progress.setFormat(f"{what} after {event.epochs_done} epoch(s) in {event.duration:.1f} s")
        if event.reason == "completed":  # batch events are sampled, so the last one seen may not be the last batch
            self.progress.setValue(self.progress.maximum())
        best = ", ".join(f"{k} {v:.4g}" for k, v in event.best.items() if k.startswith("val_"))
        self.stats.setText(f"Best epoch {event.best_epoch}: {best}" if best else f"Run {what}.")

    def points_per_epoch(self) -> dict[str, list[int]]:
        """For tests and the run summary: the epochs each epoch curve has points for."""
        return {name: [e for e, v in zip(self.series.epochs, values, strict=True) if not math.isnan(v)]
                for name, values in {**{f"train_{k}": v for k, v in self.series.train.items()},
                                     **{f"val_{k}": v for k, v in self.series.val.items()}}.items()}
