"""The Compare view: two runs, or a run and the graph on the canvas, side by side. The 'after' graph is
drawn with its added and changed nodes badged and the nodes it removed shown as faded ghosts; tables list
what changed (nodes, wires, settings) and what it did to the final metrics; one plot overlays a metric of
both runs."""

from __future__ import annotations

import copy
import math
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor import theme
from editor.canvas.controller import CanvasController
from editor.canvas.view import node_look
from editor.training.plotting import VAL_COLOR, curve, plot_widget
from editor.training.widgets import refill_combo
from engine.diff import NodeChange, RunDiff, Side, diff_sides, load_side
from engine.errors import DeepWireError
from engine.graph import Graph
from engine.layout import DY, GAP_X, NODE_MIN_WIDTH, node_widths
from engine.train.history import format_value, metric_curve, metric_keys

CURRENT = "Current graph (on the canvas)"
A_COLOR = "#8b949e"
BADGE_CHARS = 24
GHOST_OPACITY = 0.5
LOWER_IS_BETTER = ("loss", "mae", "rmse")


def better(name: str, a: float | None, b: float | None) -> bool | None:
    """True when b improves on a for metric `name` (lower loss/error, higher anything else); None if unknown."""
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)) or a == b:
        return None
    lower = name.split("_", 1)[-1] in LOWER_IS_BETTER
    return b < a if lower else b > a


def with_ghosts(a: Graph, b: Graph, removed: list[str]) -> Graph:
    """A copy of `b` holding A's `removed` nodes at their A position (moved down a lane while that covers one
    of B's nodes) with A's wires into them. Wires out of a ghost are left out, so B's shapes stay B's."""
    shown = b.copy()
    widths = node_widths(a)
    for nid in removed:
        ghost = copy.deepcopy(a.nodes[nid])
        if ghost.shares not in (*shown.nodes, *removed):
            ghost.shares = None
        x, y = ghost.pos
        while any(abs(o.pos[0] - x) < max(widths.get(o.id, NODE_MIN_WIDTH), widths[nid]) + GAP_X
                  and abs(o.pos[1] - y) < DY * 0.7 for o in shown.nodes.values()):
            y += DY
        ghost.pos = (x, y)
        shown.nodes[nid] = ghost
    shown.edges += [e for e in a.edges if e.dst in removed and e.src in shown.nodes]
    return shown


