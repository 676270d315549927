"""Evaluation numbers from predictions: confusion matrix, per-class scores, ROC/PR curves, regression errors."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


class _SklearnMetrics:
    """sklearn.metrics, imported on first use (it takes seconds; the editor imports this module at start)."""

    def __getattr__(self, name: str):
        from sklearn import metrics

        return getattr(metrics, name)


skm = _SklearnMetrics()

CLASSIFICATION = ("multiclass", "binary", "multilabel")
TOP_WRONG = 10


@dataclass
class Curve:
    """One ROC or precision-recall curve of one class (one-vs-rest) with its area."""

    label: str
    x: list[float]
    y: list[float]
    thresholds: list[float | None]
    area: float | None
    """ROC: AUC; PR: average precision."""


@dataclass
class EvaluationResult:
    """Every evaluation number of one split; `to_dict` is what `evaluation.json` holds."""

    task: str
    n: int
    class_names: list[str] | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    confusion: list[list[int]] | None = None
    """Rows are true classes, columns predicted classes (multilabel: one 2x2 matrix per label, flattened)."""
    confusion_normalized: list[list[float]] | None = None
    """Each row divided by its count (recall per true class); rows of absent classes are 0."""
    per_class: list[dict[str, Any]] = field(default_factory=list)
    roc: list[Curve] = field(default_factory=list)
    pr: list[Curve] = field(default_factory=list)
    residuals: dict[str, list[float]] | None = None
    """Regression: `y_true`, `y_pred` and `residual` (pred - true), flattened, in data units."""
    wrong: list[dict[str, Any]] = field(default_factory=list)
    """The most confidently wrong samples (regression: the largest errors), worst first."""
    split: str = ""
    head: str = ""
    """The Output head evaluated, in a project with several (else empty)."""
    boxes: list[dict[str, Any]] = field(default_factory=list)
    """Detection: example images, each {'index', 'image' (C, H, W) or (H, W), 'truth': [[class, x0, y0, x1, y1]],
    'pred': [[class, score, x0, y0, x1, y1]]} in pixels, predictions best first."""

    def to_dict(self) -> dict:
        return _finite(asdict(self))

    @classmethod
    def from_dict(cls, doc: dict) -> EvaluationResult:
        doc = dict(doc)
        doc["roc"] = [Curve(**c) for c in doc.get("roc", [])]
        doc["pr"] = [Curve(**c) for c in doc.get("pr", [])]
        return cls(**doc)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> EvaluationResult:
        from engine.errors import BadFileError
        from engine.safeio import read_json

        try:
            return cls.from_dict(read_json(Path(path), "evaluation"))
        except (TypeError, ValueError, AttributeError) as exc:
            raise BadFileError(f"{path}: not a DeepWire evaluation ({exc}); evaluate the run again") from None


def _finite(value: Any) -> Any:
    """NaN and infinities become None so the result is strict JSON."""
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    return value


def softmax(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(scores: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-scores))


def evaluate_predictions(task: str, y_true: Any, scores: Any, class_names: list[str] | None = None, *,
                         logits: bool = True, inputs: np.ndarray | None = None) -> EvaluationResult:
    """Evaluate model outputs `scores` against `y_true` for an Output task.

    multiclass: scores (N, C) (or (N, ..., C) per step), y_true class ids; binary: scores (N,) or (N, 1),
    y_true 0/1; multilabel: scores (N, K), y_true 0/1; regression: values of the target's shape.
    `logits` means scores are raw outputs (softmax/sigmoid is applied); else they are probabilities.
    `inputs` (one row per sample) are attached to the most confidently wrong samples.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _evaluate(task, np.asarray(y_true), np.asarray(scores, dtype=np.float64), class_names, logits, inputs)


