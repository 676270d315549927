"""The memory a training step needs (weights, gradients, optimizer state, activations) and the warning when
it will not fit in the device's memory. Run-free, so validation can afford it on every edit."""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine import finetune
from engine.device import choose_device
from engine.errors import DeepWireError, Problem
from engine.graph import Graph
from engine.layers.spec import Shape
from engine.lazy import LazyModule
from engine.train.config import TrainingConfig

torch = LazyModule("torch")

if TYPE_CHECKING:
    from engine.validate import Validation

FIT_MARGIN = 0.9
"""Training is reported as not fitting when the estimate exceeds this share of the device's memory."""


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes one training step needs at its peak, by kind."""

    weights: int
    gradients: int
    optimizer: int
    activations: int
    """Peak of saved tensors plus the gradients flowing back, walking the backward pass node by node."""
    inputs: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations + self.inputs


def optimizer_states(cfg: TrainingConfig) -> int:
    """Tensors of parameter size the optimizer keeps per parameter (Adam: two moments; SGD: its momentum)."""
    if cfg.optimizer in ("adam", "adamw"):
        return 2
    if cfg.optimizer == "rmsprop":
        return 1 + (cfg.momentum > 0)
    return int(cfg.momentum > 0)


def training_config(graph: Graph) -> TrainingConfig:
    """The project's training section, or the defaults when it does not read (validation reports that)."""
    try:
        return TrainingConfig.from_dict(graph.training)
    except DeepWireError:
        return TrainingConfig()


def backward_peak(steps: list[tuple[int, int, int]]) -> int:
    """Peak activation bytes of forward + backward from (saved, output, input) bytes per node in forward order.

    Autograd frees what a node saved once the backward pass has gone through it; meanwhile the gradient of
    its output and the one it produces for its input are alive together.
    """
    kept = sum(s for s, _, _ in steps)
    peak = kept + (steps[-1][1] if steps else 0)
    for saved, out, inp in reversed(steps):
        peak = max(peak, kept + out + inp)
        kept -= saved
    return peak


DTYPE_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "bool": 1, "uint8": 1}
"""Bytes per value by dtype name; integer inputs become int64 token ids (8)."""


def shape_bytes(shape: Shape | None, dtype: str, batch: int) -> int:
    if shape is None:
        return 0
    size = 8 if dtype.startswith("int") else DTYPE_BYTES.get(dtype, 4)
    return batch * math.prod(d for d in shape[1:] if d is not None) * size


def quick_training_memory(graph: Graph, validation: Validation, cfg: TrainingConfig) -> tuple[int, list[str]]:
    """A run-free estimate of a training step's bytes from shapes alone (each node's output counted as saved
    once, as most layers keep their input or output), and the ids of the nodes holding the most."""
    batch = cfg.batch_size
    per_node = {nid: shape_bytes(validation.shapes.get(nid), validation.dtypes.get(nid, "float32"), batch)
                for nid in validation.order}
    trainable, frozen = finetune.param_split(graph, validation.param_counts)
    steps = [(b, b, b) for b in per_node.values()]
    total = 4 * (trainable * (2 + optimizer_states(cfg)) + frozen) + backward_peak(steps)
    ranked = sorted(per_node, key=per_node.get, reverse=True)[:3]
    return total, ranked


@functools.lru_cache(maxsize=8)
def device_memory(device: str) -> int:
    """Bytes of memory of a device: a GPU's total memory, or the machine's RAM for the CPU."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_properties(dev).total_memory
    if dev.type == "mps":
        return int(torch.mps.recommended_max_memory())
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def memory_problems(graph: Graph, validation: Validation, capacity: int | None = None) -> list[Problem]:
    """A warning pinned to the project when a training step would not fit in the device's memory."""
    if not validation.order or any(validation.shapes.get(n) is None for n in validation.order):
        return []
    cfg = training_config(graph)
    try:
        device = choose_device(cfg.device)
    except DeepWireError:
        return []
    capacity = capacity or device_memory(str(device))
    need, biggest = quick_training_memory(graph, validation, cfg)
    if need <= FIT_MARGIN * capacity:
        return []
    names = ", ".join(f"'{graph.nodes[nid].name}'" for nid in biggest)
    where = "this computer has" if device.type == "cpu" else f"the {device.type.upper()} has"
    return [Problem(None, "memory", f"Training needs about {format_bytes(need)} at batch size {cfg.batch_size} "
                    f"but {where} {format_bytes(capacity)}; the largest activations are in {names}",
                    "lower training.batch_size, shrink those layers (fewer channels or a pooling layer earlier), "
                    "or train on a device with more memory", severity="warning")]


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


