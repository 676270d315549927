"""Sweeps: search node params and training settings with Optuna; every trial is an ordinary run."""

from engine.sweep.config import Dimension, SweepConfig, SweepError, apply_values
from engine.sweep.report import TrialRow, pareto_front
from engine.sweep.runner import SweepResult, load_sweep, run_sweep

__all__ = ["Dimension", "SweepConfig", "SweepError", "SweepResult", "TrialRow", "apply_values", "load_sweep",
           "pareto_front", "run_sweep"]
