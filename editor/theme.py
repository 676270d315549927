"""DeepWire's dark look: palette, stylesheet, category colours, fonts, icons and plot defaults."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from editor.settings import DEFAULT_THEME

WINDOW = "#1e2024"
PANEL = "#24272c"
BASE = "#1a1c20"
RAISED = "#2c3036"
BORDER = "#3a3f47"
TEXT = "#dfe3e8"
MUTED = "#8b949e"
ACCENT = "#4c8bf5"
ERROR_COLOR = "#e5534b"
WARNING_COLOR = "#d4a72c"
OK_COLOR = "#57ab5a"

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


def category_color(category: str) -> QColor:
    """The colour nodes and palette entries of `category` are drawn in."""
    return QColor(CATEGORY_COLORS.get(category, OTHER_CATEGORY_COLOR))


def ui_font(point_size: float = 10.0, bold: bool = False) -> QFont:
    font = QFont(QApplication.font())
    font.setPointSizeF(point_size)
    font.setBold(bold)
    return font


def mono_font(point_size: float = 10.0) -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(point_size)
    return font


@cache
def icon(name: str) -> QIcon:
    """An icon from resources/icons/<name>.svg, rendered crisp at the usual sizes."""
    return icon_from_svg((resources.files("resources") / "icons" / f"{name}.svg").read_bytes())


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


def stylesheet(name: str = DEFAULT_THEME) -> str:
    """The QSS in resources/styles/<name>.qss with the colour names filled in."""
    text = (resources.files("resources") / "styles" / f"{name}.qss").read_text(encoding="utf-8")
    icons = Path(str(resources.files("resources") / "icons")).as_posix()
    names = {"ICONS": icons, "WINDOW": WINDOW, "PANEL": PANEL, "BASE": BASE, "RAISED": RAISED, "BORDER": BORDER,
             "TEXT": TEXT, "MUTED": MUTED, "ACCENT": ACCENT, "ERROR": ERROR_COLOR}
    for key in sorted(names, key=len, reverse=True):
        text = text.replace(f"@{key}", names[key])
    return text


def dark_palette() -> QPalette:
    pal = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    for r, colour in ((role.Window, WINDOW), (role.WindowText, TEXT), (role.Base, BASE),
                      (role.AlternateBase, PANEL), (role.ToolTipBase, RAISED), (role.ToolTipText, TEXT),
                      (role.PlaceholderText, MUTED), (role.Text, TEXT), (role.Button, RAISED),
                      (role.ButtonText, TEXT), (role.BrightText, ERROR_COLOR), (role.Link, ACCENT),
                      (role.Highlight, ACCENT), (role.HighlightedText, "#ffffff"), (role.Mid, BORDER),
                      (role.Dark, BASE), (role.Light, RAISED), (role.Shadow, "#000000")):
        pal.setColor(r, QColor(colour))
    for r in (role.WindowText, role.Text, role.ButtonText):
        pal.setColor(group.Disabled, r, QColor(MUTED))
    return pal


def apply_theme(app: QApplication, name: str = DEFAULT_THEME) -> None:
    """Style the whole application with theme `name`: Fusion style, palette, stylesheet, font, icon, plots."""
    import pyqtgraph

    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 10.0))
    app.setFont(font)
    app.setStyleSheet(stylesheet(name))
    app.setWindowIcon(app_icon())
    pyqtgraph.setConfigOptions(background=BASE, foreground=TEXT, antialias=True)
