"""Epoch metrics accumulated as tensors on the training device and read back once per epoch.

Batches are not folded in one by one: `add_loss` and `update` keep references to the detached
tensors and fold them in a few large operations once `PENDING_LIMIT` output elements are held, or
when the sums are read, so the per-batch cost is a list append instead of a handful of small kernels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.lazy import LazyModule

torch = LazyModule("torch")

AUC_BINS = 1024
PENDING_LIMIT = 1 << 20
PENDING_BATCHES = 4096
"""Output elements, or batches, held before they are folded into the sums (bounds the extra memory)."""


class Metrics:
    """Sums of a loss plus task counts in `state` (device tensors); `compute()` does the one readback."""

    names: tuple[str, ...] = ("loss",)

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.acc_dtype = torch.float32 if device.type == "mps" else torch.float64
        self.state: dict[str, torch.Tensor] = {}
        self.reset()

    def _zeros(self, *shape: int, dtype: torch.dtype | None = None) -> torch.Tensor:
        return torch.zeros(shape, dtype=dtype or self.acc_dtype, device=self.device)

    def reset(self) -> None:
        self.samples = 0
        self.state = {"loss": self._zeros(), **self._counts()}
        self._clear_pending()

    def _clear_pending(self) -> None:
        self._losses: list[torch.Tensor] = []
        self._sizes: list[int] = []
        self._outs: list[torch.Tensor] = []
        self._targets: list[torch.Tensor] = []
        self._held = 0

    def _counts(self) -> dict[str, torch.Tensor]:
        return {}

    def add_loss(self, loss: torch.Tensor, n: int) -> None:
        """Add one batch's mean loss over `n` samples."""
        self._losses.append(loss.detach())
        self._sizes.append(n)
        self.samples += n
        if len(self._losses) >= PENDING_BATCHES:
            self.flush()

    def update(self, out: torch.Tensor, target: torch.Tensor) -> None:
        """Add one batch's outputs and targets (folded into the sums later, in bulk)."""
        self._outs.append(out.detach())
        self._targets.append(target)
        self._held += out.numel()
        if self._held >= PENDING_LIMIT or len(self._outs) >= PENDING_BATCHES:
            self.flush()

    def flush(self) -> None:
        """Fold the held batches into `state`."""
        if self._losses:
            sizes = torch.tensor(self._sizes, dtype=self.acc_dtype).to(self.device, non_blocking=True)
            self.state["loss"] += torch.stack(self._losses).to(self.acc_dtype).reshape(-1) @ sizes
        if self._outs:
            one = len(self._outs) == 1
            self._fold(self._outs[0] if one else torch.cat(self._outs),
                       self._targets[0] if one else torch.cat(self._targets))
        self._clear_pending()

    def _fold(self, out: torch.Tensor, target: torch.Tensor) -> None:
        """Add the outputs and targets of any number of batches to `state`."""

    def export_state(self) -> dict[str, torch.Tensor]:
        """The sums including the sample count, as tensors (to sum across processes or checkpoint)."""
        self.flush()
        return {**self.state, "samples": torch.tensor(float(self.samples), dtype=self.acc_dtype, device=self.device)}

    def compute(self, reduce: Callable[[dict[str, torch.Tensor]], None] | None = None) -> dict[str, float]:
        """Read the sums back once (after `reduce`, e.g. a sum over DDP ranks) and turn them into metrics."""
        state = self.export_state()
        if reduce is not None:
            reduce(state)
        values = {k: v.cpu() for k, v in state.items()}
        n = max(float(values["samples"]), 1.0)
        return {"loss": float(values["loss"]) / n, **self._finish(values)}

    def _finish(self, values: dict[str, torch.Tensor]) -> dict[str, float]:
        return {}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        """Continue from `export_state()` output."""
        state = dict(state)
        self.samples = int(state.pop("samples"))
        self.state = {k: v.to(self.device) for k, v in state.items()}
        self._clear_pending()


