"""Detection losses: match reference boxes (anchors or proposals) to the truth, then score classes and boxes.

A detection output is (N, K, 8 + C): per reference box its coordinates, the predicted box (x0, y0, x1, y1,
pixels) and C class logits (C = 1: objectness, as in a region proposal network). Targets are (N, M, 5)
rows (class, x0, y0, x1, y1) padded with class -1.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from engine.detection.boxes import box_iou, encode, paired_giou

LOSSES = ("focal_giou", "focal_smooth_l1", "sampled_bce_giou")
IGNORE, BACKGROUND = -2, -1


def match(refs: torch.Tensor, truth: torch.Tensor, positive_iou: float = 0.5,
          negative_iou: float = 0.4) -> tuple[torch.Tensor, torch.Tensor]:
    """Per reference box (N, K): the class of the truth box it overlaps best when IoU >= positive_iou,
    BACKGROUND below negative_iou, IGNORE between; every truth box also claims its best reference box (so
    small objects get one). Returns (labels (N, K), matched truth boxes (N, K, 4))."""
    n, k = refs.shape[:2]
    valid = truth[..., 0] >= 0
    if truth.shape[1] == 0:
        return torch.full((n, k), BACKGROUND, dtype=torch.long, device=refs.device), refs.new_zeros(n, k, 4)
    iou = box_iou(refs, truth[..., 1:]).masked_fill(~valid[:, None, :], -1.0)  # (N, K, M)
    best, index = iou.max(-1)
    truth_best = iou.amax(1, keepdim=True)  # (N, 1, M)
    claims = (iou == truth_best) & valid[:, None, :] & (truth_best > 0)
    claimed = claims.any(-1)
    index = torch.where(claimed, claims.to(torch.int8).argmax(-1), index)
    classes = truth[..., 0].long().gather(1, index)
    labels = torch.where(best >= positive_iou, classes, torch.where(best < negative_iou, BACKGROUND, IGNORE))
    labels = torch.where(claimed, classes, labels)
    boxes = truth[..., 1:].gather(1, index[..., None].expand(n, k, 4))
    return labels, boxes


def sample(labels: torch.Tensor, per_image: int, positive_fraction: float, generator: torch.Generator | None = None
           ) -> torch.Tensor:
    """(N, K) mask of the references a sampled loss uses: up to per_image * positive_fraction random positives,
    the rest random negatives (Faster R-CNN's minibatch sampling)."""
    noise = torch.rand(labels.shape, generator=generator, device=labels.device)
    pos, neg = labels >= 0, labels == BACKGROUND
    want_pos = torch.clamp(pos.sum(1, keepdim=True), max=int(per_image * positive_fraction))
    want_neg = torch.clamp(neg.sum(1, keepdim=True), max=per_image - want_pos)

    def pick(mask: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        rank = torch.where(mask, noise, 2.0).argsort(1).argsort(1)
        return mask & (rank < count)

    return pick(pos, want_pos) | pick(neg, want_neg)


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25,
                       gamma: float = 2.0) -> torch.Tensor:
    """Element-wise focal loss (Lin et al. 2017, RetinaNet): BCE scaled down where the prediction is already
    right, so the many easy background boxes do not drown the few objects."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    return (alpha * targets + (1 - alpha) * (1 - targets)) * ce * (1 - p_t) ** gamma


def detection_loss(out: torch.Tensor, truth: torch.Tensor, loss: str = "focal_giou", box_weight: float = 2.0,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, class loss, box loss) of one detection output against padded truth; the class loss is summed
    over the references it uses and divided by the number of positives, the box loss averaged over positives."""
    refs, pred, logits = out[..., :4].detach(), out[..., 4:8], out[..., 8:]
    classes = logits.shape[-1]
    labels, boxes = match(refs.float(), truth.float())
    if classes == 1:  # objectness: every object is class 0
        labels = torch.where(labels >= 0, 0, labels)
    pos = labels >= 0
    num_pos = pos.sum().clamp(min=1).to(logits.dtype)
    onehot = F.one_hot(labels.clamp(min=0), classes).to(logits.dtype) * pos[..., None]
    if loss == "sampled_bce_giou":
        used = sample(labels, 256, 0.25, generator)
        cls = F.binary_cross_entropy_with_logits(logits, onehot, reduction="none")[used].sum() / used.sum().clamp(min=1)
    else:
        used = labels != IGNORE
        cls = sigmoid_focal_loss(logits, onehot)[used].sum() / num_pos
    if loss == "focal_smooth_l1":
        box = F.smooth_l1_loss(encode(pred[pos], refs[pos]), encode(boxes[pos], refs[pos]), beta=1 / 9,
                               reduction="sum") / num_pos
    else:
        box = (1 - paired_giou(pred[pos].float(), boxes[pos])).sum() / num_pos
    return cls + box_weight * box, cls.detach(), box.detach()
