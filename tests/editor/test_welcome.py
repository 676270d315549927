"""The welcome view: shown on a first start only, Help > Welcome, templates, recent projects and "Train this"."""

from __future__ import annotations

import json
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QFileDialog, QToolBar

from editor.app import start
from editor.main_window import MainWindow
from editor.settings import Settings
from engine.templates import load_project
from engine.train.events import RunFinished


@pytest.fixture
def started(qtbot):
    """Start the editor as `main` does (without the event loop) on `project`; returns the window."""
    def make(project: str | None = None) -> MainWindow:
        win = MainWindow()
        qtbot.addWidget(win)
        win.show()
        start(win, project)
        return win
    return make


def visible_bars(window: MainWindow) -> list[str]:
    return sorted(w.objectName() for w in (*window.findChildren(QDockWidget), *window.findChildren(QToolBar))
                  if w.isVisible())


def test_first_start_shows_the_welcome_view_and_the_second_start_does_not(started):
    first = started()
    assert first.welcome_visible and first.welcome.isVisible()
    assert visible_bars(first) == []  # the welcome view has the whole window
    assert first.controller.graph.name == load_project("lenet").name  # the example waits behind it
    assert Settings().welcome_shown
    first.close()
    second = started()
    assert not second.welcome_visible and second.welcome is None
    assert second.controller.graph.name == load_project("lenet").name


def test_a_project_on_the_command_line_or_recent_files_mean_no_welcome(started, tmp_path):
    assert not started("mlp").welcome_visible
    assert not Settings().welcome_shown  # a later plain start is still a first run ...
    path = tmp_path / "mine.json"
    load_project("mlp").save(path)
    Settings().add_recent(path)
    assert not started().welcome_visible  # ... unless the user has opened projects before


def test_help_welcome_shows_it_any_time_and_go_to_editor_restores_the_panels(window, qtbot):
    before, smallest = visible_bars(window), window.minimumSizeHint()
    assert "LayersDock" in before and "MainToolbar" in before
    window.actions_["welcome"].trigger()
    assert window.welcome_visible and visible_bars(window) == [] and not window.statusBar().isVisible()
    qtbot.mouseClick(window.welcome.skip_button, Qt.MouseButton.LeftButton)
    assert not window.welcome_visible
    assert visible_bars(window) == before and window.statusBar().isVisible()
    assert window.minimumSizeHint() == smallest  # the hidden welcome view no longer bounds the window's size


def test_every_task_name_and_count_fits_the_welcome_task_list(window, qtbot):
    """The longest task ('Detection & segmentation  (4)') was clipped in a 180 px list (issue 16, item 10)."""
    window.resize(1280, 800)
    welcome = window.show_welcome()
    qtbot.waitExposed(welcome)
    tasks = welcome.gallery.tasks
    metrics = tasks.fontMetrics()
    assert tasks.count() > 1 and not tasks.horizontalScrollBar().isVisible()
    for row in range(tasks.count()):
        item = tasks.item(row)
        rect = tasks.visualItemRect(item)
        assert metrics.horizontalAdvance(item.text()) + 8 <= rect.width() <= tasks.viewport().width(), item.text()


def test_choosing_a_template_opens_it_and_leaves_the_welcome_view(window, qtbot):
    welcome = window.show_welcome()
    gallery = welcome.gallery
    gallery.select("mlp")
    assert "MLP" in welcome.template_info.text()
    qtbot.mouseClick(welcome.open_template_button, Qt.MouseButton.LeftButton)
    assert window.controller.graph.to_dict() == load_project("mlp").to_dict()
    assert not window.welcome_visible and window.document.path is None
    window.show_welcome()
    gallery.select("gru_tagger")
    item = gallery.list.currentItem()
    rect = gallery.list.visualItemRect(item)
    qtbot.mouseClick(gallery.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # views need the press
    qtbot.mouseDClick(gallery.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.controller.graph.to_dict() == load_project("gru_tagger").to_dict()
    assert not window.welcome_visible


def test_recent_projects_open_and_blank_and_open_buttons_work(window, qtbot, tmp_path, monkeypatch):
    paths = []
    for stem in ("mlp", "lenet"):
        paths.append(tmp_path / f"{stem}.json")
        load_project(stem).save(paths[-1])
        Settings().add_recent(paths[-1])
    welcome = window.show_welcome()
    assert [welcome.recent.item(i).data(Qt.ItemDataRole.UserRole) for i in range(welcome.recent.count())] == \
        [str(p.resolve()) for p in reversed(paths)]
    item = welcome.recent.item(1)
    qtbot.mouseClick(welcome.recent.viewport(), Qt.MouseButton.LeftButton,
                     pos=welcome.recent.visualItemRect(item).center())
    assert window.document.path == paths[0].resolve() and not window.welcome_visible

    window.show_welcome()
    qtbot.mouseClick(welcome.blank_button, Qt.MouseButton.LeftButton)
    assert window.controller.graph.nodes == {} and not window.welcome_visible

    window.show_welcome()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(paths[1]), "")))
    qtbot.mouseClick(welcome.open_button, Qt.MouseButton.LeftButton)
    assert window.document.path == paths[1].resolve() and not window.welcome_visible


def test_cancelling_open_keeps_the_welcome_view(window, qtbot, monkeypatch):
    welcome = window.show_welcome()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: ("", "")))
    qtbot.mouseClick(welcome.open_button, Qt.MouseButton.LeftButton)
    assert window.welcome_visible


def test_train_this_opens_lenet_and_trains_it_end_to_end_on_the_cpu_in_under_a_minute(window, qtbot):
    welcome = window.show_welcome()
    finished: list[RunFinished] = []
    window.training.runner.finished.connect(finished.append)
    began = time.monotonic()
    qtbot.mouseClick(welcome.train_button, Qt.MouseButton.LeftButton)
    assert not window.welcome_visible
    assert window.controller.graph.to_dict() == load_project("lenet").to_dict()
    assert window.training.runner.state == "running"
    qtbot.waitUntil(lambda: bool(finished), timeout=60_000)
    elapsed = time.monotonic() - began
    run = window.training.runner.run_path
    assert finished[0].reason == "completed" and finished[0].epochs_done == load_project("lenet").training["epochs"]
    assert elapsed < 60, f"the example took {elapsed:.0f} s"
    assert json.loads((run / "project.json").read_text())["name"] == load_project("lenet").name
    assert window.training.views_dock.isVisible()  # the training views are shown below the canvas
    qtbot.waitUntil(lambda: window.training.evaluation_result is not None, timeout=30_000)  # then evaluated
    assert window.training.evaluation_result.metrics["accuracy"] > 0.8