def _macro(cm: torch.Tensor) -> dict[str, float]:
    """accuracy, macro precision/recall/F1 from a confusion matrix (rows = truth, columns = prediction).

    Computed with NumPy on the host: the matrix is already read back, and small NumPy ops cost far less.
    """
    cm = cm.numpy().astype(np.float64)
    tp, truth, predicted = cm.diagonal(), cm.sum(1), cm.sum(0)
    seen = (truth + predicted) > 0
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, truth, out=np.zeros_like(tp), where=truth > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    k = max(int(seen.sum()), 1)
    return {"accuracy": float(tp.sum() / max(cm.sum(), 1.0)), "precision": float(precision[seen].sum()) / k,
            "recall": float(recall[seen].sum()) / k, "f1": float(f1[seen].sum()) / k}


class ClassMetrics(Metrics):
    """Multiclass (also one class per step): a confusion matrix of counts."""

    names = ("loss", "accuracy", "precision", "recall", "f1")

    def __init__(self, device: torch.device, num_classes: int) -> None:
        self.num_classes = num_classes
        super().__init__(device)

    def _counts(self) -> dict[str, torch.Tensor]:
        return {"cm": self._zeros(self.num_classes ** 2, dtype=torch.int64)}

    def _fold(self, out: torch.Tensor, target: torch.Tensor) -> None:
        """Count (truth, prediction) pairs; a negative target (IGNORE, past a text's end) lands in an extra bin
        that is dropped, so nothing waits for the device to say which positions to skip."""
        c = self.num_classes
        pred, truth = out.reshape(-1, c).argmax(-1), target.reshape(-1).long()
        cell = torch.where(truth >= 0, truth * c + pred, c * c)
        self.state["cm"] += torch.bincount(cell, minlength=c * c + 1)[: c * c]

    def _finish(self, values: dict[str, torch.Tensor]) -> dict[str, float]:
        return _macro(values["cm"].view(self.num_classes, self.num_classes))


class BinaryMetrics(Metrics):
    """One logit per sample: histograms of sigmoid scores for positives and negatives, from which the
    AUC and the confusion matrix at probability 0.5 (logit 0) both follow.

    `offset` shifts the score (Siamese distances: score = margin/2 - distance, so "same" is positive).
    """

    names = ("loss", "accuracy", "precision", "recall", "f1", "auc")

    def __init__(self, device: torch.device, sign: float = 1.0, offset: float = 0.0) -> None:
        self.sign, self.offset = sign, offset
        super().__init__(device)

    def _counts(self) -> dict[str, torch.Tensor]:
        return {"hist": self._zeros(2 * AUC_BINS, dtype=torch.int64)}

    def _fold(self, out: torch.Tensor, target: torch.Tensor) -> None:
        score = out.reshape(-1).float()
        if self.sign != 1.0 or self.offset:
            score = score * self.sign + self.offset
        bins = (torch.sigmoid(score) * AUC_BINS).long().clamp_(0, AUC_BINS - 1)
        self.state["hist"] += torch.bincount(target.reshape(-1).long() * AUC_BINS + bins, minlength=2 * AUC_BINS)

    def _finish(self, values: dict[str, torch.Tensor]) -> dict[str, float]:
        neg, pos = values["hist"][:AUC_BINS], values["hist"][AUC_BINS:]
        half = AUC_BINS // 2
        tn, fp, fn, tp = (float(neg[:half].sum()), float(neg[half:].sum()), float(pos[:half].sum()),
                          float(pos[half:].sum()))
        out = _macro(torch.tensor([[tn, fp], [fn, tp]]))
        out["precision"] = tp / (tp + fp) if tp + fp else 0.0
        out["recall"] = tp / (tp + fn) if tp + fn else 0.0
        p, r = out["precision"], out["recall"]
        out["f1"] = 2 * p * r / (p + r) if p + r else 0.0
        out["auc"] = auc_from_histograms(pos, neg)
        return out


