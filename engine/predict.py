"""Run a trained model (a run folder or an export folder) on a CSV / image / .npy / .npz file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.data import csvfile, notes, text
from engine.data.sources import IMAGE_SUFFIXES, predict_files, predict_source
from engine.errors import DataError, ExportError
from engine.evaluate.metrics import sigmoid, softmax
from engine.export import preprocessing
from engine.export.formats import EXPORT_FORMATS, Forward, torch_forward


@dataclass
class Predictor:
    """A model that takes preprocessed input tensors and returns its outputs, plus its preprocessing record."""

    record: dict
    forward: Forward

    def outputs(self, raw: list[np.ndarray]) -> list[np.ndarray]:
        """Every output of the model (one per Output node) for raw samples of each input."""
        inputs = tuple(preprocessing.apply(self.record, x, i) for i, x in enumerate(raw))
        out = self.forward(inputs)
        return [np.asarray(o, dtype=np.float64) for o in (out if isinstance(out, list | tuple) else [out])]

    def __call__(self, raw: list[np.ndarray]) -> np.ndarray:
        """The main output: the first, or a detector's final boxes (`preprocessing.output_index`)."""
        outs = self.outputs(raw)
        return outs[min(preprocessing.output_index(self.record), len(outs) - 1)]


def load_predictor(path: str | Path, weights: str = "best") -> Predictor:
    """A run folder (project.json + weights) or a folder (or main file) written by `deepwire export`."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if (folder / preprocessing.FILE).exists():
        return _from_export(folder, path if path.is_file() else None)
    from engine.runs import open_run

    run = open_run(folder)
    model, graph = run.load_model(weights)
    record = preprocessing.describe(graph, run.data_info() or None)
    return Predictor(record, torch_forward(model, None))


def _from_export(folder: Path, main: Path | None) -> Predictor:
    """The model an export folder holds, loaded by its format's record (engine/export/formats.py); never imports
    code from the folder (a Python export is read from its weights and project.json)."""
    record = preprocessing.read(folder)
    if main is None:
        present = [f for f in EXPORT_FORMATS.values() if (folder / f.main_file).exists()]
        if not present:
            names = ", ".join(f.main_file for f in EXPORT_FORMATS.values())
            raise ExportError(f"{folder}: no model file ({names}) next to preprocessing.json")
        fmt = max(present, key=lambda f: f.precedence)
        main = folder / fmt.main_file
    else:
        fmt = next((f for f in EXPORT_FORMATS.values() if main.suffix == f.suffix), None)
        if fmt is None:
            raise ExportError(f"{main}: not a model file DeepWire exports")
    return Predictor(record, fmt.load(main, folder))


def read_input(path: str | Path, record: dict) -> list[np.ndarray]:
    """Raw samples for each model input from a .npy, .npz (x or x0, x1, ...), .csv or image file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if record.get("text") and suffix in (".csv", ".txt"):
        return [_texts(path, record["text"])]
    source = predict_source(suffix)
    if source is None:
        raise DataError(f"{path}: predict reads {predict_files()} files (and .txt for a text model)")
    return source.predict_read(path, record["inputs"])


def _texts(path: Path, info: dict) -> np.ndarray:
    """Token ids of the texts in a .txt file (one per line) or a CSV's text column, as in training."""
    return text.encode(read_texts(path, info["column"]), info["vocab"], int(info["seq_len"]))


def read_texts(path: Path, column: str) -> list[str]:
    """The texts of a .txt file (one per non-empty line) or of a CSV's `column` (else its first text column)."""
    if path.suffix.lower() == ".txt":
        try:
            texts = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: cannot be read as UTF-8 text ({exc}); save it as UTF-8") from None
    else:
        frame = csvfile.read_table(path, {"delimiter": ","})  # one column of sentences is fine here
        found = column if column in frame.columns else next(
            (c for c in frame.columns if frame[c].dtype == object), None)
        if found is None:
            raise DataError(f"{path}: no text column (the model was trained on column '{column}')")
        texts = frame[found].fillna("").astype(str).tolist()
    return texts


