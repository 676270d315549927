"""The one entry point the main window calls for sweeps: the Experiments menu, a toolbar action, "sweep this param"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QInputDialog, QMainWindow, QMenu, QStyle, QToolBar

from editor.files import data_dir
from editor.sweep.dialog import SweepDialog
from editor.sweep.section import node_targets
from engine.errors import DeepWireError
from engine.runs import open_run
from engine.sweep import TrialRow


class SweepTools(QObject):
    """Owns the sweep dialog (made on first use) and the actions that open it."""

    def __init__(self, window: QMainWindow, controller) -> None:
        super().__init__(window)
        self.window, self.controller = window, controller
        self.dialog: SweepDialog | None = None
        style = window.style()
        self.sweep_action = QAction(style.standardIcon(QStyle.StandardPixmap.SP_FileDialogContentsView),
                                    "S&weep…", window)
        self.sweep_action.setToolTip("Search params and training settings over many trials (Optuna)")
        self.sweep_action.setStatusTip(self.sweep_action.toolTip())
        self.sweep_action.triggered.connect(lambda _c=False: self.show_dialog())
        self.param_action = QAction("Sweep a &param of the selected node…", window)
        self.param_action.setToolTip("Add one of the selected node's params to the sweep as a search dimension")
        self.param_action.setStatusTip(self.param_action.toolTip())
        self.param_action.triggered.connect(lambda _c=False: self.sweep_selected())
        self._add_menu()
        self._add_toolbar()
        properties = getattr(window, "properties", None)
        if properties is not None and hasattr(properties, "sweep_requested"):
            properties.sweep_requested.connect(self.sweep_param)
        controller.selection_changed.connect(lambda _ids: self._update_enabled())
        QApplication.instance().aboutToQuit.connect(self._shutdown)
        self._update_enabled()

    def _add_menu(self) -> None:
        bar = self.window.menuBar()
        found = next((a for a in bar.actions() if a.text().replace("&", "").lower() == "experiments"), None)
        if found is not None:
            menu = found.menu()
        else:
            menu = QMenu("E&xperiments", self.window)
            help_menu = next((a for a in bar.actions() if a.text().replace("&", "").lower() == "help"), None)
            bar.insertMenu(help_menu, menu) if help_menu is not None else bar.addMenu(menu)
        self.menu = menu
        menu.addAction(self.sweep_action)
        menu.addAction(self.param_action)

    def _add_toolbar(self) -> None:
        bar = self.window.findChild(QToolBar, "TrainingToolbar")
        if bar is None:
            bar = self.window.addToolBar("Experiments")
            bar.setObjectName("ExperimentsToolbar")
        bar.addAction(self.sweep_action)

    def _update_enabled(self) -> None:
        self.param_action.setEnabled(len(self.controller.selected_ids()) == 1)

    # ---- where the sweep's runs go ------------------------------------------------------------------
    def project_dir(self) -> Path:
        """The saved project's folder (its `runs/` holds the sweep), else the user data folder."""
        path = getattr(getattr(self.window, "document", None), "path", None)
        return Path(path).resolve().parent if path else data_dir()

    # ---- actions --------------------------------------------------------------------------------------
    def show_dialog(self) -> SweepDialog:
        if self.dialog is None:
            self.dialog = SweepDialog(self.controller, self.project_dir, self.window)
            self.dialog.open_trial.connect(self.open_trial)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def sweep_param(self, node_id: str, param: str) -> None:
        """'Sweep this': add a dimension for one node param and show it in the dialog."""
        node = self.controller.graph.nodes.get(node_id)
        if node is None:
            return
        target = next((t for t in node_targets(node) if t.key == f"{node.name}.{param}"), None)
        if target is not None:
            self.show_dialog().add(target)

    def sweep_selected(self) -> None:
        ids = self.controller.selected_ids()
        if len(ids) != 1:
            return
        node = self.controller.graph.nodes[ids[0]]
        targets = node_targets(node)
        if not targets:
            self.window.statusBar().showMessage(f"'{node.name}' has no param a sweep can search", 4000)
            return
        labels = [t.label for t in targets]
        label, ok = (labels[0], True) if len(labels) == 1 else QInputDialog.getItem(
            self.window, "Sweep a param", f"Which param of '{node.name}' should the sweep search?", labels, 0, False)
        if ok:
            self.show_dialog().add(targets[labels.index(label)])

    def open_trial(self, row: TrialRow) -> bool:
        """Load a trial's network (its run snapshot) into the editor, after the usual unsaved-work question."""
        try:
            graph = open_run(row.run_dir).graph
        except DeepWireError as exc:
            self.window.show_error("Cannot open the trial", f"Trial {row.number} could not be opened.", str(exc))
            return False
        if not self.window.confirm_discard():
            return False
        self.window.document.restore(graph, self.window.document.path)
        training = getattr(self.window, "training", None)
        if training is not None and hasattr(training, "selected_run"):
            training.selected_run = Path(row.run_dir)
        self.window.statusBar().showMessage(
            f"Trial {row.number}'s network is open (unsaved); Evaluate and Export act on its run", 6000)
        return True

    def _shutdown(self) -> None:
        if self.dialog is not None:
            self.dialog.shutdown()


def install_sweep(main_window: QMainWindow, controller) -> SweepTools:
    """Add the Experiments menu (Sweep…, sweep a param), a toolbar action and the properties panel's "sweep this"."""
    return SweepTools(main_window, controller)
