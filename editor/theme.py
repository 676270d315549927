"""DeepWire's looks (dark and light): palette, stylesheet, category colours, fonts, icons and plot defaults.

Both themes share all code: a `Colors` record per theme; `apply_theme` makes one current by setting this
module's upper-case names (looked up at call time, so whatever is built afterwards uses them) and recolours
what was already built.
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QLabel

from editor.settings import DEFAULT_THEME


@dataclass(frozen=True)
class Colors:
    """One theme's colours; `apply_theme` copies them into this module's upper-case names (WINDOW, TEXT, ...)."""

    dark: bool
    window: str
    panel: str
    base: str
    raised: str
    border: str
    text: str
    muted: str
    accent: str
    error_color: str
    warning_color: str
    ok_color: str
    icon_color: str
    """Line colour of the monochrome icons in resources/icons."""
    node: str
    """Body of a layer node on the canvas."""
    canvas: str
    grid: str
    grid_major: str
    """Every eighth grid line."""
    selected: str
    """Outline of a selected node or block."""
    code_keyword: str
    code_module: str
    code_name: str
    code_class: str
    code_number: str
    code_string: str


DARK = Colors(
    dark=True, window="#1e2024", panel="#24272c", base="#1a1c20", raised="#2c3036", border="#3a3f47",
    text="#dfe3e8", muted="#8b949e", accent="#4c8bf5",
    error_color="#e5534b", warning_color="#d4a72c", ok_color="#57ab5a", icon_color="#c9d1d9",
    node="#2c3036", canvas="#1a1c20", grid="#24272c", grid_major="#0d0e10", selected="#ffffff",
    code_keyword="#c678dd", code_module="#56b6c2", code_name="#61afef", code_class="#e5c07b",
    code_number="#d19a66", code_string="#98c379")
LIGHT = Colors(
    dark=False, window="#f6f7f9", panel="#eceef1", base="#ffffff", raised="#e8ebef", border="#c8cdd4",
    text="#1f2328", muted="#5a636e", accent="#2761c7",
    error_color="#bd1e2b", warning_color="#865a00", ok_color="#16702f", icon_color="#424a53",
    node="#ffffff", canvas="#eef0f3", grid="#e3e6ea", grid_major="#d3d7dc", selected="#1f2328",
    code_keyword="#a626a4", code_module="#0b7285", code_name="#2f5bd3", code_class="#986801",
    code_number="#b35900", code_string="#3d7c3a")
THEMES: dict[str, Colors] = {"dark": DARK, "light": LIGHT}
"""Every theme; settings.available_themes() lists the same names."""
UI_FIELDS = ("window", "panel", "base", "raised", "border", "text", "muted", "accent", "error_color",
             "warning_color", "ok_color")
"""The colours widgets bake into their own style sheets and rich text (recoloured on a live switch)."""

CURRENT = DEFAULT_THEME
COLORS: Colors = DARK
WINDOW: str
PANEL: str
BASE: str
RAISED: str
BORDER: str
TEXT: str
MUTED: str
ACCENT: str
ERROR_COLOR: str
WARNING_COLOR: str
OK_COLOR: str
ICON_COLOR: str
NODE: str
CANVAS: str
GRID: str
GRID_MAJOR: str
SELECTED: str
CODE_KEYWORD: str
CODE_MODULE: str
CODE_NAME: str
CODE_CLASS: str
CODE_NUMBER: str
CODE_STRING: str


def _use(name: str) -> Colors:
    """Make theme `name` current: set COLORS, CURRENT and the upper-case colour names; returns the old colours."""
    global COLORS, CURRENT
    old, COLORS, CURRENT = COLORS, THEMES[name], name
    globals().update({f.name.upper(): getattr(COLORS, f.name) for f in fields(Colors) if f.name != "dark"})
    return old


_use(DEFAULT_THEME)

CATEGORY_COLORS: dict[str, str] = {
    "Input / Output": "#3d9970",
    "Core": "#4c8bf5",
    "Convolution": "#8e6cdf",
    "Pooling": "#5b9bd5",
    "Recurrent": "#d9822b",
    "Attention": "#d6568c",
    "Embedding": "#c49a2c",
    "Normalization": "#2aa198",
    "Regularization": "#7f8c8d",
    "Activation": "#e0b341",
    "Merge": "#b76fd1",
    "Reshape": "#6c8ebf",
}
OTHER_CATEGORY_COLOR = "#8b949e"


NODE_TITLE = "#dfe3e8"
"""A node's name, on its header (the category colour darkened): the same in every theme."""


