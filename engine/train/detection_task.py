"""Training object detectors: every Output has task 'detection' and reads a detection layer's (N, K, 8 + C)
output; the target is the padded (N, M, 5) box list of the data (see engine/detection/losses.py).

One Output reports `loss`, `cls_loss`, `box_loss`, `map50` and `map` (mAP@0.5 and mAP@[.5:.95]); several
(a two-stage detector's proposals and final boxes) report them per head, `<head>_map50`, with the total loss.
mAP is computed from the detections of the epoch on the host; it is not summed across DDP processes and a
run resumed mid-epoch counts only the batches after the resume.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from engine.detection.average_precision import Detections, mean_average_precision
from engine.detection.losses import LOSSES, detection_loss
from engine.detection.postprocess import detect, truth_detections
from engine.errors import TrainingError
from engine.graph import Node
from engine.shapes_format import format_shape
from engine.train.metrics import Metrics
from engine.train.multihead import MultiHeadMetrics, head_names
from engine.train.tasks import Batch, check_inputs

if TYPE_CHECKING:
    from engine.train.context import StepContext

TRAIN_MAP_IMAGES = 8
"""Images per training batch whose detections count toward the training mAP (post-processing costs time)."""
GEOMETRIC = ("hflip", "rotate_deg", "crop_pad")


class DetectionMetrics(Metrics):
    """Loss parts summed on the device; detections and truths kept on the host for mAP at the epoch's end."""

    names = ("loss", "cls_loss", "box_loss", "map50", "map")

    def __init__(self, device: torch.device, num_classes: int, with_map: bool = True) -> None:
        self.num_classes, self.with_map = num_classes, with_map
        if not with_map:
            self.names = ("loss", "cls_loss", "box_loss")
        super().__init__(device)

    def _counts(self) -> dict[str, torch.Tensor]:
        self._found: list[Detections] = []
        self._truth: list[Detections] = []
        return {"cls_loss": self._zeros(), "box_loss": self._zeros()}

    def add_parts(self, cls: torch.Tensor, box: torch.Tensor, n: int) -> None:
        self.state["cls_loss"] += cls.to(self.acc_dtype) * n
        self.state["box_loss"] += box.to(self.acc_dtype) * n

    def update(self, out: torch.Tensor, target: torch.Tensor) -> None:
        if self.with_map:
            self._found += detect(out)
            self._truth += truth_detections(target)

    def _finish(self, values: dict[str, torch.Tensor]) -> dict[str, float]:
        n = max(float(values["samples"]), 1.0)
        out = {"cls_loss": float(values["cls_loss"]) / n, "box_loss": float(values["box_loss"]) / n}
        if self.with_map:
            result = mean_average_precision(self._found, self._truth, self.num_classes) if self._truth else None
            out["map50"] = result.map50 if result else float("nan")
            out["map"] = result.map if result else float("nan")
        return out


class DetectionHead:
    """One detection Output: its classes (1 = objectness), loss and weight."""

    def __init__(self, ctx: StepContext, node: Node, name: str) -> None:
        self.node, self.name = node, name
        where = f"Output '{node.name}' ({node.id})"
        if node.params.get("task") != "detection":
            raise TrainingError(f"{where}: in a detection project every Output has task 'detection'; set its task")
        shape = tuple(ctx.validation.shapes[node.id] or ())
        if len(shape) != 3 or shape[-1] < 9:
            raise TrainingError(f"{where} gets {format_shape(shape)}, not a detection layer's (N, K, 8 + classes); "
                                "wire a Dense detection head (or a box head) into it")
        self.classes = int(shape[-1]) - 8
        wanted = ctx.data.num_classes or self.classes
        if self.classes not in (1, wanted):
            raise TrainingError(f"{where} scores {self.classes} classes but the data has {wanted}; set the detection "
                                f"layer's num_classes to {wanted}")
        chosen = node.params.get("loss", "auto")
        self.loss = "focal_giou" if chosen == "auto" else chosen
        if self.loss not in LOSSES:
            raise TrainingError(f"{where}: loss '{chosen}' does not apply to boxes; choose auto or one of "
                                f"{', '.join(LOSSES)}")
        self.weight = float(node.params.get("loss_weight", 1.0))
        self.with_map = self.classes == wanted


class DetectionTask:
    """One model call per batch; each detection Output's loss is matched against the true boxes."""

    kind = "detection"
    loss_name = "detection"

    def __init__(self, ctx: StepContext, outputs: list[Node]) -> None:
        self.ctx = ctx
        data = ctx.data
        views = check_inputs(ctx, ctx.graph.input_nodes(), data.input_shapes, data.input_dtypes)
        if any(v is not None for v in views):
            raise TrainingError("a detection project's Input must have exactly the image shape of the data")
        if len(data.target_shape) != 2 or data.target_shape[-1] != 5:
            raise TrainingError(f"detection needs box targets of shape (objects, 5), the data gives "
                                f"{format_shape((None, *data.target_shape))}; use a detection dataset")
        moving = [k for k in GEOMETRIC if data.augment_options.get(k)]
        if moving:
            raise TrainingError(f"augmentation {', '.join(moving)} would move the image but not its boxes; switch it "
                                "off for detection (noise_std is fine)")
        self.heads = [DetectionHead(ctx, n, name) for n, name in zip(outputs, head_names(outputs), strict=True)]
        if not any(h.weight for h in self.heads):
            raise TrainingError("every Output has loss_weight 0, so nothing would train; give one a weight above 0")
        self.generator = torch.Generator(device=ctx.device).manual_seed(ctx.config.seed + 7)

    def _new(self, head: DetectionHead) -> DetectionMetrics:
        return DetectionMetrics(self.ctx.device, head.classes, head.with_map)

    def new_metrics(self) -> Metrics:
        if len(self.heads) == 1:
            return self._new(self.heads[0])
        return MultiHeadMetrics(self.ctx.device, {h.name: self._new(h) for h in self.heads})

    def probe_inputs(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return inputs

    def _step(self, model: nn.Module, batch: Batch, metrics: Metrics, keep: int | None) -> torch.Tensor:
        inputs, target = batch
        with self.ctx.autocast():
            outs = model(*inputs)
            outs = outs if isinstance(outs, tuple | list) else (outs,)
            parts = [detection_loss(o, target, h.loss, generator=self.generator)
                     for h, o in zip(self.heads, outs, strict=True)]
            loss = sum(h.weight * p[0] for h, p in zip(self.heads, parts, strict=True))
        n = len(target)
        metrics.add_loss(loss, n)
        subs = metrics.heads.values() if isinstance(metrics, MultiHeadMetrics) else [metrics]
        for sub, out, (total, cls, box) in zip(subs, outs, parts, strict=True):
            if sub is not metrics:
                sub.add_loss(total, n)
            sub.add_parts(cls, box, n)
            sub.update(out[:keep], target[:keep])
        return loss

    def train_batch(self, batch: Batch, metrics: Metrics) -> torch.Tensor:
        t = self.ctx
        loss = self._step(t.net, batch, metrics, TRAIN_MAP_IMAGES)
        t.check_finite(loss, batch[0])
        t.backward_step(loss, t.optimizers[0])
        return loss

    def eval_batch(self, batch: Batch, metrics: Metrics) -> None:
        self._step(self.ctx.model, batch, metrics, None)

    def param_groups(self) -> list[list[nn.Parameter]]:
        return [list(self.ctx.model.parameters())]
