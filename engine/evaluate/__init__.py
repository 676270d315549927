"""Evaluation: confusion matrix, per-class scores, ROC/PR curves and regression errors of a trained model."""

from engine.evaluate.metrics import Curve, EvaluationResult, evaluate_predictions
from engine.evaluate.run import evaluate_run

__all__ = ["Curve", "EvaluationResult", "evaluate_predictions", "evaluate_run"]
