"""One writer per export format; each writes its files and checks them against the model on a batch."""

from __future__ import annotations

import importlib.util
import logging
import warnings
from pathlib import Path

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
    """The state dict as safetensors (CPU, contiguous); keys are the model's attribute paths."""
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(path))


def _run(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...]):
    with torch.no_grad():
        return model(*inputs)


def write_safetensors(graph: Graph, model: fx.GraphModule, main: Path, inputs) -> tuple[list[Path], dict]:
    from engine.export.reload import load_safetensors_export

    save_weights(model, main)
    project = main.parent / "project.json"
    graph.save(project)
    _, reloaded = load_safetensors_export(main)
    check = compare("safetensors", _run(model, inputs), _run(reloaded, inputs), len(inputs[0]), 1e-6, 0.0)
    return [main, project], check


def write_torchscript(graph: Graph, model: fx.GraphModule, main: Path, inputs) -> tuple[list[Path], dict]:
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


def write_onnx(graph: Graph, model: fx.GraphModule, main: Path, inputs) -> tuple[list[Path], dict]:
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
    standalone = load_standalone(main)
    check = compare("python", _run(model, inputs), _run(standalone.load_model(weights), inputs),
                    len(inputs[0]), 1e-5, 1e-5)
    return [main, weights, train], check


def load_standalone(path: Path):
    """Import an exported `model.py` as a fresh module object (not added to sys.modules)."""
    spec = importlib.util.spec_from_file_location(f"deepwire_export_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001  generated code that does not run is an export failure
        raise ExportError(f"the generated {path.name} does not run: {exc}") from exc
    return module


MAIN_FILE = {"safetensors": "model.safetensors", "torchscript": "model.pt", "onnx": "model.onnx",
             "python": "model.py"}

