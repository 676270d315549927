"""Plain rules that read a run's numbers and say what looks wrong: vanishing/exploding gradients, overfitting."""

from __future__ import annotations

import math

VANISH_RATIO = 1e4
"""A layer whose gradient norm is this many times below the largest one is 'vanishing'."""
VANISH_ABS = 1e-7
EXPLODE_ABS = 1e3

GRADIENT_REMEDIES = ("use LSTM or GRU instead of a plain RNN for long sequences", "add normalization "
                     "(BatchNorm / LayerNorm)", "turn on gradient clipping", "add residual (skip) connections",
                     "lower the learning rate")
OVERFIT_REMEDIES = ("add Dropout", "add weight decay", "turn on data augmentation", "use early stopping")


def gradient_warning(norms: dict[str, float], names: dict[str, str]) -> str | None:
    """A sentence naming vanishing or exploding layers with the usual remedies, or None when gradients look fine."""
    if not norms:
        return None
    label = lambda nid: f"'{names.get(nid, nid)}'"  # noqa: E731
    bad = [nid for nid, v in norms.items() if not math.isfinite(v) or v > EXPLODE_ABS]
    if bad:
        return (f"Exploding gradients in {', '.join(map(label, bad[:4]))} (norm above {EXPLODE_ABS:g} or not finite). "
                f"Try: {'; '.join(GRADIENT_REMEDIES[1:])}.")
    top = max(norms.values())
    small = [nid for nid, v in norms.items() if v < VANISH_ABS or (top > 0 and v * VANISH_RATIO < top)]
    if small:
        return (f"Vanishing gradients in {', '.join(map(label, small[:4]))}: they get far smaller updates than the "
                f"other layers (largest norm {top:.2g}). Try: {'; '.join(GRADIENT_REMEDIES[:4])}.")
    return None


def overfitting_hint(train_loss: list[float], val_loss: list[float]) -> str | None:
    """A hint when validation loss rose over the last two epochs while training loss fell."""
    if len(train_loss) < 3 or len(val_loss) < 3:
        return None
    v, t = val_loss[-3:], train_loss[-3:]
    if v[2] > v[1] > v[0] and t[2] < t[1] < t[0]:
        return (f"Overfitting: validation loss rose from {v[0]:.4g} to {v[2]:.4g} over the last two epochs while "
                f"training loss kept falling. Try: {'; '.join(OVERFIT_REMEDIES)}.")
    return None


def format_eta(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
