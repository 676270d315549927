"""Edit > Preferences: each option is stored and really changes the running editor; the app icon and name."""

from __future__ import annotations

import json

import torch
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMenu

from editor import files, theme
from editor.main_window import MainWindow
from editor.preferences import PreferencesDialog
from editor.settings import Settings
from engine.templates import load_project
from engine.train.events import RunFinished


def preferences(window: MainWindow) -> PreferencesDialog:
    """Open Edit > Preferences… like a user and return the dialog."""
    window.actions_["preferences"].trigger()
    dialog = window.findChild(PreferencesDialog)
    assert dialog is not None and dialog.isVisible()
    return dialog


def press_ok(qtbot, dialog: PreferencesDialog) -> None:
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)


def test_preferences_is_in_the_edit_menu_and_shows_the_stored_values(window):
    settings = Settings()
    settings.device, settings.autosave_interval_s = "cpu", 42
    edit_menu = next(m for m in window.menuBar().findChildren(QMenu) if m.title() == "&Edit")
    assert window.actions_["preferences"] in edit_menu.actions()
    dialog = preferences(window)
    assert (dialog.theme.currentText(), dialog.device.currentData(), dialog.autosave.value()) == ("dark", "cpu", 42)
    assert [dialog.theme.itemText(i) for i in range(dialog.theme.count())] == ["dark", "light"]


def test_autosave_interval_applies_to_the_open_document_and_to_new_windows(window, qtbot):
    dialog = preferences(window)
    dialog.autosave.setValue(1)
    press_ok(qtbot, dialog)
    assert Settings().autosave_interval_s == 1 and window.document.autosave_interval_s == 1
    window.controller.add_node("ReLU")
    assert not files.autosave_path().exists()
    qtbot.waitUntil(files.autosave_path().is_file, timeout=2500)  # about 1 s after the edit (default: 3 s)
    other = MainWindow()
    qtbot.addWidget(other)
    assert other.document.autosave_interval_s == 1


def test_cancel_changes_nothing(window, qtbot):
    dialog = preferences(window)
    dialog.autosave.setValue(99)
    dialog.reject()
    assert Settings().autosave_interval_s == 3 and window.document.autosave_interval_s == 3


def test_devices_missing_on_this_machine_cannot_be_chosen(window):
    dialog = preferences(window)
    model = dialog.device.model()
    enabled = {dialog.device.itemData(i): model.item(i).isEnabled() for i in range(dialog.device.count())}
    assert enabled["auto"] and enabled["cpu"]
    assert enabled["cuda"] == torch.cuda.is_available()


def test_default_device_is_what_an_auto_project_trains_on(window, qtbot):
    dialog = preferences(window)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    press_ok(qtbot, dialog)
    runner = window.training.runner
    assert Settings().device == "cpu" and runner.default_device == "cpu"
    assert "(your Preferences default)" in window.training.training_panel.device_label.text()
    graph = load_project("mlp")
    graph.training.update(epochs=1, device="auto")
    window.document.new(graph)
    runner.backend = "thread"  # starts at once; the process backend is exercised by the welcome test
    finished: list[RunFinished] = []
    runner.finished.connect(finished.append)
    window.training.train()
    qtbot.waitUntil(lambda: bool(finished), timeout=30_000)
    trained = json.loads((runner.run_path / "project.json").read_text())
    assert trained["training"]["device"] == "cpu"
    assert window.controller.graph.training["device"] == "auto"  # the project itself is not changed
    assert not window.document.modified
    qtbot.waitUntil(lambda: window.training.evaluation_result is not None, timeout=30_000)


def test_theme_choice_is_stored_and_applied_to_the_application(window, qtbot):
    app = QApplication.instance()
    app.setStyleSheet("")
    dialog = preferences(window)
    dialog.theme.setCurrentText("dark")
    press_ok(qtbot, dialog)
    assert Settings().theme == "dark"
    assert app.styleSheet() == theme.stylesheet("dark") and "QMainWindow" in app.styleSheet()


def test_app_icon_comes_from_the_app_icon_set_and_the_desktop_file_name_is_set(qapp):
    from editor.app import application

    assert application() is qapp and qapp.desktopFileName() == "deepwire"
    theme.apply_theme(qapp)
    sizes = {(s.width(), s.height()) for s in qapp.windowIcon().availableSizes()}
    assert {(16, 16), (48, 48), (256, 256), (512, 512)} <= sizes
    assert not qapp.windowIcon().pixmap(QSize(256, 256)).isNull()
