"""Evaluation of a detector: COCO-style mAP, AP and precision-recall per class, and example images with their
true and predicted boxes (for the evaluation view and `deepwire evaluate`)."""

from __future__ import annotations

import numpy as np
import torch

from engine.detection.average_precision import RECALL_POINTS, Detections, mean_average_precision
from engine.detection.postprocess import detect, truth_detections
from engine.evaluate.metrics import Curve, EvaluationResult

EXAMPLE_IMAGES = 24
"""Images whose boxes the result keeps for drawing."""
SCORE_THRESHOLD = 0.05
"""Detections scored below this are dropped before mAP (COCO practice) and not drawn."""


def detection_outputs(model: torch.nn.Module, inputs: torch.Tensor, output: int, batch_size: int = 128
                      ) -> list[Detections]:
    """Post-processed detections of output number `output` for every image (on CPU)."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    found: list[Detections] = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            out = model(inputs[start:start + batch_size].to(device))
            found += detect(out[output] if isinstance(out, tuple | list) else out, SCORE_THRESHOLD)
    return found


def evaluate_detections(found: list[Detections], truth_boxes: torch.Tensor, class_names: list[str] | None,
                        images: np.ndarray | None = None) -> EvaluationResult:
    """mAP and per-class AP/PR of `found` against padded (N, M, 5) truth; the first images' boxes attached."""
    truths = truth_detections(truth_boxes)
    classes = len(class_names) if class_names else int(max((t.labels.max() + 1 for t in truths if len(t.labels)),
                                                          default=1))
    names = class_names or [str(i) for i in range(classes)]
    result = mean_average_precision(found, truths, classes)
    per_class = [{"class": names[r["class"]], "ap": r["ap"], "ap50": r["ap50"], "support": r["gt"]}
                 for r in result.per_class]
    pr = [Curve(names[c], RECALL_POINTS.tolist(), curve.tolist(), [None] * len(curve), float(curve.mean()))
          for c, curve in result.pr50.items()]
    examples = []
    for i in range(min(EXAMPLE_IMAGES, len(found))):
        example = {"index": i,
                   "truth": [[int(c), *map(float, b)] for c, b in zip(truths[i].labels, truths[i].boxes, strict=True)],
                   "pred": [[int(c), float(s), *map(float, b)]
                            for c, s, b in zip(found[i].labels, found[i].scores, found[i].boxes, strict=True)]}
        if images is not None:
            example["image"] = images[i].tolist()
        examples.append(example)
    return EvaluationResult("detection", len(found), names,
                            {"map": result.map, "map50": result.map50, "map75": result.map75},
                            per_class=per_class, pr=pr, boxes=examples)
