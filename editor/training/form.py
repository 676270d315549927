"""A settings form whose every row reads and writes one key of a project section through an undoable edit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLineEdit, QSpinBox, QWidget

from editor.training.sections import set_key
from editor.training.widgets import SciSpinBox
from engine.sections import Key


@dataclass
class Field:
    """One row: `path` in the section ('lr', 'early_stopping.patience'), its widget and label."""

    path: str
    label: str
    widget: QWidget
    tip: str = ""


class TextEdit(QLineEdit):
    """A line edit with the spin boxes' `value` / `setValue` / `valueChanged`, sent when editing finishes."""

    valueChanged = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.editingFinished.connect(self._finished)

    def value(self) -> Any:
        return self.text().strip()

    def setValue(self, value: Any) -> None:
        self.setText("" if value is None else str(value))

    def _finished(self) -> None:
        value = self.value()
        if value is not None:
            self.valueChanged.emit(value)


class IntsEdit(TextEdit):
    """Whole numbers typed as '32, 40'; a text of another count or non-numbers is not written."""

    def __init__(self, length: int | None) -> None:
        super().__init__()
        self.length = length

    def value(self) -> list[int] | None:
        try:
            values = [int(v) for v in self.text().replace(",", " ").split()]
        except ValueError:
            return None
        return values if values and self.length in (None, len(values)) else None

    def setValue(self, value: Any) -> None:
        self.setText(", ".join(str(v) for v in value or ()))


def combo(choices: tuple[str, ...] | list[str], editable: bool = False, values: tuple | None = None) -> QComboBox:
    """A choice box; with `values`, item i shows `choices[i]` and stands for `values[i]` in the section."""
    box = QComboBox()
    for i, text in enumerate(choices):
        box.addItem(text, None if values is None else values[i])
    box.setEditable(editable)
    return box


def int_spin(minimum: int, maximum: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(minimum, maximum)
    spin.setKeyboardTracking(False)
    spin.setAccelerated(True)
    return spin


def float_spin(minimum: float, maximum: float, step: float, decimals: int = 3) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(minimum, maximum)
    spin.setSingleStep(step)
    spin.setDecimals(decimals)
    spin.setKeyboardTracking(False)
    return spin


def sci_spin(minimum: float, maximum: float) -> SciSpinBox:
    return SciSpinBox(minimum, maximum)


def widget_for(key: Key) -> QWidget:
    """The input widget a declared section key asks for: its kind, range, choices, step and decimals."""
    if key.kind == "bool":
        return QCheckBox()
    if key.kind == "choice":
        labels = key.labels or tuple(str(c) for c in key.choices)
        return combo(labels, editable=key.suggest, values=tuple(key.choices) if key.labels else None)
    if key.kind == "int":
        return int_spin(int(key.lowest), int(min(key.highest, 2**31 - 1)))
    if key.kind == "float":
        if key.log:
            return sci_spin(key.lowest, key.highest)
        decimals = key.decimals if key.decimals is not None else 3
        return float_spin(key.lowest, key.highest, key.step or 0.1, decimals)
    if key.kind == "str":
        return TextEdit()
    if key.kind == "ints":
        return IntsEdit(key.length)
    raise ValueError(f"{key.name}: a {key.kind} setting has no form widget")


def field_for(key: Key, widget: QWidget | None = None) -> Field:
    """A form row for a declared key: its title, tooltip and widget (or `widget` where the choices are dynamic)."""
    return Field(key.name, key.label, widget if widget is not None else widget_for(key), key.doc)


def widget_value(widget: QWidget) -> Any:
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        data = widget.currentData()
        return widget.currentText() if data is None else data
    return widget.value()


def show_value(widget: QWidget, value: Any) -> None:
    """Display `value` without emitting a change (so showing the project never edits it)."""
    with QSignalBlocker(widget):
        if isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QComboBox):
            by_value = widget.count() and widget.itemData(0) is not None
            index = next((i for i in range(widget.count()) if widget.itemData(i) == value), -1) if by_value \
                else widget.findText(str(value))
            if index >= 0:
                widget.setCurrentIndex(index)
            elif widget.isEditable():
                widget.setEditText(str(value))
        elif isinstance(widget, QSpinBox):
            widget.setValue(int(value))
        elif isinstance(widget, TextEdit):
            widget.setValue(value)
        else:
            widget.setValue(float(value))


def changed_signal(widget: QWidget):
    if isinstance(widget, QCheckBox):
        return widget.toggled
    if isinstance(widget, QComboBox):
        return widget.currentTextChanged
    return widget.valueChanged


class SectionForm(QFormLayout):
    """Rows bound to keys of `section`; `refresh(values)` shows a {path: value} mapping."""

    def __init__(self, controller, section: str, on_edit: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.controller, self.section = controller, section
        self.fields: dict[str, Field] = {}
        self._on_edit = on_edit
        self.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

    def add(self, field: Field) -> Field:
        field.widget.setToolTip(field.tip)
        self.addRow(field.label, field.widget)
        self.fields[field.path] = field
        changed_signal(field.widget).connect(lambda _v, f=field: self.write(f))
        return field

    def write(self, field: Field) -> None:
        set_key(self.controller, self.section, field.path, widget_value(field.widget))
        if self._on_edit:
            self._on_edit()

    def refresh(self, values: dict[str, Any]) -> None:
        for path, field in self.fields.items():
            if path in values:
                show_value(field.widget, values[path])

    def show_rows(self, visible: dict[str, bool]) -> None:
        for path, shown in visible.items():
            self.setRowVisible(self.fields[path].widget, shown)
