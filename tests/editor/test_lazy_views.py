"""Issue 16 item 11: the training views (plots) are built on first use, after the window's first paint, and then
behave as if built with the window; the splash paints and closes without Qt's one-second expose wait; live plots
changed together repaint one at a time."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from editor.main_window import MainWindow
from editor.splash import StartupSplash
from editor.training.live_plots import LivePlots
from editor.training.workspace import VIEWS
from engine.train.events import EpochEnded


def _window(qtbot) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    return window


def test_a_new_window_has_its_tabs_but_no_view_built(qtbot):
    ws = _window(qtbot).training
    assert [ws.tabs.tabText(i) for i in range(ws.tabs.count())] == [title for _name, title in VIEWS]
    assert ws._built == {} and not ws.views_ready


def test_a_view_is_built_once_on_first_access_and_put_on_its_tab(qtbot):
    ws = _window(qtbot).training
    live = ws.live
    assert isinstance(live, LivePlots) and ws.live is live
    assert ws._pages[live].widget() is live and ws.tabs.widget(0) is ws._pages[live]
    assert list(ws._built) == ["live"]


def test_showing_a_tab_builds_its_view(qtbot):
    ws = _window(qtbot).training
    index = [name for name, _title in VIEWS].index("doctor")
    ws.tabs.setCurrentIndex(index)
    assert "doctor" in ws._built and ws.tabs.currentWidget().widget() is ws.doctor


def test_idle_building_makes_every_view_one_per_turn(qtbot):
    ws = _window(qtbot).training
    ws.build_views_when_idle()
    assert len(ws._built) == 1  # the rest follow on later event-loop turns
    qtbot.waitUntil(lambda: ws.views_ready, timeout=20_000)
    assert all(isinstance(ws._view(name), QWidget) for name, _title in VIEWS)


def test_the_splash_paints_at_once_and_closes_when_the_window_shows(qtbot):
    splash = StartupSplash()  # (not given to qtbot: finish() deletes it)
    window = _window(qtbot)
    try:
        splash.show_now()
        assert splash.painted and splash.isVisible()
        window.show()
    finally:
        splash.finish(window)
    assert not splash.isVisible()


def test_an_epoch_end_repaints_its_plots_one_at_a_time_with_the_data_set_at_once(qtbot):
    plots = LivePlots()
    qtbot.addWidget(plots)
    plots.show_metrics(["accuracy"])
    plots.show()
    qtbot.waitExposed(plots)
    plots.add_events([EpochEnded(epoch=1, epochs=2, train={"loss": 0.5, "accuracy": 0.8},
                                 val={"loss": 0.6, "accuracy": 0.7}, lr=0.001, samples_per_s=10.0, epoch_time=1.0)])
    assert list(plots.curves["val_accuracy"].getData()[1]) == [0.7]  # the data is there at once
    held = [name for name in plots.shown if not plots.plots[name].updatesEnabled()]
    assert set(held) == set(plots.shown)  # their repaints wait their turn
    qtbot.waitUntil(lambda: all(plots.plots[name].updatesEnabled() for name in plots.shown), timeout=10_000)
    assert plots._held == []
