"""Write a PNG of the editor window showing a project: `python tools/screenshot.py PROJECT OUT.png`.

PROJECT is a project file or a template stem (e.g. lenet); runs offscreen, no display needed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from editor.app import application, open_project, settle  # noqa: E402
from editor.main_window import MainWindow  # noqa: E402


def screenshot(project: str, out: str, width: int = 1600, height: int = 1000) -> Path:
    """Open `project` in a fresh window of `width` x `height`, fit the view and save the window as PNG."""
    application()
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


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    print(screenshot(argv[0], argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
