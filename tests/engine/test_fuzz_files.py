"""Fuzzing every file reader with random bytes, truncations and bit flips of a real run folder and export:
only DeepWire errors (or a correct read) ever come out, never a traceback from a library."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from engine import runstate, safeio
from engine.data import csvfile, images
from engine.errors import DataWarning, DeepWireError
from engine.export import export_run, preprocessing
from engine.graph import Graph
from engine.runs import create_run, open_run
from engine.train import checkpoint
from engine.train.events import read_events
from engine.train.trainer import Trainer
from tests.engine.train_helpers import iris_mlp, single_thread

pytestmark = pytest.mark.slow  # about a minute for the module on a busy 2-core machine, under 25 s per test

CASES = 250
"""Examples per reader; 9 readers -> well over 2,000 damaged files per CI run."""
FUZZ = settings(max_examples=CASES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def folders():
    """A real run folder and a safetensors export of it, plus real data files; originals are kept intact."""
    root = Path(tempfile.mkdtemp(prefix="deepwire-fuzz-"))
    graph = iris_mlp({"epochs": 2, "batch_size": 32})
    with single_thread():
        trainer = Trainer(graph, run=create_run(graph, root / "runs"))
        trainer.fit()
    export_run(trainer.run.path, "safetensors", root / "export")
    data = root / "data"
    data.mkdir()
    np.save(data / "x.npy", np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32))
    np.savez(data / "d.npz", x=np.zeros((3, 2), np.float32), y=np.arange(3))
    (data / "t.csv").write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n")
    Image.fromarray(np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000).save(data / "i.png")
    yield {"run": trainer.run.path, "export": root / "export", "data": data, "root": root}
    shutil.rmtree(root, ignore_errors=True)


def damaged(original: bytes) -> st.SearchStrategy[bytes]:
    """Random bytes, a truncation, bit flips or a spliced-in chunk of the real file."""
    size = max(len(original), 1)
    truncations = st.integers(0, size).map(lambda n: original[:n])
    flips = st.lists(st.tuples(st.integers(0, size - 1), st.integers(1, 255)), min_size=1, max_size=8).map(
        lambda changes: _flip(original, changes))
    splices = st.tuples(st.integers(0, size), st.binary(max_size=64)).map(
        lambda cut: original[:cut[0]] + cut[1] + original[cut[0]:])
    return st.one_of(st.binary(max_size=512), truncations, flips, splices)


def _flip(data: bytes, changes: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for pos, mask in changes:
        if pos < len(out):
            out[pos] ^= mask
    return bytes(out)


class Workspace:
    """A fresh copy of one folder per example, with one file replaced by damaged bytes."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.root = Path(tempfile.mkdtemp(prefix="deepwire-fuzz-case-"))

    def with_file(self, name: str, content: bytes) -> Path:
        target = self.root / self.source.name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(self.source, target)
        (target / name).write_bytes(content)
        return target


def _only_deepwire_errors(read) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            read()
        except DeepWireError:
            pass


def _bytes(folder: Path, name: str) -> bytes:
    return (folder / name).read_bytes()


def test_damaged_project_json(folders):
    original = _bytes(folders["run"], "project.json")

    @FUZZ
    @given(damaged(original))
    def check(content):
        path = folders["root"] / "fuzz-project.json"
        path.write_bytes(content)
        _only_deepwire_errors(lambda: Graph.load(path))
    check()


@pytest.mark.parametrize("name", ["metrics.json", "data.json", "state.json"])
def test_damaged_run_json_files(folders, name):
    original = _bytes(folders["run"], name)
    ws = Workspace(folders["run"])

    @FUZZ
    @given(damaged(original))
    def check(content):
        run = open_run(ws.with_file(name, content))
        _only_deepwire_errors(run.metrics)
        _only_deepwire_errors(run.data_info)
        state = runstate.read_state(run)  # never raises: a damaged folder reads as corrupt or by its other files
        assert state.state in runstate.STATES
    check()


def test_damaged_events_log(folders):
    original = _bytes(folders["run"], "events.jsonl")
    ws = Workspace(folders["run"])

    @FUZZ
    @given(damaged(original))
    def check(content):
        run = open_run(ws.with_file("events.jsonl", content))
        events = read_events(run.events_path)  # damaged lines are skipped, never raised
        assert isinstance(events, list)
        assert runstate.read_state(run).state in runstate.STATES
    check()


@pytest.mark.parametrize("which", ["json", "weights", "state"])
def test_damaged_checkpoints(folders, which):
    folder = folders["run"] / "checkpoints"
    info = safeio.read_json(folder / "last.json", "checkpoint")
    name = {"json": "last.json", "weights": info["files"]["weights"], "state": info["files"]["state"]}[which]
    original = _bytes(folder, name)
    ws = Workspace(folders["run"])

    @FUZZ
    @given(damaged(original))
    def check(content):
        path = ws.with_file(f"checkpoints/{name}", content)
        _only_deepwire_errors(lambda: checkpoint.load_checkpoint(open_run(path)))
    check()


def test_damaged_best_weights_and_export(folders):
    original = _bytes(folders["run"], "best.safetensors")
    run_ws, export_ws = Workspace(folders["run"]), Workspace(folders["export"])
    record = _bytes(folders["export"], "preprocessing.json")

    @FUZZ
    @given(damaged(original), damaged(record))
    def check(weights, prep):
        run = open_run(run_ws.with_file("best.safetensors", weights))
        _only_deepwire_errors(lambda: run.load_model("best"))
        export = export_ws.with_file("model.safetensors", weights)
        (export / "preprocessing.json").write_bytes(prep)
        from engine.predict import load_predictor

        _only_deepwire_errors(lambda: load_predictor(export))
        _only_deepwire_errors(lambda: preprocessing.read(export))
    check()


def test_damaged_data_files(folders):
    data = folders["data"]
    originals = {name: _bytes(data, name) for name in ("x.npy", "d.npz", "t.csv", "i.png")}
    case = folders["root"] / "fuzz-data"
    case.mkdir(exist_ok=True)

    @FUZZ
    @given(st.sampled_from(sorted(originals)).flatmap(lambda n: st.tuples(st.just(n), damaged(originals[n]))))
    def check(named):
        name, content = named
        path = case / name
        path.write_bytes(content)
        readers = {"x.npy": lambda: safeio.load_npy(path), "d.npz": lambda: safeio.load_npz(path),
                   "t.csv": lambda: csvfile.read_table(path, {}), "i.png": lambda: images.read_image(path, (4, 4), 1)}
        _only_deepwire_errors(readers[name])
    check()
