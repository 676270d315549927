"""Export formats: one `ExportFormat` record each (name, suffix, main file, description, writer, loader).

`EXPORT_FORMATS` is the registry: `deepwire export`, the editor's export dialog and `deepwire predict`
read it, so a new format is one more record (`register_format`). Each writer writes its files and
checks them against the model on a batch.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import fx

from engine.errors import ExportError
from engine.export.checks import compare
from engine.export.source import model_class_name, model_source
from engine.export.trainscript import train_source
from engine.graph import Graph

EXPORT_BATCH = 2
CHECK_BATCH = 5
"""The check runs on another batch size than the export traced, which proves the batch dim is dynamic."""


def save_weights(model: torch.nn.Module, path: Path) -> None:
    """The state dict as safetensors (CPU, contiguous); keys are the model's attribute paths. A tied weight
    (one tensor under two keys) is written under each key."""
    seen: set[int] = set()
    state = {}
    for key, value in model.state_dict().items():
        tensor = value.detach().cpu().contiguous()
        state[key] = tensor.clone() if tensor.data_ptr() in seen else tensor
        seen.add(tensor.data_ptr())
    save_file(state, str(path))


def _run(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...]):
    with torch.no_grad():
        return model(*inputs)


def write_safetensors(graph: Graph, model: fx.GraphModule, main: Path, inputs, record: dict) -> tuple[list[Path], dict]:
    from engine.export.reload import load_safetensors_export

    save_weights(model, main)
    project = main.parent / "project.json"
    graph.save(project)
    _, reloaded = load_safetensors_export(main)
    check = compare("safetensors", _run(model, inputs), _run(reloaded, inputs), len(inputs[0]), 1e-6, 0.0)
    return [main, project], check


def write_torchscript(graph: Graph, model: fx.GraphModule, main: Path, inputs, record: dict) -> tuple[list[Path], dict]:
    example = tuple(x[:EXPORT_BATCH] for x in inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            traced = torch.jit.trace(model, example, check_trace=False)
        except Exception as exc:  # noqa: BLE001  tracing errors of any layer become one message
            raise ExportError(f"TorchScript tracing failed: {exc}") from exc
        torch.jit.save(traced, str(main))
        loaded = torch.jit.load(str(main))
    check = compare("torchscript", _run(model, inputs), _run(loaded, inputs), len(inputs[0]), 1e-5, 1e-5)
    return [main], check


def write_onnx(graph: Graph, model: fx.GraphModule, main: Path, inputs, record: dict) -> tuple[list[Path], dict]:
    import onnxruntime as ort

    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    example = tuple(x[:EXPORT_BATCH] for x in inputs)
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    dynamic = tuple({0: batch} for _ in inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(model, example, dynamo=True, dynamic_shapes=dynamic, verbose=False,
                                        report=False, optimize=False)
            program.save(str(main))
        except Exception as exc:  # noqa: BLE001
            raise ExportError(f"ONNX export failed: {str(exc).strip().splitlines()[0][:500]}") from exc
    session = ort.InferenceSession(str(main), providers=["CPUExecutionProvider"])
    feed = {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs, strict=True)}
    got = session.run(None, feed)
    check = compare("onnx", _run(model, inputs), got if len(got) > 1 else got[0], len(inputs[0]), 1e-4, 1e-3)
    check["runtime"] = f"onnxruntime {ort.__version__}"
    return [main], check


def write_python(graph: Graph, model: fx.GraphModule, main: Path, inputs, record: dict) -> tuple[list[Path], dict]:
    folder = main.parent
    main.write_text(model_source(graph, model, record), encoding="utf-8")
    weights = folder / "model.safetensors"
    save_weights(model, weights)
    train = folder / "train.py"
    train.write_text(train_source(graph, model_class_name(graph, model), model.deepwire_targets), encoding="utf-8")
    project = folder / "project.json"
    graph.save(project)  # lets `deepwire predict` read the export without importing model.py
    standalone = load_standalone(main)
    check = compare("python", _run(model, inputs), _run(standalone.load_model(weights), inputs),
                    len(inputs[0]), 1e-5, 1e-5)
    return [main, weights, train, project], check


def load_standalone(path: Path):
    """Import an exported `model.py` as a fresh module object (not added to sys.modules)."""
    spec = importlib.util.spec_from_file_location(f"deepwire_export_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001  generated code that does not run is an export failure
        raise ExportError(f"the generated {path.name} does not run: {exc}") from exc
    return module


Writer = Callable[[Graph, fx.GraphModule, Path, tuple, dict], tuple[list[Path], dict]]
"""writer(graph, model, main file, example inputs, preprocessing record) -> (files written, output check)."""
Forward = Callable[[tuple[torch.Tensor, ...]], np.ndarray | list[np.ndarray]]
"""A loaded model as predict uses it: input tensors in, every output (a list, one per Output node) or a single
array as numpy."""


@dataclass(frozen=True)
class ExportFormat:
    """One export format: how it is written, how `deepwire predict` loads it back, what the GUI says about it."""

    name: str
    suffix: str
    main_file: str
    """The file name inside an export folder (`deepwire predict FOLDER` looks for it)."""
    description: str
    write: Writer
    load: Callable[[Path, Path], Forward]
    """load(main file, folder) -> Forward."""
    folder_only: bool = False
    """Always written into a folder, even when the target path has the format's suffix."""
    precedence: int = 0
    """When a folder holds the main files of several formats, the highest precedence is the export."""


