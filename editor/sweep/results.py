"""Sweep results: a sortable trials table, objective by trial, and objective vs parameter count with the Pareto front."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from editor import theme
from editor.training.plotting import plot_widget
from engine.sweep import TrialRow, pareto_front

FIXED_COLUMNS = ("#", "state", "objective", "params", "time (s)")
RAW_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_COLORS = {"COMPLETE": "OK_COLOR", "PRUNED": "WARNING_COLOR", "FAIL": "ERROR_COLOR", "RUNNING": "ACCENT",
                "WAITING": "MUTED"}
"""The theme colour (its name in editor.theme, read when drawn) of each trial state."""
PARETO_COLOR = "#e8912d"


def _text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


EMPTY = 2


def _sort_key(value: Any) -> tuple:
    """Numbers by value, then text, then empty cells."""
    if value is None:
        return (EMPTY, 0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0, str(value))


def compact_count(value: float) -> str:
    """1500 -> '1.5k', 2e6 -> '2M', 60 -> '60'."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


class CountAxis(pg.AxisItem):
    """A log axis of parameter counts labelled 50, 100, 200, 500, 1k (1-2-5 steps only, so labels never overlap)."""

    def tickStrings(self, values, scale, spacing) -> list[str]:
        if not self.logMode:
            return super().tickStrings(values, scale, spacing)
        labels = []
        for v in values:
            count = 10.0 ** v
            lead = round(count / 10.0 ** math.floor(math.log10(count)), 6) if count > 0 else 0
            labels.append(compact_count(count) if lead in (1, 2, 5) else "")
        return labels


