"""Checkpoints of a run: weights as safetensors, optimizer/schedule/RNG tensors for
`torch.load(weights_only=True)`, and the plain counters as JSON.

Each checkpoint writes new `ckpt-<step>-<tag>.*` files, then `last.json` naming them (the moment it
counts), then `last.safetensors` (a link to its weights) and removes older files: a process killed at
any point leaves one complete, consistent checkpoint behind."""

from __future__ import annotations

import os
import random
import secrets
import shutil
from pathlib import Path

import numpy as np

from engine import safeio
from engine.errors import TrainingError
from engine.lazy import LazyModule
from engine.runs import Run, read_json, write_atomic, write_json

torch = LazyModule("torch")
nn = LazyModule("torch.nn")
safetensors_torch = LazyModule("safetensors.torch")

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
    write_atomic(path, lambda tmp: safetensors_torch.save_file(state, tmp))


def save_checkpoint(run: Run, weights: dict[str, torch.Tensor], tensors: dict, info: dict) -> Path:
    """Write a new checkpoint generation and make checkpoints/last.json point to it (see the module doc)."""
    folder = run.checkpoint_dir
    folder.mkdir(exist_ok=True)
    stem = f"ckpt-{int(info.get('step', 0)):09d}-{secrets.token_hex(3)}"
    files = {"weights": f"{stem}.safetensors", "state": f"{stem}.state.pt"}
    save_weights(weights, folder / files["weights"])
    write_atomic(folder / files["state"], lambda tmp: torch.save(tensors, tmp))
    write_json(folder / f"{LAST}.json", {**info, "files": files}, indent=None)  # RNG states: thousands of numbers
    _publish(folder / files["weights"], folder / f"{LAST}.safetensors")
    _remove_stale(folder, files)
    return folder / f"{LAST}.safetensors"


def settle(run: Run) -> None:
    """Finish what a killed checkpoint write left undone (by the process resuming the run, which holds its lock):
    `last.safetensors` becomes the weights `last.json` names, older generations and temporary files go."""
    folder = run.checkpoint_dir
    files = read_json(folder / f"{LAST}.json", {}).get("files")
    if not isinstance(files, dict) or not isinstance(files.get("weights"), str) or \
            not (folder / Path(files["weights"]).name).is_file():
        return
    _publish(folder / Path(files["weights"]).name, folder / f"{LAST}.safetensors")
    _remove_stale(folder, files)


def _remove_stale(folder: Path, files: dict) -> None:
    """Delete the checkpoint files of older generations and left-over temporary files."""
    for old in folder.iterdir():
        if (old.name.startswith("ckpt-") or old.name.endswith(".tmp")) and old.name not in files.values():
            old.unlink(missing_ok=True)
        elif old.name == f"{LAST}.state.pt":  # the single-file layout of older versions
            old.unlink(missing_ok=True)


def _publish(source: Path, target: Path) -> None:
    """Make `target` an atomic copy of `source` (a hard link where the file system has them)."""
    def link(tmp: str) -> None:
        os.unlink(tmp)
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)

    write_atomic(target, link)


def load_checkpoint(run: Run) -> tuple[dict[str, torch.Tensor], dict, dict]:
    """(weights, optimizer/RNG tensors, counters) of the run's last checkpoint; TrainingError when it is damaged."""
    folder = run.checkpoint_dir
    info = read_json(folder / f"{LAST}.json", None)
    if info is None:
        raise TrainingError(f"run {run.id} has no checkpoint to resume from ({folder}/{LAST}.json is missing); it "
                            "stopped before its first checkpoint, so train the project again")
    files = info.get("files") or {"weights": f"{LAST}.safetensors", "state": f"{LAST}.state.pt"}
    todo = f"The checkpoint of run {run.id} is damaged; train the project again or use its best weights."
    names = [files.get(k) for k in ("weights", "state")] if isinstance(files, dict) else [None]
    if not all(isinstance(n, str) and n == Path(n).name for n in names):
        raise TrainingError(f"{folder / (LAST + '.json')}: names no checkpoint files. {todo}")
    weights = safeio.load_safetensors(folder / names[0], "checkpoint weights", todo, error=TrainingError)
    tensors = safeio.load_tensors(folder / names[1], "checkpoint state", todo, error=TrainingError)
    if not isinstance(tensors, dict):
        raise TrainingError(f"{folder / names[1]}: not a DeepWire checkpoint state. {todo}")
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
