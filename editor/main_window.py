"""The main window: palette, canvas, properties, problems and code around one document."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QWidget,
)

from editor import theme
from editor.canvas import blocks
from editor.canvas.controller import CanvasController
from editor.files import Document, discard_autosave, read_autosave
from editor.finetune import install_finetune
from editor.insight import install_insight
from editor.panels.code_view import CodeView
from editor.panels.gallery import GalleryDialog
from editor.panels.palette import Palette
from editor.panels.problems import ProblemsPanel
from editor.panels.properties import PropertiesPanel
from editor.panels.reference import LayerReference
from editor.preferences import PreferencesDialog
from editor.settings import Settings
from editor.sweep.install import install_sweep
from editor.training.install import install_training
from editor.welcome import EXAMPLE, WelcomeView
from editor.window_layout import apply_default_layout, restore_layout, save_layout
from engine import finetune
from engine.errors import DeepWireError, GraphError, ProjectFileError
from engine.layers.registry import all_specs, get_spec
from engine.templates import blank_project, load_project

if TYPE_CHECKING:
    from editor.import_dialog import ImportDialog

PROJECT_FILTER = "DeepWire project (*.json)"


class MainWindow(QMainWindow):
    """DeepWire's editor window; every graph edit goes through `controller`; the welcome view can cover it."""

    def __init__(self, controller: CanvasController | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller or CanvasController(self)
        self.document = Document(self.controller, self)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.controller.widget)
        self.setCentralWidget(self.stack)
        self.welcome: WelcomeView | None = None
        self._state_before_welcome = None
        self.palette = Palette()
        self.properties = PropertiesPanel(self.controller)
        self.problems = ProblemsPanel(self.controller)
        self.code_view = CodeView(self.controller)
        self.palette_dock = self._dock("Layers", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.properties_dock = self._dock("Properties", self.properties, Qt.DockWidgetArea.RightDockWidgetArea)
        self.problems_dock = self._dock("Problems", self.problems, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.code_dock = self._dock("Code", self.code_view, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.problems_dock, self.code_dock)
        for dock in (self.problems_dock, self.code_dock):  # their tabs name them; no title bar above
            dock.setTitleBarWidget(QWidget(dock))
        self.setTabPosition(Qt.DockWidgetArea.BottomDockWidgetArea, QTabWidget.TabPosition.North)
        self.problems_dock.raise_()
        self.actions_: dict[str, QAction] = {}
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self.palette.layer_activated.connect(self.add_layer)
        self.palette.block_activated.connect(self.add_block)
        self._connect_blocks()
        self.document.changed.connect(self._update_title)
        self.controller.validation_changed.connect(self._update_status)
        self.controller.selection_changed.connect(lambda _ids: self._update_enabled())
        self.controller.undo_stack.canUndoChanged.connect(self.actions_["undo"].setEnabled)
        self.controller.undo_stack.canRedoChanged.connect(self.actions_["redo"].setEnabled)
        self._fit_to_screen()
        self._update_title()
        self._update_status(self.controller.validation)
        self._update_enabled()
        self.training = install_training(self, self.controller)
        self.sweeps = install_sweep(self, self.controller)
        self.finetune = install_finetune(self, self.controller)
        self.insight = install_insight(self, self.controller)
        self.training.set_default_device(Settings().device)
        if not restore_layout(self):
            apply_default_layout(self)

    # ---- construction ----------------------------------------------------------------------
    def _fit_to_screen(self, share: float = 0.9) -> None:
        """Open at `share` of the screen's free area, centred (a fixed size is too small or too big)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(1480, 920)
            return
        area = screen.availableGeometry()
        self.resize(int(area.width() * share), int(area.height() * share))
        self.move(area.center() - self.rect().center())

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title}Dock")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, key: str, text: str, slot, icon: str | None = None, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if icon:
            action.setIcon(theme.icon(icon))
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        shown = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip or text.rstrip('…')}" + (f"  ({shown})" if shown else ""))
        action.setStatusTip(tip or text.rstrip("…"))
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        self.actions_[key] = action
        return action

    def _build_actions(self) -> None:
        c, K = self.controller, QKeySequence.StandardKey
        a = self._action
        a("new", "&New", self.new_blank, "new", K.New, "Start an empty project")
        a("template", "New from &template…", self.new_from_template, "template", "Ctrl+Shift+N",
          "Start from a working example network")
        a("open", "&Open…", self.open_file, "open", K.Open, "Open a DeepWire project file")
        a("import_model", "&Import PyTorch model…", self.import_pytorch, "open", None,
          "Turn a torch.nn.Module from a Python file into a project, with its weights")
        a("save", "&Save", self.save, "save", K.Save, "Save the project")
        a("save_as", "Save &As…", self.save_as, "save-as", K.SaveAs, "Save the project under a new name")
        a("quit", "&Quit", self.close, "quit", K.Quit, "Close DeepWire")
        a("undo", "&Undo", c.undo, "undo", K.Undo, "Undo the last edit")
        a("redo", "&Redo", c.redo, "redo", ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo the edit you undid")
        a("cut", "Cu&t", c.cut, "cut", K.Cut, "Cut the selected nodes")
        a("copy", "&Copy", c.copy, "copy", K.Copy, "Copy the selected nodes and their wires")
        a("paste", "&Paste", c.paste, "paste", K.Paste, "Paste nodes")
        a("duplicate", "D&uplicate", c.duplicate, "duplicate", "Ctrl+D", "Duplicate the selected nodes")
        a("delete", "&Delete", c.delete_selected, "delete", [QKeySequence(K.Delete), "Backspace"],
          "Delete the selected nodes")
        a("group", "&Group…", self.group_selection, "group", "Ctrl+G", "Collapse the selected nodes into a named block")
        a("ungroup", "U&ngroup", self.ungroup_selection, "ungroup", "Ctrl+Shift+G", "Dissolve the selected group")
        a("swap", "S&wap layer type…", self.swap_type, "swap", "Ctrl+T",
          "Replace the selected node with another layer type, keeping its wires")
        a("save_block", "Save selection as &block…", self.save_block, "block", None,
          "Keep the selected nodes as a reusable block in the palette")
        a("fit", "&Fit to view", c.fit_view, "fit", "F", "Zoom to show the whole network")
        a("layout", "&Auto-layout", c.auto_layout, "layout", "Ctrl+L", "Arrange the nodes left to right")
        a("zoom_in", "Zoom &in", c.zoom_in, "zoom-in", K.ZoomIn, "Zoom in")
        a("zoom_out", "Zoom &out", c.zoom_out, "zoom-out", K.ZoomOut, "Zoom out")
        a("reference", "&Layer reference", self.show_reference, "book", "F1", "What every layer type does")
        a("about", "&About DeepWire", self.show_about, "help")
        a("welcome", "&Welcome", self.show_welcome, "template", None, "The welcome view: examples, templates, recent")
        a("preferences", "&Preferences…", self.show_preferences, None, "Ctrl+,",
          "Theme, default training device, autosave interval")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for key in ("new", "template", "open"):
            file_menu.addAction(self.actions_[key])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addAction(self.actions_["import_model"])
        file_menu.addSeparator()
        for key in ("save", "save_as"):
            file_menu.addAction(self.actions_[key])
        file_menu.addSeparator()
        file_menu.addAction(self.actions_["quit"])
        self._menu("&Edit", ("undo", "redo", None, "cut", "copy", "paste", "duplicate", "delete", None,
                             "group", "ungroup", "swap", "save_block", None, "preferences"))
        view = self._menu("&View", ("fit", "layout", None, "zoom_in", "zoom_out", None))
        panels = view.addMenu("&Panels")
        for dock in (self.palette_dock, self.properties_dock, self.problems_dock, self.code_dock):
            panels.addAction(dock.toggleViewAction())
        self._menu("&Help", ("welcome", "reference", None, "about"))

    def _menu(self, title: str, keys: tuple[str | None, ...]) -> QMenu:
        menu = self.menuBar().addMenu(title)
        for key in keys:
            menu.addSeparator() if key is None else menu.addAction(self.actions_[key])
        return menu

    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Main")
        bar.setObjectName("MainToolbar")
        bar.setMovable(False)
        bar.setIconSize(QSize(20, 20))
        for key in ("new", "template", "open", "save", None, "undo", "redo", None, "duplicate", "delete",
                    "group", "ungroup", None, "layout", "fit", "zoom_in", "zoom_out"):
            bar.addSeparator() if key is None else bar.addAction(self.actions_[key])

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(False)
        self.valid_label = QLabel()
        self.params_label = QLabel()
        self.file_label = QLabel()
        for label in (self.valid_label, self.params_label, self.file_label):
            bar.addPermanentWidget(label)

    def _connect_blocks(self) -> None:
        # a bound slot of the palette: Qt drops the connection when the palette is destroyed
        blocks.library().changed.connect(self.palette.refresh_blocks)
        self.palette.refresh_blocks()

    # ---- status --------------------------------------------------------------------------
    def _update_title(self) -> None:
        self.setWindowTitle(self.document.window_title())
        path = self.document.path
        self.file_label.setText(str(path) if path else "not saved yet")
        self.file_label.setToolTip(str(path) if path else "")

    def _update_status(self, validation) -> None:
        errors = len(validation.errors)
        trainable, frozen = finetune.param_split(self.controller.graph, validation.param_counts)
        self.params_label.setText(f"{validation.total_params:,} parameters" + (
            f" ({trainable:,} trainable, {frozen:,} frozen)" if frozen else ""))
        if validation.pending:
            self.valid_label.setText(f"<span style='color:{theme.MUTED}'>checking… (loading PyTorch)</span>")
        elif errors:
            self.valid_label.setText(f"<span style='color:{theme.ERROR_COLOR}'>✖ {errors} error"
                                     f"{'s' if errors != 1 else ''}</span>")
        else:
            self.valid_label.setText(f"<span style='color:{theme.OK_COLOR}'>✔ valid</span>")
        count = len(validation.problems)
        self.problems_dock.setWindowTitle(f"Problems ({count})" if count else "Problems")

    def _update_enabled(self) -> None:
        selected = self.controller.selected_ids()
        for key in ("cut", "copy", "duplicate", "delete", "group", "save_block"):
            self.actions_[key].setEnabled(bool(selected))
        self.actions_["swap"].setEnabled(len(selected) == 1)
        self.actions_["ungroup"].setEnabled(bool(self._selected_groups()))
        self.actions_["undo"].setEnabled(self.controller.undo_stack.canUndo())
        self.actions_["redo"].setEnabled(self.controller.undo_stack.canRedo())

    def _selected_groups(self) -> list[str]:
        selected = set(self.controller.selected_ids())
        return [g.id for g in self.controller.graph.groups if selected & set(g.node_ids)]

    # ---- files ---------------------------------------------------------------------------
    def confirm_discard(self) -> bool:
        """True when the current work may be replaced: saved, discarded, or nothing unsaved."""
        if not self.document.modified:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {self.document.display_name} first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_blank(self) -> None:
        if self.confirm_discard():
            self.document.new(blank_project())

    def open_template(self, stem: str) -> bool:
        """Start an unsaved project from the template `stem` (asks first about unsaved work)."""
        if not self.confirm_discard():
            return False
        try:
            self.document.new(load_project(stem))
        except ProjectFileError as exc:
            self.show_error("Cannot open the template", f"<b>{stem}</b> could not be opened.", str(exc))
            return False
        self.controller.fit_view()
        return True

    def new_from_template(self) -> None:
        dialog = GalleryDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.chosen() is not None:
            if self.confirm_discard():
                self.document.new(dialog.chosen())
                self.controller.fit_view()

    def open_file(self, path: str | Path | None = None) -> bool:
        """Open `path` (or ask for one); a broken file is reported and the current work kept."""
        if not self.confirm_discard():
            return False
        if path is None:
            start = str(self.document.path.parent) if self.document.path else ""
            path, _ = QFileDialog.getOpenFileName(self, "Open project", start, PROJECT_FILTER)
            if not path:
                return False
        try:
            self.document.open(path)
        except ProjectFileError as exc:
            self.show_error("Cannot open the project", f"<b>{Path(path).name}</b> could not be opened.", str(exc))
            return False
        self.controller.fit_view()
        return True

    def import_pytorch(self) -> ImportDialog:
        """File > Import PyTorch model…: the dialog runs the import and opens the result (see editor/import_dialog)."""
        from editor.import_dialog import (
            ImportDialog,  # (here: the importer loads PyTorch, the first paint must not)
        )

        dialog = ImportDialog(self)
        dialog.open()
        return dialog

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        start = str(self.document.path or Path.home() / f"{self.controller.graph.name or 'project'}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save project as", start, PROJECT_FILTER)
        if not path:
            return False
        path = Path(path)
        return self._save_to(path if path.suffix else path.with_suffix(".json"))

    def _save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except ProjectFileError as exc:
            self.show_error("Cannot save the project", f"<b>{path.name}</b> could not be saved.", str(exc))
            return False
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.document.recent_files()
        for path in recent:
            action = self.recent_menu.addAction(path.name)
            action.setToolTip(str(path))
            action.triggered.connect(lambda _checked=False, p=path: self.open_file(p))
        if not recent:
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    def offer_restore(self) -> bool:
        """After a crash: offer the autosaved work; True when it was restored."""
        found = read_autosave()
        if found is None:
            return False
        graph, path = found
        where = f" of {path.name}" if path else ""
        answer = QMessageBox.question(
            self, "Restore unsaved work?",
            f"DeepWire did not close cleanly last time. Restore the unsaved work{where} "
            f"(“{graph.name}”, {len(graph.nodes)} layers)?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        if answer != QMessageBox.StandardButton.Yes:
            discard_autosave()
            return False
        self.document.restore(graph, path)
        return True

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.training.confirm_close() or not self.confirm_discard():
            event.ignore()
            return
        save_layout(self, self._state_before_welcome if self.welcome_visible else None)
        Settings().last_project = self.document.path  # the next start reopens it
        self.document.close_cleanly()
        event.accept()

    # ---- welcome view ----------------------------------------------------------------------
    @property
    def welcome_visible(self) -> bool:
        return self.welcome is not None and self.stack.currentWidget() is self.welcome

    def show_welcome(self) -> WelcomeView:
        """Cover the window with the welcome view (panels and toolbars hidden until it closes)."""
        if self.welcome is None:
            self.welcome = WelcomeView(self)
            self.welcome.hide()
            w = self.welcome
            w.train_requested.connect(self.train_example)
            w.template_chosen.connect(lambda stem: self._leave_welcome_if(self.open_template(stem)))
            w.recent_chosen.connect(lambda path: self._leave_welcome_if(self.open_file(path)))
            w.open_requested.connect(lambda: self._leave_welcome_if(self.open_file()))
            w.blank_requested.connect(self._welcome_blank)
            w.dismissed.connect(self.hide_welcome)
        self.welcome.set_recent(self.document.recent_files())
        if not self.welcome_visible:
            self._state_before_welcome = self.saveState()
            for bar in (*self.findChildren(QDockWidget), *self.findChildren(QToolBar), self.statusBar()):
                bar.hide()
            self.stack.addWidget(self.welcome)
            self.stack.setCurrentWidget(self.welcome)
        Settings().welcome_shown = True
        return self.welcome

    def hide_welcome(self) -> None:
        """Back to the editor, with the panels and toolbars as they were."""
        if not self.welcome_visible:
            return
        self.stack.setCurrentWidget(self.controller.widget)
        self.stack.removeWidget(self.welcome)  # out of the stack, its size no longer bounds the canvas's
        self.welcome.hide()
        self.restoreState(self._state_before_welcome)
        self.statusBar().show()
        self.controller.fit_view()

    def _leave_welcome_if(self, done: bool) -> None:
        if done:
            self.hide_welcome()

    def _welcome_blank(self) -> None:
        if self.confirm_discard():
            self.document.new(blank_project())
            self.hide_welcome()

    def train_example(self) -> bool:
        """"Train this": open the LeNet digits example and start training it."""
        if not self.open_template(EXAMPLE):
            return False
        self.hide_welcome()
        self.training.train()
        return True

    # ---- preferences -----------------------------------------------------------------------
    def show_preferences(self) -> PreferencesDialog:
        """Edit > Preferences; accepted settings apply at once."""
        dialog = PreferencesDialog(Settings(), self)
        dialog.accepted.connect(self.apply_settings)
        dialog.open()
        return dialog

    def apply_settings(self) -> None:
        """Apply the stored theme, default device and autosave interval to the running editor."""
        settings = Settings()
        app = QApplication.instance()
        if app.styleSheet() != theme.stylesheet(settings.theme):
            theme.apply_theme(app, settings.theme)
        self.training.set_default_device(settings.device)
        self.document.set_autosave_interval(settings.autosave_interval_s)

    # ---- edits ---------------------------------------------------------------------------
    def add_layer(self, type_id: str) -> None:
        node_id = self.controller.add_node(type_id)
        self.controller.select_node(node_id)

    def add_block(self, name: str) -> None:
        self._guard(lambda: self.controller.insert_block(name))

    def _ask_text(self, title: str, label: str, default: str) -> str | None:
        text, ok = QInputDialog.getText(self, title, label, text=default)
        return text.strip() if ok and text.strip() else None

    def group_selection(self) -> None:
        name = self._ask_text("Group", "Name of the group (e.g. residual block):", "block")
        if name:
            self._guard(lambda: self.controller.group_selected(name))

    def ungroup_selection(self) -> None:
        for group_id in self._selected_groups():
            self.controller.ungroup(group_id)

    def save_block(self) -> None:
        name = self._ask_text("Save as block", "Name of the block in the palette:", "my block")
        if name:
            self._guard(lambda: self.controller.save_selection_as_block(name))

    def swap_type(self) -> None:
        selected = self.controller.selected_ids()
        if len(selected) != 1:
            return
        node = self.controller.graph.nodes[selected[0]]
        specs = [s for s in all_specs() if s.role == "layer"]
        labels = [f"{s.title}  ({s.category})" for s in specs]
        current = next((i for i, s in enumerate(specs) if s.type_id == node.type), 0)
        label, ok = QInputDialog.getItem(self, "Swap layer type",
                                         f"Replace {get_spec(node.type).title} '{node.name}' with:",
                                         labels, current, False)
        if ok:
            self._guard(lambda: self.controller.swap_type(node.id, specs[labels.index(label)].type_id))

    def _guard(self, edit) -> None:
        try:
            edit()
        except DeepWireError as exc:
            kind = "edit" if isinstance(exc, GraphError) else "action"
            self.show_error(f"Cannot do this {kind}", "The change was not made.", str(exc))

    # ---- dialogs -------------------------------------------------------------------------
    def show_error(self, title: str, text: str, detail: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok, self)
        box.setInformativeText(detail)
        box.exec()

    def show_reference(self) -> None:
        LayerReference(self).exec()

    def show_about(self) -> None:
        QMessageBox.about(self, "About DeepWire",
                          "<h3>DeepWire</h3><p>Design neural networks by wiring layer nodes, train them with "
                          "live plots, evaluate and export them.</p><p>The project file is the truth: what you "
                          "save here trains unchanged with <code>deepwire train</code>.</p>")
