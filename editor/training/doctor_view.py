"""The Doctor view: what went wrong in a run (live while it trains, as a report after), each diagnosis
pinned to its nodes on the canvas, its evidence plotted, and an Apply button per remedy.

Applying a remedy is one undoable edit of the graph and its sections (Edit ▸ Undo takes it back);
"Apply and re-run" also trains the changed project as a branch of the diagnosed run (from its best weights,
layers whose names and shapes match carry over), or from scratch when that run saved no weights.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from editor import theme
from editor.training.evidence import draw_evidence, evidence_plot
from editor.training.lr_finder import LRFinderDialog
from editor.training.sections import set_section
from engine.doctor import Diagnosis, Doctor
from engine.doctor.remedies import REMEDIES, apply_remedy, offered
from engine.document import restore, snapshot
from engine.errors import DeepWireError
from engine.graph import Graph
from engine.runs import open_run
from engine.train.events import Activations, EpochEnded, Event, Gradients, RunFailed, RunFinished, RunStarted

REDIAGNOSE = (RunStarted, EpochEnded, Gradients, Activations, RunFailed, RunFinished)
SEVERITY_MARK = {"error": "✖", "warning": "⚠", "info": "ℹ"}
BADGE_CHARS = 22
DIALOG_REMEDIES = ("find_lr",)
"""Remedies the view runs through their own dialog (in the background) instead of applying at once."""


def severity_colour(severity: str) -> str:
    """The theme's colour for a severity (read at call time: the theme can change while the editor runs)."""
    return {"error": theme.ERROR_COLOR, "warning": theme.WARNING_COLOR}.get(severity, theme.ACCENT)


def apply_remedy_edit(controller, remedy_id: str, diagnosis: Diagnosis) -> str:
    """Apply a remedy to the controller's graph as one undo step (nodes and sections together); what changed."""
    new, what = apply_remedy(controller.graph, remedy_id, diagnosis)
    title = REMEDIES[remedy_id].title
    stack = controller.undo_stack
    stack.beginMacro(f"doctor: {title}")
    try:
        if snapshot(new) != snapshot(controller.graph):
            after = snapshot(new)
            controller.document.edit(title, lambda g: restore(g, after))
        for section in ("data", "training"):
            set_section(controller, section, getattr(new, section), f"doctor {remedy_id}")
    finally:
        stack.endMacro()
    return what


