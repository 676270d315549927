"""Bad files and faults: each broken file or fault gives a DeepWire message (CLI exit 2, no traceback) or the
right run state, and nothing is corrupted silently."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine import runstate
from engine.cli import main as cli_main
from engine.data import images
from engine.data.load import load_data
from engine.errors import DataError, DataWarning, TrainingError
from engine.runs import create_run, list_runs, open_run
from engine.train.events import EpochEnded, RunFailed
from engine.train.trainer import Trainer
from tests.engine.train_helpers import chain, iris_mlp, single_thread


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    graph = iris_mlp({"epochs": 2, "batch_size": 32})
    with single_thread():
        trainer = Trainer(graph, run=create_run(graph, tmp_path_factory.mktemp("runs")))
        trainer.fit()
    return trainer.run.path


@pytest.fixture
def run_copy(trained_run, tmp_path) -> Path:
    return Path(shutil.copytree(trained_run, tmp_path / "runs" / trained_run.name))


def _cli(args: list[str], capsys) -> tuple[int, str]:
    """(exit code, stderr); stdout is kept in `_cli.out`."""
    with single_thread():
        code = cli_main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    _cli.out = captured.out
    return code, captured.err


def _features(tmp_path: Path) -> Path:
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).normal(size=(4, 4)).astype(np.float32))
    return path


# ---- weights and checkpoints ----------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_weights_give_a_message_naming_the_file_on_evaluate_export_and_predict(run_copy, tmp_path, capsys,
                                                                                      damage):
    best = run_copy / "best.safetensors"
    data = best.read_bytes()
    best.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x93NUMPY garbage" * 50, "empty": b""}[damage])
    for args in (["evaluate", str(run_copy)], ["export", str(run_copy), "--format", "onnx", "--out", str(tmp_path / "o")],
                 ["predict", str(run_copy), str(_features(tmp_path))]):
        code, err = _cli(args, capsys)
        assert code == 2 and "best.safetensors" in err and "--weights last" in err


@pytest.mark.parametrize("which", ["weights", "state"])
def test_a_damaged_checkpoint_on_resume_is_a_message_and_the_run_stays_resumable_by_nobody_else(run_copy, capsys,
                                                                                              which):
    info = json.loads((run_copy / "checkpoints" / "last.json").read_text())
    target = run_copy / "checkpoints" / info["files"][which]
    target.write_bytes(target.read_bytes()[:100])
    code, err = _cli(["resume", str(run_copy), "--epochs", "4", "--no-progress"], capsys)
    assert code == 2 and info["files"][which] in err and "damaged" in err
    assert not runstate.is_locked(run_copy)  # the failed resume let go of the lock


def test_a_checkpoint_json_that_is_not_an_object_is_a_message(run_copy, capsys):
    (run_copy / "checkpoints" / "last.json").write_text("[1, 2, 3]")
    code, err = _cli(["resume", str(run_copy), "--epochs", "4"], capsys)
    assert code == 2 and "last.json" in err and "JSON list" in err


def test_an_exported_safetensors_folder_with_damaged_weights_is_a_message(trained_run, tmp_path, capsys):
    out = tmp_path / "export"
    assert _cli(["export", str(trained_run), "--format", "safetensors", "--out", str(out)], capsys)[0] == 0
    (out / "model.safetensors").write_bytes(b"{not really")
    code, err = _cli(["predict", str(out), str(_features(tmp_path))], capsys)
    assert code == 2 and "model.safetensors" in err and "Export the run again" in err


# ---- data files ---------------------------------------------------------------------------------

def test_bad_npy_files_are_data_errors_naming_the_file(tmp_path):
    empty, objects, csv = tmp_path / "empty.npy", tmp_path / "objects.npy", tmp_path / "table.npy"
    empty.write_bytes(b"")
    np.save(objects, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    csv.write_text("a,b\n1,2\n")
    strings = tmp_path / "strings.npy"
    np.save(strings, np.array([["a", "b"]] * 3))
    for path, words in ((empty, "empty"), (objects, "never unpickles"), (csv, "CSV"), (strings, "not numbers")):
        with pytest.raises(DataError, match=words) as info:
            load_data({"source": "npy", "x_path": str(path)})
        assert str(path) in str(info.value)


def test_predict_on_a_bad_input_file_exits_2_with_a_message(trained_run, tmp_path, capsys):
    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")
    code, err = _cli(["predict", str(trained_run), str(empty)], capsys)
    assert code == 2 and "empty.npy" in err and "empty" in err
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    code, err = _cli(["predict", str(trained_run), str(binary)], capsys)
    assert code == 2 and "binary.csv" in err


def test_a_csv_without_a_header_keeps_its_first_row_and_warns(tmp_path):
    rows = np.random.default_rng(0).normal(size=(40, 3)).round(3)
    path = tmp_path / "noheader.csv"
    path.write_text("\n".join(f"{a},{b},{int(c > 0)}" for a, b, c in rows) + "\n")
    with pytest.warns(DataWarning, match="read as data"):
        data = load_data({"source": "csv", "path": str(path), "normalize": "none", "split": {"val": 0, "test": 0}})
    assert len(data.train) == 40  # the first row is a sample, not column names
    with pytest.warns(DataWarning, match="read as data"):
        streamed = load_data({"source": "csv", "path": str(path), "stream": True, "split": {"val": 0, "test": 0}})
    assert len(streamed.train) == 40  # read in chunks, the first row is a sample too
    assert sorted(data.train.inputs[0][:, 0].tolist()) == pytest.approx(sorted(rows[:, 0].tolist()), abs=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_data({"source": "csv", "path": str(path), "header": True, "split": {"val": 0, "test": 0}})
    assert len(data.train) == 39


def test_scikit_learn_csvs_with_count_rows_or_spaces_get_warnings_or_a_delimiter_hint():
    sklearn = pytest.importorskip("sklearn")
    folder = Path(sklearn.__file__).parent / "datasets" / "data"
    with pytest.warns(DataWarning, match=r"numbers as column names \(150, 4\)"):
        load_data({"source": "csv", "path": str(folder / "iris.csv")})
    with pytest.raises(DataError, match="separated by spaces"):
        load_data({"source": "csv", "path": str(folder / "linnerud_exercise.csv")})
    data = load_data({"source": "csv", "path": str(folder / "linnerud_exercise.csv"), "delimiter": r"\s+",
                      "target": "Jumps", "task": "regression"})
    assert data.input_shapes == ((2,),)


def test_a_sixteen_bit_png_keeps_its_precision(tmp_path):
    values = np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")  # a real 16-bit file
    pixels = images.read_image(path, None, 1)
    assert pixels.shape == (1, 8, 8)
    assert pixels[0] == pytest.approx(values / 65535.0, abs=1e-6)  # scaled, never clipped at 255
    assert len(np.unique(pixels)) == 64
    rgb = images.read_image(path, (4, 4), 3)
    assert rgb.shape == (3, 4, 4) and 0 < rgb.max() <= 1 and np.array_equal(rgb[0], rgb[2])


def test_a_transparent_png_is_flattened_onto_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[:2, :, 3] = 255  # top half: opaque black; bottom half: transparent (black underneath)
    path = tmp_path / "clear.png"
    Image.fromarray(rgba, "RGBA").save(path)
    gray = images.read_image(path, None, 1)[0]
    assert np.all(gray[:2] == 0) and np.all(gray[2:] == 1)


def test_a_decompression_bomb_is_a_data_error(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.new("1", (200, 200)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # the same check Pillow makes at 89 million pixels
    with pytest.raises(DataError, match="decompression bomb") as info:
        images.read_image(path, (8, 8), 1)
    assert "bomb.png" in str(info.value)


# ---- projects and data that do not fit ------------------------------------------------------------

def test_a_project_without_a_data_section_is_an_error_not_digits(tmp_path, capsys):
    graph = iris_mlp({"epochs": 1})
    graph.data = {}
    path = tmp_path / "nodata.json"
    graph.save(path)
    code, err = _cli(["train", str(path), "--run-dir", str(tmp_path / "runs")], capsys)
    assert code == 2 and "no data section" in err
    (run,) = list_runs(tmp_path / "runs")
    state = runstate.read_state(run)
    assert state.state == "failed" and "no data section" in state.message
    assert _cli(["resume", str(run.path)], capsys)[0] == 2  # never offered for resume


def test_extra_size_one_dims_and_float_class_labels_are_refused_before_training(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x31.npy", rng.normal(size=(30, 3, 1)).astype(np.float32))
    np.save(tmp_path / "x3.npy", rng.normal(size=(30, 3)).astype(np.float32))
    np.save(tmp_path / "yi.npy", rng.integers(0, 3, 30))
    np.save(tmp_path / "yf.npy", rng.normal(size=30).astype(np.float32))

    def graph(x: str, y: str):
        return chain("fit", {"kind": "features", "features": 3}, [("Dense", {"units": 3})], "multiclass",
                     {"source": "npy", "x_path": str(tmp_path / x), "y_path": str(tmp_path / y)}, {"epochs": 1})
    with pytest.raises(TrainingError, match=r"has shape \(N, 3\) but the data gives \(N, 3, 1\)"):
        Trainer(graph("x31.npy", "yi.npy"))
    with pytest.raises(DataError, match="not class ids"):
        Trainer(graph("x3.npy", "yf.npy"))


# ---- run state, locks and events --------------------------------------------------------------------

def test_a_second_writer_is_refused_while_a_run_is_being_trained(run_copy, capsys):
    lock = runstate.acquire(run_copy)  # as another process training it would hold it
    try:
        runstate.write(run_copy, "running")
        assert runstate.read_state(open_run(run_copy)).state == "running"
        code, err = _cli(["resume", str(run_copy), "--epochs", "4"], capsys)
        assert code == 2 and "being trained by another process" in err
    finally:
        lock.release()
    assert runstate.read_state(open_run(run_copy)).state == "interrupted"  # its writer is gone


def test_states_of_completed_stopped_and_failed_runs(tmp_path, trained_run):
    assert runstate.read_state(open_run(trained_run)).state == "completed"
    graph = iris_mlp({"epochs": 5, "batch_size": 8, "events": {"batch_rate_hz": 1000}})
    trainer = Trainer(graph, run=create_run(graph, tmp_path))
    trainer.bus.subscribe(lambda e: trainer.control.stop() if isinstance(e, EpochEnded) and e.epoch == 2 else None)
    with single_thread():
        trainer.fit()
    assert runstate.read_state(trainer.run).state == "stopped"
    diverging = iris_mlp({"epochs": 5, "lr": 1e6})
    run = create_run(diverging, tmp_path)
    with pytest.raises(TrainingError, match="diverged"), single_thread():
        Trainer(diverging, run=run).fit()
    state = runstate.read_state(run)
    assert state.state == "failed" and "diverged" in state.message and "learning rate" in state.message
    failed = [e for e in run.events() if isinstance(e, RunFailed)]
    assert failed and "clipping" in failed[-1].hint
    assert not run.metrics()  # it never "completes" with a huge loss


def test_resume_cuts_the_events_back_to_its_checkpoint(tmp_path):
    graph = iris_mlp({"epochs": 4, "batch_size": 16, "checkpoint_every": 2})
    run = create_run(graph, tmp_path)
    trainer = Trainer(graph, run=run)
    train_batch = trainer.task.train_batch

    def crash_in_epoch_four(batch, metrics):
        if trainer.epoch == 3:
            raise KeyboardInterrupt  # like a kill: epoch 3 is on record, but the checkpoint is from epoch 2
        return train_batch(batch, metrics)

    trainer.task.train_batch = crash_in_epoch_four
    with pytest.raises(KeyboardInterrupt), single_thread():
        trainer.fit()
    assert [e.epoch for e in run.events() if isinstance(e, EpochEnded)] == [1, 2, 3]
    assert runstate.read_state(run).state == "interrupted"
    with single_thread():
        Trainer.resume(run.path).fit()
    assert [e.epoch for e in run.events() if isinstance(e, EpochEnded)] == [1, 2, 3, 4]
    assert runstate.read_state(run).state == "completed"


def test_a_corrupt_run_is_listed_as_corrupt_and_the_others_still_show(run_copy, capsys, monkeypatch):
    broken = Path(shutil.copytree(run_copy, run_copy.parent / "20000101-000000-broken"))
    (broken / "project.json").write_text("{ cut off")
    (broken / "state.json").unlink()
    (broken / "metrics.json").write_bytes(b"\xff\xfe")
    monkeypatch.setenv("COLUMNS", "250")
    code, _ = _cli(["runs", "--run-dir", str(run_copy.parent)], capsys)
    assert code == 0 and run_copy.name in _cli.out and "completed" in _cli.out
    assert "20000101-000000-broken: corrupt:" in _cli.out and "project.json" in _cli.out


def test_weights_on_disk_are_never_half_written_by_a_new_checkpoint(run_copy):
    folder = run_copy / "checkpoints"
    names = sorted(p.name for p in folder.iterdir())
    info = json.loads((folder / "last.json").read_text())
    assert set(info["files"].values()) <= set(names)
    assert sorted(n for n in names if n.startswith("ckpt-")) == sorted(info["files"].values())
    linked = torch.load(folder / info["files"]["state"], weights_only=True)
    assert isinstance(linked, dict) and "optimizers" in linked
    assert (folder / "last.safetensors").read_bytes() == (folder / info["files"]["weights"]).read_bytes()


@pytest.mark.parametrize("name", ["model.pt", "model.onnx"])
def test_a_damaged_torchscript_or_onnx_export_is_a_message(trained_run, tmp_path, capsys, name):
    out = tmp_path / "export"
    fmt = "torchscript" if name.endswith(".pt") else "onnx"
    assert _cli(["export", str(trained_run), "--format", fmt, "--out", str(out)], capsys)[0] == 0
    data = (out / name).read_bytes()
    (out / name).write_bytes(data[: len(data) // 3])
    code, err = _cli(["predict", str(out), str(_features(tmp_path))], capsys)
    assert code == 2 and name in err and "export the run again" in err
