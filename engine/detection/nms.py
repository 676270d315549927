"""Non-maximum suppression in plain torch: keep the best box, drop the ones overlapping it, repeat."""

from __future__ import annotations

import numpy as np
import torch

from engine.detection.boxes import box_iou


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices of the boxes kept, best score first: a box is dropped when its IoU with a kept, better box
    is above `iou_threshold` (torchvision.ops.nms semantics)."""
    order = scores.argsort(descending=True)
    if order.numel() == 0:
        return order
    rows = (box_iou(boxes[order], boxes[order]) > iou_threshold).cpu().numpy()
    alive = np.ones(len(order), dtype=bool)
    for i in range(len(order)):  # greedy pass on the host: one small loop, no per-box device sync
        if alive[i]:
            alive[i + 1:] &= ~rows[i, i + 1:]
    return order[torch.from_numpy(alive).to(boxes.device)]


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, groups: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """NMS within each group (class, or image) independently: boxes of different groups never suppress each
    other. Done in one pass by moving each group's boxes to their own far-apart region."""
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    span = boxes.max() - boxes.min() + 1
    shifted = boxes + (groups.to(boxes.dtype) * span)[:, None]
    return nms(shifted, scores, iou_threshold)
