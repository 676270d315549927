"""Closing the window during training: stop the run (its checkpoint kept for Resume) or keep it training in the
background. Kept training, the run is stopped with its checkpoint, then continued by a detached `deepwire resume`
process in its own session, writing to the same run folder (events, checkpoints, state, lock), so it outlives the
editor and the project lists it (running, then finished) when it is opened again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

LOG = "background.log"
"""The detached process's output, in the run folder."""
STOP, BACKGROUND, CANCEL = "stop", "background", "cancel"


def ask_about_run(parent: QWidget | None) -> str:
    """Ask what to do with the run when the window closes: STOP, BACKGROUND or CANCEL."""
    box = QMessageBox(QMessageBox.Icon.Question, "A run is training",
                      "A run is training. Close DeepWire and …", parent=parent)
    box.setInformativeText(
        "Stop: the run ends now and keeps a checkpoint; open the project again and press Resume to continue it.\n\n"
        "Keep training: the run goes on without the editor and saves to the same run folder; open the project "
        "again to see it (Runs) while it trains and when it is done.")
    stop = box.addButton("Stop and close", QMessageBox.ButtonRole.DestructiveRole)
    keep = box.addButton("Keep training in the background", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep)
    box.exec()
    clicked = box.clickedButton()
    return STOP if clicked is stop else BACKGROUND if clicked is keep else CANCEL


def resume_command(run_path: Path) -> list[str]:
    """`deepwire resume RUN` as this installation runs it (the frozen app's own executable, or this Python)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "resume", str(run_path), "--no-progress"]
    return [sys.executable, "-m", "engine.cli", "resume", str(run_path), "--no-progress"]


def continue_detached(run_path: Path) -> subprocess.Popen:
    """Continue the stopped run in `run_path` in a process of its own session (closing the editor, or the
    terminal it was started from, does not end it); its output goes to the run folder's background.log."""
    root = str(Path(__file__).resolve().parents[2])  # where `engine` is, for a run from the source tree
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    detach = ({"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS}
              if sys.platform == "win32" else {"start_new_session": True})
    with open(run_path / LOG, "ab") as log:
        return subprocess.Popen(resume_command(run_path), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, cwd=run_path, env=env, close_fds=True, **detach)
