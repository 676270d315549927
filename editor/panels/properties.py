"""The properties panel: widgets generated from the selected node's spec, plus its explanation."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from editor import theme
from editor.panels.param_widgets import ParamEditor, editor_for
from engine import finetune
from engine.errors import GraphError
from engine.layers.registry import get_spec
from engine.layers.spec import LayerSpec
from engine.shapes_format import format_shape

NO_SHARING = "(own weights)"


def explanation_html(spec: LayerSpec) -> str:
    """The layer's documentation as rich text: summary, what it does, pros, cons, when to use."""
    def items(values: tuple[str, ...], colour: str, mark: str) -> str:
        return "".join(f"<tr><td style='color:{colour};padding-right:6px'>{mark}</td>"
                       f"<td style='padding-bottom:4px'>{html.escape(v)}</td></tr>" for v in values)

    def heading(text: str) -> str:
        return (f"<p style='margin-top:12px;margin-bottom:4px;color:{theme.MUTED};font-weight:600;"
                f"letter-spacing:1px'>{text.upper()}</p>")

    parts = [f"<p style='font-size:11pt'><i>{html.escape(spec.summary)}</i></p>",
             heading("What it does"), f"<p>{html.escape(spec.explanation)}</p>"]
    if spec.advantages:
        parts += [heading("Advantages"), f"<table>{items(spec.advantages, theme.OK_COLOR, '+')}</table>"]
    if spec.disadvantages:
        parts += [heading("Disadvantages"), f"<table>{items(spec.disadvantages, theme.WARNING_COLOR, '−')}</table>"]
    if spec.when_to_use:
        parts += [heading("When to use"), f"<p>{html.escape(spec.when_to_use)}</p>"]
    return "".join(parts)


