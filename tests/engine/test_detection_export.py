"""A trained detector (one- and two-stage) exported to TorchScript, standalone PyTorch source and ONNX: each
artifact, reloaded on its own, gives the trained model's outputs and the same boxes after post-processing on
real test scenes."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from engine.data import load_data
from engine.detection.postprocess import detect
from engine.export import export_run
from engine.export.formats import load_standalone
from engine.runs import create_run
from engine.templates import load_project
from engine.train.trainer import Trainer
from tests.engine.train_helpers import single_thread


@pytest.fixture(scope="module", params=["detector", "two_stage_detector"])
def trained(request, tmp_path_factory):
    """A run of the template after one quick epoch, and six test scenes it has not seen."""
    graph = load_project(request.param)
    graph.data["options"] = {"n_samples": 100}
    graph.training.update(epochs=1, events={"summaries": False})
    run = create_run(graph, tmp_path_factory.mktemp(request.param))
    with single_thread():
        Trainer(graph, run=run, device="cpu").fit()
    scenes = load_data(graph.data, seed=0).test.inputs[0][:6]
    model, _ = run.load_model("best")
    with torch.no_grad():
        out = model(scenes)
    return run, scenes, [o.numpy() for o in (out if isinstance(out, tuple | list) else (out,))]


def _same_boxes(want: np.ndarray, got: np.ndarray) -> None:
    for a, b in zip(detect(torch.as_tensor(want)), detect(torch.as_tensor(got)), strict=True):
        assert a.labels.tolist() == b.labels.tolist()
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-3)
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-4)


def _check(want: list[np.ndarray], got, atol: float) -> None:
    got = [np.asarray(g) for g in (got if isinstance(got, tuple | list) else (got,))]
    assert len(got) == len(want)
    for w, g in zip(want, got, strict=True):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, atol=atol, rtol=1e-4)
    _same_boxes(want[-1], got[-1])


@pytest.mark.slow
def test_torchscript_export_reloads_to_the_trained_detector(trained, tmp_path):
    run, scenes, want = trained
    result = export_run(run.path, "torchscript", tmp_path / "ts")
    assert result.check["passed"]
    with torch.no_grad():
        got = torch.jit.load(str(result.path))(scenes)
    _check(want, [g.numpy() for g in got] if isinstance(got, tuple | list) else got.numpy(), 1e-5)


@pytest.mark.slow
def test_standalone_source_export_reloads_to_the_trained_detector(trained, tmp_path):
    run, scenes, want = trained
    result = export_run(run.path, "python", tmp_path / "py")
    assert result.check["passed"]
    source = result.path.read_text()
    assert "import engine" not in source and "from engine" not in source
    model = load_standalone(result.path).load_model(result.path.parent / "model.safetensors")
    with torch.no_grad():
        got = model(scenes)
    _check(want, [g.numpy() for g in got] if isinstance(got, tuple | list) else got.numpy(), 1e-5)


@pytest.mark.slow
def test_onnx_export_runs_in_onnxruntime_like_the_trained_detector(trained, tmp_path):
    run, scenes, want = trained
    result = export_run(run.path, "onnx", tmp_path / "onnx")
    assert result.check["passed"]
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: scenes.numpy()})
    _check(want, got, 1e-4)
