"""From a detection output (N, K, 8 + C) to the final boxes: score threshold, top-k, NMS per class."""

from __future__ import annotations

import torch

from engine.detection.average_precision import Detections
from engine.detection.nms import batched_nms


def detect(out: torch.Tensor, score_threshold: float = 0.05, iou_threshold: float = 0.5, max_dets: int = 100,
           pre_nms: int = 300) -> list[Detections]:
    """Per image: the (box, class, score) rows whose sigmoid class score passes `score_threshold`, the best
    `pre_nms` of them, after non-maximum suppression within each class, at most `max_dets` (numpy, CPU)."""
    out = out.detach().float()
    boxes, scores = out[..., 4:8], torch.sigmoid(out[..., 8:])
    classes = scores.shape[-1]
    results = []
    for image_boxes, image_scores in zip(boxes, scores, strict=True):
        flat = image_scores.reshape(-1)
        keep = (flat > score_threshold).nonzero().squeeze(1)
        keep = keep[flat[keep].topk(min(pre_nms, len(keep))).indices]
        ref, label = keep // classes, keep % classes
        chosen = batched_nms(image_boxes[ref], flat[keep], label, iou_threshold)[:max_dets]
        results.append(Detections(image_boxes[ref[chosen]].cpu().numpy(), label[chosen].cpu().numpy(),
                                  flat[keep[chosen]].cpu().numpy()))
    return results


def truth_detections(truth: torch.Tensor) -> list[Detections]:
    """Padded (N, M, 5) targets as one Detections per image (padding rows dropped)."""
    rows = truth.detach().float().cpu()
    return [Detections(r[r[:, 0] >= 0, 1:].numpy(), r[r[:, 0] >= 0, 0].long().numpy()) for r in rows]
