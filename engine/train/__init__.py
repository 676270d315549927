"""Training: the `training` config, events, the Trainer and its task loops (see docs/training.md)."""

from engine.train.config import TrainingConfig
from engine.train.events import EventBus, event_from_dict, read_events
from engine.train.trainer import ControlToken, Trainer, TrainResult

__all__ = ["ControlToken", "EventBus", "TrainResult", "Trainer", "TrainingConfig", "event_from_dict", "read_events"]
