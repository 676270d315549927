"""Reading a run or export folder never runs code from it: a `model.py` payload stays unexecuted."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.cli import main as cli_main
from engine.export import export_run
from engine.train.trainer import Trainer
from tests.engine.train_helpers import iris_mlp, single_thread

PAYLOAD = "from pathlib import Path\nPath({marker!r}).write_text('ran')\n{extra}"


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    from engine.runs import create_run

    graph = iris_mlp({"epochs": 2, "batch_size": 32})
    with single_thread():
        trainer = Trainer(graph, run=create_run(graph, tmp_path_factory.mktemp("runs")))
        trainer.fit()
    return trainer.run.path


def _plant(folder: Path, marker: Path) -> None:
    """A model.py (and a few other names Python might import) that writes `marker` when imported."""
    extra = "def load_model(*a, **k):\n    raise SystemExit('payload')\n"
    for name in ("model.py", "train.py", "__init__.py", "safetensors.py", "torch.py"):
        (folder / name).write_text(PAYLOAD.format(marker=str(marker), extra=extra), encoding="utf-8")


def _features(tmp_path: Path) -> Path:
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32))
    return path


def test_predict_on_a_python_export_reads_the_weights_not_model_py(trained_run, tmp_path, capsys):
    out = tmp_path / "export"
    export_run(trained_run, "python", out)
    marker = tmp_path / "ran.txt"
    _plant(out, marker)
    assert cli_main(["predict", str(out), str(_features(tmp_path))]) == 0
    assert cli_main(["predict", str(out / "model.py"), str(_features(tmp_path))]) == 0
    assert not marker.exists()
    assert "Predictions" in capsys.readouterr().out


def test_a_python_export_without_project_json_is_refused_not_imported(trained_run, tmp_path, capsys):
    out = tmp_path / "export"
    export_run(trained_run, "python", out)
    (out / "project.json").unlink()
    marker = tmp_path / "ran.txt"
    _plant(out, marker)
    assert cli_main(["predict", str(out), str(_features(tmp_path))]) == 2
    assert not marker.exists()
    err = capsys.readouterr().err
    assert "never runs the model.py" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["predict", "evaluate", "export", "resume"])
def test_commands_on_a_run_folder_with_a_payload_never_run_it(trained_run, tmp_path, command, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    marker = tmp_path / "ran.txt"
    _plant(run, marker)
    _plant(run / "checkpoints", marker)
    monkeypatch.chdir(run)  # the folder first on the import path, as when a user works inside it
    monkeypatch.syspath_prepend(str(run))
    args = {"predict": ["predict", str(run), str(_features(tmp_path))],
            "evaluate": ["evaluate", str(run), "--split", "val"],
            "export": ["export", str(run), "--format", "safetensors", "--out", str(tmp_path / "out")],
            "resume": ["resume", str(run), "--epochs", "3", "--no-progress"]}[command]
    with single_thread():
        assert cli_main(args) == 0
    assert not marker.exists()
