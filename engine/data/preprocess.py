"""Train/val/test splits and normalization whose statistics come from the training split only."""

from __future__ import annotations

import numpy as np

from engine.errors import DataError
from engine.lazy import LazyModule

torch = LazyModule("torch")

METHODS = ("standardize", "minmax", "per_channel", "none")


def split_indices(n: int, val: float, test: float, seed: int, class_ids: np.ndarray | None = None,
                  ordered: bool = False) -> dict[str, np.ndarray]:
    """Sample indices of train/val/test; stratified by `class_ids` when given, in order when `ordered`."""
    from sklearn.model_selection import train_test_split

    if val < 0 or test < 0 or val + test >= 1:
        raise DataError(f"Split fractions val={val}, test={test} must be >= 0 and sum to less than 1.")
    n_test, n_val = int(round(n * test)), int(round(n * val))
    if n - n_test - n_val < 1:
        raise DataError(f"Only {n} samples: nothing left for training after val={val} and test={test}.")
    idx = np.arange(n)
    if ordered:
        return {"train": idx[: n - n_val - n_test], "val": idx[n - n_val - n_test: n - n_test], "test": idx[n - n_test:]}
    parts = {"train": idx}
    try:
        for name, size in (("test", n_test), ("val", n_val)):
            if size == 0:
                parts[name] = idx[:0]
                continue
            strata = None if class_ids is None else class_ids[parts["train"]]
            parts["train"], parts[name] = train_test_split(parts["train"], test_size=size, random_state=seed,
                                                           stratify=strata)
    except ValueError as exc:
        raise DataError(f"Cannot make a stratified split: {exc} Use more data, smaller val/test fractions, "
                        "or set \"stratify\": false.") from exc
    return {k: np.sort(v) for k, v in parts.items()}


def stat_axis(method: str, sample_shape: tuple[int, ...], channels_last: bool) -> int | None:
    """Per-sample axis the statistics vary along (None = one global statistic)."""
    if len(sample_shape) <= 1:
        return 0 if sample_shape else None
    if method == "per_channel":
        return -1 if channels_last else 0
    return None


class RunningStats:
    """Mean/std (Chan's parallel update) or min/max of chunks, reduced to one value per `axis` entry."""

    def __init__(self, method: str, axis: int | None) -> None:
        if method not in METHODS:
            raise DataError(f"Unknown normalization '{method}'; use one of {list(METHODS)}.")
        self.method, self.axis = method, axis
        self.count = 0
        self.mean = self.m2 = self.low = self.high = None

    def _flat(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.axis is None:
            return x.reshape(-1, 1)
        return np.moveaxis(x, batch_axis(self.axis), -1).reshape(-1, x.shape[batch_axis(self.axis)])

    def update(self, x: np.ndarray) -> None:
        """Add a chunk of samples (first axis = samples)."""
        if self.method == "none" or len(x) == 0:
            return
        flat = self._flat(x)
        if not np.isfinite(flat).all():
            raise DataError("The training inputs contain NaN or infinite values; clean the data before training.")
        n, mean = len(flat), flat.mean(0)
        m2 = ((flat - mean) ** 2).sum(0)
        if self.count == 0:
            self.mean, self.m2, self.low, self.high = mean, m2, flat.min(0), flat.max(0)
        else:
            total = self.count + n
            delta = mean - self.mean
            self.m2 = self.m2 + m2 + delta**2 * self.count * n / total
            self.mean = self.mean + delta * n / total
            self.low, self.high = np.minimum(self.low, flat.min(0)), np.maximum(self.high, flat.max(0))
        self.count += n

    def result(self) -> dict:
        """The JSON-serialisable normalization record (std or range 0 -> 1 so constants do not blow up)."""
        if self.method == "none":
            return {"method": "none"}
        if self.count == 0:
            raise DataError("The training split is empty, so normalization statistics cannot be computed.")
        if self.method == "minmax":
            span = np.where(self.high - self.low > 0, self.high - self.low, 1.0)
            return {"method": "minmax", "axis": self.axis, "min": self.low.tolist(),
                    "max": (self.low + span).tolist()}
        std = np.sqrt(self.m2 / self.count)
        return {"method": self.method, "axis": self.axis, "mean": self.mean.tolist(),
                "std": np.where(std > 0, std, 1.0).tolist()}


def fit(method: str, x_train: np.ndarray, channels_last: bool = False) -> dict:
    """Normalization record fitted on the training inputs `x_train` (first axis = samples)."""
    stats = RunningStats(method, stat_axis(method, x_train.shape[1:], channels_last) if method != "none" else None)
    stats.update(x_train)
    return stats.result()


def batch_axis(axis: int) -> int:
    """The batch-tensor axis of per-sample axis `axis` (negative axes count from the end in both)."""
    return axis + 1 if axis >= 0 else axis


def _shift_scale(norm: dict, ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """Arrays `shift`, `scale` shaped to broadcast over a batch of `ndim` dimensions."""
    if norm["method"] == "minmax":
        shift, scale = np.asarray(norm["min"]), np.asarray(norm["max"]) - np.asarray(norm["min"])
    else:
        shift, scale = np.asarray(norm["mean"]), np.asarray(norm["std"])
    shape = [1] * ndim
    if norm.get("axis") is not None:
        shape[batch_axis(norm["axis"])] = len(shift)
    return shift.reshape(shape), scale.reshape(shape)


def apply(norm: dict, x: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """Normalize a batch (first axis = samples) with a record from `fit`; numpy in, numpy out."""
    if norm.get("method", "none") == "none":
        return x
    shift, scale = _shift_scale(norm, x.ndim)
    if isinstance(x, torch.Tensor):
        return (x - torch.as_tensor(shift, dtype=x.dtype, device=x.device)) / torch.as_tensor(
            scale, dtype=x.dtype, device=x.device)
    return ((x - shift) / scale).astype(x.dtype)


def invert(norm: dict, y: torch.Tensor) -> torch.Tensor:
    """Undo `apply` (brings normalized regression targets or predictions back to data units)."""
    if norm.get("method", "none") == "none":
        return y
    shift, scale = _shift_scale(norm, y.ndim)
    return y * torch.as_tensor(scale, dtype=y.dtype, device=y.device) + torch.as_tensor(
        shift, dtype=y.dtype, device=y.device)