def training_range(record: dict) -> tuple[float, float] | None:
    """The span of the float inputs the model was trained on, as the run's normalization record keeps it."""
    norm = record.get("normalization") or {}
    if "range" in norm:
        return float(norm["range"][0]), float(norm["range"][1])
    if norm.get("method") == "minmax":
        return float(np.min(norm["min"])), float(np.max(norm["max"]))
    return None


def scale_warning(record: dict, raw: list[np.ndarray], where: str) -> str | None:
    """A warning when the float inputs of `where` lie on another scale than the training data (raw 0-255 pixels
    for a model trained on 0-1, say): far outside its span, or squeezed into a small part of it."""
    span = training_range(record)
    floats = [np.asarray(x, dtype=np.float64) for x, spec in zip(raw, record.get("inputs") or [], strict=False)
              if not str(spec.get("dtype", "")).startswith("int") and np.size(x)]
    if span is None or not floats:
        return None
    values = np.concatenate([x.ravel() for x in floats])
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    low, high = float(values.min()), float(values.max())
    width = span[1] - span[0]
    outside = low < span[0] - 0.5 * width or high > span[1] + 0.5 * width
    squeezed = width > 0 and 0 < high - low < 0.05 * width
    if not (outside or squeezed):
        return None
    return (f"{where}: values span {low:.3g} to {high:.3g} but the model was trained on {span[0]:.3g} to "
            f"{span[1]:.3g}; scale them the same way as the training data, or the predictions mean little")


def describe_predictions(record: dict, outputs: np.ndarray | list[np.ndarray], top: int = 1,
                         score_threshold: float = 0.5) -> list[dict]:
    """One row per sample. `outputs` is the main output alone (`Predictor.__call__`) or every output
    (`Predictor.outputs`): a project with several answering heads gives per sample {'index', 'heads': {Output
    name: its answer}}. An answer is predicted class names with confidences, values (in data units), or for a
    detector the boxes scored at least `score_threshold`."""
    if isinstance(outputs, list | tuple) and len(outputs) < len(record.get("outputs") or []):
        outputs = outputs[0]  # a loader that gives one output gives the main one
    if isinstance(outputs, np.ndarray):
        return describe_head(record, preprocessing.output_index(record), outputs, top, score_threshold)
    heads = preprocessing.answering_outputs(record)
    if len(heads) == 1:
        return describe_head(record, heads[0], outputs[heads[0]], top, score_threshold)
    names = [record["outputs"][i].get("name") or f"output {i}" for i in heads]
    parts = [describe_head(record, i, outputs[i], top, score_threshold) for i in heads]
    return [{"index": k, "heads": {name: {key: v for key, v in rows[k].items() if key != "index"}
                                   for name, rows in zip(names, parts, strict=True)}}
            for k in range(len(parts[0]))]


def describe_head(record: dict, index: int, outputs: np.ndarray, top: int = 1, score_threshold: float = 0.5
                  ) -> list[dict]:
    """One row per sample for output number `index` of the record (see describe_predictions)."""
    outputs_of = record.get("outputs") or []
    spec = outputs_of[index] if index < len(outputs_of) else {}
    task = spec.get("task") or record.get("task")
    names = spec.get("class_names") or record.get("class_names")
    rows = []
    if task == "detection":
        return describe_detections(names, outputs, score_threshold)
    if task == "multiclass":
        probs = softmax(outputs.reshape(len(outputs), -1, outputs.shape[-1]))
        for i, p in enumerate(probs):
            order = np.argsort(-p, axis=-1)[..., :top]
            picks = [[(_name(names, int(c)), float(p[s, c])) for c in order[s]] for s in range(len(p))]
            rows.append({"index": i, "classes": picks[0] if len(picks) == 1 else picks})
    elif task in ("binary", "multilabel"):
        probs = sigmoid(outputs.reshape(len(outputs), -1))
        for i, p in enumerate(probs):
            if task == "binary":
                positive = bool(p[0] > 0.5)
                rows.append({"index": i, "classes": [(_name(names, int(positive)), float(p[0] if positive else 1 - p[0]))]})
            else:
                rows.append({"index": i, "classes": [(_name(names, j), float(q)) for j, q in enumerate(p) if q > 0.5]})
    else:
        values = preprocessing.denormalize(record, torch.as_tensor(outputs)).numpy()
        rows = [{"index": i, "values": v.tolist()} for i, v in enumerate(values)]
    return rows


