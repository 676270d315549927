"""`Trainer`: runs a task loop over PreparedData and calls its callbacks; stops/pauses/resumes.

Events, early stopping, checkpoints and probes are callbacks (engine/train/callbacks.py) on the same
synchronous hooks any other code can add behaviour with (`Trainer(..., callbacks=[...])`).

The hot path does no host-device synchronisation: metrics are summed on the device and read once
per epoch, the loss is read back only for the (rate-limited) BatchEnded events, and summaries run
every `events.summaries_every` batches. The non-finite-loss check reads one flag per batch, on
accelerators one batch late so the device never idles.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine import runstate
from engine.compile import compile_graph
from engine.data import PreparedData, load_data
from engine.device import choose_device, device_name
from engine.doctor.datasummary import data_summary
from engine.errors import DeepWireError, TrainingError
from engine.graph import Graph
from engine.lazy import LazyModule
from engine.runs import DATA, METRICS, Run, open_run, write_json
from engine.train import checkpoint, distributed
from engine.train.callbacks import (
    BatchHooks,
    Callback,
    Checkpointer,
    EarlyStopping,
    EpochSummary,
    EventEmitter,
    Probes,
    bind_hooks,
)
from engine.train.config import TrainingConfig
from engine.train.context import StepContext, TrainContext
from engine.train.divergence import DivergenceStop
from engine.train.events import Event, EventBus, RunFailed, RunStarted
from engine.train.finetune import FineTuning
from engine.train.metrics import Metrics
from engine.train.optim import Schedule, make_optimizer, set_lr
from engine.train.probes import NodeMap, first_nonfinite
from engine.train.recording import RunRecorder
from engine.train.tasks import make_task
from engine.validate import validate

torch = LazyModule("torch")


class ControlToken:
    """Stop, pause and resume a run from any thread; the trainer looks at it between batches.

    `also_stop_when`: another token (anything with `is_set()`, e.g. a sweep's process-wide stop) that stops
    the run too.
    """

    def __init__(self, also_stop_when=None) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._outer = also_stop_when

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set() or (self._outer is not None and self._outer.is_set())

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> None:
        self._running.wait()


@dataclass
class TrainResult:
    """What a finished run reports (also written to metrics.json)."""

    final: dict[str, float]
    best: dict[str, float]
    best_epoch: int | None
    epochs_done: int
    reason: str
    history: list[dict] = field(default_factory=list)
    run: Run | None = None

    def to_dict(self) -> dict:
        return {"final": self.final, "best": self.best, "best_epoch": self.best_epoch,
                "epochs_done": self.epochs_done, "reason": self.reason, "history": self.history}


_NO_AUTOCAST = contextlib.nullcontext()


class _NonFinite(Exception):
    def __init__(self, inputs: tuple[torch.Tensor, ...]) -> None:
        super().__init__("non-finite loss")
        self.inputs = inputs


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Trainer:
    """Trains a project's graph on its data section (or on `data`) with its training section (or `config`).

    Listen with `trainer.bus.queue()` (drain it yourself) or `trainer.bus.subscribe(fn)` (own thread);
    control with `trainer.control`; add behaviour with `callbacks` (called after the built-in probes and
    early stopping, before events are emitted and checkpoints written); `fit()` returns a TrainResult or
    raises TrainingError after RunFailed.
    """

    @runstate.marks_failed_start
    def __init__(self, graph: Graph, config: TrainingConfig | None = None, data: PreparedData | None = None, *,
                 run: Run | None = None, control: ControlToken | None = None, bus: EventBus | None = None,
                 device: str | None = None, callbacks: Sequence[Callback] = ()) -> None:
        self.graph = graph
        self.config = config or TrainingConfig.from_dict(graph.training)
        cfg = self.config
        self.dist = distributed.from_env()
        self.device = distributed.setup(self.dist, choose_device(device or cfg.device))
        self.run = run if self.dist.main else None
        self.control = control or ControlToken()
        self.bus = bus or EventBus()
        self.recorder: RunRecorder | None = None
        seed_everything(cfg.seed)
        self.data = data if data is not None else load_data(graph.data, seed=cfg.seed)
        self.validation = validate(graph)
        self.model = compile_graph(graph, validation=self.validation).to(self.device)
        self.finetuning = FineTuning(self)  # initial weights, frozen nodes (before DDP and the optimizers)
        # A GAN's networks run several passes per step, which DDP cannot follow: their gradients are averaged
        # by hand after each backward instead, from weights copied from rank 0.
        self.sync_grads = self.dist.enabled and self.data.task == "gan"
        if self.sync_grads:
            distributed.broadcast_state(self.model, self.dist)
            self.net = self.model
        else:
            self.net = distributed.wrap(self.model, self.dist, self.device)
        self.step_context = StepContext(self)
        self.task = make_task(self.step_context)
        self.optimizers = [make_optimizer(self.finetuning.param_groups(p), cfg) for p in self.task.param_groups()]
        self.step_context.optimizers = self.optimizers
        self._opt_params = [[p for g in o.param_groups for p in g["params"]] for o in self.optimizers]
        self.steps_per_epoch = self.data.num_batches("train", cfg.batch_size, world_size=self.dist.world_size)
        self.schedule = Schedule(cfg, self.steps_per_epoch)
        self.precision = self._precision()
        self.scaler = torch.amp.GradScaler("cuda") if self.precision == "fp16" else None
        self.node_map = NodeMap(self.model, graph)
        self.metric_names = self.task.new_metrics().names
        self._check_monitor()
        self.shuffle_gen = torch.Generator().manual_seed(cfg.seed)
        self.sync_check = self.device.type == "cpu"
        self.epoch, self.batch_in_epoch, self.step = 0, 0, 0
        self.lr = self.schedule.lr(0)
        self.history: list[dict] = []
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_step = 0
        self.stop_reason: str | None = None
        self._partial: dict | None = None
        self._epoch_progress: tuple[torch.Tensor, Metrics, float, float] | None = None
        self.resumed = False
        self.context = TrainContext(self)
        self.callbacks: list[Callback] = [DivergenceStop(), self.finetuning, Probes(), EarlyStopping(), *callbacks,
                                          EventEmitter()]
        if self.run is not None:
            self.attach_run(self.run)

    def attach_run(self, run: Run) -> None:
        """Record into `run` from now on (its lock, state, events and checkpoints); also for a trainer built
        before its run folder was made. A run another process is writing is refused (TrainingError)."""
        if not self.dist.main:
            return
        self.recorder = RunRecorder(run.path, self.bus)
        self.run = run
        self.callbacks.insert(0, self.recorder)
        self.callbacks.append(Checkpointer())

    # ---- setup helpers -------------------------------------------------------------------
    def _precision(self) -> str:
        wanted = self.config.precision
        if self.device.type != "cuda":
            if wanted in ("bf16", "fp16"):
                raise TrainingError(f"training.precision '{wanted}' needs a CUDA GPU; use 'auto' or 'fp32' on "
                                    f"{self.device.type}")
            return "fp32"
        if wanted == "auto":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
        return wanted

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "fp32":
            return _NO_AUTOCAST
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type="cuda", dtype=dtype)

    def _check_monitor(self) -> None:
        name = self.config.monitor.split("_", 1)[1]
        if name not in self.metric_names:
            raise TrainingError(f"training.monitor: '{self.config.monitor}' is not a metric of this task; choose "
                                f"val_ or train_ with one of {', '.join(self.metric_names)}")

    # ---- events --------------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        if self.dist.main:
            self.bus.emit(event)

    def _run_started(self) -> RunStarted:
        return RunStarted(
            run_id=self.run.id if self.run else "", run_dir=str(self.run.path) if self.run else None,
            project=self.graph.name, params=self.config.to_dict(), device=str(self.device),
            device_name=device_name(self.device), task=self.task.kind, epochs=self.config.epochs,
            start_epoch=self.epoch, steps_per_epoch=self.steps_per_epoch,
            total_params=sum(p.numel() for p in self.model.parameters()),
            metrics=list(self.metric_names), resumed=self.resumed,
            data=_jsonable({**self.data.describe(vocab=False), "summary": data_summary(self.data)}),
            world_size=self.dist.world_size, frozen_params=self.finetuning.counts()[1],
            init=self.finetuning.describe())

    # ---- the hot path helpers used by tasks ----------------------------------------------
    def backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """zero_grad, backward (scaled for fp16), clip, step."""
        params = self._opt_params[self.optimizers.index(optimizer)] if len(self.optimizers) > 1 else self._opt_params[0]
        optimizer.zero_grad(set_to_none=True)
        clip = self.config.clip
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            if self.sync_grads:
                distributed.average_gradients(params, self.dist)
            if clip != "none":
                self.scaler.unscale_(optimizer)
                self._clip(params)
            self.scaler.step(optimizer)
            self.scaler.update()
            return
        loss.backward()
        if self.sync_grads:
            distributed.average_gradients(params, self.dist)
        if clip != "none":
            self._clip(params)
        optimizer.step()

    def _clip(self, params: list[torch.nn.Parameter]) -> None:
        if self.config.clip == "norm":
            torch.nn.utils.clip_grad_norm_(params, self.config.clip_value)
        else:
            torch.nn.utils.clip_grad_value_(params, self.config.clip_value)

    def check_finite(self, loss: torch.Tensor, inputs: tuple[torch.Tensor, ...]) -> None:
        """Raise _NonFinite for a NaN/Inf loss: at once on CPU, one batch late on accelerators."""
        if self.sync_check:
            if not math.isfinite(loss.detach().item()):
                raise _NonFinite(inputs)
            return
        pending, self._pending_finite = self._pending_finite, (torch.isfinite(loss.detach()), inputs)
        if pending is not None and not bool(pending[0]):
            raise _NonFinite(pending[1])

    # ---- loop ----------------------------------------------------------------------------
    def fit(self) -> TrainResult:  # noqa: RET503  _fail_nonfinite always raises
        """Train to `config.epochs` (from where a resumed run left off)."""
        started = time.time()
        self._pending_finite = None
        self.stop_reason = None
        if self.run is not None and not any(isinstance(cb, Checkpointer) for cb in self.callbacks):
            self.callbacks.append(Checkpointer())  # the run folder was given after construction (the editor's runner)
        self._hooks = bind_hooks(self.callbacks)
        self._batch_hooks = BatchHooks(self._hooks["on_batch_end"])
        try:
            if self.run is not None:
                self.bus.log_to(self.run.events_path)
                write_json(self.run.path / DATA, _jsonable(self.data.describe()))
            self.emit(self._run_started())
            self._call("on_fit_start")
            reason = "completed"
            while self.epoch < self.config.epochs:
                if not self._train_epoch():
                    reason = "stopped"
                    break
                self._end_epoch()
                if self.stop_reason is not None:
                    reason = self.stop_reason
                    break
            return self._finish(reason, time.time() - started)
        except _NonFinite as exc:
            self._fail(*self._nonfinite_failure(exc))
        except DeepWireError as exc:
            self._fail(getattr(exc, "summary", str(exc)), getattr(exc, "node_id", None), getattr(exc, "hint", ""))
            raise
        except Exception as exc:
            self._fail(f"{type(exc).__name__}: {exc}", None, "see the traceback in the log")
            raise
        finally:
            for hook in self._hooks["on_close"]:
                hook(self.context)
            self.bus.close()
            self.net = self.model  # free the DDP reducer while its process group still exists
            distributed.shutdown(self.dist)

    def _call(self, hook: str, *args) -> None:
        ctx = self.context
        for fn in self._hooks[hook]:
            fn(ctx, *args)

    def _train_epoch(self) -> bool:
        """One epoch (or its rest after a resume); False when stopped by the control token."""
        cfg, control = self.config, self.control
        self.net.train()
        if self._partial is not None:
            self.shuffle_gen.set_state(self._partial["gen"])
        epoch_gen_state = self.shuffle_gen.get_state()
        metrics = self.task.new_metrics()
        elapsed, skip = 0.0, 0
        if self._partial is not None:
            metrics.load_state(self._partial["metrics"])
            elapsed, skip = self._partial["elapsed"], self.batch_in_epoch
            self._partial = None
        else:
            self.batch_in_epoch = 0
        set_lr_each_step = self.schedule.changes_per_step
        self.lr = self.schedule.lr(self.step)
        for opt in self.optimizers:
            set_lr(opt, self.lr)
        self._call("on_epoch_start")
        hooks, ctx = self._batch_hooks, self.context
        hooks.start_epoch()
        train_batch = self.task.train_batch
        t0 = time.perf_counter()
        self._epoch_progress = (epoch_gen_state, metrics, elapsed, t0)
        batches = self.data.batches("train", cfg.batch_size, shuffle=True, device=self.device,
                                    generator=self.shuffle_gen, augment=True,
                                    rank=self.dist.rank, world_size=self.dist.world_size)
        for index, batch in enumerate(batches):
            if index < skip:
                continue
            if control.paused:
                paused = time.perf_counter()
                control.wait_while_paused()
                t0 += time.perf_counter() - paused
                self._epoch_progress = (epoch_gen_state, metrics, elapsed, t0)
            if control.stopped:
                self._call("on_interrupt")
                return False
            if set_lr_each_step:
                self.lr = lr = self.schedule.lr(self.step)
                for opt in self.optimizers:
                    set_lr(opt, lr)
            loss = train_batch(batch, metrics)
            self.step += 1
            self.batch_in_epoch = index + 1
            if hooks.hooks:
                now = time.monotonic()
                if now >= hooks.next_time or self.step >= hooks.next_step:
                    hooks.run(ctx, loss, self.step, now)
        self._settle_finite()
        self._call("on_train_batches_end")
        self._train_time = elapsed + time.perf_counter() - t0
        self._epoch_progress = None
        self._train_metrics = metrics
        return True

    def _settle_finite(self) -> None:
        """Raise _NonFinite if the last batch's loss (checked one batch late on accelerators) was not finite."""
        if self._pending_finite is not None:
            if not bool(self._pending_finite[0]):
                raise _NonFinite(self._pending_finite[1])
            self._pending_finite = None

    def evaluate(self, split: str = "val") -> dict[str, float]:
        """Metrics of the current model on `split` ({} when the split is empty)."""
        if not len(self.data.split(split)):
            return {}
        metrics = self.task.new_metrics()
        self.model.eval()
        gen = torch.Generator().manual_seed(0)
        eval_batch = self.task.eval_batch
        for batch in self.data.batches(split, self.config.eval_batch, shuffle=False, device=self.device,
                                       generator=gen, rank=self.dist.rank, world_size=self.dist.world_size):
            with torch.inference_mode():  # per batch: the data split cached on the device stays a normal tensor
                eval_batch(batch, metrics)
        self.model.train()
        return metrics.compute(self._reduce)

    def _end_epoch(self) -> None:
        """Validate, keep the best weights, record the epoch and tell the callbacks."""
        cfg = self.config
        train = self._train_metrics.compute(self._reduce)
        if self.sync_grads:
            distributed.broadcast_state(self.model, self.dist, params=False)  # one set of BatchNorm statistics
        val = self.evaluate("val")
        samples = len(self.data.train)
        value = self._monitored(train, val)
        best = self._is_better(value)
        if best:
            self.best_value, self.best_epoch, self.best_step = value, self.epoch + 1, self.step
            self.best_state = checkpoint.snapshot(self.model)
        self.schedule.epoch_end(value, cfg.mode)
        record = {"epoch": self.epoch + 1, "train": train, "val": val, "lr": self.lr,
                  "samples_per_s": samples / max(self._train_time, 1e-9), "epoch_time": self._train_time}
        self.history.append(record)
        self.epoch += 1
        self.batch_in_epoch = 0
        self._call("on_epoch_end", EpochSummary(self.epoch, train, val, self.lr, record["samples_per_s"],
                                                self._train_time, value, best))

    def _reduce(self, state: dict[str, torch.Tensor]) -> None:
        distributed.sum_across(state, self.dist)

    def _monitored(self, train: dict, val: dict) -> float:
        split, name = self.config.monitor.split("_", 1)
        source = val if split == "val" and val else train
        return float(source.get(name, float("nan")))

    def _is_better(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best_value is None:
            return True
        delta = self.config.early_stopping.min_delta
        if self.config.mode == "min":
            return value < self.best_value - delta
        return value > self.best_value + delta

    def _finish(self, reason: str, duration: float) -> TrainResult:
        self._call("on_train_end", reason)
        last = self.history[-1] if self.history else {"train": {}, "val": {}}
        final = {**_prefixed("train", last["train"]), **_prefixed("val", last["val"])}
        if reason != "stopped":
            final.update(_prefixed("test", self.evaluate("test")))
        best_rec = next((h for h in self.history if h["epoch"] == self.best_epoch), None)
        best = {**_prefixed("train", best_rec["train"]), **_prefixed("val", best_rec["val"])} if best_rec else {}
        result = TrainResult(final, best, self.best_epoch, self.epoch, reason, list(self.history), self.run)
        if self.run is not None:
            write_json(self.run.path / METRICS, {**result.to_dict(), "monitor": self.config.monitor})
        self._call("on_fit_end", result)
        return result

    def _fail(self, message: str, node_id: str | None, hint: str, epoch: int | None = None) -> None:
        """Tell the callbacks (which emit RunFailed and settle pending writes) that the run failed."""
        failure = RunFailed(message, node_id, hint, self.epoch if epoch is None else epoch, self.step)
        for hook in self._hooks["on_fit_failed"]:
            with contextlib.suppress(Exception):
                hook(self.context, failure)

    def _nonfinite_failure(self, exc: _NonFinite) -> tuple[str, str | None, str, int]:
        """Report the first layer that made the loss non-finite, then raise the TrainingError that says so."""
        node_id, kind = first_nonfinite(self.model, self.node_map, exc.inputs)
        hint = ("lower the learning rate, turn on gradient clipping (training.clip = 'norm'), or add "
                "normalization (BatchNorm/LayerNorm) before this layer")
        where = f"epoch {self.epoch + 1}, batch {self.batch_in_epoch + 1}"
        if node_id is None:
            message = (f"The loss became NaN or infinite at {where}, but every layer's output is finite; the "
                       "targets or the loss settings produce it")
            hint = "check the data's targets (NaN, out-of-range class ids) and the loss choice"
        else:
            node = self.graph.nodes[node_id]
            what = "weights" if kind == "weights" else "output"
            message = (f"The loss became NaN or infinite at {where}; the first layer whose {what} is not finite is "
                       f"'{node.name}' ({node.type}, {node_id})")
        self._fail(message, node_id, hint, self.epoch + 1)
        error = TrainingError(f"{message}. Hint: {hint}")
        error.node_id = node_id
        raise error from None

    # ---- checkpoints ----------------------------------------------------------------------
    def checkpoint_state(self, partial: bool) -> tuple[dict, dict, dict]:
        """(weights, tensors, info) on the CPU to continue from here; `partial`: in the middle of an epoch."""
        progress = self._epoch_progress if partial else None
        if progress is not None:
            self._settle_finite()
            gen_state, metrics, elapsed, t0 = progress
            elapsed += time.perf_counter() - t0
        else:
            gen_state, metrics, elapsed = self.shuffle_gen.get_state(), None, 0.0
        rng_tensors, rng_plain = checkpoint.rng_state()
        tensors = {
            "optimizers": [o.state_dict() for o in self.optimizers], "rng": rng_tensors, "gen": gen_state,
            "scaler": self.scaler.state_dict() if self.scaler else {},
            "metrics": metrics.export_state() if metrics else {},
        }
        noise = getattr(self.task, "noise_gen", None)
        if noise is not None:
            tensors["noise_gen"] = noise.get_state()
        states = {type(cb).__name__: state for cb in self.callbacks if (state := cb.state_dict()) is not None}
        info = {"epoch": self.epoch, "batch": self.batch_in_epoch if metrics else 0, "step": self.step,
                "elapsed": elapsed, "rng": rng_plain, "schedule": self.schedule.state_dict(),
                "best_value": self.best_value, "best_epoch": self.best_epoch, "callbacks": states,
                "history": self.history, "epochs": self.config.epochs}
        weights, tensors = checkpoint.cpu_state(self.model), checkpoint.cpu_copy(tensors)
        tensors["best_state"] = checkpoint.on_cpu(self.best_state or {})
        return weights, tensors, info

    def load_checkpoint(self) -> None:
        """Continue from the run's last checkpoint: weights, optimizers, schedule, RNGs, counters, callbacks."""
        weights, tensors, info = checkpoint.load_checkpoint(self.run)
        try:
            self._restore(weights, tensors, info)
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError, AttributeError) as exc:
            raise TrainingError(f"the checkpoint of run {self.run.id} does not fit its project ({exc}); train the "
                                "project again") from None

    def _restore(self, weights: dict, tensors: dict, info: dict) -> None:
        self.model.load_state_dict(weights)
        for opt, state in zip(self.optimizers, tensors["optimizers"], strict=True):
            opt.load_state_dict(state)
        if self.scaler is not None and tensors["scaler"]:
            self.scaler.load_state_dict(tensors["scaler"])
        if "noise_gen" in tensors:
            self.task.noise_gen.set_state(tensors["noise_gen"])
        self.epoch, self.batch_in_epoch, self.step = info["epoch"], info["batch"], info["step"]
        self.schedule.load_state_dict(info["schedule"])
        self.best_value, self.best_epoch = info["best_value"], info["best_epoch"]
        states = info.get("callbacks", {"EarlyStopping": {"wait": info.get("wait", 0)}})  # older checkpoints
        for cb in self.callbacks:
            if type(cb).__name__ in states:
                cb.load_state_dict(states[type(cb).__name__])
        self.history = info["history"]
        self.best_state = tensors["best_state"] or None
        self.shuffle_gen.set_state(tensors["gen"])
        if self.batch_in_epoch:
            self._partial = {"gen": tensors["gen"], "metrics": tensors["metrics"], "elapsed": info["elapsed"]}
        checkpoint.set_rng_state(tensors["rng"], info["rng"])
        self.resumed = True

    @classmethod
    def resume(cls, run_path: str | Path, epochs: int | None = None, **kwargs) -> Trainer:
        """A Trainer that continues the run in `run_path` (to `epochs` in total, default: as configured)."""
        run = open_run(run_path)
        graph = run.graph
        config = TrainingConfig.from_dict(graph.training)
        if epochs is not None:
            config = config.replace(epochs=epochs)
        trainer = cls(graph, config, run=run, **kwargs)
        try:
            trainer.load_checkpoint()
            # a run killed after its last epoch's checkpoint but before it recorded its end is finished, not refused
            if trainer.epoch >= config.epochs and not trainer.batch_in_epoch and not runstate.unfinished(run):
                raise TrainingError(f"run {run.id} already trained {trainer.epoch} of {config.epochs} epochs; "
                                    f"pass more epochs (e.g. --epochs {trainer.epoch + config.epochs}) to continue")
        except BaseException:
            trainer.recorder.release()
            raise
        trainer.recorder.cut_events()
        checkpoint.settle(run)
        return trainer


def _prefixed(prefix: str, values: dict) -> dict:
    return {f"{prefix}_{k}": v for k, v in values.items()}


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