class CompareView(QWidget):
    """Pick A and B (B may be the current graph), press Compare."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.result: RunDiff | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        bar = QHBoxLayout()
        self.a_box, self.b_box = QComboBox(), QComboBox()
        for label, box in (("Before (A):", self.a_box), ("After (B):", self.b_box)):
            bar.addWidget(QLabel(label))
            box.setMinimumContentsLength(18)
            bar.addWidget(box, 1)
        self.compare_button = QPushButton("Compare")
        self.compare_button.clicked.connect(self.compare_chosen)
        bar.addWidget(self.compare_button)
        layout.addLayout(bar)
        self.summary = QLabel("Pick two runs (or a run and the current graph) and press Compare.")
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet(f"color: {theme.MUTED};")
        layout.addWidget(self.summary)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.canvas = CanvasController(self)
        self.canvas.widget.setMinimumSize(200, 150)
        split.addWidget(self.canvas.widget)
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        self.changes = self._table(("", "what", "before", "after"))
        self.metrics = self._table(("metric", "A", "B", "change"))
        column.addWidget(QLabel("What changed"))
        column.addWidget(self.changes, 1)
        column.addWidget(QLabel("What it did (final metrics)"))
        column.addWidget(self.metrics, 1)
        split.addWidget(right)
        plot_column = QWidget()
        plots = QVBoxLayout(plot_column)
        plots.setContentsMargins(0, 0, 0, 0)
        self.metric_box = QComboBox()
        self.metric_box.currentTextChanged.connect(lambda _t: self.overlay())
        plots.addWidget(self.metric_box)
        self.plot = plot_widget("Curves of A and B", "epoch")
        plots.addWidget(self.plot, 1)
        split.addWidget(plot_column)
        split.setSizes([380, 420, 360])
        layout.addWidget(split, 1)
        self.runs: list[Path] = []

    @staticmethod
    def _table(columns: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setHorizontalHeaderLabels(columns)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    # ---- choosing --------------------------------------------------------------------------------
    def set_runs(self, paths: list[Path]) -> None:
        """The runs to choose from, newest first (B also offers the current graph)."""
        self.runs = [Path(p) for p in paths]
        for box, extra in ((self.a_box, []), (self.b_box, [CURRENT])):
            current = box.currentData()
            box.blockSignals(True)
            box.clear()
            for text in extra:
                box.addItem(text, None)
            for path in self.runs:
                box.addItem(path.name, str(path))
            index = box.findData(current)
            box.setCurrentIndex(index if index >= 0 else 0)
            box.blockSignals(False)
        self.compare_button.setEnabled(bool(self.runs))

    def choose(self, a: Path, b: Path | None) -> None:
        """Pick A and B in the boxes (B None = the current graph) and compare them."""
        if str(a) not in [str(p) for p in self.runs] or (b is not None and str(b) not in [str(p) for p in self.runs]):
            self.set_runs([*self.runs, *(p for p in (a, b) if p is not None and Path(p) not in self.runs)])
        self.a_box.setCurrentIndex(self.a_box.findData(str(a)))
        self.b_box.setCurrentIndex(self.b_box.findData(None if b is None else str(b)))
        self.compare_chosen()

    def compare_chosen(self) -> RunDiff | None:
        a, b = self.a_box.currentData(), self.b_box.currentData()
        if a is None:
            return None
        try:
            side_a = load_side(a)
            side_b = load_side(b) if b is not None else Side("current graph", self.controller.graph.copy())
        except DeepWireError as exc:
            self.summary.setText(f"Cannot compare: {exc}")
            return None
        return self.show_diff(diff_sides(side_a, side_b))

    # ---- showing ---------------------------------------------------------------------------------
    def show_diff(self, result: RunDiff) -> RunDiff:
        self.result = result
        g = result.graph
        removed = [n.node_id for n in g.of_kind("removed") if n.node_id in result.a.graph.nodes]
        self.canvas.load_graph(with_ghosts(result.a.graph, result.b.graph, removed))
        for n in g.nodes:
            if n.kind == "removed":
                self._show_ghost(n, result.a.graph)
                continue
            text = "+ added" if n.kind == "added" else "~ " + ", ".join(
                f"{k} {format_value(a)}→{format_value(b)}" for k, (a, b) in n.changes.items())
            text = text if len(text) <= BADGE_CHARS else text[:BADGE_CHARS - 1] + "…"
            colour = theme.OK_COLOR if n.kind == "added" else theme.WARNING_COLOR
            tip = (f"Added in B: {n.type} with {', '.join(f'{k} {format_value(v)}' for k, v in n.params_after.items())}"
                   if n.kind == "added" else "Changed from A to B: " + "; ".join(
                       f"{k} {format_value(a)} → {format_value(b)}" for k, (a, b) in n.changes.items()))
            self.canvas.set_node_badge(n.node_id, text, colour, f"{tip} ({n.weights_before:,} → {n.weights_after:,} weights)")
        self._fill_changes(result)
        self._fill_metrics(result)
        keys = metric_keys((result.a.history, result.b.history))
        refill_combo(self.metric_box, keys, "val_loss")
        self.overlay()
        added, removed, changed = (len(g.of_kind(k)) for k in ("added", "removed", "changed"))
        self.summary.setText(
            f"A = {result.a.label}, B = {result.b.label}: {added} node(s) added, {removed} removed, {changed} changed "
            f"({g.weights_before:,} → {g.weights_after:,} weights), {len(result.settings)} setting(s) changed. "
            "The canvas shows B; nodes removed since A are drawn faded, where they were in A.")
        return result

    def _show_ghost(self, n: NodeChange, a: Graph) -> None:
        """Badge and fade a node that A had and B removed (it is on the compare canvas only), without the
        problem notes validation gives a node that now leads nowhere."""
        params = ", ".join(f"{k} {format_value(v)}" for k, v in n.params_before.items())
        fed = ", ".join(a.nodes[e.dst].name for e in a.outgoing(n.node_id))
        self.canvas.set_node_badge(n.node_id, "− removed", theme.ERROR_COLOR,
                                   f"Removed in B: {n.type} with {params or 'no params'} ({n.weights_before:,} weights)"
                                   + (f"; in A it fed {fed}" if fed else ""))
        item = self.canvas.view.nodes.get(n.node_id)
        if item is not None:
            graph = self.canvas.graph
            item.view.set_look(node_look(graph, graph.nodes[n.node_id], self.canvas.validation, []))
            item.view.setOpacity(GHOST_OPACITY)

    def _fill_changes(self, result: RunDiff) -> None:
        rows = []
        for n in result.graph.nodes:
            mark = {"added": "+", "removed": "−", "changed": "~"}[n.kind]
            if n.kind == "changed":
                for key, (a, b) in n.changes.items():
                    rows.append((mark, f"{n.name}: {key}", format_value(a), format_value(b), n.kind))
            else:
                params = n.params_after if n.kind == "added" else n.params_before
                summary = f"{n.type} " + ", ".join(f"{k} {format_value(v)}" for k, v in list(params.items())[:3])
                rows.append((mark, n.name, summary if n.kind == "removed" else "–",
                             summary if n.kind == "added" else "–", n.kind))
        g = result.graph
        if g.wires_added or g.wires_removed:
            rows.append(("~", "wires", f"{len(g.wires_removed)} removed", f"{len(g.wires_added)} added", "changed"))
        for s in result.settings:
            rows.append(("~", f"{s.section}.{s.key}", format_value(s.before), format_value(s.after), "setting"))
        colours = {"added": theme.OK_COLOR, "removed": theme.ERROR_COLOR, "changed": theme.WARNING_COLOR}
        self.changes.setRowCount(len(rows))
        for r, (mark, what, before, after, kind) in enumerate(rows):
            for c, text in enumerate((mark, what, before, after)):
                item = QTableWidgetItem(text)
                if c == 0 and kind in colours:
                    item.setForeground(QColor(colours[kind]))
                self.changes.setItem(r, c, item)

    def _fill_metrics(self, result: RunDiff) -> None:
        self.metrics.setRowCount(len(result.metrics))
        for r, (name, a, b) in enumerate(result.metrics):
            change = "–" if a is None or b is None else f"{b - a:+.4g}"
            for c, text in enumerate((name, format_value(a), format_value(b), change)):
                item = QTableWidgetItem(text)
                verdict = better(name, a, b)
                if c == 3 and verdict is not None:
                    item.setForeground(QColor(theme.OK_COLOR if verdict else theme.ERROR_COLOR))
                self.metrics.setItem(r, c, item)

    def overlay(self) -> None:
        """Draw the chosen metric of A (grey) and B (orange), per epoch."""
        item = self.plot.getPlotItem()
        item.clear()
        key = self.metric_box.currentText()
        if self.result is None or not key:
            return
        item.setTitle(f"{key}: A vs B", color=theme.TEXT, size="10pt")
        for side, colour, label in ((self.result.a, A_COLOR, "A"), (self.result.b, VAL_COLOR, "B")):
            epochs, values = metric_curve(side.history, key)
            if epochs:
                curve(self.plot, f"{label}: {side.label}", colour, 2.0, symbol="o").setData(epochs, values)

    def curve_data(self) -> dict[str, tuple[list, list]]:
        """For tests: the label and points of every drawn curve."""
        return {c.name(): tuple(list(v) for v in c.getData()) for c in self.plot.getPlotItem().listDataItems()}
