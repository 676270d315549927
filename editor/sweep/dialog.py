"""The sweep dialog: edit the project's `sweep` section, start and stop a sweep, watch its trials arrive."""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from editor import theme
from editor.sweep.dimensions import DimensionsTable
from editor.sweep.job import SweepJob
from editor.sweep.results import ResultsView
from editor.sweep.section import Target, add_dimension, all_targets, edit_sweep
from editor.training.workspace import expected_metrics
from engine.sweep import SweepConfig, SweepError, TrialRow

SAMPLERS = (("grid", "Grid: every combination"), ("random", "Random"), ("tpe", "TPE (Bayesian, learns as it goes)"))
SPACE_CHANGED = "another search space"


def _spin(minimum: int, maximum: int, special: str = "", suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(minimum, maximum)
    spin.setKeyboardTracking(False)
    if special:
        spin.setSpecialValueText(special)
    if suffix:
        spin.setSuffix(suffix)
    return spin


def default_direction(metric: str) -> str:
    """'minimize' for a loss or an error (val_loss, val_mae), else 'maximize' (the trainer's 'auto' monitor mode)."""
    from engine.train.config import TrainingConfig

    return "maximize" if TrainingConfig().replace(monitor=metric, monitor_mode="auto").mode == "max" else "minimize"


class SweepDialog(QDialog):
    """Non-modal; every field writes the sweep section through the undo stack, the trials fill in live."""

    open_trial = Signal(object)
    """The user asked to load this `TrialRow`'s graph into the editor."""

    def __init__(self, controller, project_dir: Callable[[], Path], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.project_dir = project_dir
        self.job = SweepJob(self)
        self.setWindowTitle("Sweep — tune hyper-parameters and architectures")
        self.setModal(False)
        self.resize(1280, 760)
        self.dimensions = DimensionsTable(controller)
        self.add_target = QComboBox()
        self.add_target.setToolTip("A node param or training setting to search")
        self.add_button = QPushButton("Add dimension")
        self.add_button.clicked.connect(self._add_chosen)
        self.metric_box = QComboBox()
        self.metric_box.setEditable(True)
        self.metric_box.setToolTip("The epoch metric to optimize (its best epoch counts)")
        self.metric_box.activated.connect(lambda _i: self._metric_chosen())
        self.metric_box.lineEdit().editingFinished.connect(self._metric_chosen)
        self.direction = QComboBox()
        self.direction.addItems(["maximize", "minimize"])
        self.direction.activated.connect(lambda _i: self._set_objective())
        self.trials = _spin(0, 100000, "no limit")
        self.trials.setToolTip("How many trials in all (finished ones count; 'no limit' runs until the time "
                               "budget or Stop)")
        self.trials.valueChanged.connect(lambda _v: self._set_budget("trials"))
        self.minutes = _spin(0, 100000, "no limit", " min")
        self.minutes.setToolTip("Start no new trial after this many minutes")
        self.minutes.valueChanged.connect(lambda _v: self._set_budget("minutes"))
        self.epochs = _spin(0, 100000, "as in Training")
        self.epochs.setToolTip("Epochs each trial trains (short trials make a sweep fast)")
        self.epochs.valueChanged.connect(lambda v: self._set_key("epochs", v or None))
        self.sampler = QComboBox()
        for key, text in SAMPLERS:
            self.sampler.addItem(text, key)
        self.sampler.activated.connect(lambda _i: self._set_key("sampler", self.sampler.currentData()))
        self.pruning = QCheckBox("stop unpromising trials early (median pruner)")
        self.pruning.toggled.connect(lambda on: self._set_key("pruning", bool(on)))
        self.seed = _spin(0, 2**31 - 1)
        self.seed.valueChanged.connect(lambda v: self._set_key("seed", v))
        self.workers = _spin(1, max(1, os.cpu_count() or 1))
        self.workers.setToolTip("Worker processes sharing the storage (not saved in the project; the CLI's "
                                "--workers)")
        self.storage = QLineEdit()
        self.storage.setPlaceholderText("default: runs/sweeps.db next to the project (SQLite)")
        self.storage.setToolTip("An Optuna storage URL, e.g. postgresql://user@host/db, lets other machines "
                                "join the sweep with `deepwire sweep PROJECT --storage URL`")
        self.storage.editingFinished.connect(lambda: self._set_key("storage", self.storage.text().strip() or None))
        self.name = QLineEdit()
        self.name.setToolTip("Trials of one name form one study; a new name starts a fresh sweep")
        self.name.editingFinished.connect(lambda: self._set_key("name", self.name.text().strip() or None))
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.start_button = QPushButton("Start sweep")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the running trial's current batch; that trial is not counted")
        self.stop_button.clicked.connect(self.stop)
        close = QPushButton("Close")
        close.setToolTip("Hide this window; a running sweep goes on")
        close.clicked.connect(self.hide)
        self.results = ResultsView()
        self.results.open_requested.connect(self.open_trial)
        self._build(close)
        self.job.trial_finished.connect(self._trial_finished)
        self.job.finished.connect(self._finished)
        self.job.failed.connect(self._failed)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        controller.graph_changed.connect(self._refresh_timer.start)
        self.refresh()

    # ---- layout --------------------------------------------------------------------------------
    def _build(self, close: QPushButton) -> None:
        dims_box = QGroupBox("Search dimensions")
        dims = QVBoxLayout(dims_box)
        dims.addWidget(self.dimensions, 1)
        add_row = QHBoxLayout()
        add_row.addWidget(self.add_target, 1)
        add_row.addWidget(self.add_button)
        dims.addLayout(add_row)
        settings = QGroupBox("Objective, budget and search")
        form = QFormLayout(settings)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        objective = QHBoxLayout()
        objective.addWidget(self.metric_box, 1)
        objective.addWidget(self.direction)
        form.addRow("objective", objective)
        budget = QHBoxLayout()
        budget.addWidget(QLabel("trials"))
        budget.addWidget(self.trials, 1)
        budget.addWidget(QLabel("time"))
        budget.addWidget(self.minutes, 1)
        form.addRow("budget", budget)
        form.addRow("epochs per trial", self.epochs)
        form.addRow("sampler", self.sampler)
        form.addRow("pruning", self.pruning)
        form.addRow("seed", self.seed)
        run_box = QGroupBox("Where it runs")
        run_form = QFormLayout(run_box)
        run_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        run_form.addRow("workers", self.workers)
        run_form.addRow("storage URL", self.storage)
        run_form.addRow("sweep name", self.name)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 6, 0)
        column.addWidget(dims_box, 1)
        column.addWidget(settings)
        column.addWidget(run_box)
        right = QGroupBox("Trials")
        QVBoxLayout(right).addWidget(self.results)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([600, 680])
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)

    # ---- showing the section ------------------------------------------------------------------
    @property
    def section(self) -> dict:
        return self.controller.graph.sweep or {}

    def refresh(self) -> None:
        """Show the graph's sweep section in every field and say whether it can run."""
        section = self.section
        self.dimensions.refresh()
        targets = all_targets(self.controller.graph)
        with QSignalBlocker(self.add_target):
            current = self.add_target.currentData()
            self.add_target.clear()
            for t in targets:
                self.add_target.addItem(t.label, t.key)
            self.add_target.setCurrentIndex(max(0, self.add_target.findData(current)))
        objective = section.get("objective") if isinstance(section.get("objective"), dict) else {}
        budget = section.get("budget") if isinstance(section.get("budget"), dict) else {}
        config, error = self.config()
        metrics = [f"{p}_{m}" for p in ("val", "train") for m in expected_metrics(self.controller.graph)]
        with QSignalBlocker(self.metric_box):
            self.metric_box.clear()
            self.metric_box.addItems(metrics)
            self.metric_box.setCurrentText(objective.get("metric") or (config.metric if config else metrics[0]))
        with QSignalBlocker(self.direction):
            metric = self.metric_box.currentText()
            self.direction.setCurrentText(objective.get("direction") or (config.direction if config else
                                                                          default_direction(metric)))
        trials = budget.get("trials", 20 if budget.get("minutes") is None else None)
        for spin, value in ((self.trials, trials), (self.minutes, budget.get("minutes")),
                            (self.epochs, section.get("epochs")), (self.seed, section.get("seed", 0))):
            with QSignalBlocker(spin):
                spin.setValue(int(value) if isinstance(value, int | float) else 0)
        with QSignalBlocker(self.sampler):
            self.sampler.setCurrentIndex(max(0, self.sampler.findData(section.get("sampler", "tpe"))))
        with QSignalBlocker(self.pruning):
            self.pruning.setChecked(bool(section.get("pruning", True)))
        for edit, key in ((self.storage, "storage"), (self.name, "name")):
            if not edit.hasFocus():
                edit.setText(section.get(key) or "")
        from engine.sweep.study import study_name  # optuna: on first use, not at the editor's start

        self.name.setPlaceholderText(f"default: {study_name(config, self.controller.graph.name)}" if config else "")
        self._show_state(config, error)

    def config(self) -> tuple[SweepConfig | None, str]:
        try:
            return SweepConfig.from_graph(self.controller.graph), ""
        except SweepError as exc:
            return None, str(exc)

    def _show_state(self, config: SweepConfig | None = None, error: str | None = None) -> None:
        if config is None and error is None:
            config, error = self.config()
        busy = self.job.busy
        if busy:
            text = "Stopping after the current batch…" if self.job.stopping else \
                f"Running… {len(self.results.rows)} trial(s) recorded so far."
            self._status(text, theme.ACCENT)
        elif not self.section.get("dimensions"):  # the engine's message shows the JSON a project file needs
            self._status("Add a dimension to search: pick a node param or training setting and press "
                         f"{self.add_button.text()}.", theme.MUTED)
        elif error:
            self._status(error, theme.ERROR_COLOR)
        else:
            self._status(self._plan(config), theme.OK_COLOR)
        self.start_button.setEnabled(not busy and config is not None)
        self.stop_button.setEnabled(busy and not self.job.stopping)
        for widget in (self.dimensions, self.add_target, self.add_button, self.metric_box, self.direction, self.trials,
                       self.minutes, self.epochs, self.sampler, self.pruning, self.seed, self.workers,
                       self.storage, self.name):
            widget.setEnabled(not busy)

    def _plan(self, config: SweepConfig) -> str:
        if config.sampler == "grid":
            size = 1
            for values in config.grid().values():
                size *= len(values)
            count = f"a grid of {size} point{'s' if size != 1 else ''}"
        else:
            count = f"{config.trials} trials" if config.trials else "trials until the time budget or Stop"
        limit = f", at most {config.minutes:g} min" if config.minutes else ""
        return f"Ready: {count}{limit}, {config.direction} {config.metric}."

    def _status(self, text: str, colour: str) -> None:
        self.status.setText(f"<span style='color:{colour}'>{html.escape(text, quote=False)}</span>")

    # ---- edits ---------------------------------------------------------------------------------
    def _set_key(self, key: str, value) -> None:
        def mutate(section: dict) -> None:
            if value is None:
                section.pop(key, None)
            else:
                section[key] = value

        if self.section.get(key) != value:
            edit_sweep(self.controller, key, mutate)

    def _metric_chosen(self) -> None:
        """Another objective metric comes with its natural direction (minimize a loss or an error)."""
        stored = self.section.get("objective") if isinstance(self.section.get("objective"), dict) else {}
        metric = self.metric_box.currentText().strip()
        if metric and metric != stored.get("metric"):
            self.direction.setCurrentText(default_direction(metric))
        self._set_objective()

    def _set_objective(self) -> None:
        metric, direction = self.metric_box.currentText().strip(), self.direction.currentText()
        stored = self.section.get("objective") if isinstance(self.section.get("objective"), dict) else {}
        config, _error = self.config()
        shown = (stored.get("metric") or (config.metric if config else None),
                 stored.get("direction") or (config.direction if config else None))
        if metric and (metric, direction) != shown:
            self._set_key("objective", {"metric": metric, "direction": direction})

    def _set_budget(self, key: str) -> None:
        budget = {"trials": self.trials.value() or None, "minutes": self.minutes.value() or None}
        self._set_key("budget", budget)

    def _add_chosen(self) -> None:
        key = self.add_target.currentData()
        target = next((t for t in all_targets(self.controller.graph) if t.key == key), None)
        if target is not None:
            self.add(target)

    def add(self, target: Target) -> None:
        """Add a dimension for `target` (or find the existing one) and put the focus on it."""
        add_dimension(self.controller, target)
        self.dimensions.focus_target(target.key)

    # ---- running -------------------------------------------------------------------------------
    def load_results(self) -> None:
        """Show the trials recorded so far (none when the sweep has not run, or its section is invalid)."""
        config, _error = self.config()
        if config is None or self.job.busy:
            return
        folder = self.project_dir()
        if config.storage is None and not (folder / "runs" / "sweeps.db").exists():
            self.results.set_rows([], config.metric, config.direction)
            return
        try:
            from engine.sweep import load_sweep

            rows = load_sweep(self.controller.graph, folder)
        except SweepError as exc:
            self._status(str(exc), theme.ERROR_COLOR)
            return
        self.results.set_rows(rows, config.metric, config.direction)

    def start(self) -> None:
        config, error = self.config()
        if config is None or self.job.busy:
            if error:
                self._status(error, theme.ERROR_COLOR)
            return
        self.load_results()
        self.job.start(self.controller.graph, self.project_dir(), self.workers.value())
        self._show_state()

    def stop(self) -> None:
        self.job.stop()
        self._show_state()

    def _trial_finished(self, row: TrialRow) -> None:
        self.results.add_row(row)
        self._show_state()

    def _finished(self, result) -> None:
        self.results.set_rows(result.rows, result.metric, result.direction)
        self._show_state()
        best = result.best
        done = f"Done: {len(result.rows)} trial(s) in the sweep '{result.name}'"
        if best is not None:
            done += f"; best {result.metric} {best.value:.4g} (trial {best.number})"
        self._status(done + ".", theme.OK_COLOR)

    def _failed(self, message: str) -> None:
        self._show_state()
        if SPACE_CHANGED in message:
            message += " — or type a new sweep name below."
        self._status(f"The sweep could not run: {message}", theme.ERROR_COLOR)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()
        self.load_results()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop a running sweep and wait for its process (the editor is closing)."""
        self.job.stop()
        self.job.wait(timeout)
