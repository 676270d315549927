"""Several Output nodes trained together (multi-task): one loss per head, a weighted total, metrics per head.

Each Output reads its own part of the target: the data's named fields (`PreparedData.target_fields`,
picked by the node's `target` param, or by its name when that names a field), or the whole target when
the data has no fields. Metrics are named `<head>_<metric>` (so the trainer reports `val_digit_accuracy`),
next to the total `loss` and each head's `<head>_loss`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.errors import TrainingError
from engine.graph import Node
from engine.lazy import LazyModule
from engine.shapes_format import format_shape
from engine.train import losses
from engine.train.metrics import Metrics
from engine.train.tasks import Batch, check_inputs, head_metrics

torch = LazyModule("torch")
nn = LazyModule("torch.nn")

if TYPE_CHECKING:
    from engine.train.context import StepContext

CLASS_LOSSES = ("cross_entropy",)


def head_name(node: Node, taken: set[str]) -> str:
    """A metric-name prefix from the Output node's name: lower case, words joined by '_', unique."""
    base = re.sub(r"[^0-9a-z]+", "_", node.name.lower()).strip("_") or node.id
    name = base if base not in taken else f"{base}_{node.id}"
    taken.add(name)
    return name


def head_names(outputs: list[Node]) -> list[str]:
    """The metric-name prefix of every Output, in project order."""
    taken: set[str] = set()
    return [head_name(node, taken) for node in outputs]


def field_columns(node: Node, fields: dict[str, tuple[int, int]] | None, width: int, name: str) -> list[int]:
    """The target columns an Output reads: its `target` field names, else the field named like the node, else all."""
    wanted = [f.strip() for f in str(node.params.get("target", "")).split(",") if f.strip()]
    if not fields:
        if wanted:
            raise TrainingError(f"Output '{node.name}' ({node.id}) asks for target field(s) {wanted}, but the data "
                                "has one unnamed target; clear the Output's target or use data task 'multitask'")
        return list(range(width))
    if not wanted:
        if name not in fields:
            raise TrainingError(f"Output '{node.name}' ({node.id}) does not say which target field it predicts; set "
                                f"its target to one of: {', '.join(fields)}")
        wanted = [name]
    unknown = [f for f in wanted if f not in fields]
    if unknown:
        raise TrainingError(f"Output '{node.name}' ({node.id}): the data has no target field(s) {unknown}; its fields "
                            f"are {', '.join(fields)}")
    return [c for f in wanted for c in range(*fields[f])]


class Head:
    """One Output: where its target lives, its loss and weight, its metrics."""

    def __init__(self, ctx: StepContext, node: Node, name: str) -> None:
        data = ctx.data
        self.node, self.name = node, name
        self.task = node.params.get("task", "multiclass")
        self.out_shape = tuple(ctx.validation.shapes[node.id] or ())
        self.weight = float(node.params.get("loss_weight", 1.0))
        chosen = node.params.get("loss", "auto")
        self.loss_name = chosen if chosen != "auto" else losses.AUTO_LOSS[self.task]
        cfg = ctx.config
        self.loss_fn = losses.make_loss(self.loss_name, huber_delta=cfg.huber_delta,
                                        label_smoothing=cfg.label_smoothing)
        width = int(torch.Size(data.target_shape).numel()) if data.target_fields else 0
        self.columns = field_columns(node, data.target_fields, width, name)
        self.whole = not data.target_fields
        fields = [f for f, (a, b) in (data.target_fields or {}).items() if a in self.columns]
        classes = (data.field_classes or {}).get(fields[0]) if len(fields) == 1 else None
        self.num_classes = len(classes) if classes else data.num_classes
        self._check()
        self._index = torch.tensor(self.columns, device=ctx.device)
        norm = None if data.target_fields else data.normalization.get("target")
        self.new_metrics: Callable[[], Metrics] = lambda: head_metrics(ctx, self.task, self.loss_name,
                                                                       self.out_shape, norm)

    def _check(self) -> None:
        where, out = f"Output '{self.node.name}' ({self.node.id})", self.out_shape[1:]
        if self.whole:
            return
        if self.loss_name in CLASS_LOSSES:
            if len(self.columns) != 1:
                raise TrainingError(f"{where} is a class head but reads {len(self.columns)} target columns; give it "
                                    "one class field")
            if self.num_classes and out[-1] != self.num_classes:
                raise TrainingError(f"{where} gives {out[-1]} scores per sample but its field has {self.num_classes} "
                                    f"classes; give its last Dense layer {self.num_classes} units")
        elif int(torch.Size(out).numel()) != len(self.columns):
            raise TrainingError(f"{where} has shape {format_shape((None, *out))} but its target field(s) hold "
                                f"{len(self.columns)} number(s) per sample; make its last layer produce that many")

    def target(self, target: torch.Tensor) -> torch.Tensor:
        """This head's part of the batch's target, typed for its loss (class ids for cross-entropy)."""
        if self.whole:
            return target
        part = target.index_select(1, self._index)
        return part[:, 0].long() if self.loss_name in CLASS_LOSSES else part