def auc_from_histograms(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """ROC AUC from score histograms: P(score_pos > score_neg) + half the ties within a bin."""
    pos, neg = pos.double(), neg.double()
    n_pos, n_neg = float(pos.sum()), float(neg.sum())
    if not n_pos or not n_neg:
        return float("nan")
    below = torch.cumsum(neg, 0) - neg
    return float((pos * (below + 0.5 * neg)).sum()) / (n_pos * n_neg)


class MultilabelMetrics(Metrics):
    """Independent logits per label: per-label TP/FP/FN and correct counts."""

    names = ("loss", "accuracy", "f1")

    def __init__(self, device: torch.device, num_labels: int) -> None:
        self.num_labels = num_labels
        super().__init__(device)

    def _counts(self) -> dict[str, torch.Tensor]:
        return {"tp": self._zeros(self.num_labels), "fp": self._zeros(self.num_labels),
                "fn": self._zeros(self.num_labels), "correct": self._zeros()}

    def _fold(self, out: torch.Tensor, target: torch.Tensor) -> None:
        pred = (out.reshape(-1, self.num_labels) > 0).to(self.acc_dtype)
        truth = target.reshape(-1, self.num_labels).to(self.acc_dtype)
        self.state["tp"] += (pred * truth).sum(0)
        self.state["fp"] += (pred * (1 - truth)).sum(0)
        self.state["fn"] += ((1 - pred) * truth).sum(0)
        self.state["correct"] += (pred == truth).sum()

    def _finish(self, values: dict[str, torch.Tensor]) -> dict[str, float]:
        tp, fp, fn = values["tp"], values["fp"], values["fn"]
        f1 = torch.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn).clamp(min=1e-12), 0.0)
        total = max(float(values["samples"]) * self.num_labels, 1.0)
        return {"accuracy": float(values["correct"]) / total, "f1": float(f1.mean())}


class RegressionMetrics(Metrics):
    """MAE, RMSE and R² over every predicted number, in data units via `shift` + `scale` (when given)."""

    names = ("loss", "mae", "rmse", "r2")

    def __init__(self, device: torch.device, shift: torch.Tensor | None = None,
                 scale: torch.Tensor | None = None) -> None:
        self.shift, self.scale = shift, scale
        super().__init__(device)

    def _counts(self) -> dict[str, torch.Tensor]:
        return {name: self._zeros() for name in ("n", "abs", "sq", "y", "y2")}

    def _fold(self, out: torch.Tensor, target: torch.Tensor) -> None:
        pred, truth = out.to(self.acc_dtype), target.reshape(out.shape).to(self.acc_dtype)
        if self.scale is not None:
            pred, truth = pred * self.scale + self.shift, truth * self.scale + self.shift
        err = pred - truth
        s = self.state
        s["n"] += truth.numel()
        s["abs"] += err.abs().sum()
        s["sq"] += err.square().sum()
        s["y"] += truth.sum()
        s["y2"] += truth.square().sum()

    def _finish(self, values: dict[str, torch.Tensor]) -> dict[str, float]:
        n = max(float(values["n"]), 1.0)
        sse, y, y2 = float(values["sq"]), float(values["y"]), float(values["y2"])
        sst = y2 - y * y / n
        return {"mae": float(values["abs"]) / n, "rmse": (sse / n) ** 0.5,
                "r2": 1.0 - sse / sst if sst > 0 else float("nan")}


class GanMetrics(Metrics):
    """Discriminator and generator losses and the mean probability D gives real and fake samples."""

    names = ("loss", "d_loss", "g_loss", "d_real", "d_fake")

    def _counts(self) -> dict[str, torch.Tensor]:
        return {name: self._zeros() for name in ("d_loss", "g_loss", "d_real", "d_fake")}

    def add_gan(self, d_loss: torch.Tensor, g_loss: torch.Tensor, real_logits: torch.Tensor,
                fake_logits: torch.Tensor) -> None:
        n = len(real_logits)
        s = self.state
        s["d_loss"].add_(d_loss.detach(), alpha=n)
        s["g_loss"].add_(g_loss.detach(), alpha=n)
        s["d_real"] += torch.sigmoid(real_logits.detach().float()).sum()
        s["d_fake"] += torch.sigmoid(fake_logits.detach().float()).sum()

    def _finish(self, values: dict[str, torch.Tensor]) -> dict[str, float]:
        n = max(float(values["samples"]), 1.0)
        return {name: float(values[name]) / n for name in ("d_loss", "g_loss", "d_real", "d_fake")}
