"""Boxes as (x0, y0, x1, y1) rows in pixels: areas, IoU and GIoU, and the delta coding detectors regress."""

from __future__ import annotations

import torch


def area(boxes: torch.Tensor) -> torch.Tensor:
    """Area of each (..., 4) box; empty boxes (x1 < x0) have area 0."""
    return (boxes[..., 2] - boxes[..., 0]).clamp(min=0) * (boxes[..., 3] - boxes[..., 1]).clamp(min=0)


def _inter_union(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    top_left = torch.maximum(a[..., :, None, :2], b[..., None, :, :2])
    bottom_right = torch.minimum(a[..., :, None, 2:], b[..., None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter, area(a)[..., :, None] + area(b)[..., None, :] - inter


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(A, B) intersection over union of every box of `a` (A, 4) with every box of `b` (B, 4); with leading
    batch dims ((N, A, 4) and (N, B, 4)) one (N, A, B) matrix per batch entry."""
    inter, union = _inter_union(a, b)
    return inter / union.clamp(min=torch.finfo(inter.dtype).tiny)


def generalized_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(A, B) GIoU (Rezatofighi et al. 2019): IoU minus the share of the enclosing box neither covers."""
    inter, union = _inter_union(a, b)
    iou = inter / union.clamp(min=1e-9)
    top_left = torch.minimum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.maximum(a[:, None, 2:], b[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    hull = wh[..., 0] * wh[..., 1]
    return iou - (hull - union) / hull.clamp(min=1e-9)


def paired_giou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """GIoU of matching rows of `a` and `b` (both (K, 4)): the diagonal of `generalized_iou`, in O(K)."""
    wh = (torch.minimum(a[:, 2:], b[:, 2:]) - torch.maximum(a[:, :2], b[:, :2])).clamp(min=0)
    inter = wh[:, 0] * wh[:, 1]
    union = area(a) + area(b) - inter
    hull_wh = (torch.maximum(a[:, 2:], b[:, 2:]) - torch.minimum(a[:, :2], b[:, :2])).clamp(min=0)
    hull = hull_wh[:, 0] * hull_wh[:, 1]
    return inter / union.clamp(min=1e-9) - (hull - union) / hull.clamp(min=1e-9)


def to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    x0, y0, x1, y1 = boxes.unbind(-1)
    return torch.stack(((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0), -1)


def to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), -1)


def encode(boxes: torch.Tensor, anchors: torch.Tensor, weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)) -> torch.Tensor:
    """Deltas (dx, dy, dw, dh) that turn each anchor into its box (Girshick et al., R-CNN):
    centre shift in anchor widths/heights and log size ratio, each times its weight."""
    b, a = to_cxcywh(boxes), to_cxcywh(anchors)
    wx, wy, ww, wh = weights
    return torch.stack((wx * (b[..., 0] - a[..., 0]) / a[..., 2], wy * (b[..., 1] - a[..., 1]) / a[..., 3],
                        ww * torch.log(b[..., 2] / a[..., 2]), wh * torch.log(b[..., 3] / a[..., 3])), -1)


def decode(deltas: torch.Tensor, anchors: torch.Tensor, weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)) -> torch.Tensor:
    """The boxes that `deltas` describe relative to `anchors` (the inverse of `encode`); width and height
    scale by at most exp(4.135) = 1000/16, which keeps exp() finite early in training."""
    a = to_cxcywh(anchors)
    wx, wy, ww, wh = weights
    cx = deltas[..., 0] / wx * a[..., 2] + a[..., 0]
    cy = deltas[..., 1] / wy * a[..., 3] + a[..., 1]
    w = torch.exp((deltas[..., 2] / ww).clamp(max=4.135)) * a[..., 2]
    h = torch.exp((deltas[..., 3] / wh).clamp(max=4.135)) * a[..., 3]
    return to_xyxy(torch.stack((cx, cy, w, h), -1))


def clip(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Boxes cut to the image (0..width, 0..height)."""
    x = boxes[..., 0::2].clamp(0, width)
    y = boxes[..., 1::2].clamp(0, height)
    return torch.stack((x[..., 0], y[..., 0], x[..., 1], y[..., 1]), -1)
