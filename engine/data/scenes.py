"""Generated detection scenes: several scikit-learn digits pasted on a noisy canvas, with their boxes."""

from __future__ import annotations

import numpy as np

from engine.errors import DataError


def pad_boxes(per_image: list[np.ndarray], max_objects: int) -> np.ndarray:
    """(N, max_objects, 5) float32 rows (class, x0, y0, x1, y1) from per-image (K, 5) arrays, padded with
    class -1: the fixed-size detection target every batch carries (see docs/detection.md)."""
    target = np.zeros((len(per_image), max_objects, 5), np.float32)
    target[:, :, 0] = -1
    for i, rows in enumerate(per_image):
        if len(rows) > max_objects:
            raise DataError(f"Image {i} has {len(rows)} boxes, more than max_objects = {max_objects}; raise "
                            "max_objects in the data section.")
        target[i, : len(rows)] = rows
    return target


def digit_scenes(digits: np.ndarray, labels: np.ndarray, n: int, size: int, max_objects: int, classes: int,
                 seed: int, resize) -> tuple[np.ndarray, np.ndarray]:
    """`n` images (N, 1, size, size) in [0, 1] with 1..max_objects non-overlapping digits of the first
    `classes` kinds, each 10 to 18 pixels high and wide; targets as `pad_boxes` (tight boxes of the ink)."""
    if not 1 <= classes <= 10:
        raise DataError(f"digit_scenes: classes must be 1 to 10, not {classes}.")
    if size < 24 or max_objects < 1:
        raise DataError("digit_scenes needs size >= 24 and max_objects >= 1.")
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(labels < classes)
    images = np.clip(rng.normal(0, 0.05, (n, 1, size, size)), 0, 1).astype(np.float32)
    boxes = []
    for i in range(n):
        rows, placed = [], []
        for _ in range(int(rng.integers(1, max_objects + 1))):
            h, w = (int(v) for v in rng.integers(10, 19, 2))
            for _attempt in range(20):
                top, left = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
                if all(top >= b or top + h <= t or left >= r or left + w <= le for t, le, b, r in placed):
                    break
            else:
                continue
            placed.append((top, left, top + h, left + w))
            pick = int(rng.choice(pool))
            patch = resize(digits[pick, 0], h, w) * rng.uniform(0.7, 1.0)
            region = images[i, 0, top:top + h, left:left + w]
            np.maximum(region, patch, out=region)
            ink_rows, ink_cols = np.flatnonzero(patch.max(1) > 0.25), np.flatnonzero(patch.max(0) > 0.25)
            rows.append((labels[pick], left + ink_cols[0], top + ink_rows[0], left + ink_cols[-1] + 1,
                         top + ink_rows[-1] + 1))
        boxes.append(np.asarray(rows, np.float32).reshape(-1, 5))
    return images, pad_boxes(boxes, max_objects)
