"""RoI Align and RoI Pool in plain torch, with torchvision.ops' semantics (rois are (K, 5) rows of
(image index, x0, y0, x1, y1) in input pixels; `spatial_scale` maps them onto the feature map)."""

from __future__ import annotations

import torch


def _axis(pos: torch.Tensor, size: int) -> tuple[torch.Tensor, ...]:
    """Bilinear neighbours and weights along one axis, as torchvision computes them (edges clamped)."""
    valid = (pos >= -1.0) & (pos <= size)
    pos = pos.clamp(min=0)
    low = pos.floor().long()
    at_end = low >= size - 1
    low = torch.where(at_end, torch.full_like(low, size - 1), low)
    high = torch.where(at_end, low, low + 1)
    frac = torch.where(at_end, torch.zeros_like(pos), pos - low.to(pos.dtype))
    return low, high, 1 - frac, frac, valid


def roi_align(features: torch.Tensor, rois: torch.Tensor, output_size: tuple[int, int], spatial_scale: float = 1.0,
              sampling_ratio: int = 2, aligned: bool = True) -> torch.Tensor:
    """(K, C, PH, PW): each RoI cut into PH x PW bins, each bin the mean of sampling_ratio² bilinear samples
    (He et al., Mask R-CNN). `aligned` shifts by half a pixel so box corners sit on pixel corners."""
    if sampling_ratio < 1:
        raise ValueError("roi_align needs sampling_ratio >= 1 (the adaptive count is not supported)")
    n, c, h, w = features.shape
    ph, pw = output_size
    s = sampling_ratio
    offset = 0.5 if aligned else 0.0
    x0, y0, x1, y1 = (rois[:, i] * spatial_scale - offset for i in range(1, 5))
    rw, rh = x1 - x0, y1 - y0
    if not aligned:
        rw, rh = rw.clamp(min=1.0), rh.clamp(min=1.0)
    dtype, device = features.dtype, features.device

    def steps(bins: int) -> torch.Tensor:
        return (torch.arange(bins, dtype=dtype, device=device)[:, None]
                + (torch.arange(s, dtype=dtype, device=device)[None, :] + 0.5) / s).reshape(-1)

    ys = y0[:, None] + steps(ph)[None, :] * (rh / ph)[:, None]
    xs = x0[:, None] + steps(pw)[None, :] * (rw / pw)[:, None]
    yl, yh, wyl, wyh, vy = _axis(ys, h)
    xl, xh, wxl, wxh, vx = _axis(xs, w)
    flat = features.permute(0, 2, 3, 1).reshape(n * h * w, c)
    base = rois[:, 0].long() * (h * w)

    def at(yi: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        return flat[base[:, None, None] + yi[:, :, None] * w + xi[:, None, :]]

    out = ((wyl[:, :, None] * wxl[:, None, :])[..., None] * at(yl, xl)
           + (wyl[:, :, None] * wxh[:, None, :])[..., None] * at(yl, xh)
           + (wyh[:, :, None] * wxl[:, None, :])[..., None] * at(yh, xl)
           + (wyh[:, :, None] * wxh[:, None, :])[..., None] * at(yh, xh))
    out = out * (vy[:, :, None] & vx[:, None, :])[..., None].to(dtype)
    return out.reshape(-1, ph, s, pw, s, c).mean((2, 4)).permute(0, 3, 1, 2).contiguous()


def roi_pool(features: torch.Tensor, rois: torch.Tensor, output_size: tuple[int, int],
             spatial_scale: float = 1.0) -> torch.Tensor:
    """(K, C, PH, PW): the maximum over each bin of the RoI rounded to feature cells (Girshick, Fast R-CNN);
    an empty bin gives 0."""
    _, _, h, w = features.shape
    ph, pw = output_size
    starts = torch.round(rois[:, 1:3] * spatial_scale)
    ends = torch.round(rois[:, 3:5] * spatial_scale)
    size = (ends - starts + 1).clamp(min=1)

    def masks(start: torch.Tensor, length: torch.Tensor, bins: int, extent: int) -> torch.Tensor:
        i = torch.arange(bins, dtype=length.dtype, device=length.device)[None, :]
        lo = (torch.floor(i * (length / bins)[:, None]) + start[:, None]).clamp(0, extent)
        hi = (torch.ceil((i + 1) * (length / bins)[:, None]) + start[:, None]).clamp(0, extent)
        cells = torch.arange(extent, dtype=length.dtype, device=length.device)[None, None, :]
        return (cells >= lo[..., None]) & (cells < hi[..., None])  # (K, bins, extent)

    rows = masks(starts[:, 1], size[:, 1], ph, h)
    cols = masks(starts[:, 0], size[:, 0], pw, w)
    feat = features[rois[:, 0].long()]  # (K, C, H, W)
    neg = torch.finfo(feat.dtype).min
    by_col = feat[:, :, :, None, :].masked_fill(~cols[:, None, None, :, :], neg).amax(-1)  # (K, C, H, PW)
    pooled = by_col[:, :, None, :, :].masked_fill(~rows[:, None, :, :, None], neg).amax(3)  # (K, C, PH, PW)
    empty = ~(rows.any(-1)[:, :, None] & cols.any(-1)[:, None, :])
    return pooled.masked_fill(empty[:, None], 0.0)
