"""One editor widget per Param kind; each emits `committed(value)` when the user settles on a value."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QRegularExpression, QSignalBlocker, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from engine.layers.spec import Param

INT_LIMIT = 2**31 - 1
FLOAT_LIMIT = 1e12
CUSTOM = "number…"
MIN_FIELD_WIDTH = 64


class ParamEditor(QWidget):
    """Base: a row widget for one Param."""

    committed = Signal(object)

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(parent)
        self.param = param
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.setToolTip(param.doc)

    def set_value(self, value: Any) -> None:
        raise NotImplementedError


def _int_spin(param: Param) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(int(param.min) if param.min is not None else -INT_LIMIT,
                  int(param.max) if param.max is not None else INT_LIMIT)
    spin.setKeyboardTracking(False)
    spin.setAccelerated(True)
    spin.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
    spin.setToolTip(param.doc)
    return spin


class IntEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.spin = _int_spin(param)
        self.layout_.addWidget(self.spin)
        self.spin.valueChanged.connect(self.committed.emit)

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.spin):
            self.spin.setValue(int(value))


class FloatEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(6)
        self.spin.setRange(param.min if param.min is not None else -FLOAT_LIMIT,
                           param.max if param.max is not None else FLOAT_LIMIT)
        self.spin.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip(param.doc)
        self.layout_.addWidget(self.spin)
        self.spin.valueChanged.connect(self.committed.emit)

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.spin):
            self.spin.setValue(float(value))


class BoolEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.check = QCheckBox("on")
        self.check.setToolTip(param.doc)
        self.layout_.addWidget(self.check)
        self.check.toggled.connect(self.committed.emit)

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.check):
            self.check.setChecked(bool(value))


class ChoiceEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.combo = QComboBox()
        self.combo.addItems([str(c) for c in param.choices])
        self.combo.setToolTip(param.doc)
        self.layout_.addWidget(self.combo)
        self.combo.activated.connect(lambda i: self.committed.emit(param.choices[i]))

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.combo):
            self.combo.setCurrentIndex(list(self.param.choices).index(value) if value in self.param.choices else -1)


class TextEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.edit = QLineEdit()
        self.edit.setToolTip(param.doc)
        self.layout_.addWidget(self.edit)
        self.edit.editingFinished.connect(lambda: self.committed.emit(self.edit.text()))

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.edit):
            self.edit.setText(str(value))


class IntsEditor(ParamEditor):
    """A comma-separated list of whole numbers, e.g. "1, 28, 28"."""

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.edit = QLineEdit()
        self.edit.setToolTip(param.doc)
        self.edit.setPlaceholderText(", ".join(["1"] * (param.length or 3)))
        self.edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"[\s\d,\-]*"), self.edit))
        self.layout_.addWidget(self.edit)
        self.edit.editingFinished.connect(self._commit)

    def _commit(self) -> None:
        parts = [p for p in re.split(r"[\s,]+", self.edit.text().strip()) if p]
        try:
            self.committed.emit([int(p) for p in parts])
        except ValueError:
            self.committed.emit(self.edit.text())

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.edit):
            self.edit.setText(", ".join(str(v) for v in value))


class IntOrChoiceEditor(ParamEditor):
    """A combo of the named choices plus "number…", which enables a spin box (e.g. padding)."""

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.combo = QComboBox()
        self.combo.addItems([str(c) for c in param.choices] + [CUSTOM])
        self.combo.setToolTip(param.doc)
        self.spin = _int_spin(param)
        self.layout_.addWidget(self.combo, 1)
        self.layout_.addWidget(self.spin, 1)
        self.combo.activated.connect(self._combo_changed)
        self.spin.valueChanged.connect(self.committed.emit)

    def _combo_changed(self, index: int) -> None:
        custom = index == len(self.param.choices)
        self.spin.setEnabled(custom)
        self.committed.emit(self.spin.value() if custom else self.param.choices[index])

    def set_value(self, value: Any) -> None:
        custom = not isinstance(value, str)
        with QSignalBlocker(self.combo), QSignalBlocker(self.spin):
            self.combo.setCurrentIndex(len(self.param.choices) if custom else list(self.param.choices).index(value))
            if custom:
                self.spin.setValue(int(value))
        self.spin.setEnabled(custom)


EDITORS: dict[str, type[ParamEditor]] = {
    "int": IntEditor, "float": FloatEditor, "bool": BoolEditor, "choice": ChoiceEditor,
    "str": TextEditor, "ints": IntsEditor, "int_or_choice": IntOrChoiceEditor,
}


def editor_for(param: Param, parent: QWidget | None = None) -> ParamEditor:
    """The editor widget for `param`'s kind."""
    editor = EDITORS[param.kind](param, parent)
    for child in editor.findChildren(QWidget):
        child.setMinimumWidth(MIN_FIELD_WIDTH)  # spin boxes would size for their largest value
    return editor
