"""The training workspace: panels, live views and actions around one TrainingRunner, wired to the canvas."""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStyle,
    QTabWidget,
    QWidget,
)

from editor import theme, warmup
from editor.runner import TrainingRunner
from editor.training import detached
from editor.training.activations import ActivationsView
from editor.training.background import run_job
from editor.training.compare_view import CompareView
from editor.training.data_panel import DataPanel
from editor.training.doctor_view import DoctorView
from editor.training.evaluation_view import EvaluationView
from editor.training.export_dialog import ExportDialog
from editor.training.live_plots import LivePlots
from editor.training.run_folders import (
    adopt_runs,
    latest_run,
    run_has_weights,
    runs_folder,
    stopped_with_checkpoint,
)
from editor.training.run_history import RunHistory
from editor.training.training_panel import TrainingPanel
from editor.training.widgets import ScrollPage
from engine import finetune
from engine.evaluate.metrics import EvaluationResult
from engine.evaluate.run import evaluate_run, output_heads
from engine.lazy import LazyModule
from engine.train.events import RunFailed, RunFinished, RunStarted
from engine.train.metric_names import expected_metrics as engine_expected_metrics

predict_dialog = LazyModule("editor.training.predict_dialog")  # PyTorch: imported when Predict opens

STOP_WAIT_S = 60.0
"""How long closing the window waits for a stopped run to save its checkpoint."""
LIVE_SHARE = 0.42
"""Fraction of the window height the bottom training dock grows to when a view is shown in it while it is
lower than USABLE_SHARE (a taller one, sized by the user, stays as it is)."""
USABLE_SHARE = 0.3


def expected_metrics(graph) -> list[str]:
    """The metrics a run of `graph` will most likely report (the trainer's RunStarted has the real list)."""
    return engine_expected_metrics(graph)


