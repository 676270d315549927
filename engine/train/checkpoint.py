"""Checkpoints of a run: weights as safetensors, optimizer/schedule/RNG tensors for
`torch.load(weights_only=True)`, and the plain counters as JSON."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from engine.errors import TrainingError
from engine.runs import Run, read_json, write_atomic, write_json

LAST = "last"


def cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the model's weights and buffers."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A contiguous copy of the model's weights and buffers on their own device (no host transfer)."""
    return {k: v.detach().clone(memory_format=torch.contiguous_format) for k, v in model.state_dict().items()}


def on_cpu(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`state` on the CPU, copied only when it lives elsewhere (for snapshots that are never changed)."""
    return {k: v.to("cpu") for k, v in state.items()}


def cpu_copy(tree):
    """A copy of nested dicts/lists whose tensors are cloned to the CPU (safe to write from another thread)."""
    if isinstance(tree, torch.Tensor):
        return tree.detach().to("cpu", copy=True)
    if isinstance(tree, dict):
        return {k: cpu_copy(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(cpu_copy(v) for v in tree)
    return tree


def save_weights(state: dict[str, torch.Tensor], path: Path) -> None:
    write_atomic(path, lambda tmp: save_file(state, tmp))


def save_checkpoint(run: Run, weights: dict[str, torch.Tensor], tensors: dict, info: dict) -> Path:
    """Write checkpoints/last.{safetensors,state.pt,json}; the JSON goes last and marks it complete."""
    folder = run.checkpoint_dir
    folder.mkdir(exist_ok=True)
    save_weights(weights, folder / f"{LAST}.safetensors")
    write_atomic(folder / f"{LAST}.state.pt", lambda tmp: torch.save(tensors, tmp))
    write_json(folder / f"{LAST}.json", info, indent=None)  # RNG states: thousands of numbers, one line
    return folder / f"{LAST}.safetensors"


def load_checkpoint(run: Run) -> tuple[dict[str, torch.Tensor], dict, dict]:
    """(weights, optimizer/RNG tensors, counters) of the run's last checkpoint."""
    folder = run.checkpoint_dir
    info = read_json(folder / f"{LAST}.json", None)
    if info is None:
        raise TrainingError(f"run {run.id} has no checkpoint to resume from ({folder}/{LAST}.json is missing)")
    weights = load_file(str(folder / f"{LAST}.safetensors"))
    tensors = torch.load(folder / f"{LAST}.state.pt", map_location="cpu", weights_only=True)
    return weights, tensors, info


def rng_state() -> tuple[dict, dict]:
    """Global RNG states: (tensors: torch CPU and CUDA, JSON: numpy and Python random)."""
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors["cuda"] = torch.cuda.get_rng_state_all()
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_py = random.getstate()
    plain = {"numpy": [kind, keys.tolist(), pos, has_gauss, gauss], "python": [version, list(internal), gauss_py]}
    return tensors, plain


def set_rng_state(tensors: dict, plain: dict) -> None:
    torch.set_rng_state(tensors["torch"])
    if "cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(tensors["cuda"])
    kind, keys, pos, has_gauss, gauss = plain["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_py = plain["python"]
    random.setstate((version, tuple(internal), gauss_py))
