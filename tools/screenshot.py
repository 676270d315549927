"""Write a PNG of the editor window showing a project:
`python tools/screenshot.py PROJECT OUT.png [--theme dark|light] [--size 1440x900]`.

PROJECT is a project file or a template stem (e.g. lenet); runs offscreen, no display needed. The theme
defaults to the one chosen in Edit > Preferences; --theme overrides it for this shot only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from editor import theme  # noqa: E402
from editor.app import application, open_project, settle  # noqa: E402
from editor.main_window import MainWindow  # noqa: E402
from editor.settings import available_themes  # noqa: E402


def screenshot(project: str, out: str, width: int = 1600, height: int = 1000, theme_name: str | None = None) -> Path:
    """Open `project` in a fresh window of `width` x `height` (in theme `theme_name`, else the user's), fit the
    view and save the window as PNG."""
    app = application()
    if theme_name is not None:
        theme.apply_theme(app, theme_name)
    window = MainWindow()
    window.resize(width, height)
    window.show()
    open_project(window, project)
    settle()
    window.controller.fit_view()
    settle()
    path = Path(out)
    if not window.grab().save(str(path)):
        raise SystemExit(f"could not write {path}")
    window.document.close_cleanly()
    window.controller.undo_stack.setClean()
    window.close()
    return path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="screenshot.py", description=__doc__.strip().splitlines()[0])
    parser.add_argument("project", help="project file or template stem (e.g. lenet)")
    parser.add_argument("out", help="PNG file to write")
    parser.add_argument("--theme", choices=available_themes(), help="theme for this shot (default: the user's)")
    parser.add_argument("--size", default="1600x1000", help="window size WIDTHxHEIGHT (default 1600x1000)")
    args = parser.parse_args(argv)
    try:
        args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size must look like 1440x900, not {args.size!r}")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    print(screenshot(args.project, args.out, args.width, args.height, args.theme))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