def _evaluate(task: str, y: np.ndarray, s: np.ndarray, class_names: list[str] | None, logits: bool,
              inputs: np.ndarray | None) -> EvaluationResult:
    if task == "multiclass":
        s, y = s.reshape(-1, s.shape[-1]), y.reshape(-1).astype(np.int64)
        if (y < 0).any():  # positions past a text's end (next-word targets) are not predictions to judge
            s, y, inputs = s[y >= 0], y[y >= 0], None
        return _multiclass(y, softmax(s) if logits else s, class_names, inputs)
    if task == "binary":
        p = s.reshape(-1)
        return _binary(y.reshape(-1).astype(np.int64), sigmoid(p) if logits else p, class_names, inputs)
    if task == "multilabel":
        s = s.reshape(len(s), -1)
        return _multilabel(y.reshape(len(y), -1).astype(np.int64), sigmoid(s) if logits else s, class_names)
    return _regression(y.astype(np.float64), s, inputs, task)


def _names(class_names: list[str] | None, count: int) -> list[str]:
    if class_names and len(class_names) >= count:
        return [str(c) for c in class_names[:count]]
    return [str(i) for i in range(count)]


def _per_class(y: np.ndarray, pred: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    labels = list(range(len(names)))
    p, r, f, support = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    return [{"class": n, "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
             "support": int(support[i])} for i, n in enumerate(names)]


def _curves(y_onehot: np.ndarray, probs: np.ndarray, names: list[str]) -> tuple[list[Curve], list[Curve]]:
    """One-vs-rest ROC and PR curves per column; a class absent from y_true has no curve."""
    roc, pr = [], []
    for i, name in enumerate(names):
        yi, pi = y_onehot[:, i], probs[:, i]
        if yi.min() == yi.max():
            continue
        fpr, tpr, thr = skm.roc_curve(yi, pi)
        roc.append(Curve(name, fpr.tolist(), tpr.tolist(), thr.tolist(), float(skm.auc(fpr, tpr))))
        precision, recall, thr = skm.precision_recall_curve(yi, pi)
        pr.append(Curve(name, recall.tolist(), precision.tolist(), thr.tolist(),
                        float(skm.average_precision_score(yi, pi))))
    return roc, pr


def _confusion(y: np.ndarray, pred: np.ndarray, count: int) -> tuple[list[list[int]], list[list[float]]]:
    cm = skm.confusion_matrix(y, pred, labels=list(range(count)))
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=np.float64), where=rows > 0)
    return cm.tolist(), norm.tolist()


def _wrong(y: np.ndarray, pred: np.ndarray, confidence: np.ndarray, names: list[str],
           inputs: np.ndarray | None) -> list[dict[str, Any]]:
    idx = np.flatnonzero(pred != y)
    idx = idx[np.argsort(-confidence[idx], kind="stable")][:TOP_WRONG]
    return [_sample(int(i), names[int(y[i])], names[int(pred[i])], {"confidence": float(confidence[i])}, inputs) for i in idx]


def _sample(i: int, true: Any, pred: Any, score: dict[str, float], inputs: np.ndarray | None) -> dict[str, Any]:
    row = {"index": i, "true": true, "pred": pred, **score}
    if inputs is not None and i < len(inputs):
        row["input"] = np.asarray(inputs[i]).tolist()
    return row


def _multiclass(y: np.ndarray, probs: np.ndarray, class_names: list[str] | None,
                inputs: np.ndarray | None) -> EvaluationResult:
    count = probs.shape[1]
    names = _names(class_names, count)
    pred = probs.argmax(axis=1)
    cm, cm_norm = _confusion(y, pred, count)
    per_class = _per_class(y, pred, names)
    roc, pr = _curves(np.eye(count, dtype=np.int64)[y], probs, names)
    present = sorted(set(y.tolist()))
    m: dict[str, float | None] = {
        "accuracy": float(skm.accuracy_score(y, pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y, pred)),
        "macro_precision": float(np.mean([c["precision"] for c in per_class])),
        "macro_recall": float(np.mean([c["recall"] for c in per_class])),
        "macro_f1": float(skm.f1_score(y, pred, labels=list(range(count)), average="macro", zero_division=0)),
        "weighted_f1": float(skm.f1_score(y, pred, labels=list(range(count)), average="weighted", zero_division=0)),
        "log_loss": float(skm.log_loss(y, np.clip(probs, 1e-15, 1), labels=list(range(count)))),
        "roc_auc_ovr_macro": float(np.mean([c.area for c in roc])) if len(present) > 1 else None,
    }
    if len(present) == count:
        m["roc_auc_ovr_macro"] = float(skm.roc_auc_score(y, probs, multi_class="ovr", average="macro"))
    return EvaluationResult("multiclass", len(y), names, m, cm, cm_norm, per_class, roc, pr,
                            wrong=_wrong(y, pred, probs.max(axis=1), names, inputs))


