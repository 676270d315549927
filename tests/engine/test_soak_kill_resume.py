"""Soak: a training process killed (SIGKILL) at random points 20 times and resumed each time ends with the same
weights as an uninterrupted run, and an events.jsonl with exactly one record per epoch.

Where each kill lands is decided by conditions, not by how fast the machine is: most kills wait until the process
has checkpointed progress of its own (then a random few milliseconds, so they fall between and inside checkpoint
writes), some land while a resumed process starts; every batch of the killed processes takes a few
milliseconds more, so a busy test process cannot let a child run to the end before its kill."""

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
from engine.train.callbacks import Callback
from engine.train.events import EpochEnded
from engine.train.trainer import Trainer
from tests.engine.train_helpers import iris_mlp, single_thread

KILLS = 20
EPOCHS = 40
SETTINGS = {"epochs": EPOCHS, "batch_size": 16, "checkpoint_every_s": 0.005, "lr": 0.01,
            "events": {"summaries": False}}
"""A checkpoint every few batches (the writer thread is nearly always busy), so kills land before, during and
after checkpoint writes."""

PRELOAD = ["engine.train.trainer", "sklearn.datasets", "sklearn.model_selection", "torch._dynamo", "torch.fx",
           "tests.engine.test_soak_kill_resume"]
"""Imported once by the fork server: what a trainer imports lazily on its first build (seconds on a busy machine)
is not imported again by every child."""

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and forkserver")]


PACE_S = 0.002
"""Extra time per batch in the killed processes (timing only: no number changes)."""


class Pace(Callback):
    """Sleeps PACE_S after every batch."""

    def on_batch_end(self, ctx, loss, now) -> tuple[int, float]:
        time.sleep(PACE_S)
        return 0, 0.0  # again after the next batch


def _train(run_path: str, resume: bool) -> None:
    """The child process: start or continue the run, single-threaded like the reference."""
    torch.set_num_threads(1)
    if resume:
        Trainer.resume(run_path, callbacks=[Pace()]).fit()
    else:
        graph = open_run(run_path).graph
        Trainer(graph, run=open_run(run_path), callbacks=[Pace()]).fit()


def _wait_for(predicate, timeout: float, what: str) -> None:
    """Poll `predicate` until it holds; the timeout only catches a hang, it never decides a kill."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.005)


def _checkpoint_step(last_json: Path) -> int:
    """The step of the run's last committed checkpoint (-1 before the first); last.json is replaced atomically."""
    try:
        return int(json.loads(last_json.read_text())["step"])
    except FileNotFoundError:
        return -1


def _trained(child, last_json: Path, start: int) -> bool:
    """The training process has checkpointed progress of its own (a step past `start`), or is gone."""
    return _checkpoint_step(last_json) > start or not child.is_alive()


def test_twenty_kills_and_resumes_end_like_an_uninterrupted_run(tmp_path):
    graph = iris_mlp(SETTINGS)
    with single_thread():
        reference = Trainer(graph)
        reference.fit()
    run = create_run(graph, tmp_path)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    rng = random.Random(17)
    kills, resume, last_json, landed = 0, False, run.checkpoint_dir / "last.json", []
    while True:
        start = _checkpoint_step(last_json)
        child = ctx.Process(target=_train, args=(str(run.path), resume))
        child.start()
        if kills < KILLS:
            if resume and rng.random() < 0.25:  # while it starts (locking, loading, cutting the events back)
                until = time.monotonic() + rng.uniform(0.0, 0.3)  # a random moment, but before it trains on
                _wait_for(lambda c=child, s=start, t=until: time.monotonic() >= t or _trained(c, last_json, s),
                          300, "a moment")
            else:  # (the first process always) once it has checkpointed progress of its own
                _wait_for(lambda c=child, s=start: _trained(c, last_json, s), 300, "a checkpoint of the process")
                time.sleep(rng.uniform(0.0, 0.02))
            if child.is_alive():
                os.kill(child.pid, signal.SIGKILL)
                kills += 1
        child.join(300)  # the last process trains to the end, on a busy machine that can take a while
        assert child.exitcode is not None, "the training process hung"
        if child.exitcode == 0:
            break
        assert child.exitcode == -signal.SIGKILL, f"the training process failed ({child.exitcode})"
        assert runstate.read_state(run).state == "interrupted"
        landed.append(_checkpoint_step(last_json))
        resume = True
    assert kills == KILLS, f"the run finished after only {kills} kills (checkpoint steps {landed})"
    assert len(set(landed)) > KILLS // 2, f"most kills made no progress: checkpoint steps {landed}"
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
    ctx.set_forkserver_preload(PRELOAD)
    child = ctx.Process(target=_train, args=(str(run.path), False))
    child.start()
    try:
        _wait_for(lambda: (run.checkpoint_dir / "last.json").exists() or not child.is_alive(), 300, "a checkpoint")
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
