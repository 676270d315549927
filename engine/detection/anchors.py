"""Anchor boxes: a few reference boxes of set sizes and aspect ratios centred on every feature-map cell."""

from __future__ import annotations

import torch


def cell_anchors(sizes: tuple[float, ...], ratios: tuple[float, ...]) -> torch.Tensor:
    """(A, 4) boxes centred on 0: for each size (side of a square of the same area) each ratio (height / width)."""
    rows = []
    for size in sizes:
        for ratio in ratios:
            w = size / ratio ** 0.5
            h = size * ratio ** 0.5
            rows.append((-w / 2, -h / 2, w / 2, h / 2))
    return torch.tensor(rows, dtype=torch.float32)


def anchor_grid(height: int, width: int, stride: float, sizes: tuple[float, ...], ratios: tuple[float, ...],
                device: torch.device | str | None = None) -> torch.Tensor:
    """(height * width * A, 4) anchors in input pixels, cell by cell (row-major), the A anchors of a cell
    together: the order a conv head's (N, A*k, H, W) output has after permute(0, 2, 3, 1).reshape(N, -1, k)."""
    base = cell_anchors(sizes, ratios).to(device)
    ys = (torch.arange(height, dtype=torch.float32, device=device) + 0.5) * stride
    xs = (torch.arange(width, dtype=torch.float32, device=device) + 0.5) * stride
    cy, cx = torch.meshgrid(ys, xs, indexing="ij")
    centres = torch.stack((cx, cy, cx, cy), -1).reshape(-1, 1, 4)
    return (centres + base[None]).reshape(-1, 4)
