"""New from template: the example projects by task, each with a diagram preview and its description."""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor import theme
from editor.panels.diagram import render_diagram
from editor.templates import OTHER_TASK, TASKS, Template, all_templates
from engine.graph import Graph

ALL = "All templates"
THUMB = QSize(200, 112)
GRID = QSize(224, 178)
PREVIEW = QSize(460, 300)
STEM_ROLE = Qt.ItemDataRole.UserRole


class Gallery(QWidget):
    """The templates grouped by task: a task list and a grid of diagram thumbnails, optionally a detail pane.

    `activated(stem)` fires when a template is double-clicked (or Enter is pressed on it).
    """

    activated = Signal(str)
    current_changed = Signal()

    def __init__(self, detail: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.templates, self.broken = all_templates()
        self._by_stem = {t.stem: t for t in self.templates}

        self.tasks = QListWidget()
        self.tasks.setSpacing(1)
        present = {task for t in self.templates for task in t.tasks}
        for task in (ALL, *TASKS, OTHER_TASK):
            if task == ALL or task in present:
                count = len(self.templates) if task == ALL else sum(task in t.tasks for t in self.templates)
                item = QListWidgetItem(f"{task}  ({count})")
                item.setData(STEM_ROLE, task)
                self.tasks.addItem(item)
        self.fit_tasks(210)

        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setIconSize(THUMB)
        self.list.setGridSize(GRID)
        self.list.setWordWrap(True)
        self.list.setMinimumWidth(2 * GRID.width() + 24)
        self.preview = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel(objectName="PanelTitle")
        self.description = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.description.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        body = QHBoxLayout(self)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.tasks)
        body.addWidget(self.list, 1)
        self.detail = detail
        if detail:
            self.preview.setMinimumSize(PREVIEW)
            column = QVBoxLayout()
            column.setSpacing(10)
            column.addWidget(self.preview)
            column.addWidget(self.title)
            column.addWidget(self.description, 1)
            detail_box = QWidget()
            detail_box.setLayout(column)
            detail_box.setMinimumWidth(PREVIEW.width() + 10)
            body.addWidget(detail_box)

        self.tasks.currentRowChanged.connect(lambda _row: self._fill())
        self.list.currentItemChanged.connect(lambda _cur, _prev: self._show_current())
        self.list.itemActivated.connect(lambda item: self.activated.emit(item.data(STEM_ROLE)))
        self.tasks.setCurrentRow(0)

    def fit_tasks(self, minimum: int) -> None:
        """Make the task list `minimum` px wide, or wider where a task name and its count need it (in the
        list's current style and font), with room for a scroll bar."""
        tasks = self.tasks
        tasks.ensurePolished()
        need = tasks.sizeHintForColumn(0) + 2 * (tasks.frameWidth() + tasks.spacing()) + \
            tasks.verticalScrollBar().sizeHint().width()
        tasks.setFixedWidth(max(minimum, need))

    def changeEvent(self, event) -> None:
        """After a theme switch (the new stylesheet sends StyleChange) draw the diagrams again in its colours."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.StyleChange and self._drawn_in != theme.CURRENT:
            current = self.current()
            self._fill()
            if current is not None:
                for row in range(self.list.count()):
                    if self.list.item(row).data(STEM_ROLE) == current.stem:
                        self.list.setCurrentRow(row)

    def _fill(self) -> None:
        self._drawn_in = theme.CURRENT
        item = self.tasks.currentItem()
        task = item.data(STEM_ROLE) if item else ALL
        self.list.clear()
        for template in self.templates:
            if task == ALL or task in template.tasks:
                entry = QListWidgetItem(QIcon(render_diagram(template.graph, THUMB)), template.title)
                entry.setData(STEM_ROLE, template.stem)
                entry.setToolTip(f"<b>{html.escape(template.title)}</b><br>{html.escape(template.graph.description)}")
                self.list.addItem(entry)
        self.list.setCurrentRow(0)
        self._show_current()

    def _show_current(self) -> None:
        self.current_changed.emit()
        if not self.detail:
            return
        template = self.current()
        if template is None:
            self.preview.clear()
            self.title.setText("No templates found" if not self.templates else "")
            self.description.setText("")
            return
        graph = template.graph
        self.preview.setPixmap(render_diagram(graph, PREVIEW))
        self.title.setText(template.title)
        tags = " ".join(f"<span style='color:{theme.ACCENT}'>#{html.escape(t)}</span>" for t in graph.tags)
        self.description.setText(
            f"<p>{html.escape(graph.description) or '<i>No description.</i>'}</p>"
            f"<p style='color:{theme.MUTED}'>{len(graph.nodes)} layers · suits: "
            f"{html.escape(', '.join(template.tasks))}</p><p>{tags}</p>")

    def current(self) -> Template | None:
        item = self.list.currentItem()
        return self._by_stem.get(item.data(STEM_ROLE)) if item else None

    def select(self, stem: str) -> None:
        """Show every template and make `stem` the current one."""
        self.tasks.setCurrentRow(0)
        for row in range(self.list.count()):
            if self.list.item(row).data(STEM_ROLE) == stem:
                self.list.setCurrentRow(row)

    def chosen(self) -> Graph | None:
        """A fresh copy of the current template's graph."""
        template = self.current()
        return template.graph.copy() if template else None


class GalleryDialog(QDialog):
    """New from template: the gallery with its detail pane; accept() leaves the pick in `chosen()`."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("New from template")
        self.resize(1240, 700)
        self.gallery = Gallery(detail=True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create = self.buttons.addButton("Create project", QDialogButtonBox.ButtonRole.AcceptRole)
        self.create.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Start from a working network, then change it", objectName="PanelTitle"))
        if self.gallery.broken:
            note = QLabel("Some templates could not be read: " + "; ".join(self.gallery.broken),
                          objectName="InlineError", wordWrap=True)
            layout.addWidget(note)
        layout.addWidget(self.gallery, 1)
        layout.addWidget(self.buttons)
        self.gallery.activated.connect(lambda _stem: self.accept())
        self.gallery.current_changed.connect(lambda: self.create.setEnabled(self.gallery.current() is not None))
        self.create.setEnabled(self.gallery.current() is not None)

    def chosen(self) -> Graph | None:
        """A fresh copy of the picked template's graph."""
        return self.gallery.chosen()
