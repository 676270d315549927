"""`RawData`: what every loader returns before splitting, normalization and conversion to tensors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TASKS = ("multiclass", "binary", "multilabel", "regression", "autoencoder", "siamese", "gan", "next_step", "multitask",
         "detection")
CLASS_TARGET_TASKS = ("multiclass", "binary", "siamese")


@dataclass
class RawData:
    """Whole in-memory dataset as numpy arrays, first axis = samples.

    `inputs` are float32 (features, images, series) or int64 (token / user / item ids). `target` is
    int64 class ids (multiclass, also per step), float32 0/1 of shape (N, 1) (binary), float32 0/1
    of shape (N,) (siamese) or (N, K) (multilabel), float32 values (regression, next_step); for
    autoencoder it equals `inputs[0]`. `class_ids` (one class per sample, used for stratified splits
    and preview labels) defaults to the target of a per-sample classification task.
    `ordered` means the samples are windows of one time series, so splits are taken in time order;
    `channels_last` marks (T, F) sequences, whose per-channel statistics run along the last axis.
    `texts` holds raw strings (a CSV text column) that become the token-id input once the training
    split's vocabulary is known; `inputs` is empty until then.
    A `multitask` target is float32 (N, K) whose columns are named by `target_fields` (name -> [start, stop)
    column range); each Output node picks its field(s), and `field_classes` names a class field's classes.
    A `detection` target is float32 (N, M, 5) rows (class, x0, y0, x1, y1) in pixels, padded with class -1.
    """

    inputs: tuple[np.ndarray, ...]
    target: np.ndarray
    task: str
    class_names: list[str] | None = None
    class_ids: np.ndarray | None = None
    vocab_sizes: tuple[int | None, ...] = ()
    ordered: bool = False
    channels_last: bool = False
    texts: np.ndarray | None = None
    target_fields: dict[str, tuple[int, int]] | None = None
    field_classes: dict[str, list[str]] | None = None

    def __post_init__(self) -> None:
        if not self.vocab_sizes:
            self.vocab_sizes = tuple(int(x.max()) + 1 if x.dtype == np.int64 else None for x in self.inputs)
        per_sample = self.target.ndim == 1 or self.target.shape[1:] == (1,)
        if self.class_ids is None and self.task in CLASS_TARGET_TASKS and per_sample:
            self.class_ids = self.target.reshape(len(self.target)).astype(np.int64)

    def __len__(self) -> int:
        return len(self.target)
