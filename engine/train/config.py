"""The project's `training` section as a typed config: every default in one place, bad keys named."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from engine.errors import TrainingError

LOSSES = ("auto", "cross_entropy", "bce", "mse", "mae", "huber", "contrastive")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("none", "step", "cosine", "one_cycle", "plateau")
CLIPS = ("none", "norm", "value")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
MODES = ("auto", "min", "max")
CLASS_WEIGHTS = ("none", "balanced")


@dataclass(frozen=True)
class EarlyStopping:
    enabled: bool = False
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True


@dataclass(frozen=True)
class EventSettings:
    batch_rate_hz: float = 20.0
    """At most this many BatchEnded events per second (the loss is read back only for those)."""
    summaries: bool = True
    """Activation and gradient summaries on or off."""
    summaries_every: int = 50
    """Batches between summaries; 0 = once per epoch."""
    summaries_max_hz: float = 2.0
    """At most this many summaries per second (0 = no limit), so fast models are not slowed by them."""
    probe_size: int = 32
    histogram_bins: int = 30
    thumbnails: int = 4


@dataclass(frozen=True)
class GanSettings:
    generator: str | None = None
    """Name or id of the generator's Output node (default: the non-binary Output)."""
    discriminator: str | None = None
    """Name or id of the discriminator's Output node (default: the binary Output)."""
    d_steps: int = 1


@dataclass(frozen=True)
class TrainingConfig:
    """Typed `training` section; see docs/training.md for what each key does."""

    loss: str = "auto"
    huber_delta: float = 1.0
    margin: float = 1.0
    label_smoothing: float = 0.0
    class_weights: str = "none"
    """'balanced' weights each class's loss by how rare it is in the training split (cross-entropy, BCE)."""
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    schedule: str = "none"
    step_size: int = 10
    gamma: float = 0.1
    plateau_patience: int = 3
    plateau_factor: float = 0.1
    min_lr: float = 0.0
    warmup_epochs: int = 0
    epochs: int = 10
    batch_size: int = 64
    eval_batch_size: int = 0
    """Batch size of validation and test passes; 0 = auto (4x `batch_size`, at most 1024, never below it)."""
    clip: str = "none"
    clip_value: float = 1.0
    monitor: str = "val_loss"
    monitor_mode: str = "auto"
    early_stopping: EarlyStopping = field(default_factory=EarlyStopping)
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    checkpoint_every: int = 0
    """Also save `checkpoints/last.*` every N epochs (0 = by time only)."""
    checkpoint_every_s: float = 30.0
    """Save `checkpoints/last.*` (and best weights) between batches once this many seconds passed since the
    last save (0 = not by time). A run always saves at its end, on stop and on early stopping."""
    events: EventSettings = field(default_factory=EventSettings)
    gan: GanSettings = field(default_factory=GanSettings)

    @classmethod
    def from_dict(cls, section: dict | None) -> TrainingConfig:
        """Validate a `training` section; TrainingError names the bad key and what it accepts."""
        values = _read(cls, section or {}, "training")
        config = cls(**values)
        config._check()
        return config

    def to_dict(self) -> dict:
        """Plain JSON form with every default filled in."""
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out

    def replace(self, **changes: Any) -> TrainingConfig:
        """A copy with some keys changed (CLI overrides), checked like the original."""
        return TrainingConfig.from_dict({**self.to_dict(), **changes})

    @property
    def eval_batch(self) -> int:
        """The batch size evaluation uses: no gradients are kept, so it can be larger than training's."""
        if self.eval_batch_size:
            return self.eval_batch_size
        return max(self.batch_size, min(4 * self.batch_size, 1024))

    @property
    def mode(self) -> str:
        """'min' or 'max' for the monitored metric."""
        if self.monitor_mode != "auto":
            return self.monitor_mode
        name = self.monitor.removeprefix("val_").removeprefix("train_")
        return "min" if name.endswith("loss") or name.rsplit("_", 1)[-1] in ("mae", "rmse", "mse") else "max"

    def _check(self) -> None:
        from engine.sections import check_training  # the declarations read this module's defaults

        check_training(self)
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            raise TrainingError("training.nesterov needs optimizer 'sgd' with momentum > 0")
        if not (self.device == "auto" or self.device.split(":")[0] in ("cpu", "cuda", "mps")):
            raise TrainingError(f"training.device: {self.device!r} is not auto, cpu, cuda, cuda:N or mps")
        if not (self.monitor.startswith("val_") or self.monitor.startswith("train_")):
            raise TrainingError(f"training.monitor: {self.monitor!r} must start with 'val_' or 'train_' "
                                "(e.g. val_loss, val_accuracy)")


def _read(cls: type, section: Any, where: str) -> dict:
    """Check keys and value types of `section` against the dataclass `cls`; nested dataclasses recurse."""
    if not isinstance(section, dict):
        raise TrainingError(f"{where}: expected a JSON object, found {type(section).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(section) - set(fields))
    if unknown:
        raise TrainingError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                            f"known keys: {', '.join(fields)}")
    defaults = cls()
    out = {}
    for name, value in section.items():
        default = getattr(defaults, name)
        key = f"{where}.{name}"
        if dataclasses.is_dataclass(default):
            out[name] = type(default)(**_read(type(default), value, key))
        else:
            out[name] = _coerce(value, default, key, fields[name].type)
    return out


def _coerce(value: Any, default: Any, key: str, annotation: str) -> Any:
    if "None" in str(annotation) and value is None:
        return None
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise TrainingError(f"{key}: expected true or false, found {value!r}")
        return value
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            raise TrainingError(f"{key}: expected a whole number, found {value!r}")
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TrainingError(f"{key}: expected a number, found {value!r}")
        return float(value)
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or len(value) != len(default) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            raise TrainingError(f"{key}: expected a list of {len(default)} numbers, found {value!r}")
        return tuple(float(v) for v in value)
    if not isinstance(value, str):
        raise TrainingError(f"{key}: expected text, found {value!r}")
    return value