class TrainingWorkspace(QObject):
    """Everything issue 6 adds to the main window; `runner` does the work, the views listen."""

    def __init__(self, window: QMainWindow, controller, backend: str = "process") -> None:
        super().__init__(window)
        self.window, self.controller = window, controller
        self.runner = TrainingRunner(self, backend=backend, torch_threads=max(1, (os.cpu_count() or 2) - 1))
        self.data_panel = DataPanel(controller)
        self.training_panel = TrainingPanel(controller)
        self.live = LivePlots()
        self.activations = ActivationsView(controller)
        self.evaluation = EvaluationView()
        self.evaluation.head_chosen.connect(self.evaluate)
        self.history = RunHistory(controller)
        self.doctor = DoctorView(controller)
        self.compare = CompareView(controller)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self._pages: dict[QWidget, ScrollPage] = {}
        for widget, title in ((self.live, "Live"), (self.activations, "Activations"),
                              (self.evaluation, "Evaluation"), (self.doctor, "Doctor"), (self.history, "Runs"),
                              (self.compare, "Compare")):
            self._pages[widget] = ScrollPage(widget)  # below a view's minimum size it scrolls: the canvas keeps its room
            self.tabs.addTab(self._pages[widget], title)
        self.data_dock = self._dock("Data", self.data_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.training_dock = self._dock("Training", self.training_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.views_dock = self._dock("Training views", self.tabs, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._initial_layout()
        self.selected_run: Path | None = None
        self.evaluation_result: EvaluationResult | None = None
        self.export_dialog: ExportDialog | None = None
        self.predict_dialog: predict_dialog.PredictDialog | None = None
        self.background_process = None
        """The detached `deepwire resume` a run was handed to when the window closed (`detached.py`)."""
        self.actions: dict[str, QAction] = {}
        self._build_actions()
        self._connect()
        self.history.set_run_dir(self.run_dir())
        self._shown_path: Path | None = None
        document = getattr(window, "document", None)
        if document is not None:
            self._shown_path = document.path
            document.replaced.connect(self.project_switched)
            document.changed.connect(self._path_changed)

    def _path_changed(self) -> None:
        """Saved for the first time (its runs move along) or under another name: the runs folder follows."""
        path, before = self.window.document.path, self._shown_path
        if path == before:
            return
        self._shown_path = path
        if before is None and path is not None:
            self.project_saved_first(runs_folder(None))
        else:
            self.history.set_run_dir(self.run_dir())
            self._update_enabled()

    # ---- construction ----------------------------------------------------------------------
    def _dock(self, title: str, widget, area: Qt.DockWidgetArea) -> QDockWidget:
        """A dock tabbed with the panels already in `area`; in a tab group the tabs name the docks, so
        none of them keeps a title bar."""
        neighbours = [d for d in self.window.findChildren(QDockWidget) if self.window.dockWidgetArea(d) == area
                      and not d.isFloating() and d.isVisibleTo(self.window)]
        dock = QDockWidget(title, self.window)
        dock.setObjectName(f"{title.replace(' ', '')}Dock")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.window.addDockWidget(area, dock)
        if neighbours:
            self.window.tabifyDockWidget(neighbours[-1], dock)
            for tabbed in (*neighbours, dock):
                if tabbed.titleBarWidget() is None:
                    tabbed.setTitleBarWidget(QWidget(tabbed))
        return dock

    def set_default_device(self, name: str) -> None:
        """The device runs use when a project's Device is 'auto' (Edit > Preferences), shown in the panel too."""
        self.runner.default_device = name
        self.training_panel.set_default_device(name)

    def _initial_layout(self) -> None:
        """On open: the editing panels (Properties, Problems) in front (the window sizes the docks)."""
        for name in ("properties_dock", "problems_dock"):
            dock = getattr(self.window, name, None)
            if isinstance(dock, QDockWidget):
                dock.raise_()

    def _build_actions(self) -> None:
        style = self.window.style()
        SP = QStyle.StandardPixmap
        specs = (
            ("train", "&Train", self.train, SP.SP_MediaPlay, "F5", "Train the network on its data (F5)"),
            ("stop", "&Stop", self.runner.stop, SP.SP_MediaStop, "Shift+F5", "Stop the run after the current batch"),
            ("evaluate", "&Evaluate", self.evaluate, SP.SP_DialogApplyButton, None,
             "Evaluate the last (or selected) run on its test split"),
            ("export", "E&xport…", self.open_export, SP.SP_DialogSaveButton, None,
             "Export the last (or selected) run's model"),
            ("predict", "&Predict…", self.open_predict, "predict", None,
             "Run the last (or selected) run's model on new data: a file, images or typed text"),
            ("runs", "&Runs", self.show_runs, SP.SP_FileDialogDetailedView, None, "Every run of this project"),
        )
        help_menu = next((a for a in self.window.menuBar().actions()  # (QAction.menu() would let PySide delete it)
                          if a.text().replace("&", "").lower() == "help"), None)
        menu = QMenu("T&raining", self.window)
        if help_menu is not None:
            self.window.menuBar().insertMenu(help_menu, menu)
        else:
            self.window.menuBar().addMenu(menu)
        bar = self.window.addToolBar("Training")
        bar.setObjectName("TrainingToolbar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for key, text, slot, icon, shortcut, tip in specs:
            action = QAction(text, self.window)
            action.setIcon(theme.icon(icon) if isinstance(icon, str) else style.standardIcon(icon))
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _checked=False, s=slot: s())
            menu.addAction(action)
            bar.addAction(action)
            self.actions[key] = action
        menu.addSeparator()
        for dock in (self.data_dock, self.training_dock, self.views_dock):
            menu.addAction(dock.toggleViewAction())

    def _connect(self) -> None:
        p, r = self.training_panel, self.runner
        p.start_requested.connect(self.train)
        p.pause_requested.connect(r.pause)
        p.resume_requested.connect(self.resume)
        p.stop_requested.connect(r.stop)
        r.events.connect(self.live.add_events)
        r.events.connect(self.activations.add_events)
        r.events.connect(self.doctor.add_events)
        self.doctor.rerun_requested.connect(lambda run: self.train(init_from=run or None))
        self.history.compare_requested.connect(self.compare_runs)
        self.history.run_chosen.connect(lambda path: None if self.runner.busy else self.doctor.show_run(path))
        r.started.connect(self._started)
        r.finished.connect(self._finished)
        r.failed.connect(self._failed)
        r.state_changed.connect(lambda _s: self._update_enabled())
        self.history.run_chosen.connect(lambda path: setattr(self, "selected_run", Path(path)))
        self.history.branch_requested.connect(self.branch)
        self.history.run_chosen.connect(lambda _path: self._update_enabled())
        self._update_enabled()

    # ---- where runs go ---------------------------------------------------------------------
    def run_dir(self) -> Path:
        """The project's one runs folder (run_folders.runs_folder), used by every view."""
        return runs_folder(getattr(getattr(self.window, "document", None), "path", None))

    def target_run(self) -> Path | None:
        """The run Evaluate, Export and Predict act on: the one selected in Runs, else the latest of this session,
        else the project's newest run on disk (after reopening a project)."""
        if self.selected_run or self.runner.run_path:
            return self.selected_run or self.runner.run_path
        run = latest_run(self.run_dir(), self.controller.graph.name)
        return run.path if run else None

    def project_saved_first(self, unsaved_dir: Path) -> None:
        """An unsaved project was saved for the first time: its runs move from `unsaved_dir` to its runs folder."""
        busy = {self.runner.run_path} if self.runner.busy and self.runner.run_path else set()
        moved = {Path(p).name: p for p in adopt_runs(self.controller.graph.name, unsaved_dir, self.run_dir(), busy)}
        for attr in ("selected_run",):
            path = getattr(self, attr)
            if path is not None and path.name in moved:
                setattr(self, attr, moved[path.name])
        if not self.runner.busy and self.runner.run_path is not None and self.runner.run_path.name in moved:
            self.runner.run_path = moved[self.runner.run_path.name]
        self.history.set_run_dir(self.run_dir())
        self._update_enabled()

    def project_switched(self) -> None:
        """Another project is on the canvas (new, opened, restored): forget the previous one's runs and results."""
        self._shown_path = self.window.document.path  # the new project's path: no "first save" follows
        self.selected_run = None
        self.evaluation_result = None
        if not self.runner.busy:
            self.runner.run_path, self.runner.last_outcome = None, None
            self.live.reset({})
            self.live.clear_run()
            warmup.after_load(self._prepare_plots)  # at start-up after the first paint: plots take a while to make
            self.training_panel.status.setText("")
        self.evaluation.clear()
        self.activations.reset()
        self.history.set_run_dir(self.run_dir())
        self._update_enabled()

    def _prepare_plots(self) -> None:
        """Make the plots of the project's metrics now, not on the click on Train (each takes tens of ms)."""
        if not self.runner.busy:
            self.live.show_metrics(expected_metrics(self.controller.graph))

    # ---- actions ---------------------------------------------------------------------------
    def train(self, init_from: str | None = None) -> None:
        """Train the project (from the weights of the run `init_from` when given: a branch of that run)."""
        if self.runner.busy:
            return
        if self.controller.validation.pending:  # the window was drawn before PyTorch loaded: check the graph first
            self.training_panel.status.setText("Starting as soon as the graph is checked (PyTorch is loading)…")
            warmup.after_load(lambda: self.train(init_from))
            return
        if not self._ready_to_train():
            return
        document_path = getattr(getattr(self.window, "document", None), "path", None)
        graph = finetune.resolved(self.controller.graph, Path(document_path).resolve().parent if document_path else None)
        if init_from:
            graph = finetune.with_init(graph, init_from)
        for problem in finetune.weights_problems(graph):  # the file the run would start from is gone or unreadable
            self.training_panel.status.setText(f"Not started: {problem.message}")
            self._error("The initial weights cannot be read", problem.message, problem.hint)
            return
        self.live.reset({nid: node.name for nid, node in graph.nodes.items()}, expected_metrics(graph))
        self.activations.reset()
        self.controller.clear_node_badges()
        self.doctor.reset(graph)
        self.selected_run = None
        self.evaluation_result = None
        self.evaluation.clear()
        self._show_tab(self.live)
        self.training_dock.raise_()
        self.training_panel.status.setText("Starting the run (loading data, compiling the graph)…")
        self.runner.start(graph, self.run_dir())

    def branch(self, run_path: str) -> None:
        """"Branch from this run": a new run of the current graph starting from that run's best weights."""
        self.train(init_from=run_path)

    def _ready_to_train(self) -> bool:
        """False (and the first error shown on its node) when validation, data included, says the run would fail."""
        validation = self.controller.validation
        errors = validation.errors if validation is not None else []
        if not errors:
            return True
        first = errors[0]
        where = self.controller.graph.nodes.get(first.node_id or "")
        if where is not None:
            self.controller.select_node(where.id)
            self.controller.center_on(where.id)
        dock = getattr(self.window, "problems_dock", None)
        if isinstance(dock, QDockWidget):
            dock.show()
            dock.raise_()
        count = len(errors)
        self.training_panel.status.setText(
            f"Not started: {count} problem{'s' if count != 1 else ''} to fix first ({first.message.rstrip('.')}). "
            "Each has its fix on the node and under Problems.")
        return False

    def resume(self) -> None:
        """Continue a paused run, or a stopped one from its checkpoint."""
        if self.runner.state == "paused":
            self.runner.resume()
        elif (run := self.resumable_run()) is not None:
            self._show_tab(self.live)
            self.evaluation.clear()
            self.runner.continue_run(run)

    def resumable_run(self) -> Path | None:
        """The run Resume continues: this session's stopped (or lost) run, else the selected or newest run on disk
        that was stopped or cut off (closed, crashed) after saving a checkpoint."""
        if self.runner.busy:
            return None
        if self.runner.can_continue:
            return self.runner.run_path
        if self.runner.run_path is not None:
            return None  # this session's last run ended for good
        run = self.target_run()
        return run if run is not None and stopped_with_checkpoint(run) else None

    def _can_continue(self) -> bool:
        return self.resumable_run() is not None

    def confirm_close(self) -> bool:
        """Before the window closes, ask about a running run: stop it (keeping a checkpoint Resume continues) or keep
        it training in the background (`detached.py`). False when the user keeps the window open."""
        if not self.runner.busy:
            return True
        answer = detached.ask_about_run(self.window)
        if answer == detached.CANCEL:
            return False
        run = self.runner.run_path
        if not self.stop_and_wait():
            return False
        if answer == detached.BACKGROUND and run is not None and stopped_with_checkpoint(run):
            self.background_process = detached.continue_detached(Path(run))
        return True

    def stop_and_wait(self, timeout_s: float = STOP_WAIT_S) -> bool:
        """Stop the run and wait (the window stays responsive) until it has saved its checkpoint and ended."""
        self.runner.stop()
        self.training_panel.status.setText("Stopping the run and saving its checkpoint…")
        deadline = time.monotonic() + timeout_s
        while self.runner.busy and time.monotonic() < deadline:
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.01)
        return not self.runner.busy

    def evaluate(self, head: str = "") -> None:
        """Evaluate the target run on its test split: Output `head` of a project with several (default the first)."""
        run = self.target_run()
        if run is None:
            self._message("Nothing to evaluate yet", "Train the network first (or pick a run under Runs).")
            return
        heads = output_heads(run)
        head = head if head in heads else heads[0]
        self.evaluation.set_heads(heads, head)
        what = f"head {head} of " if len(heads) > 1 else ""
        self.evaluation.summary.setText(f"Evaluating {what}{run.name} on its test split…")
        self._show_tab(self.evaluation)
        run_job(self, lambda: evaluate_run(run, "test", head=head), self._evaluated,
                lambda exc: self._error("Evaluation failed", str(exc), ""))

    def _evaluated(self, result: EvaluationResult) -> None:
        self.evaluation_result = result
        self.evaluation.show_result(result)

    def open_export(self) -> ExportDialog | None:
        run = self.target_run()
        if run is None:
            self._message("Nothing to export yet", "Train the network first (or pick a run under Runs).")
            return None
        self.export_dialog = ExportDialog(run, self.window)
        self.export_dialog.show()
        return self.export_dialog

    def open_predict(self) -> predict_dialog.PredictDialog | None:
        """The Predict dialog on the selected run (the action is enabled only when that run has weights)."""
        run = self.target_run()
        if not run_has_weights(run):
            self._message("Nothing to predict with yet", "Train the network first (or pick a run under Runs).")
            return None
        self.predict_dialog = predict_dialog.PredictDialog(run, self.window)
        self.predict_dialog.show()
        return self.predict_dialog

    def show_runs(self) -> None:
        self.history.set_run_dir(self.run_dir())
        self._show_tab(self.history)

    def compare_runs(self, a: str, b: str = "") -> None:
        """The Compare tab on run `a` against run `b` (or the current graph when `b` is empty)."""
        self.compare.set_runs([s.run.path for s in self.history.summaries])
        self.compare.choose(Path(a), Path(b) if b else None)
        self._show_tab(self.compare)

    # ---- runner signals --------------------------------------------------------------------
    def _started(self, event: RunStarted) -> None:
        what = "Continuing" if event.resumed else "Training"
        self.training_panel.status.setText(
            f"{what} on {event.device_name}: {event.total_params:,} parameters"
            + (f" ({event.frozen_params:,} frozen)" if event.frozen_params else "")
            + f", {event.steps_per_epoch} batches per epoch, run folder "
            f"{Path(event.run_dir).name if event.run_dir else '–'}." + (f" {event.init[:1].upper()}{event.init[1:]}."
                                                                        if event.init else ""))

    def _finished(self, event: RunFinished) -> None:
        text = {"completed": "Finished", "early_stopping": "Stopped early (no improvement)",
                "stopped": "Stopped; Resume continues from the checkpoint"}.get(event.reason, f"Ended ({event.reason})")
        self.training_panel.status.setText(f"{text} after {event.epochs_done} epoch(s).")
        self.history.set_run_dir(self.run_dir())
        if event.reason != "stopped":
            self.evaluate()

    def _failed(self, event: RunFailed) -> None:
        self.training_panel.status.setText(f"The run failed: {event.message.rstrip('.')}. The editor keeps your work.")
        self.history.set_run_dir(self.run_dir())
        if event.node_id and event.node_id in self.controller.graph.nodes:
            self.controller.select_node(event.node_id)
        self._error("Training failed", event.message, event.hint)

    # ---- helpers ---------------------------------------------------------------------------
    def _update_enabled(self) -> None:
        state = self.runner.state
        self.training_panel.set_run_state(state, self._can_continue())
        self.actions["train"].setEnabled(state == "idle")
        self.actions["stop"].setEnabled(state in ("running", "paused"))
        self.actions["predict"].setEnabled(run_has_weights(self.target_run()))

    def _show_tab(self, widget) -> None:
        self.views_dock.show()
        self.views_dock.raise_()
        self.tabs.setCurrentWidget(self._pages[widget])
        if self.views_dock.height() < self.window.height() * USABLE_SHARE:
            self.window.resizeDocks([self.views_dock], [int(self.window.height() * LIVE_SHARE)], Qt.Orientation.Vertical)

    def _error(self, title: str, text: str, hint: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok, self.window)
        if hint:
            box.setInformativeText(f"Hint: {hint}")
        box.exec()

    def _message(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, self.window)
        box.exec()
