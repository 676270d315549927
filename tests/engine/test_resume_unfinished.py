"""A run killed after its last epoch's checkpoint but before it recorded its end (the window the kill-and-resume
soak test can hit): resume finishes it instead of refusing, and settles what the killed checkpoint write left."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from engine import runstate
from engine.errors import TrainingError
from engine.runs import create_run
from engine.train.events import EpochEnded, RunFinished
from engine.train.trainer import Trainer
from tests.engine.train_helpers import iris_mlp, single_thread

EPOCHS = 3


def killed_at_the_end(tmp_path: Path):
    """A finished run put back into the state a SIGKILL right after its final checkpoint leaves: state.json still
    'running' (its writer gone), no metrics.json, last.safetensors one generation old, a stale generation and a
    half-written temporary file in checkpoints/."""
    graph = iris_mlp({"epochs": EPOCHS, "batch_size": 16, "events": {"summaries": False}})
    run = create_run(graph, tmp_path)
    with single_thread():
        Trainer(graph, run=run).fit()
    runstate.write(run.path, "running")
    (run.path / "metrics.json").unlink()
    folder = run.checkpoint_dir
    stale = {k: torch.zeros_like(v) for k, v in load_file(str(folder / "last.safetensors")).items()}
    save_file(stale, str(folder / "last.safetensors.old"))
    (folder / "last.safetensors").unlink()
    (folder / "last.safetensors.old").rename(folder / "last.safetensors")
    (folder / "ckpt-000000001-abcdef.safetensors").write_bytes(b"older generation")
    (folder / ".last.safetensors.x1y2.tmp").write_bytes(b"half")
    return run


def test_resume_finishes_a_run_killed_after_its_last_checkpoint(tmp_path: Path):
    run = killed_at_the_end(tmp_path)
    assert runstate.read_state(run).state == "interrupted"
    with single_thread():
        result = Trainer.resume(run.path).fit()
    assert result.reason == "completed" and result.epochs_done == EPOCHS
    assert runstate.read_state(run).state == "completed"
    assert json.loads((run.path / "metrics.json").read_text())["epochs_done"] == EPOCHS
    info = json.loads((run.checkpoint_dir / "last.json").read_text())
    last, named = (load_file(str(run.checkpoint_dir / n)) for n in ("last.safetensors", info["files"]["weights"]))
    assert all(torch.equal(last[k], v) for k, v in named.items()), "last.safetensors is the checkpoint's weights"
    assert sorted(p.name for p in run.checkpoint_dir.iterdir()) == sorted(
        ["last.json", "last.safetensors", *info["files"].values()])
    events = run.events()
    assert [e.epoch for e in events if isinstance(e, EpochEnded)] == list(range(1, EPOCHS + 1))
    assert sum(isinstance(e, RunFinished) for e in events) == 1 and isinstance(events[-1], RunFinished)


def test_a_run_that_recorded_its_end_is_still_refused(tmp_path: Path):
    graph = iris_mlp({"epochs": 1, "batch_size": 16, "events": {"summaries": False}})
    run = create_run(graph, tmp_path)
    with single_thread():
        Trainer(graph, run=run).fit()
    with pytest.raises(TrainingError, match="already trained 1 of 1 epochs"):
        Trainer.resume(run.path)
    assert not runstate.is_locked(run.path)


def test_a_writer_is_not_refused_because_a_listing_probes_the_lock_at_that_moment(tmp_path: Path):
    probe = runstate.RunLock(tmp_path / runstate.LOCK)  # what is_locked() holds for an instant
    assert probe.acquire()
    timer = threading.Timer(0.1, probe.release)
    timer.start()
    try:
        lock = runstate.acquire(tmp_path, wait=30)  # returns as soon as the probe lets go
    finally:
        timer.join()
    assert lock.held and runstate.is_locked(tmp_path)
    with pytest.raises(TrainingError, match="being trained by another process"):
        runstate.acquire(tmp_path, wait=0.1)  # a lock held longer than the wait is a writer's
    lock.release()
    assert not runstate.is_locked(tmp_path)
