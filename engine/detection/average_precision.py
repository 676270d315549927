"""COCO-style mean average precision: greedy matching per image and class, 101-point interpolated precision.

Follows pycocotools' COCOeval for boxes (area range 'all', no crowd regions, at most `max_dets` detections
per image and class); tests check the numbers against pycocotools on the same predictions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)


@dataclass
class Detections:
    """One image's boxes (K, 4) as x0, y0, x1, y1 pixels, class ids (K,) and, for predictions, scores (K,)."""

    boxes: np.ndarray
    labels: np.ndarray
    scores: np.ndarray | None = None


@dataclass
class MapResult:
    """mAP@[.5:.95] (`map`), mAP@0.5 (`map50`), mAP@0.75, per-class APs and the PR curve per class at IoU 0.5."""

    map: float
    map50: float
    map75: float
    per_class: list[dict] = field(default_factory=list)
    """{'class', 'ap', 'ap50', 'gt'} per class with ground truth."""
    pr50: dict[int, np.ndarray] = field(default_factory=dict)
    """Class id -> precision at the 101 recall points (IoU 0.5)."""


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(br - tl, 0, None).prod(-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _match(det: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(T, D) True where a detection (score order) matches a ground-truth box at each IoU threshold."""
    matched = np.zeros((len(IOU_THRESHOLDS), len(det)), dtype=bool)
    if not len(det) or not len(gt):
        return matched
    ious = _iou(det, gt)[:, ::-1]  # reversed: argmax then finds the last best box, as pycocotools picks it
    for t, threshold in enumerate(IOU_THRESHOLDS):
        free = np.ones(len(gt), dtype=bool)
        for d in range(len(det)):
            best = int(np.argmax(np.where(free, ious[d], -1.0)))
            if free[best] and ious[d, best] >= min(threshold, 1 - 1e-10):
                free[best] = False
                matched[t, d] = True
    return matched


def _precision_at_recall(tp: np.ndarray, fp: np.ndarray, n_gt: int) -> np.ndarray:
    """Interpolated precision at the 101 recall points (0 beyond the highest recall reached)."""
    tps, fps = np.cumsum(tp), np.cumsum(fp)
    recall = tps / n_gt
    precision = tps / np.maximum(tps + fps, np.spacing(1))
    precision = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    out = np.zeros(len(RECALL_POINTS))
    idx = np.searchsorted(recall, RECALL_POINTS, side="left")
    ok = idx < len(precision)
    out[ok] = precision[idx[ok]]
    return out


def mean_average_precision(predictions: list[Detections], truths: list[Detections], num_classes: int,
                           max_dets: int = 100) -> MapResult:
    """mAP of `predictions` against `truths` (one Detections per image, same order); classes without any
    ground truth are left out of the mean."""
    curves = np.full((len(IOU_THRESHOLDS), num_classes, len(RECALL_POINTS)), np.nan)
    rows = []
    for c in range(num_classes):
        scores, hits, n_gt = [], [], 0
        for pred, truth in zip(predictions, truths, strict=True):
            gt = truth.boxes[truth.labels == c]
            mine = pred.labels == c
            order = np.argsort(-pred.scores[mine], kind="mergesort")[:max_dets]
            n_gt += len(gt)
            scores.append(pred.scores[mine][order])
            hits.append(_match(pred.boxes[mine][order], gt))
        if not n_gt:
            continue
        score = np.concatenate(scores)
        order = np.argsort(-score, kind="mergesort")
        hit = np.concatenate(hits, axis=1)[:, order]
        for t in range(len(IOU_THRESHOLDS)):
            curves[t, c] = _precision_at_recall(hit[t], ~hit[t], n_gt)
        rows.append({"class": c, "ap": float(curves[:, c].mean()), "ap50": float(curves[0, c].mean()), "gt": n_gt})
    have = [r["class"] for r in rows]
    if not have:
        return MapResult(float("nan"), float("nan"), float("nan"))
    per = curves[:, have].mean(-1)  # (T, classes)
    return MapResult(float(per.mean()), float(per[0].mean()), float(per[5].mean()), rows,
                     {c: curves[0, c] for c in have})
