"""Training: the `training` config, events, the Trainer and its task loops (see docs/training.md)."""

from typing import Any

from engine.train.config import TrainingConfig
from engine.train.events import EventBus, event_from_dict, read_events

__all__ = ["ControlToken", "EventBus", "TrainResult", "Trainer", "TrainingConfig", "event_from_dict", "read_events"]

_TRAINER_NAMES = ("ControlToken", "Trainer", "TrainResult")


def __getattr__(name: str) -> Any:
    """The trainer's names, imported (with PyTorch) on first use so reading the config stays light."""
    if name in _TRAINER_NAMES:
        from engine.train import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
