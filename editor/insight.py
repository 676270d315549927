"""What issue 18 adds to the main window: the live preview (Preview panel, strips on nodes), cost colouring and
cost in the properties panel, with their View menu toggles; trained weights reach the preview after a run."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

from editor.cost_view import MEASURES, CostView
from editor.live_preview import LivePreview
from editor.panels.preview_panel import PreviewPanel
from engine.runs import open_run


class Insight(QObject):
    """The preview and cost views of one main window."""

    def __init__(self, window: QMainWindow, controller) -> None:
        super().__init__(window)
        self.window, self.controller = window, controller
        self.preview = LivePreview(controller, self)
        self.cost = CostView(controller, self)
        self.strips_action = self._toggle("Preview strips on nodes", self.preview.show_strips,
                                          "Under each node, its output for the previewed sample")
        self.cost_action = self._toggle("Cost colouring", self.cost.set_colouring,
                                        "Colour each node by what it costs: the hottest costs most")
        self.panel = PreviewPanel(controller, self.preview, self.strips_action)
        self.dock = QDockWidget("Preview", window)
        self.dock.setObjectName("PreviewDock")
        self.dock.setWidget(self.panel)
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        properties = getattr(window, "properties_dock", None)
        if properties is not None:
            window.tabifyDockWidget(properties, self.dock)
            properties.raise_()
        self._menu()
        self.dock.visibilityChanged.connect(lambda _shown: self._follow())
        self.strips_action.toggled.connect(lambda _on: self._follow())
        self._follow()
        props = getattr(window, "properties", None)
        if props is not None:
            props.cost_text = self.cost.line
            self.cost.updated.connect(props.refresh_cost)
        training = getattr(window, "training", None)
        if training is not None:
            training.runner.finished.connect(lambda _event: self.use_run(training.target_run()))
        document = getattr(window, "document", None)
        if document is not None and hasattr(document, "replaced"):
            document.replaced.connect(lambda: self.preview.use_weights(None))

    def _follow(self) -> None:
        """Preview only while someone can see it: the Preview panel is shown or the strips are on (on a large
        graph every edit would otherwise pay for a preview nobody looks at)."""
        self.preview.set_enabled(self.dock.isVisible() and not self.dock.visibleRegion().isEmpty()
                                 or self.strips_action.isChecked())

    def _toggle(self, text: str, slot, tip: str) -> QAction:
        action = QAction(text, self.window)
        action.setCheckable(True)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.toggled.connect(slot)
        return action

    def _menu(self) -> None:
        menus = self.window.menuBar().findChildren(QMenu)
        view = next((m for m in menus if m.title().replace("&", "") == "View"), None)
        if view is None:
            return
        view.addSeparator()
        view.addAction(self.strips_action)
        view.addAction(self.cost_action)
        by = view.addMenu("Colour cost by")
        group = QActionGroup(by)
        for key, name in MEASURES.items():
            action = by.addAction(name)
            action.setCheckable(True)
            action.setChecked(key == self.cost.measure)
            action.triggered.connect(lambda _c=False, k=key: self.cost.set_measure(k))
            group.addAction(action)
        panels = next((m for m in menus if m.title().replace("&", "") == "Panels"), None)
        if panels is not None:
            panels.addAction(self.dock.toggleViewAction())

    def use_run(self, run_path: str | Path | None) -> None:
        """Preview with a run's best (or last) weights."""
        if run_path is None:
            return
        name = Path(run_path).name
        self.preview.use_weights(lambda: open_run(run_path).load_model()[0], f"trained weights of run {name}")


def install_insight(window: QMainWindow, controller) -> Insight:
    return Insight(window, controller)