def category_color(category: str) -> QColor:
    """The colour nodes and palette entries of `category` are drawn in."""
    return QColor(CATEGORY_COLORS.get(category, OTHER_CATEGORY_COLOR))


@cache
def header_color(category: str) -> str:
    """A node header of `category` colour ('#rrggbb'): darkened until NODE_TITLE on it has a WCAG contrast of
    4.5 or more."""
    head = QColor(category).darker(150)
    while contrast_ratio(NODE_TITLE, head.name()) < 4.5 and head.lightness() > 0:
        head = head.darker(110)
    return head.name()


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two colours, from 1 (none) to 21 (black on white)."""

    def luminance(colour: str) -> float:
        c = QColor(colour)
        parts = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
                 for v in (c.redF(), c.greenF(), c.blueF())]
        return 0.2126 * parts[0] + 0.7152 * parts[1] + 0.0722 * parts[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def ui_font(point_size: float = 10.0, bold: bool = False) -> QFont:
    font = QFont(QApplication.font())
    font.setPointSizeF(point_size)
    font.setBold(bold)
    return font


def mono_font(point_size: float = 10.0) -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(point_size)
    return font


def rgb(colour: str) -> tuple[int, int, int]:
    """`colour` ('#rrggbb') as an (r, g, b) tuple, as NodeGraphQt takes colours."""
    c = QColor(colour)
    return c.red(), c.green(), c.blue()


class _ThemedIconEngine(QIconEngine):
    """Draws a resources/icons SVG with its dark-theme colours swapped for the current theme's, at paint time,
    so icons made once follow a theme switch (disabled: in MUTED, half transparent)."""

    def __init__(self, svg: bytes):
        super().__init__()
        self.svg = svg

    def _renderer(self, mode: QIcon.Mode) -> QSvgRenderer:
        c = COLORS
        swaps = {DARK.icon_color: c.muted if mode == QIcon.Mode.Disabled else c.icon_color,
                 DARK.error_color: c.error_color, DARK.warning_color: c.warning_color, DARK.ok_color: c.ok_color}
        return _svg_renderer(self.svg, tuple(swaps.items()))

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        painter.save()
        if mode == QIcon.Mode.Disabled:
            painter.setOpacity(0.55)
        self._renderer(mode).render(painter, QRectF(rect))
        painter.restore()

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        self.paint(painter, pixmap.rect(), mode, state)
        painter.end()
        return pixmap

    def clone(self) -> QIconEngine:
        return _ThemedIconEngine(self.svg)


@cache
def _svg_renderer(svg: bytes, swaps: tuple[tuple[str, str], ...]) -> QSvgRenderer:
    for old, new in swaps:
        svg = svg.replace(old.encode(), new.encode())
    return QSvgRenderer(QByteArray(svg))


@cache
def icon(name: str) -> QIcon:
    """An icon from resources/icons/<name>.svg, drawn crisp at any size in the current theme's colours."""
    return QIcon(_ThemedIconEngine((resources.files("resources") / "icons" / f"{name}.svg").read_bytes()))


def icon_from_svg(data: bytes, sizes: tuple[int, ...] = (16, 20, 24, 32, 48, 64)) -> QIcon:
    """A QIcon holding the SVG `data` rendered at each of `sizes` px."""
    renderer = QSvgRenderer(QByteArray(data))
    result = QIcon()
    for size in sizes:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        result.addPixmap(pixmap)
    return result


@cache
def app_icon() -> QIcon:
    """DeepWire's icon from the app icon set (resources/icons/app): the PNG renderings plus the SVG."""
    folder = resources.files("resources") / "icons" / "app"
    result = icon_from_svg((folder / "deepwire.svg").read_bytes(), sizes=(512,))
    for entry in folder.iterdir():
        if entry.name.endswith(".png"):
            pixmap = QPixmap()
            pixmap.loadFromData(entry.read_bytes(), "PNG")
            result.addPixmap(pixmap)
    return result


def _icon_url(name: str, file: str) -> str:
    """Path of an icon the stylesheet names: resources/icons/<theme>/<file> where the theme has its own."""
    folder = Path(str(resources.files("resources") / "icons"))
    variant = folder / name / file
    return (variant if variant.is_file() else folder / file).as_posix()


def stylesheet(name: str = DEFAULT_THEME) -> str:
    """resources/styles/editor.qss with theme `name`'s colours filled in for the @NAMES (@TEXT, @ERROR, ...)."""
    text = (resources.files("resources") / "styles" / "editor.qss").read_text(encoding="utf-8")
    text = re.sub(r"@ICONS/([\w.-]+)", lambda m: _icon_url(name, m.group(1)), text)
    colours = THEMES[name]
    names = {f.name.upper().removesuffix("_COLOR"): getattr(colours, f.name) for f in fields(Colors) if f.name != "dark"}
    for key in sorted(names, key=len, reverse=True):
        text = text.replace(f"@{key}", names[key])
    return text


