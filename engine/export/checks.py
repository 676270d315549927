"""Compare an exported model's outputs with the original's on the same batch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from engine.errors import ExportError


def as_arrays(out: torch.Tensor | Sequence) -> list[np.ndarray]:
    items = out if isinstance(out, list | tuple) else [out]
    return [o.detach().cpu().numpy() if isinstance(o, torch.Tensor) else np.asarray(o) for o in items]


def compare(fmt: str, expected: torch.Tensor | Sequence, got: torch.Tensor | Sequence, batch: int,
            atol: float, rtol: float) -> dict:
    """The check record {max_abs_diff, atol, rtol, batch, passed}; ExportError when it fails."""
    want, have = as_arrays(expected), as_arrays(got)
    if len(want) != len(have) or any(w.shape != h.shape for w, h in zip(want, have, strict=False)):
        raise ExportError(f"{fmt} export check failed: output shapes {[h.shape for h in have]} "
                          f"differ from the model's {[w.shape for w in want]}")
    diff = max((float(np.abs(w.astype(np.float64) - h.astype(np.float64)).max()) if w.size else 0.0
                for w, h in zip(want, have, strict=True)), default=0.0)
    scale = max((float(np.abs(w).max()) if w.size else 0.0 for w in want), default=0.0)
    record = {"max_abs_diff": diff, "atol": atol, "rtol": rtol, "batch": batch,
              "passed": bool(diff <= atol + rtol * scale)}
    if not record["passed"]:
        raise ExportError(f"{fmt} export check failed: outputs differ from PyTorch by up to {diff:.3g} "
                          f"(allowed {atol:g} + {rtol:g} x {scale:.3g}) on a batch of {batch}")
    return record