def describe_detections(names: list[str] | None, outputs: np.ndarray, score_threshold: float = 0.5) -> list[dict]:
    """Per image {'index', 'boxes': [{'class' (its name), 'class_id', 'score', 'box': [x0, y0, x1, y1]}]}, best
    first, after NMS."""
    from engine.detection.postprocess import detect

    found = detect(torch.as_tensor(outputs), score_threshold)
    return [{"index": i, "boxes": [{"class": _name(names, int(c)), "class_id": int(c), "score": float(s),
                                    "box": [float(v) for v in b]}
                                   for c, s, b in zip(d.labels, d.scores, d.boxes, strict=True)]}
            for i, d in enumerate(found)]


def write_predictions(rows: list[dict], path: str | Path) -> Path:
    """Predictions as JSON (the rows as they are) or CSV (one line per sample, or per box for a detector)."""
    import csv
    import json

    path = Path(path)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
        return path
    if path.suffix.lower() != ".csv":
        raise DataError(f"{path}: write predictions to a .csv or .json file")
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        if rows and "boxes" in rows[0]:
            out.writerow(["sample", "class", "score", "x0", "y0", "x1", "y1"])
            for row in rows:
                for b in row["boxes"]:
                    out.writerow([row["index"], b["class"], f"{b['score']:.4f}", *(f"{v:.2f}" for v in b["box"])])
        elif rows and "heads" in rows[0]:
            out.writerow(["sample", *rows[0]["heads"]])
            for row in rows:
                out.writerow([row["index"], *(json.dumps(_answer(part)) for part in row["heads"].values())])
        else:
            out.writerow(["sample", "prediction"])
            for row in rows:
                out.writerow([row["index"], json.dumps(_answer(row))])
    return path


def _answer(row: dict):
    """The answer of one row (or one head of it): its values, classes or boxes."""
    return next(row[key] for key in ("values", "classes", "boxes") if key in row)


def _name(names: list[str] | None, index: int) -> str:
    return str(names[index]) if names and index < len(names) else str(index)


def predict_file(model_path: str | Path, input_path: str | Path, top: int = 1, score_threshold: float = 0.5
                 ) -> list[dict]:
    """Load a model (run or export) and describe its predictions for every sample of a file (a detector's boxes
    on an image file in that image's own pixels)."""
    predictor = load_predictor(model_path)
    raw = read_input(input_path, predictor.record)
    warning = scale_warning(predictor.record, raw, str(input_path))
    if warning:
        notes.warn(warning)
    rows = describe_predictions(predictor.record, predictor.outputs(raw), top, score_threshold)
    if rows and "boxes" in rows[0] and Path(input_path).suffix.lower() in IMAGE_SUFFIXES:
        scale_boxes(rows[0], box_scale(input_path, predictor.record))
    return rows


def box_scale(image_path: str | Path, record: dict) -> tuple[float, float]:
    """(x, y) factors from the model's input pixels to those of an image file (which was resized to fit)."""
    from engine.safeio import load_image

    width, height = load_image(Path(image_path)).size
    _, model_h, model_w = record["inputs"][0]["shape"]
    return width / model_w, height / model_h


def scale_boxes(row: dict, scale: tuple[float, float]) -> None:
    """Multiply the x and y coordinates of a detector's row of boxes by `scale` (in place)."""
    for b in row["boxes"]:
        b["box"] = [v * scale[i % 2] for i, v in enumerate(b["box"])]