def palette(colours: Colors) -> QPalette:
    """The Qt palette of `colours` (what Fusion draws unstyled parts and dialogs with)."""
    c = colours
    pal = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    for r, colour in ((role.Window, c.window), (role.WindowText, c.text), (role.Base, c.base),
                      (role.AlternateBase, c.panel), (role.ToolTipBase, c.raised), (role.ToolTipText, c.text),
                      (role.PlaceholderText, c.muted), (role.Text, c.text), (role.Button, c.raised),
                      (role.ButtonText, c.text), (role.BrightText, c.error_color), (role.Link, c.accent),
                      (role.Highlight, c.accent), (role.HighlightedText, "#ffffff"), (role.Mid, c.border),
                      (role.Dark, c.base if c.dark else c.border), (role.Light, c.raised if c.dark else "#ffffff"),
                      (role.Shadow, "#000000" if c.dark else c.muted)):
        pal.setColor(r, QColor(colour))
    for r in (role.WindowText, role.Text, role.ButtonText):
        pal.setColor(group.Disabled, r, QColor(c.muted))
    return pal


def apply_theme(app: QApplication, name: str = DEFAULT_THEME) -> None:
    """Style the whole application with theme `name`: Fusion style, palette, stylesheet, font, icon, plots.

    Switching live also recolours what was built in the old colours: widgets' own style sheets and rich-text
    labels, and pyqtgraph plots. Painted items (canvas, code view) repaint on the QEvent.StyleChange this sends.
    """
    import pyqtgraph

    old = _use(name)
    app.setStyle("Fusion")
    app.setPalette(palette(COLORS))
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 10.0))
    app.setFont(font)
    app.setStyleSheet(stylesheet(name))
    app.setWindowIcon(app_icon())
    pyqtgraph.setConfigOptions(background=COLORS.base, foreground=COLORS.text, antialias=True)
    if old != COLORS:
        _recolour_built(app, {getattr(old, f): getattr(COLORS, f) for f in reversed(UI_FIELDS)})


def _recolour_built(app: QApplication, swaps: dict[str, str]) -> None:
    """Swap the old theme's colours (`swaps`, '#rrggbb' -> '#rrggbb') in every existing widget that baked them in."""
    import pyqtgraph

    pattern = re.compile(r"#[0-9a-fA-F]{6}(?![0-9a-fA-F])")

    def swap_text(text: str) -> str:
        return pattern.sub(lambda m: swaps.get(m.group(0).lower(), m.group(0)), text)

    # Libraries keep parentless menus that only Python's collector deletes; one collected in the middle of the
    # walk would leave a dangling widget in it, so the collector waits until the walk is done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for widget in app.allWidgets():
            sheet = widget.styleSheet()
            if sheet and swap_text(sheet) != sheet:
                widget.setStyleSheet(swap_text(sheet))
            if isinstance(widget, QLabel) and "#" in widget.text() and swap_text(widget.text()) != widget.text():
                widget.setText(swap_text(widget.text()))
            if isinstance(widget, pyqtgraph.PlotWidget):
                _recolour_plot(widget, swaps)
    finally:
        if collecting:
            gc.enable()


def _recolour_plot(widget, swaps: dict[str, str]) -> None:
    """Background, title, axes and legend of a pyqtgraph PlotWidget in the new colours (curves keep theirs)."""

    def swap(colour) -> QColor:
        c = QColor(colour)
        new = QColor(swaps.get(c.name(), c.name()))
        new.setAlpha(c.alpha())
        return new

    widget.setBackground(swap(widget.backgroundBrush().color()))
    item = widget.getPlotItem()
    title = item.titleLabel
    if title.opts.get("color") is not None:
        title.setText(title.text, color=swap(title.opts["color"]).name())
    for side in ("left", "bottom", "right", "top"):
        axis = item.getAxis(side)
        style = dict(axis.labelStyle)
        axis.setPen(swap(axis.pen().color()))  # these two also overwrite the label's colour
        axis.setTextPen(swap(axis.textPen().color()))
        if "color" in style:
            style["color"] = swap(style["color"]).name()
            axis.setLabel(axis.labelText, axis.labelUnits, axis.labelUnitPrefix, **style)
    legend = item.legend
    if legend is not None:
        legend.setBrush(swap(legend.brush().color()))
        legend.setLabelTextColor(swap(legend.labelTextColor()))
        for _sample, label in legend.items:
            label.setText(label.text)
