"""Device choice: cuda, then mps, then cpu; a readable name for the chosen one. Never fails without a GPU."""

from __future__ import annotations

import os
import platform

from engine.errors import TrainingError
from engine.lazy import LazyModule

torch = LazyModule("torch")


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def choose_device(preference: str = "auto") -> torch.device:
    """`auto` picks cuda > mps > cpu (under torchrun, the GPU of LOCAL_RANK); an unavailable choice is an error."""
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
        return torch.device("mps") if mps_available() else torch.device("cpu")
    try:
        device = torch.device(preference)
    except RuntimeError:
        raise TrainingError(f"unknown device {preference!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise TrainingError("device 'cuda' was asked for but no CUDA GPU is available; use 'auto' or 'cpu'")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise TrainingError(f"device {preference!r}: only {torch.cuda.device_count()} CUDA GPU(s) present")
    elif device.type == "mps" and not mps_available():
        raise TrainingError("device 'mps' was asked for but Apple's Metal backend is not available; use 'auto' or 'cpu'")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise TrainingError(f"unsupported device {preference!r}; use auto, cpu, cuda, cuda:N or mps")
    return device


def device_name(device: torch.device) -> str:
    """E.g. 'NVIDIA H100 80GB HBM3', 'Apple GPU (MPS)', 'CPU (x86_64, 16 threads)'."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({platform.machine() or 'unknown'}, {torch.get_num_threads()} threads)"
