"""The dimensions table of the sweep dialog: one row per search dimension, each edit an undoable section change."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QToolButton,
    QWidget,
)

from editor.sweep.section import Target, all_targets, edit_sweep

COLUMNS = ("target", "kind", "low", "high", "log", "choices", "")
KINDS = ("int", "float", "choices")


def parse_number(text: str) -> int | float | None:
    """'16' -> 16, '1e-3' -> 0.001, anything else -> None."""
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return None


def parse_choices(text: str) -> list:
    """'4, 8, adam, true' -> [4, 8, 'adam', True] (JSON literals where they parse, else text)."""
    out: list[Any] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            out.append(json.loads(item))
        except json.JSONDecodeError:
            out.append(item.strip("'\""))
    return [v for v in out if v is None or isinstance(v, bool | int | float | str)]


def format_choices(choices: list) -> str:
    return ", ".join(c if isinstance(c, str) else json.dumps(c) for c in choices)


def kind_of(dim: dict) -> str:
    if "choices" in dim:
        return "choices"
    low, high = dim.get("low"), dim.get("high")
    return dim.get("type") or ("int" if isinstance(low, int) and isinstance(high, int) else "float")


def reshaped(dim: dict, kind: str, target: Target | None) -> dict:
    """`dim` turned into another kind, keeping what carries over (a range's ends become two choices...)."""
    base = {"target": dim.get("target")}
    if kind == "choices":
        if "choices" in dim:
            return {**base, "choices": dim["choices"]}
        if target is not None and "choices" in target.default:
            return {**base, "choices": target.default["choices"]}
        ends = [dim.get("low"), dim.get("high")]
        return {**base, "choices": [e for e in ends if e is not None] or [0]}
    numbers = [c for c in dim.get("choices", []) if isinstance(c, int | float) and not isinstance(c, bool)]
    low = dim.get("low", min(numbers) if numbers else (target.default.get("low") if target else None))
    high = dim.get("high", max(numbers) if numbers else (target.default.get("high") if target else None))
    low = 1 if low is None else low
    high = low + 1 if high is None or high <= low else high
    if kind == "int":
        low, high = int(low), max(int(high), int(low) + 1)
    else:
        low, high = float(low), float(high)
    return {**base, "type": kind, "low": low, "high": high, "log": bool(dim.get("log", False))}


class DimensionsTable(QTableWidget):
    """Shows `graph.sweep.dimensions`; every widget writes back through `edit_sweep` (undoable)."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.controller = controller
        self._shown: list | None = None
        self._pending = self._force = False
        self.targets: list[Target] = []
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, width in ((1, 96), (2, 70), (3, 70), (4, 36), (5, 120), (6, 30)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.setColumnWidth(column, width)
        self.verticalHeader().setDefaultSectionSize(30)
        self.setToolTip("Each row is one search dimension: a node param or a training setting, searched over "
                        "a range (int/float, optionally on a log scale) or a list of choices.")

    # ---- showing the section --------------------------------------------------------------------
    def dimensions(self) -> list:
        dims = (self.controller.graph.sweep or {}).get("dimensions") or []
        return dims if isinstance(dims, list) else []

    def schedule_refresh(self, force: bool = False) -> None:
        """Refresh once control returns to the event loop (never delete a widget inside its own signal)."""
        self._force = self._force or force
        if not self._pending:
            self._pending = True
            QTimer.singleShot(0, self, self._run_refresh)

    def _run_refresh(self) -> None:
        force, self._pending, self._force = self._force, False, False
        self.refresh(force)

    def refresh(self, force: bool = False) -> None:
        """Rebuild the rows when the section's dimensions differ from what is shown."""
        dims = self.dimensions()
        if dims == self._shown and not force:
            return
        self._shown = json.loads(json.dumps(dims))
        self.targets = all_targets(self.controller.graph)
        for row in range(self.rowCount()):  # a focused field losing focus as it goes must not write back
            for column in range(self.columnCount()):
                widget = self.cellWidget(row, column)
                if widget is not None:
                    widget.blockSignals(True)
        self.setRowCount(0)
        self.setRowCount(len(dims))
        for row, dim in enumerate(dims):
            self._fill_row(row, dim if isinstance(dim, dict) else {})

    def _dim(self, row: int) -> dict | None:
        """Row `row`'s dimension, or None when the row is gone (a late signal from a removed widget)."""
        dims = self.dimensions()
        return dims[row] if 0 <= row < len(dims) and isinstance(dims[row], dict) else None

    def _target(self, key: str | None) -> Target | None:
        return next((t for t in self.targets if t.key == key), None)

    def _fill_row(self, row: int, dim: dict) -> None:
        kind = kind_of(dim)
        target = QComboBox()
        for t in self.targets:
            target.addItem(t.label, t.key)
        key = dim.get("target")
        if target.findData(key) < 0:
            target.addItem(f"{key} (not found)", key)
        target.setCurrentIndex(target.findData(key))
        target.setToolTip("What this dimension changes: 'node · param' or 'training · setting'")
        target.activated.connect(lambda _i, r=row, w=target: self._set_target(r, w.currentData()))
        kinds = QComboBox()
        kinds.addItems(KINDS)
        kinds.setCurrentText(kind)
        kinds.setToolTip("int or float: a range from low to high; choices: a list of values")
        kinds.activated.connect(lambda _i, r=row, w=kinds: self._set_kind(r, w.currentText()))
        is_range = kind != "choices"
        low, high = QLineEdit(), QLineEdit()
        for edit, name in ((low, "low"), (high, "high")):
            edit.setText(str(dim.get(name, "")) if is_range else "")
            edit.setEnabled(is_range)
            edit.setPlaceholderText(name if is_range else "–")
            edit.editingFinished.connect(lambda r=row, n=name, w=edit: self._set_end(r, n, w.text()))
        log = QCheckBox()
        log.setChecked(bool(dim.get("log", False)))
        log.setEnabled(is_range)
        log.setToolTip("Sample on a log scale (learning rates, widths spanning several octaves)")
        log.toggled.connect(lambda on, r=row: self._set_field(r, "log", bool(on)))
        choices = QLineEdit(format_choices(dim.get("choices", [])) if not is_range else "")
        choices.setEnabled(not is_range)
        choices.setPlaceholderText("e.g. 8, 16, 32" if not is_range else "–")
        choices.setToolTip("Values separated by commas (numbers, text, true/false)")
        choices.editingFinished.connect(lambda r=row, w=choices: self._set_choices(r, w.text()))
        remove = QToolButton()
        remove.setText("✕")
        remove.setToolTip("Remove this dimension")
        remove.clicked.connect(lambda _c=False, r=row: self.remove_row(r))
        for column, widget in enumerate((target, kinds, low, high, log, choices, remove)):
            self.setCellWidget(row, column, widget)

    # ---- edits ------------------------------------------------------------------------------------
    def _edit_row(self, row: int, key: str, change) -> None:
        def mutate(section: dict) -> None:
            dims = section.setdefault("dimensions", [])
            dims[row] = change(dict(dims[row]))

        edit_sweep(self.controller, f"dimension {row} {key}", mutate)

    def _set_target(self, row: int, key: str) -> None:
        target, dim = self._target(key), self._dim(row)
        if target is None or dim is None or dim.get("target") == key:
            return
        self._edit_row(row, "target", lambda _dim: {"target": key, **target.default})

    def _set_kind(self, row: int, kind: str) -> None:
        dim = self._dim(row)
        if dim is not None and kind_of(dim) != kind:
            self._edit_row(row, "kind", lambda d: reshaped(d, kind, self._target(d.get("target"))))

    def _set_end(self, row: int, name: str, text: str) -> None:
        value, dim = parse_number(text), self._dim(row)
        if dim is None:
            return
        if value is None or dim.get(name) == value:
            self._restore(row, name, dim)
            return
        if kind_of(dim) == "float":
            value = float(value)
        self._edit_row(row, name, lambda d: {**d, name: value})

    def _restore(self, row: int, name: str, dim: dict) -> None:
        widget = self.cellWidget(row, COLUMNS.index(name))
        with QSignalBlocker(widget):
            widget.setText(str(dim.get(name, "")))

    def _set_field(self, row: int, name: str, value: Any) -> None:
        dim = self._dim(row)
        if dim is not None and dim.get(name) != value:
            self._edit_row(row, name, lambda d: {**d, name: value})

    def _set_choices(self, row: int, text: str) -> None:
        values, dim = parse_choices(text), self._dim(row)
        if dim is None:
            return
        if values and values != dim.get("choices"):
            self._edit_row(row, "choices", lambda d: {**d, "choices": values})
        elif not values:
            self.schedule_refresh(force=True)

    def remove_row(self, row: int) -> None:
        if self._dim(row) is None:
            return

        def mutate(section: dict) -> None:
            del section["dimensions"][row]

        edit_sweep(self.controller, f"remove dimension {row}", mutate)

    def focus_target(self, key: str) -> None:
        """Scroll to the row of `key` and put the focus on its first range or choices field."""
        self.refresh()
        for row, dim in enumerate(self.dimensions()):
            if isinstance(dim, dict) and dim.get("target") == key:
                self.scrollTo(self.model().index(row, 0))
                column = COLUMNS.index("choices" if kind_of(dim) == "choices" else "low")
                self.cellWidget(row, column).setFocus(Qt.FocusReason.OtherFocusReason)
                return
