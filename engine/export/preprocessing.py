"""`preprocessing.json`: what a model expects (inputs, normalization, classes, task), written beside every export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.data import preprocess
from engine.errors import ExportError
from engine.graph import Graph
from engine.layers.registry import get_spec
from engine.layers.spec import Params

FORMAT = "deepwire-preprocessing"
FILE = "preprocessing.json"


def describe(graph: Graph, data_info: dict | None) -> dict[str, Any]:
    """The preprocessing record of a model: one entry per input and output, plus the data's statistics.

    `data_info` is the run's `data.json` (`PreparedData.describe()`); without it the inputs come from
    the Input nodes and no normalization is applied.
    """
    info = data_info or {}
    inputs = []
    vocabs = info.get("vocab_sizes") or []
    for i, node in enumerate(graph.input_nodes()):
        shape, dtype = get_spec(node.type).input_shape(Params(node.params))
        vocab = vocabs[i] if i < len(vocabs) else None
        inputs.append({"name": node.name, "kind": node.params.get("kind"), "shape": list(shape), "dtype": dtype,
                       "vocab_size": vocab})
    outputs = [{"name": n.name, "task": n.params.get("task")} for n in graph.output_nodes()]
    for out, names in zip(outputs, _field_classes(graph, info), strict=True):
        if names:
            out["class_names"] = names
    return {
        "format": FORMAT, "version": 1, "project": graph.name,
        "task": info.get("task") or (outputs[0]["task"] if outputs else None),
        "inputs": inputs, "outputs": outputs,
        "class_names": info.get("class_names"),
        "normalization": info.get("normalization") or {"method": "none"},
        "text": info.get("text"),
    }


def _field_classes(graph: Graph, info: dict) -> list[list[str] | None]:
    """Per Output of a multitask project, the class names of the one class field it reads (else None)."""
    from engine.train.multihead import head_names

    nodes, fields = graph.output_nodes(), info.get("field_classes") or {}
    found = []
    for node, head in zip(nodes, head_names(nodes), strict=True):
        wanted = [f.strip() for f in str(node.params.get("target") or "").split(",") if f.strip()] or [head]
        found.append(fields.get(wanted[0]) if len(wanted) == 1 else None)
    return found


def write(record: dict, folder: Path) -> Path:
    path = folder / FILE
    path.write_text(json.dumps(record, indent=2, ensure_ascii=True) + "\n", encoding="utf-8")
    return path


def read(folder: Path) -> dict:
    from engine.safeio import read_json

    path = folder / FILE
    record = read_json(path, "preprocessing record", error=ExportError)
    inputs = record.get("inputs")
    if record.get("format") != FORMAT or not isinstance(inputs, list) or not all(
            isinstance(i, dict) and isinstance(i.get("shape"), list) and isinstance(i.get("dtype"), str)
            and all(isinstance(d, int) and d > 0 for d in i["shape"]) for i in inputs):
        raise ExportError(f"{path}: not a DeepWire preprocessing record (or a damaged one); export the run again")
    outputs, names = record.get("outputs") or [], record.get("class_names")
    if (not isinstance(record.get("normalization", {}), dict) or not isinstance(outputs, list)
            or not all(isinstance(o, dict) for o in outputs) or not isinstance(names, list | None)):
        raise ExportError(f"{path}: its normalization, outputs or class names are damaged; export the run again")
    return record


def apply(record: dict, x: np.ndarray | torch.Tensor, input_index: int = 0) -> torch.Tensor:
    """Raw samples (a batch, first axis = samples) -> the tensor the model takes as input `input_index`."""
    spec = record["inputs"][input_index]
    x = torch.as_tensor(np.asarray(x))
    if tuple(x.shape) == tuple(spec["shape"]):
        x = x.unsqueeze(0)
    if list(x.shape[1:]) != list(spec["shape"]):
        raise ExportError(f"input '{spec['name']}' needs samples of shape {tuple(spec['shape'])}, "
                          f"got an array of shape {tuple(x.shape)}")
    if spec["dtype"].startswith("int"):
        return x.long()
    return preprocess.apply(record["normalization"], x.float())


def denormalize(record: dict, y: torch.Tensor) -> torch.Tensor:
    """Regression outputs back in data units (identity when targets were not scaled)."""
    return preprocess.invert(record["normalization"].get("target", {}), y)


def example_inputs(graph: Graph, batch: int = 3, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """A random batch for every Input node; token ids stay below the smallest Embedding vocabulary."""
    gen = torch.Generator().manual_seed(seed)
    vocab = min((n.params["num_embeddings"] for n in graph.nodes.values() if n.type == "Embedding"), default=2)
    out = []
    for node in graph.input_nodes():
        shape, dtype = get_spec(node.type).input_shape(Params(node.params))
        if dtype.startswith("int"):
            out.append(torch.randint(0, vocab, (batch, *shape), generator=gen))
        else:
            out.append(torch.randn((batch, *shape), generator=gen))
    return tuple(out)


def output_index(record: dict) -> int:
    """The output predictions are read from: the last one of a detector (its final boxes, after the proposals of
    a two-stage detector), else the first."""
    outputs = record.get("outputs") or []
    return len(outputs) - 1 if outputs and all(o.get("task") == "detection" for o in outputs) else 0


def answering_outputs(record: dict) -> list[int]:
    """The outputs predict answers with: every Output of a multi-head project, but of a detector only its final
    boxes (a two-stage detector's proposals are an intermediate step)."""
    outputs = record.get("outputs") or []
    if len(outputs) <= 1 or all(o.get("task") == "detection" for o in outputs):
        return [output_index(record)]
    return list(range(len(outputs)))
