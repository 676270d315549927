"""The one entry point the main window calls to add training: docks, tabs, menu and toolbar actions."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow

from editor.training.workspace import TrainingWorkspace

DEFAULT_BACKEND = "process"
"""Runs train in a child process: measured in benchmarks/gui_latency.py, and a crash cannot close the editor."""


def install_training(main_window: QMainWindow, controller, backend: str = DEFAULT_BACKEND) -> TrainingWorkspace:
    """Add the Data and Training panels, the training views and the Train/Stop/Evaluate/Export…/Runs actions."""
    return TrainingWorkspace(main_window, controller, backend)