class TrialsModel(QAbstractTableModel):
    """One row per trial; the sampled values get a column each."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[TrialRow] = []
        self.pareto: set[int] = set()
        self.keys: list[str] = []

    def set_rows(self, rows: list[TrialRow], pareto: set[int], keys: list[str]) -> None:
        self.beginResetModel()
        self.rows, self.pareto, self.keys = list(rows), pareto, keys
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(FIXED_COLUMNS) + len(self.keys)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        return FIXED_COLUMNS[section] if section < len(FIXED_COLUMNS) else self.keys[section - len(FIXED_COLUMNS)]

    def raw(self, row: TrialRow, column: int) -> Any:
        if column >= len(FIXED_COLUMNS):
            return row.params.get(self.keys[column - len(FIXED_COLUMNS)])
        return (row.number, row.state, row.value, row.params_count,
                round(row.duration, 1) if row.duration is not None else None)[column]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.rows[index.row()]
        value = self.raw(row, index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 1 and row.number in self.pareto:
                return f"{row.state} ★"
            return _text(value)
        if role == RAW_ROLE:
            return _sort_key(value)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 1:
            return QColor(getattr(theme, STATE_COLORS.get(row.state, "TEXT")))
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [f"trial {row.number}: {row.state}"]
            if row.number in self.pareto:
                parts.append("on the Pareto front (no trial is both better and smaller)")
            if row.error:
                parts.append(row.error)
            if row.run_dir:
                parts.append(f"run folder {row.run_dir} — double-click to open its graph")
            return "\n".join(parts)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() != 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class _SortProxy(QSortFilterProxyModel):
    """Sorts on the raw values; empty cells (a failed trial's objective) stay last in either order."""

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:
        a, b = left.data(RAW_ROLE), right.data(RAW_ROLE)
        if (a[0] == EMPTY) != (b[0] == EMPTY):
            return (a[0] == EMPTY) == (self.sortOrder() == Qt.SortOrder.DescendingOrder)
        return a < b


class ResultsView(QWidget):
    """Every trial of a sweep in a table and two plots; "Open trial" asks to load a trial's graph."""

    open_requested = Signal(object)
    """The chosen `TrialRow` (it has a run folder)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.direction = "maximize"
        self.metric_name = "objective"
        self.pareto_rows: list[TrialRow] = []
        self.model = TrialsModel(self)
        self.proxy = _SortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.by_trial = plot_widget("Objective by trial", "trial", "objective")
        self.by_size = plot_widget("Objective vs parameter count", "parameters", "objective")
        axis = CountAxis("bottom")
        axis.setPen(pg.mkPen(theme.BORDER))
        axis.setTextPen(pg.mkPen(theme.MUTED))
        self.by_size.getPlotItem().setAxisItems({"bottom": axis})
        self.by_size.getPlotItem().setLogMode(x=True)  # sizes of a sweep span orders of magnitude
        self.by_size.getPlotItem().setLabel("bottom", "parameters (log scale)", color=theme.MUTED)
        self.best_line = self.by_trial.plot([], [], pen=pg.mkPen(theme.OK_COLOR, width=2), name="best so far")
        self.trial_points = self._points(self.by_trial, "trial", theme.ACCENT)
        self.size_points = self._points(self.by_size, "trial", theme.MUTED)
        self.front_points = self.by_size.plot([], [], pen=pg.mkPen(PARETO_COLOR, width=1.5), name="Pareto front",
                                              symbol="star", symbolSize=13, symbolBrush=PARETO_COLOR,
                                              symbolPen=pg.mkPen(theme.TEXT, width=1))
        for item in (self.trial_points, self.size_points, self.front_points):
            item.sigPointsClicked.connect(self._point_clicked)
        for widget in (self.by_trial, self.by_size):
            widget.getPlotItem().legend.show()
        self.summary = QLabel("No trials yet.")
        self.summary.setObjectName("Muted")
        self.summary.setWordWrap(True)
        self.open_button = QPushButton("Open trial's graph")
        self.open_button.setToolTip("Load the selected trial's network (its run snapshot) into the editor")
        self.open_button.clicked.connect(self.open_selected)
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.by_trial)
        plots.addWidget(self.by_size)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(plots)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([300, 340])
        bottom = QHBoxLayout()
        bottom.addWidget(self.summary, 1)
        bottom.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split, 1)
        layout.addLayout(bottom)
        self._update_buttons()

    @staticmethod
    def _points(widget: pg.PlotWidget, name: str, colour: str) -> pg.PlotDataItem:
        return widget.plot([], [], pen=None, name=name, symbol="o", symbolSize=8, symbolBrush=colour, symbolPen=None)

    # ---- data ------------------------------------------------------------------------------
    @property
    def rows(self) -> list[TrialRow]:
        return self.model.rows

    def set_rows(self, rows: list[TrialRow], metric: str | None = None, direction: str | None = None) -> None:
        """Show `rows` (e.g. from `load_sweep`), judged by `metric` in `direction`."""
        self.metric_name, self.direction = metric or self.metric_name, direction or self.direction
        front = pareto_front(rows, self.direction)
        self.pareto_rows = front
        keys = sorted({k for r in rows for k in r.params})
        self.model.set_rows(sorted(rows, key=lambda r: r.number), {r.number for r in front}, keys)
        self._plot(front)
        self._summarize()
        self._update_buttons()

    def add_row(self, row: TrialRow) -> None:
        """A trial that just finished (it replaces an earlier row of the same number)."""
        self.set_rows([r for r in self.rows if r.number != row.number] + [row])

    def _plot(self, front: list[TrialRow]) -> None:
        done = [r for r in self.rows if r.state == "COMPLETE" and r.value is not None]
        self.trial_points.setData([r.number for r in done], [r.value for r in done], data=[r.number for r in done])
        best, xs, ys = None, [], []
        for r in done:
            better = best is None or (r.value > best if self.direction == "maximize" else r.value < best)
            best = r.value if better else best
            xs.append(r.number)
            ys.append(best)
        self.best_line.setData(xs, ys)
        sized = [r for r in done if r.params_count is not None]
        self.size_points.setData([r.params_count for r in sized], [r.value for r in sized],
                                 data=[r.number for r in sized])
        self.front_points.setData([r.params_count for r in front], [r.value for r in front],
                                  data=[r.number for r in front])
        for widget in (self.by_trial, self.by_size):  # (their legends sit below the plots, off the points)
            widget.getPlotItem().setLabel("left", self.metric_name, color=theme.MUTED)

    def _summarize(self) -> None:
        if not self.rows:
            self.summary.setText("No trials yet.")
            return
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r.state] = counts.get(r.state, 0) + 1
        done = [r for r in self.rows if r.state == "COMPLETE" and r.value is not None]
        text = f"{len(self.rows)} trials (" + ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())) + ")"
        if done:
            best = max(done, key=lambda r: r.value) if self.direction == "maximize" else min(done, key=lambda r: r.value)
            text += f" · best {self.metric_name} {best.value:.4g} (trial {best.number}, {_text(best.params_count)} params)"
        self.summary.setText(f"{text}\n★ {len(self.pareto_rows)} on the Pareto front: no other trial is both better "
                             "and smaller")

    # ---- choosing a trial --------------------------------------------------------------------
    def selected_row(self) -> TrialRow | None:
        picked = self.table.selectionModel().selectedRows()
        return self.model.rows[self.proxy.mapToSource(picked[0]).row()] if picked else None

    def select_trial(self, number: int) -> None:
        for i, row in enumerate(self.model.rows):
            if row.number == number:
                self.table.selectRow(self.proxy.mapFromSource(self.model.index(i, 0)).row())
                return

    def _point_clicked(self, _scatter, points, *_args) -> None:
        if len(points):
            self.select_trial(int(points[0].data()))

    def open_selected(self) -> None:
        row = self.selected_row()
        if row is not None and row.run_dir:
            self.open_requested.emit(row)

    def _update_buttons(self) -> None:
        row = self.selected_row()
        self.open_button.setEnabled(row is not None and bool(row.run_dir))
