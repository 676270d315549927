"""Help > Layer reference: every layer type with its explanation, searchable."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from editor.panels.palette import KEY_ROLE, KIND_ROLE, Palette
from editor.panels.properties import explanation_html
from engine.layers.registry import get_spec


class LayerReference(QDialog):
    """The palette on the left, the chosen layer's documentation on the right."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Layer reference")
        self.resize(900, 620)
        self.palette_ = Palette()
        self.palette_.setFixedWidth(280)
        self.title = QLabel(objectName="PanelTitle")
        self.body = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(16, 12, 16, 12)
        column.addWidget(self.title)
        column.addWidget(self.body, 1)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(page)
        layout = QHBoxLayout(self)
        layout.addWidget(self.palette_)
        layout.addWidget(scroll, 1)
        self.palette_.tree.currentItemChanged.connect(lambda item, _prev: self._show(item))
        self.palette_.tree.setCurrentItem(self.palette_.tree.topLevelItem(0).child(0))

    def _show(self, item) -> None:
        if item is None or item.data(0, KIND_ROLE) != "layer":
            return
        spec = get_spec(item.data(0, KEY_ROLE))
        self.title.setText(f"{spec.title}  ·  {spec.category}")
        params = "".join(f"<tr><td style='padding-right:10px'><b>{html.escape(p.label)}</b></td><td>{html.escape(p.doc)}</td></tr>"
                         for p in spec.params)
        table = f"<p style='margin-top:12px'><b>Settings</b></p><table>{params}</table>" if params else ""
        self.body.setText(explanation_html(spec) + table)
