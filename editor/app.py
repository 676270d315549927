"""Starts the editor: `python -m editor [PROJECT]` or `deepwire [PROJECT]`."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from editor import theme
from editor.settings import Settings
from editor.splash import StartupSplash

if TYPE_CHECKING:
    from editor.main_window import MainWindow



def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="deepwire", description="Open the DeepWire editor.")
    parser.add_argument("project", nargs="?", help="project file or template name (default: the LeNet example)")
    parser.add_argument("--self-test", action="store_true", help="start, build the window, exit 0 (for packaging)")
    return parser.parse_args(argv)


def application() -> QApplication:
    """The running QApplication, named after DeepWire; created and themed (the user's theme) on first use."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        theme.apply_theme(app, Settings().theme)
    app.setApplicationName("DeepWire")
    app.setOrganizationName("DeepWire")
    app.setApplicationDisplayName("DeepWire")
    app.setDesktopFileName("deepwire")  # matches packaging/linux/deepwire.desktop: the shell shows its icon
    return app


def settle(ms: int = 300) -> None:
    """Run the event loop for `ms` so layouts, debounced refreshes and repaints happen."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def open_project(window: MainWindow, ref: str | None) -> None:
    """Show `ref` (a project path or a template stem) in the window, or the LeNet example when None."""
    from editor.welcome import EXAMPLE  # (imported here: the start paints its splash before any engine code)
    from engine.errors import ProjectFileError
    from engine.templates import list_templates, load_project

    if ref and ref not in list_templates():
        window.open_file(ref)
        return
    try:
        window.document.new(load_project(ref or EXAMPLE))
    except ProjectFileError as exc:
        window.show_error("Cannot open the project", f"<b>{ref or EXAMPLE}</b> could not be opened.",
                          str(exc))
        return
    window.controller.fit_view()


def is_first_run(project: str | None, settings: Settings) -> bool:
    """No project asked for, no recent files and the welcome view never shown: a new user."""
    return project is None and not settings.welcome_shown and not settings.recent_files()


def main(argv: list[str] | None = None) -> int:
    """Run the editor; returns the process exit status."""
    multiprocessing.freeze_support()  # the training runner's child process re-enters a frozen (PyInstaller) app
    args = parse_args(sys.argv[1:] if argv is None else argv)
    app = application()
    splash = StartupSplash()
    splash.show_now()  # painted at once; the window follows, drawn before PyTorch loads
    from editor import warmup
    from editor.main_window import MainWindow

    if not args.self_test:
        warmup.begin()  # the graph is drawn unchecked; PyTorch loads after the first paint, then it is validated
    window = MainWindow()
    window.show()
    splash.finish(window)
    if args.self_test:
        open_project(window, args.project)
        app.processEvents()
        window.document.close_cleanly()
        window.controller.undo_stack.setClean()
        window.close()
        return 0
    start(window, args.project)
    window.repaint()
    warmup.load_in_background(window)
    return app.exec()


def start(window: MainWindow, project: str | None) -> None:
    """Offer crash recovery, else open `project` (or the project open when the editor last closed, or the
    example), with the welcome view on a first run."""
    if window.offer_restore():
        return
    settings = Settings()
    first_run = is_first_run(project, settings)
    last = settings.last_project
    open_project(window, project or (str(last) if last is not None else None))
    if first_run:
        window.show_welcome()
