"""Evaluate a training run on one of its splits or on a data file, and save `evaluation.json` in the run folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.data import preprocess
from engine.data.load import load_data, load_raw, with_defaults
from engine.data.sources import DATA_SOURCES, predict_source
from engine.errors import DataError
from engine.evaluate.metrics import EvaluationResult, evaluate_predictions
from engine.lazy import LazyModule
from engine.runs import Run, open_run
from engine.train.config import TrainingConfig
from engine.train.multihead import field_columns, head_names

torch = LazyModule("torch")

SPLITS = ("train", "val", "test")
MAX_INPUT_VALUES = 4096
"""Inputs of the most confidently wrong samples are stored when one sample has at most this many values."""


def evaluate_run(run: Run | str | Path, split: str = "test", weights: str = "best",
                 save: bool = True, head: str | None = None) -> EvaluationResult:
    """Run the trained model on `split` (train/val/test, or a .csv/.npz/.npy file) and evaluate one Output.

    `head` names the Output of a project with several (default: the first). The result is saved as
    `evaluation.json` (test split) or `evaluation-<split or file stem>.json`, with `-<head>` before `.json`
    for a head other than the first.
    """
    run = run if isinstance(run, Run) else open_run(run)
    model, graph = run.load_model(weights)
    info = run.data_info()
    outputs = graph.output_nodes()
    if info.get("task") == "gan":
        raise DataError("evaluation needs a project with one Output node (GAN projects are judged by their samples)")
    names = head_names(outputs)
    index = _head_index(names, head)
    norm = info.get("normalization") or {"method": "none"}
    if split in SPLITS:
        inputs, target = _split(graph, split)
    else:
        inputs, target = _file(Path(split), graph.data, info)
    if info.get("task") == "detection":
        return _detection(run, model, inputs, target, info, names, head, split, save)
    scores = predict_batches(model, inputs, index)
    node = outputs[index]
    task = node.params["task"]
    class_names = info.get("class_names")
    fields = {k: tuple(v) for k, v in (info.get("target_fields") or {}).items()}
    if fields:
        columns = field_columns(node, fields, 0, names[index])
        target = target[:, columns]
        target = target[:, 0].long() if task in ("multiclass",) else target
        owned = [f for f, (a, _) in fields.items() if a in columns]
        class_names = (info.get("field_classes") or {}).get(owned[0]) if len(owned) == 1 else None
    if task == "regression":
        scores = preprocess.invert(norm.get("target", {}), scores)
    shown = None
    per_step = task == "multiclass" and target.dim() > 1
    if inputs[0][0].numel() <= MAX_INPUT_VALUES and not per_step:
        first = inputs[0]
        shown = (preprocess.invert(norm, first) if first.is_floating_point() else first).numpy()
    result = evaluate_predictions(task, target.numpy(), scores.numpy(), class_names, inputs=shown)
    result.split = split if split in SPLITS else str(split)
    result.head = names[index] if len(outputs) > 1 else ""
    if save:
        stem = "evaluation" if split == "test" else f"evaluation-{split if split in SPLITS else Path(split).stem}"
        result.save(run.path / f"{stem}{f'-{names[index]}' if index else ''}.json")
    return result


def output_heads(run: Run | str | Path) -> list[str]:
    """The names of a run's Output heads, as metrics and `evaluate_run(head=...)` use them."""
    run = run if isinstance(run, Run) else open_run(run)
    return head_names(run.graph.output_nodes())


def _detection(run: Run, model, inputs, target, info: dict, names: list[str], head: str | None, split: str,
               save: bool) -> EvaluationResult:
    """A detector's evaluation; by default of its last Output that scores every class (the final boxes)."""
    from engine.evaluate.detection import EXAMPLE_IMAGES, detection_outputs, evaluate_detections
    from engine.validate import validate

    classes = len(info.get("class_names") or []) or None
    shapes = validate(run.graph).shapes
    scored = [int(shapes[n.id][-1]) - 8 if shapes.get(n.id) else None for n in run.graph.output_nodes()]
    if head is None:
        full = [i for i, c in enumerate(scored) if c == classes or classes is None]
        index = full[-1] if full else len(names) - 1
    else:
        index = _head_index(names, head)
    norm = info.get("normalization") or {"method": "none"}
    images = preprocess.invert(norm, inputs[0][:EXAMPLE_IMAGES]).numpy()
    class_names = info.get("class_names")
    if scored[index] == 1 and classes != 1:  # a proposal head: any object counts, whatever its class
        target = torch.cat([torch.where(target[..., :1] >= 0, 0.0, -1.0), target[..., 1:]], -1)
        class_names = ["object"]
    result = evaluate_detections(detection_outputs(model, inputs[0], index), target, class_names, images)
    result.split = split if split in SPLITS else str(split)
    result.head = names[index] if len(names) > 1 else ""
    if save:
        stem = "evaluation" if split == "test" else f"evaluation-{split if split in SPLITS else Path(split).stem}"
        result.save(run.path / f"{stem}{f'-{names[index]}' if index and head else ''}.json")
    return result


def _head_index(names: list[str], head: str | None) -> int:
    if head is None:
        return 0
    if head not in names:
        raise DataError(f"this project has no Output head '{head}'; its heads are {', '.join(names)}")
    return names.index(head)


def _split(graph, split: str) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """The split exactly as training made it (same seed), target back in data units."""
    data = load_data(graph.data, seed=TrainingConfig.from_dict(graph.training).seed)
    part = data.split(split)
    return tuple(part.inputs), data.denormalize_target(part.target.float()) if data.task in (
        "regression", "next_step") else part.target


def _file(path: Path, section: dict, info: dict) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """A labelled .csv/.npz/.npy file, normalized with the run's training statistics."""
    record = predict_source(path.suffix.lower())
    if record is None or record.folder:
        accepted = ", ".join(x for s in DATA_SOURCES.values() if not s.folder for x in s.predict_suffixes)
        raise DataError(f"{path}: evaluate a {accepted} file (or a split: train, val, test)")
    source = record.name
    keys = ("features", "target", "delimiter", "tokens", "dropna") if section.get("source") == "csv" else ()
    raw = load_raw(with_defaults({"source": source, "path": str(path), "task": info.get("task"),
                                  **{k: section[k] for k in keys if k in section}}))
    norm = info.get("normalization") or {"method": "none"}
    inputs = tuple(torch.from_numpy(np.ascontiguousarray(preprocess.apply(norm, x) if x.dtype == np.float32 else x))
                   for x in raw.inputs)
    return inputs, torch.from_numpy(np.ascontiguousarray(raw.target))


def predict_batches(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...], output: int = 0,
                    batch_size: int = 256) -> torch.Tensor:
    """The model's output number `output` on every sample, on CPU."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    outs = []
    with torch.no_grad():
        for start in range(0, len(inputs[0]), batch_size):
            out = model(*(x[start:start + batch_size].to(device) for x in inputs))
            outs.append((out[output] if isinstance(out, tuple | list) else out).float().cpu())
    return torch.cat(outs)