class MultiHeadMetrics(Metrics):
    """The total loss plus, per head, its own metrics (its loss included) under `<head>_` names."""

    def __init__(self, device: torch.device, heads: dict[str, Metrics]) -> None:
        self.heads = heads
        self.names = ("loss", *(f"{h}_{n}" for h, m in heads.items() for n in m.names))
        super().__init__(device)

    def update_heads(self, losses_: list[torch.Tensor], outs: tuple[torch.Tensor, ...],
                     targets: list[torch.Tensor]) -> None:
        for metrics, loss, out, target in zip(self.heads.values(), losses_, outs, targets, strict=True):
            metrics.add_loss(loss, len(target))
            metrics.update(out, target)

    def export_state(self) -> dict[str, torch.Tensor]:
        state = super().export_state()
        for h, m in self.heads.items():
            state.update({f"{h}.{k}": v for k, v in m.export_state().items()})
        return state

    def compute(self, reduce=None) -> dict[str, float]:
        state = self.export_state()
        if reduce is not None:
            reduce(state)
        values = {k: v.cpu() for k, v in state.items()}
        out = {"loss": float(values["loss"]) / max(float(values["samples"]), 1.0)}
        for h, m in self.heads.items():
            part = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith(f"{h}.")}
            n = max(float(part["samples"]), 1.0)
            out.update({f"{h}_{k}": v for k, v in {"loss": float(part["loss"]) / n, **m._finish(part)}.items()})
        return out

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        own = {k: v for k, v in state.items() if "." not in k}
        super().load_state(own)
        for h, m in self.heads.items():
            m.load_state({k.split(".", 1)[1]: v for k, v in state.items() if k.startswith(f"{h}.")})

    def reset(self) -> None:
        super().reset()
        for m in getattr(self, "heads", {}).values():
            m.reset()


class MultiHeadTask:
    """One model call per batch; the loss is the weighted sum of every Output's own loss."""

    kind = "multitask"
    loss_name = "weighted sum"

    def __init__(self, ctx: StepContext, outputs: list[Node]) -> None:
        self.ctx = ctx
        data = ctx.data
        views = check_inputs(ctx, ctx.graph.input_nodes(), data.input_shapes, data.input_dtypes)
        self.views = views if any(v is not None for v in views) else None
        self.heads = [Head(ctx, node, name) for node, name in zip(outputs, head_names(outputs), strict=True)]
        if not any(h.weight for h in self.heads):
            raise TrainingError("every Output has loss_weight 0, so nothing would train; give one a weight above 0")

    def new_metrics(self) -> MultiHeadMetrics:
        return MultiHeadMetrics(self.ctx.device, {h.name: h.new_metrics() for h in self.heads})

    def _view(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        if self.views is None:
            return inputs
        return tuple(x if v is None else x.reshape(len(x), *v) for x, v in zip(inputs, self.views, strict=True))

    def probe_inputs(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return self._view(inputs)

    def _step(self, model: nn.Module, batch: Batch, metrics: MultiHeadMetrics) -> tuple[torch.Tensor, tuple]:
        inputs, target = batch
        inputs = self._view(inputs)
        with self.ctx.autocast():
            outs = model(*inputs)
            outs = outs if isinstance(outs, tuple | list) else (outs,)
            targets = [h.target(target) for h in self.heads]
            parts = [h.loss_fn(o, t) for h, o, t in zip(self.heads, outs, targets, strict=True)]
            loss = sum(h.weight * p for h, p in zip(self.heads, parts, strict=True))
        metrics.add_loss(loss, len(target))
        metrics.update_heads(parts, outs, targets)
        return loss, inputs

    def train_batch(self, batch: Batch, metrics: MultiHeadMetrics) -> torch.Tensor:
        t = self.ctx
        loss, inputs = self._step(t.net, batch, metrics)
        t.check_finite(loss, inputs)
        t.backward_step(loss, t.optimizers[0])
        return loss

    def eval_batch(self, batch: Batch, metrics: MultiHeadMetrics) -> None:
        self._step(self.ctx.model, batch, metrics)

    def param_groups(self) -> list[list[nn.Parameter]]:
        return [list(self.ctx.model.parameters())]
