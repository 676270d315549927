"""Sweeps: search node params and training settings with Optuna; every trial is an ordinary run."""

import importlib

from engine.sweep.config import Dimension, SweepConfig, SweepError, apply_values
from engine.sweep.report import TrialRow, pareto_front

_LAZY = {"SweepResult": "engine.sweep.runner", "load_sweep": "engine.sweep.runner", "run_sweep": "engine.sweep.runner"}
"""Names whose module imports optuna: loaded on first use, so importing the package (the editor) stays quick."""


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'engine.sweep' has no attribute {name!r}")

__all__ = ["Dimension", "SweepConfig", "SweepError", "SweepResult", "TrialRow", "apply_values", "load_sweep",
           "pareto_front", "run_sweep"]