def _binary(y: np.ndarray, prob: np.ndarray, class_names: list[str] | None,
            inputs: np.ndarray | None) -> EvaluationResult:
    names = _names(class_names, 2)
    pred = (prob > 0.5).astype(np.int64)
    cm, cm_norm = _confusion(y, pred, 2)
    probs = np.stack([1 - prob, prob], axis=1)
    roc, pr = _curves(np.stack([1 - y, y], axis=1), probs, names)
    roc, pr = roc[1:], pr[1:]
    both = len(set(y.tolist())) == 2
    m: dict[str, float | None] = {
        "accuracy": float(skm.accuracy_score(y, pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y, pred)),
        "precision": float(skm.precision_score(y, pred, zero_division=0)),
        "recall": float(skm.recall_score(y, pred, zero_division=0)),
        "f1": float(skm.f1_score(y, pred, zero_division=0)),
        "log_loss": float(skm.log_loss(y, np.clip(prob, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "roc_auc": float(skm.roc_auc_score(y, prob)) if both else None,
        "average_precision": float(skm.average_precision_score(y, prob)) if both else None,
    }
    confidence = np.where(pred == 1, prob, 1 - prob)
    return EvaluationResult("binary", len(y), names, m, cm, cm_norm, _per_class(y, pred, names), roc, pr,
                            wrong=_wrong(y, pred, confidence, names, inputs))


def _multilabel(y: np.ndarray, probs: np.ndarray, class_names: list[str] | None) -> EvaluationResult:
    names = _names(class_names, probs.shape[1])
    pred = (probs > 0.5).astype(np.int64)
    p, r, f, support = skm.precision_recall_fscore_support(y, pred, zero_division=0)
    per_class = [{"class": n, "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                  "support": int(support[i])} for i, n in enumerate(names)]
    roc, pr = _curves(y, probs, names)
    cms = skm.multilabel_confusion_matrix(y, pred)
    m: dict[str, float | None] = {
        "subset_accuracy": float(skm.accuracy_score(y, pred)),
        "hamming_loss": float(skm.hamming_loss(y, pred)),
        "micro_f1": float(skm.f1_score(y, pred, average="micro", zero_division=0)),
        "macro_f1": float(skm.f1_score(y, pred, average="macro", zero_division=0)),
        "roc_auc_macro": float(np.mean([c.area for c in roc])) if roc else None,
    }
    return EvaluationResult("multilabel", len(y), names, m, [c.ravel().tolist() for c in cms], None,
                            per_class, roc, pr)


def _regression(y: np.ndarray, pred: np.ndarray, inputs: np.ndarray | None, task: str) -> EvaluationResult:
    n = len(y)
    yt, yp = y.reshape(n, -1), pred.reshape(n, -1)
    m: dict[str, float | None] = {
        "mse": float(skm.mean_squared_error(yt, yp)),
        "rmse": float(np.sqrt(skm.mean_squared_error(yt, yp))),
        "mae": float(skm.mean_absolute_error(yt, yp)),
        "r2": float(skm.r2_score(yt, yp)) if n > 1 else None,
        "explained_variance": float(skm.explained_variance_score(yt, yp)) if n > 1 else None,
        "max_error": float(np.abs(yp - yt).max()) if n else None,
    }
    error = np.abs(yp - yt).mean(axis=1)
    worst = np.argsort(-error, kind="stable")[:TOP_WRONG]
    wrong = [_sample(int(i), _value(yt[i]), _value(yp[i]), {"error": float(error[i])}, inputs) for i in worst]
    residuals = {"y_true": yt.ravel().tolist(), "y_pred": yp.ravel().tolist(), "residual": (yp - yt).ravel().tolist()}
    return EvaluationResult(task, n, None, m, residuals=residuals, wrong=wrong)


def _value(row: np.ndarray) -> float | list[float]:
    return float(row[0]) if row.size == 1 else row.tolist()
