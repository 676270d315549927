"""The exported standalone train.py unfreezes on DeepWire's schedule: per epoch, the same submodules are frozen
as in the trainer, and a real run of the script changes exactly the thawed weights."""

from __future__ import annotations

import runpy
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.export.trainscript import train_source
from engine.graph import Graph, Group
from engine.train.trainer import Trainer
from tests.engine.train_helpers import digits_cnn, single_thread

FAST = {"batch_size": 64, "events": {"summaries": False}, "checkpoint_every_s": 0}


def staged_graph(every: int) -> Graph:
    """digits CNN: the two convolutions a frozen group, dense7 frozen on its own, the head trainable."""
    graph = digits_cnn({**FAST, "epochs": 1})
    graph.finetune = {"unfreeze_every": every}
    graph.groups.append(Group("g1", "features", [graph.by_name("conv2d1").id, graph.by_name("conv2d4").id],
                              trainable=False))
    graph.by_name("dense7").trainable = False
    return graph


def script_globals(source: str, tmp_path: Path, monkeypatch) -> dict:
    """The exported train.py's functions and constants, loaded without its model.py (not run as __main__)."""
    stub = types.ModuleType("model")
    stub.PREPROCESSING, stub.Net, stub.normalize, stub.preprocess = {}, object, None, None
    monkeypatch.setitem(sys.modules, "model", stub)
    path = tmp_path / "train.py"
    path.write_text(source, encoding="utf-8")
    return runpy.run_path(str(path), run_name="exported_train")


@pytest.mark.parametrize("every", [1, 2])
def test_frozen_submodules_per_epoch_match_the_trainer(tmp_path: Path, monkeypatch, every: int):
    graph = staged_graph(every)
    with single_thread():
        trainer = Trainer(graph)
    targets = trainer.model.deepwire_targets
    script = script_globals(train_source(graph, "Net", targets), tmp_path, monkeypatch)
    fine = trainer.finetuning
    expected, got = [], []
    for epoch in range(7):
        fine.epoch_start(epoch)
        expected.append(fine.frozen_targets())
        got.append(set(script["frozen_at"](epoch)))
    assert got == expected
    name = {n: targets[graph.by_name(n).id] for n in ("conv2d1", "conv2d4", "dense7")}
    assert expected[0] == set(name.values())  # the schedule really moves: head side first, then the group
    assert expected[every] == {name["conv2d1"], name["conv2d4"]} and expected[2 * every] == set()
    assert script["UNFREEZE_EVERY"] == every


def test_without_a_schedule_the_frozen_parts_stay_frozen_every_epoch(tmp_path: Path, monkeypatch):
    graph = staged_graph(0)
    with single_thread():
        trainer = Trainer(graph)
    script = script_globals(train_source(graph, "Net", trainer.model.deepwire_targets), tmp_path, monkeypatch)
    assert script["UNFREEZE_EVERY"] == 0 and len(script["FROZEN_STAGES"]) == 1
    assert all(set(script["frozen_at"](e)) == trainer.finetuning.frozen_targets() for e in range(5))


@pytest.mark.slow
def test_running_the_exported_script_trains_exactly_the_thawed_weights(tmp_path: Path, monkeypatch, capsys):
    from sklearn.datasets import load_digits

    from engine.export import export_model
    from engine.export.formats import load_standalone

    graph = staged_graph(1)
    with single_thread():
        trainer = Trainer(graph)
    result = export_model(graph, trainer.model, None, "python", tmp_path / "export")
    folder = result.path.parent
    x, y = load_digits(return_X_y=True)
    np.savez(tmp_path / "digits.npz", x=(x[:256] / 16).reshape(-1, 1, 8, 8).astype(np.float32), y=y[:256])
    monkeypatch.syspath_prepend(str(folder))  # train.py imports model.py beside it; run it in this process
    monkeypatch.delitem(sys.modules, "model", raising=False)
    monkeypatch.setattr(sys, "argv", ["train.py", "--data", str(tmp_path / "digits.npz"), "--epochs", "2",
                                      "--out", str(tmp_path / "tuned.safetensors")])
    with single_thread():
        runpy.run_path(str(folder / "train.py"), run_name="__main__")
    sys.modules.pop("model", None)
    assert "epoch 2: unfroze dense7" in capsys.readouterr().out
    module = load_standalone(result.path)
    start = module.load_model(folder / "model.safetensors").state_dict()
    tuned = module.load_model(tmp_path / "tuned.safetensors").state_dict()
    for still_frozen in ("conv2d1.weight", "conv2d4.weight"):  # thawed only before epoch 3
        assert torch.equal(start[still_frozen], tuned[still_frozen]), still_frozen
    for trained in ("dense7.weight", "dense9.weight"):  # dense7 thawed before epoch 2, the head always trains
        assert not torch.equal(start[trained], tuned[trained]), trained


@pytest.mark.slow
def test_the_exported_script_unfreezes_under_torchrun(tmp_path: Path):
    import os
    import subprocess

    from sklearn.datasets import load_digits

    from engine.export import export_model
    from engine.export.formats import load_standalone

    graph = staged_graph(1)
    with single_thread():
        trainer = Trainer(graph)
    result = export_model(graph, trainer.model, None, "python", tmp_path / "export")
    folder = result.path.parent
    x, y = load_digits(return_X_y=True)
    np.savez(tmp_path / "digits.npz", x=(x[:128] / 16).reshape(-1, 1, 8, 8).astype(np.float32), y=y[:128])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"OMP_NUM_THREADS": "1"}
    out = tmp_path / "ddp.safetensors"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29547",
                           str(folder / "train.py"), "--data", str(tmp_path / "digits.npz"), "--epochs", "2",
                           "--out", str(out)], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "epoch 2: unfroze dense7" in proc.stdout
    module = load_standalone(result.path)
    start = module.load_model(folder / "model.safetensors").state_dict()
    tuned = module.load_model(out).state_dict()
    assert torch.equal(start["conv2d1.weight"], tuned["conv2d1.weight"])
    assert not torch.equal(start["dense7.weight"], tuned["dense7.weight"])
