"""The problems list: one row per validation problem; click to select the node, Fix to mend it."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QHeaderView, QPushButton, QTreeWidget, QTreeWidgetItem, QWidget

from editor import theme
from engine.datacheck import FIX_TITLES
from engine.errors import Problem
from engine.layers.registry import get_spec

PROBLEM_ROLE = Qt.ItemDataRole.UserRole
COLUMNS = ("Node", "Problem", "Hint", "")
ROW_HEIGHT = 32


def fix_text(fix: str) -> tuple[str, str]:
    """(button text, tooltip) of a problem's fix: a named graph edit, or a layer type to insert before the node."""
    if fix in FIX_TITLES:
        return FIX_TITLES[fix], "Set the Input and Output nodes (and the last layer's size) to fit the chosen data."
    title = get_spec(fix).title
    return f"Insert {title}", f"Insert a {title} layer before this node, wired in."


class ProblemsPanel(QTreeWidget):
    """Lists the controller's current problems; a Fix button where the problem names a fix."""

    count_changed = Signal(int)

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(COLUMNS)
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setWordWrap(True)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.setColumnWidth(0, 170)
        self.itemClicked.connect(self._select)
        controller.validation_changed.connect(self.show_validation)
        self.show_validation(controller.validation)

    def show_validation(self, validation) -> None:
        """Replace the rows with `validation.problems`."""
        self.clear()
        graph = self.controller.graph
        for problem in validation.problems:
            node = graph.nodes.get(problem.node_id) if problem.node_id else None
            item = QTreeWidgetItem(self, [node.name if node else "(graph)", problem.message, problem.hint, ""])
            item.setIcon(0, theme.icon("error" if problem.severity == "error" else "warning"))
            item.setData(0, PROBLEM_ROLE, problem)
            item.setSizeHint(0, QSize(0, ROW_HEIGHT))
            for col in (1, 2):
                item.setToolTip(col, f"{problem.message}\n{problem.hint}".strip())
            if problem.fix and node:
                self.setItemWidget(item, 3, self._fix_button(problem, problem.fix))
        self.count_changed.emit(len(validation.problems))

    def _fix_button(self, problem: Problem, fix_type: str) -> QPushButton:
        text, tip = fix_text(fix_type)
        button = QPushButton(theme.icon("fix"), text)
        button.setToolTip(tip)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.setObjectName("FixButton")
        # deferred: applying the fix re-validates, which rebuilds this list and deletes the button
        button.clicked.connect(lambda: QTimer.singleShot(0, lambda: self.controller.apply_fix(problem)))
        return button

    def fix_button(self, row: int) -> QPushButton | None:
        """The Fix button of row `row`, if it has one."""
        widget = self.itemWidget(self.topLevelItem(row), 3)
        return widget if isinstance(widget, QPushButton) else None

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.topLevelItemCount() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(QColor(theme.MUTED))
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter,
                             "No problems: every wire carries a shape its layer accepts.")
            painter.end()

    def _select(self, item: QTreeWidgetItem) -> None:
        """Select the problem's node and bring it to the middle of the canvas."""
        problem: Problem = item.data(0, PROBLEM_ROLE)
        if problem.node_id and problem.node_id in self.controller.graph.nodes:
            self.controller.select_node(problem.node_id)
            self.controller.center_on(problem.node_id)