def _label(text: str, name: str = "", wrap: bool = False) -> QLabel:
    """A label of HTML text (callers escape what users typed), never guessed to be plain text."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.RichText)
    if name:
        label.setObjectName(name)
    label.setWordWrap(wrap)
    return label


class PropertiesPanel(QScrollArea):
    """Edits the one selected node through the controller, so every change is undoable."""

    sweep_requested = Signal(str, str)
    """(node id, param name): the user chose "Sweep this param…" on a param's label."""

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.node_id: str | None = None
        self._type: str | None = None
        self.editors: dict[str, ParamEditor] = {}
        self.name_edit: QLineEdit | None = None
        self.shares_combo: QComboBox | None = None
        self.cost_text: Callable[[str], str] | None = None
        """node id -> its cost line (set by the editor's cost view); shown under the output shape."""
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        controller.selection_changed.connect(lambda _ids: self.refresh())
        controller.graph_changed.connect(self.refresh)
        controller.validation_changed.connect(lambda _v: self._show_status())
        self.refresh()

    # ---- building ------------------------------------------------------------------------
    def _set_page(self, page: QWidget) -> None:
        old = self.takeWidget()
        if old is not None:
            old.deleteLater()
        self.setWidget(page)

    def _show_empty(self, text: str) -> None:
        """No single node selected: an overview of the project and what to do next."""
        self.node_id = self._type = None
        self.editors = {}
        self.name_edit = self.shares_combo = None
        graph, v = self.controller.graph, self.controller.validation
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(14, 12, 14, 14)
        layout.setSpacing(8)
        layout.addWidget(_label(html.escape(graph.name or "Untitled"), "PanelTitle", wrap=True))
        errors = len(v.errors)
        state = (f"<span style='color:{theme.ERROR_COLOR}'>{errors} error{'s' if errors != 1 else ''}</span>"
                 if errors else f"<span style='color:{theme.OK_COLOR}'>valid</span>")
        layout.addWidget(_label(f"{len(graph.nodes)} layers · {v.total_params:,} parameters · {state}", "Muted"))
        if graph.description:
            layout.addWidget(_label(html.escape(graph.description), wrap=True))
        if graph.tags:
            layout.addWidget(_label(" ".join(f"<span style='color:{theme.ACCENT}'>#{html.escape(t)}</span>"
                                             for t in graph.tags), wrap=True))
        hint = _label(text, "EmptyState", wrap=True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(hint)
        layout.addStretch(1)
        self._set_page(page)

    def refresh(self) -> None:
        """Follow the selection and the graph: rebuild for another node, else update values in place."""
        ids = self.controller.selected_ids()
        graph = self.controller.graph
        if len(ids) != 1 or ids[0] not in graph.nodes:
            self._show_empty(f"{len(ids)} nodes selected." if len(ids) > 1
                             else "Select a node on the canvas to see and edit its settings.")
            return
        node = graph.nodes[ids[0]]
        if (node.id, node.type) != (self.node_id, self._type):
            self._build(node.id)
        self._sync()

    def _build(self, node_id: str) -> None:
        node = self.controller.graph.nodes[node_id]
        spec = get_spec(node.type)
        self.node_id, self._type = node.id, node.type
        page = QWidget()
        page.setObjectName("PropertiesPage")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(14, 12, 14, 14)
        layout.setSpacing(8)
        colour = theme.CATEGORY_COLORS.get(spec.category, theme.OTHER_CATEGORY_COLOR)
        title = _label(f"{html.escape(spec.title)}", "PanelTitle")
        layout.addWidget(title)
        layout.addWidget(_label(f"<span style='color:{colour}'>●</span> {html.escape(spec.category)}"
                                f" <span style='color:{theme.MUTED}'>· {spec.type_id}</span>"))
        self.status_label = _label("", "Muted", wrap=True)
        layout.addWidget(self.status_label)
        self.cost_label = _label("", "Muted", wrap=True)
        layout.addWidget(self.cost_label)
        self.problem_label = _label("", "InlineError", wrap=True)
        layout.addWidget(self.problem_label)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("The node's name; the generated code uses it as the attribute name.")
        self.name_edit.editingFinished.connect(self._rename)
        form.addRow("name", self.name_edit)
        self.editors = {}
        for param in spec.params:
            editor = editor_for(param)
            editor.committed.connect(lambda value, name=param.name: self._commit(name, value))
            label = _label(param.label)
            label.setToolTip(param.doc)
            if param.kind in ("int", "float", "choice", "bool", "int_or_choice"):
                label.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
                sweep = QAction("Sweep this param…", label)
                sweep.triggered.connect(lambda _c=False, n=param.name: self.sweep_requested.emit(self.node_id, n))
                label.addAction(sweep)
            form.addRow(label, editor)
            self.editors[param.name] = editor
        self.shares_combo = None
        if spec.has_weights:
            self.shares_combo = QComboBox()
            self.shares_combo.setToolTip("Reuse another node's weights (Siamese branches): both nodes then "
                                         "train one set of parameters.")
            self.shares_combo.activated.connect(self._share)
            form.addRow("shares weights", self.shares_combo)
        layout.addLayout(form)
        self.error_label = _label("", "InlineError", wrap=True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        line = QFrame()
        line.setObjectName("Separator")
        layout.addWidget(line)
        doc = _label(explanation_html(spec), wrap=True)
        doc.setTextFormat(Qt.TextFormat.RichText)
        doc.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(doc)
        layout.addStretch(1)
        self._set_page(page)

    # ---- keeping in step with the graph ------------------------------------------------------
    def _sync(self) -> None:
        node = self.controller.graph.nodes[self.node_id]
        with QSignalBlocker(self.name_edit):
            self.name_edit.setText(node.name)
        for name, editor in self.editors.items():
            editor.set_value(node.params[name])
        if self.shares_combo is not None:
            others = [n for n in self.controller.graph.nodes.values()
                      if n.type == node.type and n.id != node.id and not n.shares]
            with QSignalBlocker(self.shares_combo):
                self.shares_combo.clear()
                self.shares_combo.addItem(NO_SHARING, None)
                for other in others:
                    self.shares_combo.addItem(other.name, other.id)
                self.shares_combo.setCurrentIndex(max(0, self.shares_combo.findData(node.shares)))
        self._show_status()

    def _show_status(self) -> None:
        if self.node_id is None or self.node_id not in self.controller.graph.nodes:
            return
        v = self.controller.validation
        shape = format_shape(v.shapes.get(self.node_id))
        count = v.param_counts.get(self.node_id, 0)
        graph = self.controller.graph
        mult = finetune.lr_mults(graph)[self.node_id]
        tuning = ("  ·  frozen" if count and self.node_id in finetune.frozen_ids(graph) else "") + (
            f"  ·  lr ×{mult:g}" if count and mult != 1 else "")
        self.status_label.setText(f"output {shape}  ·  {count:,} parameters{tuning}")
        cost = self.cost_text(self.node_id) if self.cost_text is not None else ""
        self.cost_label.setText(html.escape(cost))
        self.cost_label.setVisible(bool(cost))
        problems = v.problems_for(self.node_id)
        self.problem_label.setText("<br>".join(
            f"<b>{html.escape(p.message)}</b>" + (f"<br>{html.escape(p.hint)}" if p.hint else "") for p in problems))
        self.problem_label.setVisible(bool(problems))

    def refresh_cost(self) -> None:
        """Show a newly computed cost for the selected node."""
        self._show_status()

    # ---- edits ---------------------------------------------------------------------------
    def _commit(self, name: str, value: Any) -> None:
        node = self.controller.graph.nodes.get(self.node_id)
        if node is None or node.params.get(name) == value:
            self.show_error("")
            return
        try:
            self.controller.set_param(self.node_id, name, value)
        except GraphError as exc:
            self.show_error(str(exc))
        else:
            self.show_error("")

    def _rename(self) -> None:
        text = self.name_edit.text().strip()
        node = self.controller.graph.nodes.get(self.node_id)
        if node is None or text == node.name:
            return
        try:
            if not text:
                raise GraphError("a node needs a name")
            self.controller.rename_node(self.node_id, text)
        except GraphError as exc:
            self.show_error(str(exc))
        else:
            self.show_error("")

    def _share(self, index: int) -> None:
        try:
            self.controller.set_shares(self.node_id, self.shares_combo.itemData(index))
        except GraphError as exc:
            self.show_error(str(exc))

    def show_error(self, message: str) -> None:
        """Show why the last edit was refused (empty: hide)."""
        if self.node_id is None:
            return
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
