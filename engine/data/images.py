"""Image files -> float32 (channels, height, width) in [0, 1], keeping 16-bit precision and flattening
transparency onto white."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.safeio import load_image

HIGH_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I", "F"}
"""Pillow modes with more than 8 bits per pixel: read as numbers, never squeezed into 0-255."""


def read_image(path: Path, size: tuple[int, int] | None, channels: int) -> np.ndarray:
    """The image at `path` resized to `size` (height, width; None keeps it) with 1 or 3 `channels`."""
    from PIL import Image

    img = load_image(path)
    if img.mode in HIGH_BIT_MODES:
        values = np.asarray(img, dtype=np.float64)
        top = 1.0 if img.mode == "F" else max(65535.0, float(values.max(initial=0)))
        plane = Image.fromarray((values / top).astype(np.float32), mode="F")
        if size is not None:
            plane = plane.resize(size[::-1], Image.BILINEAR)
        pixels = np.asarray(plane, dtype=np.float32)
        pixels = pixels[None] if channels == 1 else np.repeat(pixels[None], 3, axis=0)
        return np.ascontiguousarray(pixels)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    img = img.convert("L" if channels == 1 else "RGB")
    if size is not None:
        img = img.resize(size[::-1], Image.BILINEAR)
    pixels = np.asarray(img).astype(np.float32) / 255.0
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