class DoctorView(QWidget):
    """Diagnoses of the current (or chosen) run; `rerun_requested` asks the workspace to train again."""

    rerun_requested = Signal(str)
    """Train the changed graph as a branch of the diagnosed run (its folder; '' when it has no weights to start from)."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.doctor: Doctor | None = None
        self.diagnoses: list[Diagnosis] = []
        self.graph: Graph | None = None
        self.source = ""
        self.running = False
        self._evidence_stale = False
        self._pinned: set[str] = set()
        self.remedy_buttons: dict[str, tuple[QPushButton, QPushButton]] = {}
        self.lr_dialog: LRFinderDialog | None = None
        self.lr_find_settings = {"repeats": 3, "steps": 100}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.status = QLabel("The doctor reads a run as it trains: press Train, or pick a run under Runs.")
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {theme.MUTED};")
        layout.addWidget(self.status)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.list = QListWidget()
        self.list.setMinimumWidth(180)
        self.list.currentRowChanged.connect(self._show_current)
        split.addWidget(self.list)
        detail = QWidget()
        body = QVBoxLayout(detail)
        body.setContentsMargins(6, 0, 0, 0)
        top = QHBoxLayout()
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold; font-size: 11pt;")
        top.addWidget(self.title, 1)
        self.show_button = QPushButton("Show on canvas")
        self.show_button.setToolTip("Select the nodes this diagnosis is about and bring them into view")
        self.show_button.clicked.connect(self.show_nodes)
        top.addWidget(self.show_button)
        body.addLayout(top)
        self.where = QLabel()
        self.where.setStyleSheet(f"color: {theme.MUTED};")
        body.addWidget(self.where)
        self.explanation = QLabel()
        self.explanation.setWordWrap(True)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body.addWidget(self.explanation)
        plots = QHBoxLayout()
        self.plots = [evidence_plot(), evidence_plot()]
        for plot in self.plots:
            plots.addWidget(plot, 1)
        body.addLayout(plots, 1)
        self.remedy_box = QVBoxLayout()
        body.addLayout(self.remedy_box)
        split.addWidget(detail)
        split.setSizes([260, 800])
        layout.addWidget(split, 1)
        self._show_current(-1)

    # ---- feeding it ----------------------------------------------------------------------------
    def reset(self, graph: Graph) -> None:
        """A new run of `graph` starts: forget the last one."""
        self.graph = graph.copy()
        self.doctor = Doctor(self.graph)
        self.source = "this run"
        self.running = True
        self._set([])
        self.status.setText("Watching the run: diagnoses appear here as soon as the numbers show them.")

    def add_events(self, events: list[Event]) -> None:
        """Live: take one tick of the runner's events and re-diagnose when something telling arrived."""
        if self.doctor is None:
            return
        for event in events:
            self.doctor.add(event)
        if any(isinstance(e, REDIAGNOSE) for e in events):
            if any(isinstance(e, RunFinished | RunFailed) for e in events):
                self.running = False
            self._set(self.doctor.diagnoses())

    def show_run(self, run_path: str | Path) -> None:
        """The report of a run folder (its events.jsonl and graph snapshot)."""
        try:
            run = open_run(run_path)
            graph, events = run.graph, run.events()
        except DeepWireError as exc:
            self.status.setText(f"Cannot read the run: {exc}")
            return
        self.graph = graph
        self.doctor = Doctor(graph)
        self.doctor.add_all(events)
        self.source = f"run {run.id}"
        self.running = False
        self._set(self.doctor.diagnoses())

    # ---- showing it ----------------------------------------------------------------------------
    def _set(self, diagnoses: list[Diagnosis]) -> None:
        current = self.current()
        keys = [(d.id, d.node_ids) for d in diagnoses]
        same = keys == [(d.id, d.node_ids) for d in self.diagnoses]
        self.diagnoses = diagnoses
        if not same:
            self.list.blockSignals(True)
            self.list.clear()
            for d in diagnoses:
                item = QListWidgetItem(f"{SEVERITY_MARK.get(d.severity, '•')} {d.title}")
                item.setForeground(QColor(severity_colour(d.severity)))
                item.setToolTip(d.explanation)
                self.list.addItem(item)
            self.list.blockSignals(False)
            row = next((i for i, k in enumerate(keys) if current and k == (current.id, current.node_ids)), 0)
            self.list.setCurrentRow(row if diagnoses else -1)
            self._pin()
        self._show_current(self.list.currentRow())
        self._say()

    def _say(self) -> None:
        count = len(self.diagnoses)
        if count:
            self.status.setText(f"{count} finding{'s' if count > 1 else ''} in {self.source}"
                                f"{' so far' if self.running else ''}. Pick one to see why and what to try; "
                                "Apply changes the graph (Edit ▸ Undo takes it back).")
        elif self.doctor is not None and self.doctor.record.ended:
            self.status.setText(f"Nothing wrong found in {self.source}: no diagnosis.")
        elif self.doctor is not None:
            self.status.setText(f"Nothing wrong in {self.source} so far.")

    def current(self) -> Diagnosis | None:
        row = self.list.currentRow()
        return self.diagnoses[row] if 0 <= row < len(self.diagnoses) else None

    def _same_node(self, node_id: str) -> bool:
        """True when the node the diagnosis names is still on the canvas as the same kind of layer."""
        here = self.controller.graph.nodes.get(node_id)
        there = self.graph.nodes.get(node_id) if self.graph else None
        return here is not None and there is not None and here.type == there.type

    def _pin(self) -> None:
        """Badge every diagnosed node on the canvas with its (first) diagnosis."""
        for nid in self._pinned:
            self.controller.set_node_badge(nid, "", "", source="doctor")
        self._pinned = set()
        for d in reversed(self.diagnoses):
            for nid in d.node_ids:
                if self._same_node(nid):
                    text = f"{SEVERITY_MARK.get(d.severity, '•')} {d.title}"
                    text = text if len(text) <= BADGE_CHARS else text[:BADGE_CHARS - 1] + "…"
                    self.controller.set_node_badge(nid, text, severity_colour(d.severity),
                                                   f"Doctor: {d.title}. {d.explanation}", source="doctor")
                    self._pinned.add(nid)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._evidence_stale:
            self._draw_evidence(self.current())

    def _draw_evidence(self, d: Diagnosis | None) -> None:
        """The evidence plots of `d`; while the tab is hidden only noted, and drawn when it shows (redrawing plots
        nobody sees at every epoch's end made the editor stutter during a run)."""
        self._evidence_stale = not self.isVisible()
        if self._evidence_stale:
            return
        for i, plot in enumerate(self.plots):
            draw_evidence(plot, d.evidence[i] if d and i < len(d.evidence) else None)
            plot.setVisible(d is not None and i < len(d.evidence))

    def _show_current(self, _row: int) -> None:
        d = self.current()
        self.show_button.setEnabled(d is not None and any(self._same_node(n) for n in d.node_ids))
        self._draw_evidence(d)
        self._fill_remedies(d)
        if d is None:
            self.title.setText("")
            self.where.setText("")
            self.explanation.setText("")
            return
        self.title.setText(d.title)
        self.title.setStyleSheet(f"font-weight: bold; font-size: 11pt; color: {severity_colour(d.severity)};")
        names = [self.graph.nodes[n].name for n in d.node_ids if self.graph and n in self.graph.nodes]
        self.where.setText(f"{d.severity.capitalize()} · pinned to {', '.join(names) or 'the whole run'}")
        self.explanation.setText(d.explanation)

    def _fill_remedies(self, d: Diagnosis | None) -> None:
        while self.remedy_box.count():
            row = self.remedy_box.takeAt(0)
            inner = row.layout()
            while inner is not None and inner.count():
                widget = inner.takeAt(0).widget()
                if widget is not None:
                    widget.deleteLater()
        self.remedy_buttons = {}
        if d is None:
            return
        for r in offered(self.controller.graph, d):
            row = QHBoxLayout()
            apply = QPushButton(f"{r.title}…" if r.id in DIALOG_REMEDIES else f"Apply: {r.title}")
            apply.setToolTip(r.explain)
            apply.clicked.connect(lambda _c=False, rid=r.id: self.apply(rid))
            rerun = QPushButton("Apply and re-run")
            rerun.setToolTip(f"{r.explain} Then train the changed network as a branch of this run: it starts from "
                             "the run's best weights where layers still match (from scratch if it saved none).")
            rerun.setEnabled(not self.running)
            rerun.clicked.connect(lambda _c=False, rid=r.id: self.apply(rid, rerun=True))
            rerun.setVisible(r.id not in DIALOG_REMEDIES)
            text = QLabel(r.explain)
            text.setWordWrap(True)
            text.setStyleSheet(f"color: {theme.MUTED};")
            row.addWidget(apply)
            row.addWidget(rerun)
            row.addWidget(text, 1)
            self.remedy_box.addLayout(row)
            self.remedy_buttons[r.id] = (apply, rerun)

    # ---- acting on it --------------------------------------------------------------------------
    def show_nodes(self) -> None:
        d = self.current()
        ids = [n for n in d.node_ids if self._same_node(n)] if d else []
        if ids:
            self.controller.select_nodes(ids)
            self.controller.center_on(ids[0])

    def apply(self, remedy_id: str, rerun: bool = False) -> str | None:
        """Apply a remedy of the current diagnosis to the canvas's graph (one undo step); re-run if asked."""
        d = self.current()
        if d is None:
            return None
        if remedy_id == "find_lr":  # a range test trains for a while: its dialog runs it in the background
            self.lr_dialog = LRFinderDialog(self.controller, self, **self.lr_find_settings)
            self.lr_dialog.show()
            self.status.setText("Finding the learning rate: the dialog's Apply sets it (Edit ▸ Undo takes it back).")
            return "the Find LR dialog is open"
        try:
            what = apply_remedy_edit(self.controller, remedy_id, d)
        except DeepWireError as exc:
            self.status.setText(f"Could not apply it: {exc}")
            return None
        self.status.setText(f"Applied: {what}. Edit ▸ Undo takes it back."
                            + (" Training the changed network…" if rerun else " Train again to see the effect."))
        self._fill_remedies(d)
        if rerun:
            self.rerun_requested.emit(self.branch_source())
        return what

    def branch_source(self) -> str:
        """The diagnosed run's folder when it saved weights a branch can start from, else ''."""
        started = self.doctor.record.started if self.doctor else None
        run_dir = started.run_dir if started else None
        if not run_dir:
            return ""
        try:
            open_run(run_dir).weights_path("best")
        except DeepWireError:
            return ""
        return run_dir
