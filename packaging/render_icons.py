"""Render resources/icons/app/deepwire.svg to the PNG sizes desktops ask for (Qt offscreen, no screen needed)."""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(svg: bytes, out_dir: Path, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    """Write deepwire-<size>.png for each size into `out_dir`; returns the files written."""
    from PySide6.QtCore import QByteArray, QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841  fonts/painting need one
    renderer = QSvgRenderer(QByteArray(svg))
    if not renderer.isValid():
        raise ValueError("the app icon SVG does not parse")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        path = out_dir / f"deepwire-{size}.png"
        if not image.save(str(path)):
            raise OSError(f"cannot write {path}")
        written.append(path)
    return written


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    folder = resources.files("resources") / "icons" / "app"
    out = Path(str(folder))
    for path in render((folder / "deepwire.svg").read_bytes(), out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
