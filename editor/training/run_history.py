"""Every run of the project (sweep trials too) with settings and best metrics; overlay curves; open a graph."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor.training.plotting import curve, palette, plot_widget
from editor.training.widgets import refill_combo
from engine.errors import DeepWireError
from engine.lineage import parent_of, read_init, tree_order
from engine.runs import PROJECT, Run, list_runs, read_json, slug
from engine.runstate import read_state
from engine.train.events import EpochEnded
from engine.train.history import format_value, metric_curve, metric_keys

TRIAL_ID = re.compile(r"-trial-(\d+)(-\d+)?$")
COLUMNS = ("run", "sweep", "status", "epochs", "best epoch", "best val_loss", "best val metric", "optimizer", "lr",
           "batch")


@dataclass
class RunSummary:
    """What the history table shows of one run, and its per-epoch curves."""

    run: Run
    status: str
    epochs_done: int
    best_epoch: int | None
    best: dict[str, float]
    settings: dict
    history: list[dict]
    message: str = ""
    """Why the run failed or what is damaged in its folder (the status cell's tooltip)."""

    @property
    def trial(self) -> str | None:
        """'<study> · trial N' for a sweep trial, else None."""
        return None if self.run.study is None else f"{self.run.study} · {trial_label(self.run)}"

    @property
    def label(self) -> str:
        """The run folder's name, or 'sweep <study> · trial N' for a sweep trial."""
        return self.run.id if self.trial is None else f"sweep {self.trial}"

    def curve(self, key: str) -> tuple[list[int], list[float]]:
        """Epochs and values of `key` ('val_loss', 'train_accuracy', ...)."""
        return metric_curve(self.history, key)


def summarize(run: Run) -> RunSummary:
    """Read a run folder: its state, metrics.json when the run ended, else its events so far; a damaged
    folder reads as 'corrupt' with the reason."""
    state = read_state(run)
    try:
        settings = run.graph.training
        metrics = run.metrics() if state.state in ("completed", "stopped") else {}
        if metrics:
            return RunSummary(run, state.label, metrics.get("epochs_done", 0), metrics.get("best_epoch"),
                              metrics.get("best", {}), settings, metrics.get("history", []), state.message)
        events = run.events()
    except DeepWireError as exc:
        return RunSummary(run, "corrupt", 0, None, {}, {}, [], str(exc))
    history = [{"epoch": e.epoch, "train": e.train, "val": e.val} for e in events if isinstance(e, EpochEnded)]
    return RunSummary(run, state.label, len(history), None, {}, settings, history, state.message)


def project_runs(run_dir: str | Path, project_name: str) -> list[Run]:
    """The runs in `run_dir` of the project called `project_name`, sweep trials included, oldest first.

    A run's folder is named after its project; a trial's folder is named after the trial, so a trial belongs
    to the project its snapshot is named after (a sweep changes params and settings, never the name).
    """
    pattern = re.compile(r"\d{8}-\d{6}-" + re.escape(slug(project_name)) + r"(-\d+)?")
    ours = slug(project_name)
    return [run for run in list_runs(run_dir)
            if (pattern.fullmatch(run.id) if run.study is None else _snapshot_slug(run) == ours)]


def _snapshot_slug(run: Run) -> str | None:
    try:
        doc = read_json(run.path / PROJECT, {})
    except DeepWireError:
        return None
    name = doc.get("name") if isinstance(doc, dict) else None
    return slug(name) if isinstance(name, str) else None


def trial_label(run: Run) -> str:
    """'trial 3' for a trial folder `<time>-trial-0003`, else the folder name."""
    match = TRIAL_ID.search(run.id)
    return f"trial {int(match.group(1))}" if match else run.id


class RunHistory(QWidget):
    """The project's runs; `run_chosen(path)` when the user picks one (to evaluate or export it)."""

    run_chosen = Signal(str)
    compare_requested = Signal(str, str)
    """(run A, run B or '' for the current graph): the Compare button with two runs, or one run, selected."""
    branch_requested = Signal(str)
    """A new run starting from this run's best weights (with the current graph)."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.run_dir: Path | None = None
        self.summaries: list[RunSummary] = []
        self.windows: list[QMainWindow] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        bar = QHBoxLayout()
        self.where = QLabel()
        self.where.setMinimumWidth(80)  # a long run folder path is clipped, not a reason for a wide window
        bar.addWidget(self.where, 1)
        self.trials_box = QCheckBox("Sweep trials")
        self.trials_box.setChecked(True)
        self.trials_box.setToolTip("List the trials of the project's sweeps too (the sweep column names each study)")
        self.trials_box.toggled.connect(lambda _on: self.refresh())
        bar.addWidget(self.trials_box)
        bar.addWidget(QLabel("Overlay:"))
        self.metric_box = QComboBox()
        self.metric_box.setEditable(False)
        self.metric_box.currentTextChanged.connect(lambda _t: self.overlay())
        bar.addWidget(self.metric_box)
        self.open_button = QPushButton("Open in window")
        self.open_button.setToolTip("Show the selected run's graph snapshot in a new window")
        self.replace_button = QPushButton("Replace graph…")
        self.replace_button.setToolTip("Make the selected run's graph snapshot the current project (asks first)")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Compare the two selected runs, or the selected run with the current graph: "
                                       "graph, settings and metrics side by side")
        self.compare_button.clicked.connect(self._compare_selected)
        self.branch_button = QPushButton("Branch from this run")
        self.branch_button.setToolTip("Train the current graph starting from the selected run's best weights "
                                      "(layers whose names and shapes match carry over); the run history shows "
                                      "the new run under it")
        refresh = QPushButton("Refresh")
        self.open_button.clicked.connect(self.open_selected)
        self.replace_button.clicked.connect(self.replace_with_selected)
        self.branch_button.clicked.connect(self.branch_selected)
        refresh.clicked.connect(self.refresh)
        for button in (self.compare_button, self.open_button, self.replace_button, self.branch_button, refresh):
            bar.addWidget(button)
        layout.addLayout(bar)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.plot = plot_widget("Runs compared", "epoch")
        split.addWidget(self.table)
        split.addWidget(self.plot)
        split.setSizes([640, 420])
        layout.addWidget(split, 1)
        self._selection_changed()

    def set_run_dir(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the run folders of the current project."""
        name = self.controller.graph.name
        runs = project_runs(self.run_dir, name) if self.run_dir else []
        self.where.setText(_where_text(runs, name, self.run_dir, self.trials_box.isChecked()))
        self.where.setToolTip(str(self.run_dir or ""))
        if not self.trials_box.isChecked():
            runs = [run for run in runs if run.study is None]
        self.summaries, depths = [], []
        for run, depth in tree_order(list(reversed(runs))):  # newest first, each branch under its parent
            try:
                self.summaries.append(summarize(run))
            except DeepWireError:
                continue
            depths.append(depth)
        self.table.setRowCount(len(self.summaries))
        for row, (s, depth) in enumerate(zip(self.summaries, depths, strict=True)):
            metric = next(((k, v) for k, v in s.best.items() if k.startswith("val_") and k != "val_loss"), None)
            sweep = s.trial or "–"
            values = (("    " * (depth - 1) + "└─ " if depth else "") + s.run.id, sweep, s.status, s.epochs_done,
                      s.best_epoch or "–",
                      format_value(s.best.get("val_loss")), f"{metric[0]} {format_value(metric[1])}" if metric else "–",
                      s.settings.get("optimizer", "adam"), s.settings.get("lr", 1e-3), s.settings.get("batch_size", 64))
            for col, value in enumerate(values):
                self.table.setItem(row, col, QTableWidgetItem(str(value)))
            parent = parent_of(s.run)
            carried = read_init(s.run.path).get("summary", "")
            self.table.item(row, 0).setToolTip(str(s.run.path) + (f"\nbranched from {parent.name}" if parent else "")
                                               + (f"\ninitial weights: {carried}" if carried else ""))
            if s.message:
                self.table.item(row, 2).setToolTip(s.message)
        keys = metric_keys(s.history for s in self.summaries)
        refill_combo(self.metric_box, keys, "val_loss")
        self.overlay()

    def selected(self) -> list[RunSummary]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.summaries[r] for r in rows]

    def select_rows(self, rows: list[int]) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row in rows:
            self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def _selection_changed(self) -> None:
        chosen = self.selected() if self.summaries else []
        self.open_button.setEnabled(len(chosen) == 1)
        self.replace_button.setEnabled(len(chosen) == 1)
        self.compare_button.setEnabled(len(chosen) in (1, 2))
        self.branch_button.setEnabled(len(chosen) == 1 and _has_weights(chosen[0].run))
        if len(chosen) == 1:
            self.run_chosen.emit(str(chosen[0].run.path))
        self.overlay()

    def _compare_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) in (1, 2):  # the table lists the newest first: the older run is A
            runs = sorted(str(s.run.path) for s in chosen)
            self.compare_requested.emit(runs[0], runs[1] if len(runs) == 2 else "")

    def overlay(self) -> None:
        """Draw the chosen metric of every selected run (or of all runs when none is selected)."""
        item = self.plot.getPlotItem()
        item.clear()
        key = self.metric_box.currentText()
        chosen = self.selected() if self.summaries else []
        shown = chosen or self.summaries[:1]
        item.setTitle(f"{key or 'metric'} of {len(shown)} run(s)")
        if not key:
            return
        for s, colour in zip(shown, palette(len(shown)), strict=True):
            xs, ys = s.curve(key)
            curve(self.plot, s.label, colour, 2.0, symbol="o").setData(xs, ys)

    def open_selected(self) -> QMainWindow | None:
        """Show the selected run's graph snapshot in a new window (read it, copy from it)."""
        from editor.canvas.controller import CanvasController

        chosen = self.selected()
        if len(chosen) != 1:
            return None
        window = QMainWindow(self.window())
        controller = CanvasController(window, graph=chosen[0].run.graph)
        window.setCentralWidget(controller.widget)
        window.setWindowTitle(f"Run snapshot: {chosen[0].label}")
        window.resize(1000, 700)
        window.controller = controller
        window.show()
        self.windows.append(window)
        return window

    def branch_selected(self) -> bool:
        """Ask for a new run of the current graph that starts from the selected run's best weights."""
        chosen = self.selected()
        if len(chosen) != 1 or not _has_weights(chosen[0].run):
            return False
        self.branch_requested.emit(str(chosen[0].run.path))
        return True

    def replace_with_selected(self) -> bool:
        """After asking, make the selected run's graph (with data and training settings) the current project.

        The canvas's undo history is cleared (it cannot be undone), and the project is marked unsaved.
        """
        chosen = self.selected()
        if len(chosen) != 1:
            return False
        answer = QMessageBox.question(self, "Replace the current graph?",
                                      f"Replace the graph on the canvas with the snapshot of run {chosen[0].label}? "
                                      "This cannot be undone: the canvas's undo history is cleared. The project "
                                      "file changes only when you save.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.controller.load_graph(chosen[0].run.graph)
        self.controller.undo_stack.resetClean()  # the canvas no longer matches the project file: unsaved
        return True


def _has_weights(run: Run) -> bool:
    try:
        run.weights_path("best")
    except DeepWireError:
        return False
    return True


def _where_text(runs: list[Run], name: str, run_dir: Path | None, with_trials: bool) -> str:
    """'2 run(s) and 6 sweep trial(s) of “name” in DIR' (trials 'hidden' when the box is off)."""
    if run_dir is None:
        return "No run folder yet."
    trials = sum(run.study is not None for run in runs)
    text = f"{len(runs) - trials} run(s)"
    if trials:
        text += f" and {trials} sweep trial(s){'' if with_trials else ' (hidden)'}"
    return f"{text} of “{name}” in {run_dir}"
