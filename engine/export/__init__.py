"""Export a trained model: safetensors (+ project), TorchScript, ONNX (checked with onnxruntime), standalone PyTorch source.

Every export writes `preprocessing.json` beside its files and checks the exported model against the
original on a batch; the check's numbers come back in `ExportResult.check`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from torch import fx

from engine.export import formats, preprocessing
from engine.export.formats import EXPORT_FORMATS, ExportFormat, get_format, register_format
from engine.graph import Graph

FORMATS = EXPORT_FORMATS
"""The export formats by name (a live view of the registry in formats.py)."""


@dataclass
class ExportResult:
    """Where an export went, every file it wrote, and the output check (max difference, tolerance)."""

    path: Path
    format: str
    files: list[Path] = field(default_factory=list)
    check: dict | None = None


def _main_file(fmt: ExportFormat, out: Path) -> Path:
    """`out` with the format's suffix is the file itself; any other path is a folder to write into."""
    if out.suffix == fmt.suffix and not fmt.folder_only:
        out.parent.mkdir(parents=True, exist_ok=True)
        return out
    out.mkdir(parents=True, exist_ok=True)
    return out / fmt.main_file


def export_model(graph: Graph, model: fx.GraphModule, data_info: dict | None, fmt: str,
                 out: str | Path) -> ExportResult:
    """Export a compiled `model` of `graph`; `data_info` is the run's data description (data.json)."""
    record_of = get_format(fmt)
    targets = model.deepwire_targets
    model = copy.deepcopy(model).cpu().eval()
    model.deepwire_targets = targets
    main = _main_file(record_of, Path(out))
    record = preprocessing.describe(graph, data_info)
    inputs = preprocessing.example_inputs(graph, formats.CHECK_BATCH)
    files, check = record_of.write(graph, model, main, inputs, record)
    files.append(preprocessing.write(record, main.parent))
    return ExportResult(main, fmt, files, check)


def export_run(run_path: str | Path, fmt: str, out: str | Path, weights: str = "best") -> ExportResult:
    """Export a training run's model with its `best` or `last` weights."""
    from engine.runs import open_run

    run = open_run(run_path)
    model, graph = run.load_model(weights)
    return export_model(graph, model, run.data_info() or None, fmt, out)


__all__ = ["EXPORT_FORMATS", "FORMATS", "ExportFormat", "ExportResult", "export_model", "export_run", "get_format",
           "register_format"]
