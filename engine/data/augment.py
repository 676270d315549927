"""Vectorized image augmentation of training batches (N, C, H, W) on the batch's own device."""

from __future__ import annotations

import math

from engine.errors import DataError
from engine.lazy import LazyModule

torch = LazyModule("torch")
F = LazyModule("torch.nn.functional")

DEFAULTS = {"hflip": False, "rotate_deg": 0.0, "crop_pad": 0, "noise_std": 0.0}


def augment_options(options: dict | None) -> dict:
    """`options` over the defaults; DataError for unknown keys."""
    unknown = set(options or {}) - set(DEFAULTS)
    if unknown:
        raise DataError(f"Unknown augmentation option(s) {sorted(unknown)}; use {sorted(DEFAULTS)}.")
    return {**DEFAULTS, **(options or {})}


def is_active(options: dict) -> bool:
    """True when any augmentation is switched on."""
    return any(options[k] for k in DEFAULTS)


def split_noise(options: dict) -> tuple[dict, dict]:
    """(geometric-only, noise-only) options: a denoising autoencoder learns geometric -> clean target."""
    return {**options, "noise_std": 0.0}, {**DEFAULTS, "noise_std": options["noise_std"]}


def augment(x: torch.Tensor, options: dict, generator: torch.Generator) -> torch.Tensor:
    """Random flips, rotations, padded crops (one affine resampling) and noise; images only.

    Flips, rotations and crops apply to 4-D float batches; noise to any float batch; other tensors
    (token ids) come back unchanged. `generator` must live on `x.device`.
    """
    if not x.is_floating_point():
        return x
    if x.ndim == 4:
        x = _geometric(x, options, generator)
    if options["noise_std"]:
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = x + noise * float(options["noise_std"])
    return x


def _geometric(x: torch.Tensor, options: dict, generator: torch.Generator) -> torch.Tensor:
    n, _, h, w = x.shape
    if options["hflip"]:
        flip = torch.rand(n, 1, 1, 1, generator=generator, device=x.device) < 0.5
        x = torch.where(flip, x.flip(-1), x)
    deg, pad = float(options["rotate_deg"]), int(options["crop_pad"])
    if not deg and not pad:
        return x
    angle = (torch.rand(n, generator=generator, device=x.device) * 2 - 1) * math.radians(deg)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # Integer pixel shifts in [-pad, pad] == a random crop of the zero-padded image.
    shift = torch.randint(-pad, pad + 1, (n, 2), generator=generator, device=x.device).to(x.dtype)
    theta = torch.stack([
        torch.stack([cos, -sin * h / w, shift[:, 0] * 2 / w], dim=1),
        torch.stack([sin * w / h, cos, shift[:, 1] * 2 / h], dim=1),
    ], dim=1).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
