"""What the trainer shows to the code it calls: `TrainContext` for callbacks, `StepContext` for task loops.

Both are narrow views of a running `Trainer`: they name what a hook or a task may read or do, so
neither needs (or gets) the whole trainer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.lazy import LazyModule

torch = LazyModule("torch")


if TYPE_CHECKING:
    from engine.data import PreparedData
    from engine.graph import Graph
    from engine.runs import Run
    from engine.train.config import TrainingConfig
    from engine.train.events import Event
    from engine.train.probes import NodeMap
    from engine.train.trainer import Trainer
    from engine.validate import Validation


class TrainContext:
    """A callback's view of the run: progress counters, the model, the record so far, emit and stop."""

    __slots__ = ("_t",)

    def __init__(self, trainer: Trainer) -> None:
        self._t = trainer

    # ---- what the run is ---------------------------------------------------------------
    @property
    def config(self) -> TrainingConfig:
        return self._t.config

    @property
    def graph(self) -> Graph:
        return self._t.graph

    @property
    def data(self) -> PreparedData:
        return self._t.data

    @property
    def model(self) -> torch.nn.Module:
        return self._t.model

    @property
    def device(self) -> torch.device:
        return self._t.device

    @property
    def run(self) -> Run | None:
        """The run folder (None when not recording, and on every DDP rank but the first)."""
        return self._t.run

    @property
    def main(self) -> bool:
        """True on the process that reports (always, unless training is distributed)."""
        return self._t.dist.main

    @property
    def task_kind(self) -> str:
        return self._t.task.kind

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(self._t.metric_names)

    @property
    def steps_per_epoch(self) -> int:
        return self._t.steps_per_epoch

    # ---- where it is ---------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        """Epochs finished (during an epoch, the one running is `epoch + 1`)."""
        return self._t.epoch

    @property
    def step(self) -> int:
        return self._t.step

    @property
    def batch_in_epoch(self) -> int:
        return self._t.batch_in_epoch

    @property
    def lr(self) -> float:
        return self._t.lr

    @property
    def resumed(self) -> bool:
        return self._t.resumed

    @property
    def history(self) -> list[dict]:
        """One record per finished epoch (read-only)."""
        return self._t.history

    @property
    def best_epoch(self) -> int | None:
        return self._t.best_epoch

    @property
    def best_step(self) -> int:
        return self._t.best_step

    @property
    def best_state(self) -> dict[str, torch.Tensor] | None:
        return self._t.best_state

    @property
    def node_map(self) -> NodeMap:
        """Graph node ids to the model's modules (for probes)."""
        return self._t.node_map

    def probe_inputs(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """A data batch's inputs as the whole model takes them (the task decides, e.g. noise for a GAN)."""
        return self._t.task.probe_inputs(inputs)

    # ---- what a callback may do ------------------------------------------------------------
    def emit(self, event: Event) -> None:
        """Send an event to the run's listeners (and events.jsonl); dropped on DDP ranks but the first."""
        self._t.emit(event)

    def request_stop(self, reason: str) -> None:
        """End the run after the current epoch, with `reason` as the result's reason (first request wins)."""
        if self._t.stop_reason is None:
            self._t.stop_reason = reason

    @property
    def stop_requested(self) -> bool:
        return self._t.stop_reason is not None

    def checkpoint_state(self, partial: bool) -> tuple[dict, dict, dict]:
        """(weights, tensors, info) to continue the run from here, copied to the CPU; `partial`: mid-epoch."""
        return self._t.checkpoint_state(partial)


class StepContext:
    """A task loop's view of the trainer: the networks, the optimizers and the step helpers (nothing else)."""

    def __init__(self, trainer: Trainer) -> None:
        self._t = trainer
        self.graph: Graph = trainer.graph
        self.data: PreparedData = trainer.data
        self.validation: Validation = trainer.validation
        self.device: torch.device = trainer.device
        self.rank: int = trainer.dist.rank
        self.model: torch.nn.Module = trainer.model
        self.net: torch.nn.Module = trainer.net
        """The model as trained (DDP-wrapped when distributed); `model` for evaluation."""
        self.optimizers: list[torch.optim.Optimizer] = []
        """Filled in once the trainer made them from the task's `param_groups()`."""
        self.autocast = trainer.autocast
        self.check_finite = trainer.check_finite
        self.backward_step = trainer.backward_step

    @property
    def config(self) -> TrainingConfig:
        return self._t.config
