"""Loss functions by name, adapted to the head's shape (per-step class scores, (N, 1) targets)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from engine.errors import TrainingError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

AUTO_LOSS = {"multiclass": "cross_entropy", "binary": "bce", "multilabel": "bce", "regression": "mse"}


def default_loss(output_task: str, data_task: str, head_type: str) -> str:
    """The loss `auto` stands for: a Distance head in a Siamese project trains with the contrastive loss."""
    if data_task == "siamese" and head_type == "Distance" and output_task == "regression":
        return "contrastive"
    return AUTO_LOSS[output_task]


def contrastive(distance: torch.Tensor, same: torch.Tensor, margin: float) -> torch.Tensor:
    """Hadsell et al. 2006: pull same pairs (target 1) together, push different ones beyond `margin`."""
    d = distance.reshape(-1)
    y = same.reshape(-1).to(d.dtype)
    return (y * d.square() + (1 - y) * F.relu(margin - d).square()).mean()


def make_loss(name: str, *, margin: float = 1.0, huber_delta: float = 1.0, label_smoothing: float = 0.0) -> LossFn:
    """Loss by name; targets are reshaped to fit the output (class ids for cross-entropy)."""
    if name == "cross_entropy":
        def cross_entropy(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            if out.dim() == 2 and target.dim() == 1 and target.dtype == torch.long:  # the common case, no reshapes
                return F.cross_entropy(out, target, label_smoothing=label_smoothing)
            return F.cross_entropy(out.reshape(-1, out.shape[-1]), target.reshape(-1).long(),
                                   label_smoothing=label_smoothing)
        return cross_entropy
    if name == "bce":
        return lambda out, target: F.binary_cross_entropy_with_logits(out, target.reshape(out.shape).to(out.dtype))
    if name == "contrastive":
        return lambda out, target: contrastive(out, target, margin)
    regression = {"mse": F.mse_loss, "mae": F.l1_loss,
                  "huber": lambda o, t: F.huber_loss(o, t, delta=huber_delta)}
    if name not in regression:
        raise TrainingError(f"unknown loss {name!r}")
    fn = regression[name]
    return lambda out, target: fn(out, target.reshape(out.shape).to(out.dtype))
