"""The document: save and reopen, the unsaved mark, the close prompt, broken files, crash recovery."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from editor import files
from editor.main_window import MainWindow
from engine.graph import Graph
from engine.templates import load_project

Button = QMessageBox.StandardButton


def edited(window: MainWindow) -> str:
    """Make one undoable edit (add a ReLU) and return its node id."""
    return window.controller.add_node("ReLU")


@pytest.fixture
def new_window(qtbot):
    def make() -> MainWindow:
        win = MainWindow()
        qtbot.addWidget(win)
        win.show()
        return win
    return make


def test_save_as_then_reopen_gives_the_same_graph(window, new_window, tmp_path, monkeypatch):
    window.document.new(load_project("lenet"))
    edited(window)
    target = tmp_path / "my net"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    window.actions_["save"].trigger()  # untitled: Save asks where
    saved = tmp_path / "my net.json"
    assert saved.is_file()
    assert window.windowTitle() == "my net.json — DeepWire"
    assert not window.document.modified
    other = new_window()
    assert other.open_file(saved)
    assert other.controller.graph.to_dict() == window.controller.graph.to_dict()
    assert Graph.load(saved).to_dict() == window.controller.graph.to_dict()
    assert other.document.recent_files()[0] == saved.resolve()


def test_title_marks_unsaved_changes_and_undo_back_to_saved_clears_it(window, tmp_path):
    path = tmp_path / "net.json"
    load_project("mlp").save(path)
    assert window.open_file(path)
    assert window.windowTitle() == "net.json — DeepWire"
    edited(window)
    assert window.windowTitle() == "net.json* — DeepWire"
    window.controller.undo()
    assert window.windowTitle() == "net.json — DeepWire"


def test_closing_with_unsaved_changes_asks_and_cancel_keeps_the_window(window, answers):
    edited(window)
    answers.queue.append(Button.Cancel)
    assert not window.close()
    assert window.isVisible() and answers.asked and "Unsaved changes" in answers.asked[0]
    answers.queue.append(Button.Discard)
    assert window.close()


def test_closing_and_choosing_save_writes_the_file(window, tmp_path, answers):
    path = tmp_path / "net.json"
    load_project("mlp").save(path)
    window.open_file(path)
    node_id = edited(window)
    answers.queue.append(Button.Save)
    assert window.close()
    assert node_id in Graph.load(path).nodes


def test_new_and_open_ask_before_dropping_unsaved_work(window, tmp_path, answers):
    node_id = edited(window)
    answers.queue.append(Button.Cancel)
    window.actions_["new"].trigger()
    assert node_id in window.controller.graph.nodes
    path = tmp_path / "net.json"
    load_project("mlp").save(path)
    answers.queue.append(Button.Cancel)
    assert not window.open_file(path)
    assert node_id in window.controller.graph.nodes
    answers.queue.append(Button.Discard)
    window.actions_["new"].trigger()
    assert window.controller.graph.nodes == {}


def test_a_broken_project_file_is_reported_by_name_and_the_work_is_kept(window, tmp_path, answers):
    node_id = edited(window)
    window.document.save(tmp_path / "good.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "deepwire-project", "version": 1, "nodes": [')
    assert not window.open_file(broken)
    assert len(answers.shown) == 1 and "broken.json" in answers.shown[0] and "not valid JSON" in answers.shown[0]
    assert node_id in window.controller.graph.nodes
    assert window.document.path == (tmp_path / "good.json").resolve()


def test_autosave_after_a_crash_is_offered_and_restored(window, new_window, answers, qtbot, monkeypatch):
    window.document.new(load_project("lenet"))
    edited(window)
    window.document.autosave()  # what the timer does a few seconds after a change
    assert files.autosave_path().is_file()
    crashed = window.controller.graph.to_dict()
    # the process dies here: no closeEvent, so the autosave stays behind
    answers.queue.append(Button.Yes)
    other = new_window()
    assert other.offer_restore()
    assert "Restore unsaved work" in answers.asked[-1]
    assert other.controller.graph.to_dict() == crashed
    assert other.document.modified and other.windowTitle().endswith("* — DeepWire")
    assert other.close()  # clean exit (Discard answered by default)
    assert not files.autosave_path().exists()


def test_declining_the_restore_discards_the_autosave(window, new_window, answers):
    edited(window)
    window.document.autosave()
    answers.queue.append(Button.No)
    other = new_window()
    assert not other.offer_restore()
    assert not files.autosave_path().exists()


def test_autosave_timer_writes_unsaved_work_with_its_file_path(window, tmp_path, qtbot, monkeypatch):
    path = tmp_path / "net.json"
    load_project("mlp").save(path)
    window.open_file(path)
    window.document._timer.setInterval(50)
    edited(window)
    qtbot.waitUntil(files.autosave_path().is_file, timeout=10_000)
    doc = json.loads(files.autosave_path().read_text())
    assert doc["path"] == str(path.resolve())
    assert Graph.from_dict(doc["project"]).to_dict() == window.controller.graph.to_dict()
    window.document.save()
    assert not files.autosave_path().exists()  # saved work needs no recovery


def test_open_recent_lists_opened_files(window, tmp_path):
    paths = []
    for name in ("a.json", "b.json"):
        paths.append(tmp_path / name)
        load_project("mlp").save(paths[-1])
        window.open_file(paths[-1])
    window._fill_recent()
    names = [a.text() for a in window.recent_menu.actions()]
    assert names == ["b.json", "a.json"]
    window.recent_menu.actions()[1].trigger()
    assert window.document.path == paths[0].resolve()


def test_recent_files_are_the_user_settings_list(window, tmp_path):
    from editor.settings import Settings

    path = tmp_path / "net.json"
    load_project("mlp").save(path)
    window.open_file(path)
    assert Settings().recent_files() == [path.resolve()]
    assert str(path.resolve()) in Settings().path.read_text(encoding="utf-8")  # DeepWire.ini, not a second store
    other = tmp_path / "other.json"
    load_project("lenet").save(other)
    Settings().add_recent(other)
    assert window.document.recent_files() == [other.resolve(), path.resolve()]
