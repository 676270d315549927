"""The epoch metrics a run of a project will report, named as the trainer names them, read from the graph alone
(no data loaded): what the live plots lay out before a run starts and what a sweep may target."""

from __future__ import annotations

from engine.graph import Graph, Node
from engine.layers.registry import get_spec
from engine.train.metrics import BinaryMetrics, ClassMetrics, GanMetrics, MultilabelMetrics, RegressionMetrics

TASK_METRICS = {"binary": BinaryMetrics, "multilabel": MultilabelMetrics, "regression": RegressionMetrics}
"""Metrics of an Output by its task; any other task reports ClassMetrics."""


def expected_metrics(graph: Graph) -> list[str]:
    """Metric names without the train_/val_ prefix: one set per task, `<head>_<metric>` per head of a project
    with several Outputs (and the total `loss`), a detector's loss parts and mAP."""
    if graph.data.get("task") == "gan":
        return list(GanMetrics.names)
    from engine.train.detection_task import DetectionMetrics
    from engine.train.multihead import head_names

    outputs = graph.output_nodes()
    if outputs and all(n.params.get("task") == "detection" for n in outputs):
        if len(outputs) == 1:
            return list(DetectionMetrics.names)
        scored = [_scores_classes(graph, n) for n in outputs]
        return ["loss", *(f"{h}_{m}" for h, with_map in zip(head_names(outputs), scored, strict=True)
                          for m in DetectionMetrics.names if with_map or not m.startswith("map"))]
    names = [list(TASK_METRICS.get(n.params.get("task", "multiclass"), ClassMetrics).names) for n in outputs]
    if len(outputs) > 1 or graph.data.get("task") == "multitask":
        return ["loss", *(f"{h}_{m}" for h, own in zip(head_names(outputs), names, strict=True) for m in own)]
    if outputs and _contrastive(graph, outputs[0]):
        return list(BinaryMetrics.names)
    return names[0] if names else list(ClassMetrics.names)


def _contrastive(graph: Graph, output: Node) -> bool:
    """A Siamese head trained with the contrastive loss (chosen, or `auto` on a Distance layer), which reports
    how well its distances separate the pairs as binary metrics."""
    chosen = output.params.get("loss", "auto")
    chosen = chosen if chosen != "auto" else graph.training.get("loss", "auto")
    incoming = graph.incoming(output.id)
    distance = bool(incoming) and graph.nodes[incoming[0].src].type == "Distance"
    return chosen == "contrastive" or (chosen == "auto" and distance and output.params.get("task") == "regression")


def _scores_classes(graph: Graph, output: Node) -> bool:
    """A detection head that scores object classes (it gets mAP), not only objectness as a proposal network."""
    incoming = graph.incoming(output.id)
    return bool(incoming) and any(p.name == "num_classes" for p in get_spec(graph.nodes[incoming[0].src].type).params)
