"""Loss functions by name, adapted to the head's shape (per-step class scores, (N, 1) targets)."""

from __future__ import annotations

from collections.abc import Callable

from engine.errors import TrainingError
from engine.lazy import LazyModule

torch = LazyModule("torch")
F = LazyModule("torch.nn.functional")

LossFn = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]

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


def balanced_weights(counts: torch.Tensor) -> torch.Tensor:
    """Per-class loss weights inversely proportional to the class counts, averaging 1 over the samples
    (a class with no samples gets weight 0)."""
    counts = counts.double()
    present = counts > 0
    weights = torch.where(present, counts.sum() / (present.sum() * counts.clamp(min=1)), 0.0)
    return weights.float()


def make_loss(name: str, *, margin: float = 1.0, huber_delta: float = 1.0, label_smoothing: float = 0.0,
              class_weights: torch.Tensor | None = None) -> LossFn:
    """Loss by name; targets are reshaped to fit the output (class ids for cross-entropy). `class_weights`
    (one per class; for BCE the [negative, positive] pair) weights each class's share of the loss."""
    if name == "cross_entropy":
        weight = class_weights

        def cross_entropy(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            w = None if weight is None else weight.to(out.device, out.dtype)
            if out.dim() == 2 and target.dim() == 1 and target.dtype == torch.long:  # the common case, no reshapes
                return F.cross_entropy(out, target, weight=w, label_smoothing=label_smoothing)
            return F.cross_entropy(out.reshape(-1, out.shape[-1]), target.reshape(-1).long(), weight=w,
                                   label_smoothing=label_smoothing)
        return cross_entropy
    if name == "bce":
        pos = None if class_weights is None else class_weights[1] / class_weights[0].clamp(min=1e-12)
        return lambda out, target: F.binary_cross_entropy_with_logits(
            out, target.reshape(out.shape).to(out.dtype), pos_weight=None if pos is None else pos.to(out.device))
    if name == "contrastive":
        return lambda out, target: contrastive(out, target, margin)
    regression = {"mse": F.mse_loss, "mae": F.l1_loss,
                  "huber": lambda o, t: F.huber_loss(o, t, delta=huber_delta)}
    if name not in regression:
        raise TrainingError(f"unknown loss {name!r}")
    fn = regression[name]
    return lambda out, target: fn(out, target.reshape(out.shape).to(out.dtype))