EXPORT_FORMATS: dict[str, ExportFormat] = {}
"""The export formats by name, in the order the CLI and the export dialog list them."""


def register_format(fmt: ExportFormat) -> ExportFormat:
    EXPORT_FORMATS[fmt.name] = fmt
    return fmt


def get_format(name: str) -> ExportFormat:
    if name not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format '{name}'; use one of {', '.join(EXPORT_FORMATS)}")
    return EXPORT_FORMATS[name]


def torch_forward(model: torch.nn.Module, index: int | None = 0) -> Forward:
    """A torch module as a Forward (no gradients): output number `index` when there are several, or with
    `index` None every output as a list (what `deepwire predict` reads, one per Output node)."""
    def forward(inputs: tuple[torch.Tensor, ...]) -> np.ndarray | list[np.ndarray]:
        with torch.no_grad():
            out = model(*inputs)
        outs = list(out) if isinstance(out, tuple | list) else [out]
        return [o.float().numpy() for o in outs] if index is None else outs[index].float().numpy()
    return forward


def _load_safetensors(main: Path, folder: Path) -> Forward:
    from engine.export.reload import load_safetensors_export

    if not (folder / "project.json").is_file():
        raise ExportError(f"{folder}: the weights have no project.json beside them, and DeepWire never runs "
                          "the model.py of a folder; export the run again, or run model.py yourself "
                          "(its load_model function) in your own Python code if you trust it")
    return torch_forward(load_safetensors_export(main)[1], None)


def _load_torchscript(main: Path, folder: Path) -> Forward:
    try:
        return torch_forward(torch.jit.load(str(main), map_location="cpu"), None)
    except Exception as exc:  # noqa: BLE001  any damaged archive
        raise ExportError(f"{main}: not a readable TorchScript model ({str(exc).strip()[:200]}); export the run "
                          "again") from None


def _load_onnx(main: Path, folder: Path) -> Forward:
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(main), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001  onnxruntime's errors for a damaged model file
        raise ExportError(f"{main}: not a readable ONNX model ({str(exc).strip()[:200]}); export the run "
                          "again") from None
    names = [i.name for i in session.get_inputs()]
    return lambda xs: session.run(None, {n: x.numpy() for n, x in zip(names, xs, strict=True)})


register_format(ExportFormat(
    "safetensors", ".safetensors", "model.safetensors",
    "weights + project file; reloads into an identical DeepWire model", write_safetensors, _load_safetensors))
register_format(ExportFormat(
    "torchscript", ".pt", "model.pt", "a .pt file that torch.jit.load runs without DeepWire", write_torchscript,
    _load_torchscript))
register_format(ExportFormat(
    "onnx", ".onnx", "model.onnx", "a .onnx model with a dynamic batch size, checked with onnxruntime", write_onnx,
    _load_onnx))
register_format(ExportFormat(
    "python", ".py", "model.py", "standalone, readable PyTorch source + weights loader + train.py", write_python,
    lambda _main, folder: _load_safetensors(folder / "model.safetensors", folder),  # never runs model.py
    folder_only=True, precedence=1))

