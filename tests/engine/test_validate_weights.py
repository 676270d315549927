"""`deepwire validate` checks the initial weights the finetune section names: a missing or unreadable file is
an error naming the file and what to do; a readable one (relative to the project's folder) passes."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from engine.cli import main
from engine.finetune import weights_problems
from engine.validate import validate_project
from tests.engine.train_helpers import iris_mlp


def project(tmp_path: Path, finetune: dict) -> Path:
    graph = iris_mlp({"epochs": 1})
    graph.finetune = finetune
    path = tmp_path / "project.json"
    graph.save(path)
    return path


def test_a_missing_weights_file_is_a_validation_error_naming_it(tmp_path: Path, capsys):
    path = project(tmp_path, {"weights": "pretrained.safetensors"})
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "error: graph: finetune.weights:" in out and str(tmp_path / "pretrained.safetensors") in out
    assert "no such file or folder" in out and "remove finetune.weights to start from fresh weights" in out
    assert "1 error(s)" in out


def test_an_unreadable_weights_file_is_a_validation_error(tmp_path: Path, capsys):
    (tmp_path / "cut.safetensors").write_bytes(b"\x40\x00\x00\x00\x00\x00\x00\x00{\"w\": {\"dtype\"")
    (tmp_path / "garbage.pt").write_bytes(b"not a state dict at all")
    for name, says in (("cut.safetensors", "not a readable safetensors file"), ("garbage.pt", "cannot be read")):
        path = project(tmp_path, {"weights": name})
        assert main(["validate", str(path)]) == 1
        out = capsys.readouterr().out
        assert f"finetune.weights: {tmp_path / name}: {says}" in out, out


def test_a_readable_weights_file_relative_to_the_project_folder_passes(tmp_path: Path, monkeypatch, capsys):
    save_file({"dense1.weight": torch.zeros(16, 4)}, str(tmp_path / "pretrained.safetensors"))
    path = project(tmp_path, {"weights": "pretrained.safetensors"})
    monkeypatch.chdir(tmp_path.parent)  # relative to the project file, not to the working folder
    assert main(["validate", str(path)]) == 0
    assert "valid" in capsys.readouterr().out


def test_engine_check_reads_folders_and_which(tmp_path: Path):
    graph = iris_mlp({"epochs": 1})
    assert weights_problems(graph, tmp_path) == []  # no finetune section: nothing to check
    graph.finetune = {"weights": str(tmp_path)}  # a folder that is neither a run nor an export
    [problem] = weights_problems(graph)
    assert problem.severity == "error" and problem.node_id is None
    assert "neither a DeepWire run" in problem.message and str(tmp_path) in problem.message
    graph.finetune = {"weights": 3}  # the wrong type is the section check's problem, reported once
    assert weights_problems(graph, tmp_path) == []
    assert sum("finetune.weights" in p.message for p in validate_project(graph, tmp_path).problems) == 1
