"""Soak: a training process killed (SIGKILL) at random points 20 times and resumed each time ends with the same
weights as an uninterrupted run, and an events.jsonl with exactly one record per epoch."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from engine import runstate
from engine.errors import TrainingError
from engine.runs import create_run, open_run
from engine.train.events import EpochEnded
from engine.train.trainer import Trainer
from tests.engine.train_helpers import iris_mlp, single_thread

KILLS = 20
EPOCHS = 40
SETTINGS = {"epochs": EPOCHS, "batch_size": 16, "checkpoint_every_s": 0.005, "lr": 0.01,
            "events": {"summaries": False}}
"""A checkpoint every few batches (the writer thread is nearly always busy), so kills land before, during and
after checkpoint writes."""

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and forkserver")]


def _train(run_path: str, resume: bool) -> None:
    """The child process: start or continue the run, single-threaded like the reference."""
    torch.set_num_threads(1)
    if resume:
        Trainer.resume(run_path).fit()
    else:
        graph = open_run(run_path).graph
        Trainer(graph, run=open_run(run_path)).fit()


def _wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_twenty_kills_and_resumes_end_like_an_uninterrupted_run(tmp_path):
    graph = iris_mlp(SETTINGS)
    with single_thread():
        reference = Trainer(graph)
        reference.fit()
    run = create_run(graph, tmp_path)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["engine.train.trainer", "tests.engine.test_soak_kill_resume"])
    rng = random.Random(17)
    kills, resume, last_json = 0, False, run.checkpoint_dir / "last.json"
    while True:
        child = ctx.Process(target=_train, args=(str(run.path), resume))
        child.start()
        if not resume:  # the first kill comes after the first checkpoint, so there is something to resume
            _wait_for(lambda c=child: last_json.exists() or not c.is_alive(), 60)
        if kills < KILLS:
            time.sleep(rng.uniform(0.0, 0.4))
            if child.is_alive():
                os.kill(child.pid, signal.SIGKILL)
                kills += 1
        child.join(300)  # the last process trains to the end, on a busy machine that can take a while
        assert child.exitcode is not None, "the training process hung"
        if child.exitcode == 0:
            break
        assert child.exitcode == -signal.SIGKILL, f"the training process failed ({child.exitcode})"
        assert runstate.read_state(run).state == "interrupted"
        resume = True
    assert kills == KILLS, f"the run finished after only {kills} kills; give it more epochs"
    assert runstate.read_state(run).state == "completed"
    info = json.loads(last_json.read_text())
    assert info["epoch"] == EPOCHS
    weights = load_file(str(run.checkpoint_dir / "last.safetensors"))
    for name, value in reference.model.state_dict().items():
        assert torch.equal(weights[name], value.cpu()), f"{name} differs from the uninterrupted run"
    epochs = [e.epoch for e in run.events() if isinstance(e, EpochEnded)]
    assert epochs == list(range(1, EPOCHS + 1))
    leftovers = [p.name for p in Path(run.checkpoint_dir).iterdir() if p.name.startswith(("ckpt-", "."))]
    assert sorted(leftovers) == sorted(info["files"].values()), "older checkpoint generations are cleaned up"


def test_a_second_process_cannot_resume_a_run_that_is_being_trained(tmp_path):
    graph = iris_mlp({**SETTINGS, "epochs": 10_000, "checkpoint_every_s": 0.05})
    run = create_run(graph, tmp_path)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["engine.train.trainer", "tests.engine.test_soak_kill_resume"])
    child = ctx.Process(target=_train, args=(str(run.path), False))
    child.start()
    try:
        _wait_for(lambda: (run.checkpoint_dir / "last.json").exists(), 60)
        assert runstate.read_state(run).state == "running"
        with pytest.raises(TrainingError, match="being trained by another process"):
            Trainer.resume(run.path)
        assert child.is_alive(), "the refused resume left the running process alone"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
    assert runstate.read_state(run).state == "interrupted"
    resumed = Trainer.resume(run.path)  # once its writer is gone the run can be continued
    resumed.recorder.release()
