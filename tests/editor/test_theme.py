"""Themes: every theme's stylesheet is complete and readable (WCAG contrast), and choosing one in Preferences
switches the running editor (palette, canvas, icons, widgets built earlier) and switching back restores dark."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel

from editor import theme
from editor.preferences import PreferencesDialog
from editor.settings import Settings, available_themes
from editor.training.plotting import plot_widget
from engine.templates import load_project


def wcag_ratio(foreground: str, background: str) -> float:
    """WCAG 2.x contrast ratio, computed here independently of editor.theme."""
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.fixture(autouse=True)
def dark_afterwards(qapp):
    """Other tests expect the default (dark) theme: restore it whatever happens here."""
    yield
    theme.apply_theme(qapp, "dark")


def choose_theme(window, qtbot, name: str) -> None:
    """Edit > Preferences…, pick `name`, OK — as a user does."""
    window.actions_["preferences"].trigger()
    dialog = window.findChild(PreferencesDialog)
    dialog.theme.setCurrentText(name)
    qtbot.mouseClick(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)


def dominant_colour(image: QImage) -> str:
    """The most common pixel colour of `image` (sampled every 3 px)."""
    counts = Counter(image.pixelColor(x, y).name() for x in range(0, image.width(), 3)
                     for y in range(0, image.height(), 3))
    return counts.most_common(1)[0][0]


def test_the_preferences_list_is_the_themes_theme_py_defines():
    assert available_themes() == list(theme.THEMES) == ["dark", "light"]


@pytest.mark.parametrize("name", available_themes())
def test_each_theme_applies_with_every_placeholder_filled(qapp, name):
    theme.apply_theme(qapp, name)
    sheet = qapp.styleSheet()
    colours = theme.THEMES[name]
    assert sheet == theme.stylesheet(name) and "QMainWindow" in sheet
    assert "@" not in sheet, "a placeholder was left unfilled"
    for value in (colours.window, colours.base, colours.text, colours.muted, colours.accent, colours.error_color):
        assert value in sheet
    assert (theme.CURRENT, theme.TEXT, theme.BASE) == (name, colours.text, colours.base)
    assert qapp.palette().color(QPalette.ColorRole.Window).name() == colours.window
    assert qapp.palette().color(QPalette.ColorRole.Text).name() == colours.text
    assert pg.getConfigOption("background") == colours.base
    for url in (part.split('")')[0] for part in sheet.split('url("')[1:]):
        assert Path(url).is_file(), url


@pytest.mark.parametrize("name", available_themes())
def test_text_is_readable_on_every_surface(name):
    c = theme.THEMES[name]
    for surface in (c.base, c.window, c.panel, c.raised, c.node):
        assert wcag_ratio(c.text, surface) >= 4.5, (c.text, surface)
    for surface in (c.base, c.window, c.panel):
        assert wcag_ratio(c.muted, surface) >= 3, (c.muted, surface)
        for status in (c.accent, c.error_color, c.warning_color, c.ok_color):
            assert wcag_ratio(status, surface) >= 3, (status, surface)
    assert wcag_ratio("#ffffff", c.accent) >= 3, "white text on accent buttons and selections"
    assert wcag_ratio(c.icon_color, c.window) >= 4.5


def test_node_titles_are_readable_on_every_category_header():
    for category in (*theme.CATEGORY_COLORS, "unknown"):
        header = theme.header_color(theme.category_color(category).name())
        assert wcag_ratio(theme.NODE_TITLE, header) >= 4.5, category
    assert theme.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)


def test_icons_are_drawn_in_the_current_themes_colour(qapp):
    icon = theme.icon("save")
    for name in ("light", "dark"):
        theme.apply_theme(qapp, name)
        image = icon.pixmap(24, 24).toImage()
        opaque = {image.pixelColor(x, y).name() for x in range(24) for y in range(24)
                  if image.pixelColor(x, y).alpha() == 255}
        assert opaque == {theme.THEMES[name].icon_color}


def test_choosing_light_switches_palette_canvas_and_earlier_widgets_and_dark_restores_them(window, qtbot):
    app = QApplication.instance()
    window.document.new(load_project("lenet"))
    viewer = window.controller.view.viewer
    muted_label = QLabel("note")
    muted_label.setStyleSheet(f"color: {theme.MUTED};")  # built in dark, as panels do
    rich_label = QLabel(f"<span style='color:{theme.ERROR_COLOR}'>1 error</span>")
    plot = plot_widget("loss", "epoch")
    for widget in (muted_label, rich_label, plot):
        qtbot.addWidget(widget)
    assert dominant_colour(viewer.grab().toImage()) == theme.DARK.canvas

    choose_theme(window, qtbot, "light")
    light = theme.LIGHT
    assert Settings().theme == "light" and theme.CURRENT == "light"
    assert app.palette().color(QPalette.ColorRole.Window).name() == light.window
    assert app.styleSheet() == theme.stylesheet("light")
    assert viewer.scene().background_color == theme.rgb(light.canvas)
    assert dominant_colour(viewer.grab().toImage()) == light.canvas
    assert muted_label.styleSheet() == f"color: {light.muted};"
    assert light.error_color in rich_label.text() and theme.DARK.error_color not in rich_label.text()
    assert plot.backgroundBrush().color().name() == light.base
    assert plot.getPlotItem().getAxis("bottom").textPen().color().name() == light.muted
    node = next(iter(window.controller.view.nodes.values())).view
    port_label = next(iter(node._output_items.values()))
    assert port_label.brush().color().name() == light.text, "port names on the white node body are dark"

    choose_theme(window, qtbot, "dark")
    dark = theme.DARK
    assert Settings().theme == "dark" and theme.CURRENT == "dark"
    assert app.palette().color(QPalette.ColorRole.Window).name() == dark.window
    assert dominant_colour(viewer.grab().toImage()) == dark.canvas
    assert muted_label.styleSheet() == f"color: {dark.muted};"
    assert plot.backgroundBrush().color().name() == dark.base


def test_code_view_and_welcome_diagram_follow_a_live_switch(window, qtbot):
    window.document.new(load_project("lenet"))
    window.code_dock.raise_()
    window.code_view.refresh()
    welcome = window.show_welcome()
    qtbot.waitUntil(lambda: "class" in window.code_view.toPlainText())

    def keyword_colour() -> str:
        block = window.code_view.document().firstBlock()  # "import torch": 'import' is a keyword
        formats = block.layout().formats()
        return formats[0].format.foreground().color().name()

    def diagram_background() -> str:
        return dominant_colour(welcome.diagram.pixmap().toImage())

    assert (keyword_colour(), diagram_background()) == (theme.DARK.code_keyword, theme.DARK.base)
    choose_theme(window, qtbot, "light")
    qtbot.waitUntil(lambda: keyword_colour() == theme.LIGHT.code_keyword)
    assert diagram_background() == theme.LIGHT.base


@pytest.mark.parametrize("name", ["dark", "light"])
def test_a_disabled_toolbar_label_is_drawn_in_the_muted_colour(qapp, qtbot, name):
    """A text-under-icon toolbar action that is disabled looks disabled: its label in MUTED, not TEXT
    (issue 16, item 10)."""
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QToolBar, QToolButton

    theme.apply_theme(qapp, name)
    colours = theme.THEMES[name]
    bar = QToolBar()
    qtbot.addWidget(bar)
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    enabled, disabled = QAction("Predict WWW", bar), QAction("Predict WWW", bar)
    disabled.setEnabled(False)
    bar.addAction(enabled)
    bar.addAction(disabled)
    bar.show()

    def ink(action) -> str:
        """The label's colour: its pixel that stands out most from the toolbar's background."""
        image = bar.grab(bar.widgetForAction(action).geometry()).toImage()
        ground = QColor(colours.window).lightness()
        pixels = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())]
        return max(pixels, key=lambda c: abs(c.lightness() - ground)).name()

    assert isinstance(bar.widgetForAction(disabled), QToolButton)
    assert ink(enabled) == colours.text
    assert ink(disabled) == colours.muted
