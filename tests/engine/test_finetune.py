"""Fine-tuning in training: frozen nodes do not change (nor do their BatchNorm statistics), LR multipliers
reach the optimizer, progressive unfreezing thaws from the head back, branched runs start from their parent."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import finetune
from engine.cli import main as cli_main
from engine.errors import GraphError, TrainingError, WeightsError
from engine.graph import Graph, Group
from engine.head import HeadTarget, adapt_head, head_target
from engine.lineage import read_init
from engine.runs import create_run, list_runs
from engine.train.trainer import Trainer
from engine.validate import validate
from tests.engine.train_helpers import chain, digits_cnn, single_thread

FAST = {"epochs": 1, "batch_size": 64, "events": {"summaries": False}, "checkpoint_every_s": 0}


def bn_cnn(training: dict | None = None) -> Graph:
    return chain("bn cnn", {"kind": "image", "channels": 1, "height": 8, "width": 8}, [
        ("Conv2d", {"out_channels": 8}), ("BatchNorm2d", {}), ("ReLU", {}), ("MaxPool2d", {}),
        ("Conv2d", {"out_channels": 8}), ("BatchNorm2d", {}), ("ReLU", {}), ("Flatten", {}),
        ("Dense", {"units": 10}),
    ], "multiclass", {"source": "builtin", "name": "digits"}, {**FAST, **(training or {})})


def _module(trainer: Trainer, name: str) -> torch.nn.Module:
    return trainer.model.get_submodule(trainer.model.deepwire_targets[trainer.graph.by_name(name).id])


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_frozen_group_is_bit_identical_after_training_and_its_batchnorm_statistics_unchanged():
    graph = bn_cnn()
    graph.groups.append(Group("g1", "stem", [graph.by_name("conv2d1").id, graph.by_name("batchnorm2d2").id],
                              trainable=False))
    with single_thread():
        trainer = Trainer(graph)
        frozen = {n: _state(_module(trainer, n)) for n in ("conv2d1", "batchnorm2d2")}
        trained = {n: _state(_module(trainer, n)) for n in ("conv2d5", "batchnorm2d6", "dense9")}
        trainer.fit()
    for name, before in frozen.items():
        after = _module(trainer, name).state_dict()
        assert all(torch.equal(after[k], v) for k, v in before.items()), name
    bn = _module(trainer, "batchnorm2d2")
    assert int(bn.num_batches_tracked) == 0
    for name, before in trained.items():
        after = _module(trainer, name).state_dict()
        assert not torch.equal(after["weight"], before["weight"]), name
    assert not torch.equal(_module(trainer, "batchnorm2d6").running_mean, trained["batchnorm2d6"]["running_mean"])
    frozen_params = {id(p) for n in ("conv2d1", "batchnorm2d2") for p in _module(trainer, n).parameters()}
    optimizer = trainer.optimizers[0]
    assert not frozen_params & {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert all(id(p) not in frozen_params for p in optimizer.state)
    assert all(not p.requires_grad for n in ("conv2d1", "batchnorm2d2") for p in _module(trainer, n).parameters())
    assert trainer.finetuning.counts()[1] == 8 * 9 + 8 + 2 * 8


def test_lr_multipliers_reach_the_optimizer_parameter_groups():
    graph = digits_cnn({**FAST, "lr": 0.01, "schedule": "step", "step_size": 1, "gamma": 0.5, "epochs": 2})
    graph.by_name("dense9").lr_mult = 2.0
    graph.groups.append(Group("g1", "features", [graph.by_name("conv2d1").id, graph.by_name("conv2d4").id],
                              lr_mult=0.1))
    graph.by_name("conv2d1").lr_mult = 0.5
    with single_thread():
        trainer = Trainer(graph)
        groups = {g["lr_mult"]: g for g in trainer.optimizers[0].param_groups}
        assert groups[2.0]["lr"] == pytest.approx(0.02) and groups[0.1]["lr"] == pytest.approx(0.001)
        assert groups[0.05]["lr"] == pytest.approx(0.0005) and groups[1.0]["lr"] == pytest.approx(0.01)
        assert {id(p) for p in groups[0.05]["params"]} == {id(p) for p in _module(trainer, "conv2d1").parameters()}
        trainer.fit()
    lrs = {g["lr_mult"]: g["lr"] for g in trainer.optimizers[0].param_groups}
    assert lrs[2.0] == pytest.approx(0.01) and lrs[0.05] == pytest.approx(0.00025)  # epoch 2: lr 0.005


def test_progressive_unfreezing_thaws_from_the_head_back():
    graph = digits_cnn({**FAST, "epochs": 3})
    graph.finetune = {"unfreeze_every": 1}
    for name in ("conv2d1", "conv2d4", "dense7"):
        graph.by_name(name).trainable = False
    with single_thread():
        trainer = Trainer(graph)
        assert [[trainer.graph.nodes[i].name for i in u] for u in trainer.finetuning.units] == [
            ["dense7"], ["conv2d4"], ["conv2d1"]]
        first = _state(_module(trainer, "conv2d1"))
        seen = []
        trainer.bus.subscribe(lambda e: seen.append(type(e).__name__))
        trainer.fit()
    assert all(p.requires_grad for n in ("conv2d4", "dense7") for p in _module(trainer, n).parameters())
    assert not any(p.requires_grad for p in _module(trainer, "conv2d1").parameters())  # due before epoch 4
    assert all(torch.equal(_module(trainer, "conv2d1").state_dict()[k], v) for k, v in first.items())
    assert graph.by_name("dense7").trainable is False  # the caller's graph is not changed


def test_every_weight_frozen_is_refused():
    graph = digits_cnn(FAST)
    graph.groups.append(Group("g1", "all", list(graph.nodes), trainable=False))
    with pytest.raises(TrainingError, match="every weight of the network is frozen"):
        Trainer(graph)


def test_branched_run_starts_from_its_parent_where_names_and_shapes_match(tmp_path: Path):
    parent_graph = digits_cnn(FAST)
    with single_thread():
        parent = Trainer(parent_graph, run=create_run(parent_graph, tmp_path))
        parent.fit()
    best = {k: v.clone() for k, v in parent.best_state.items()}
    edited = parent_graph.copy()  # the graph is edited: a new layer before the head, and the head resized
    edge = edited.incoming(edited.by_name("dense9").id)[0]
    extra = edited.add_node("Dense", "extra", {"units": 64})
    edited.disconnect(edge)
    edited.connect(edge.src, extra.id)
    edited.connect(extra.id, edited.by_name("dense9").id)
    branch_graph = finetune.with_init(edited, parent.run.path)
    with single_thread():
        branch = Trainer(branch_graph, run=create_run(branch_graph, tmp_path))
        start = {k: v.clone() for k, v in branch.model.state_dict().items()}
        branch.fit()
    for key in ("conv2d1.weight", "conv2d4.bias", "dense7.weight", "dense9.weight"):
        assert torch.equal(start[key], best[key]), key
    report = branch.finetuning.report
    assert [n.name for n in report.by_status("missing")] == ["extra"]
    init = read_init(branch.run.path)
    assert init["parent_run"] == str(parent.run.path.resolve()) and init["which"] == "best"
    assert "extra" in init["summary"] and "initial weights from run" in branch.finetuning.describe()


def test_cli_train_init_from_records_the_parent_and_runs_lists_it(tmp_path: Path, capsys):
    project = tmp_path / "p.json"
    digits_cnn(FAST).save(project)
    with single_thread():
        assert cli_main(["train", str(project), "--no-progress"]) == 0
        parent = list_runs(tmp_path / "runs")[0]
        assert cli_main(["train", str(project), "--no-progress", "--init-from", str(parent.path)]) == 0
    out = capsys.readouterr().out
    assert "initial weights from run" in out and "loaded 4 of 4 node(s)" in out
    child = next(r for r in list_runs(tmp_path / "runs") if r.path != parent.path)
    assert Path(read_init(child.path)["parent_run"]).name == parent.id
    assert json.loads((child.path / "project.json").read_text())["finetune"]["weights"] == str(parent.path.resolve())
    assert cli_main(["runs", "--run-dir", str(tmp_path / "runs")]) == 0
    assert "parent" in capsys.readouterr().out


def test_relative_weights_resolve_against_the_project_folder_and_resume_does_not_reload(tmp_path: Path):
    source = digits_cnn(FAST)
    with single_thread():
        first = Trainer(source, run=create_run(source, tmp_path / "runs"))
        first.fit()
    (tmp_path / "w.safetensors").write_bytes((first.run.path / "best.safetensors").read_bytes())
    graph = digits_cnn({**FAST, "epochs": 2})
    graph.finetune = {"weights": "w.safetensors"}
    run_graph = finetune.resolved(graph, tmp_path)
    assert run_graph.finetune["weights"] == str(tmp_path / "w.safetensors") and graph.finetune["weights"] == "w.safetensors"
    with single_thread():
        trainer = Trainer(run_graph, run=create_run(run_graph, tmp_path / "runs"), config=None)
        assert trainer.finetuning.report.complete
        trainer.control.stop()
        trainer.fit()
        (tmp_path / "w.safetensors").unlink()
        resumed = Trainer.resume(trainer.run.path)
    assert resumed.finetuning.report is None
    with pytest.raises(WeightsError, match="no such file"):
        Trainer(run_graph)


def test_trainable_and_lr_mult_round_trip_and_default_files_stay_unchanged(tmp_path: Path):
    graph = digits_cnn(FAST)
    plain = graph.to_dict()
    assert "finetune" not in plain and all("trainable" not in n for n in plain["nodes"])
    finetune.set_trainable(graph, [graph.by_name("conv2d1").id], False)
    finetune.set_lr_mult(graph, [graph.by_name("dense9").id], 3.0)
    graph.groups.append(Group("g1", "features", [graph.by_name("conv2d4").id], trainable=False, lr_mult=0.5))
    graph.finetune = {"weights": "x.safetensors", "unfreeze_every": 2}
    graph.save(tmp_path / "p.json")
    again = Graph.load(tmp_path / "p.json")
    assert again.to_dict() == graph.to_dict()
    assert finetune.frozen_ids(again) == {again.by_name("conv2d1").id, again.by_name("conv2d4").id}
    assert finetune.lr_mults(again)[again.by_name("dense9").id] == 3.0
    doc = graph.to_dict()
    doc["nodes"][1]["trainable"] = "no"
    with pytest.raises(Exception, match="'trainable' must be true or false"):
        Graph.from_dict(doc)
    with pytest.raises(WeightsError, match="finetune.weight is not a known setting .did you mean finetune.weights"):
        finetune.FineTuneConfig.from_dict({"weight": "x"})
    with pytest.raises(WeightsError, match="unfreeze_every"):
        finetune.FineTuneConfig.from_dict({"unfreeze_every": -1})
    graph.finetune = {"which": "worst"}
    assert any("finetune.which" in p.message for p in validate(graph).problems)


def test_unfreezing_one_node_of_a_frozen_group_keeps_the_others_frozen():
    graph = digits_cnn(FAST)
    ids = [graph.by_name(n).id for n in ("conv2d1", "conv2d4", "dense7")]
    graph.groups.append(Group("g1", "features", ids, trainable=False))
    finetune.set_trainable(graph, [ids[1]], True)
    assert finetune.frozen_ids(graph) == {ids[0], ids[2]}
    finetune.set_group_trainable(graph, "g1", True)
    assert finetune.frozen_ids(graph) == set()
    counts = validate(graph).param_counts
    finetune.set_group_trainable(graph, "g1", False)
    trainable, frozen = finetune.param_split(graph, counts)
    assert frozen == sum(counts[i] for i in ids) and trainable == counts[graph.by_name("dense9").id]


def test_summary_shows_trainable_and_frozen(tmp_path: Path, capsys):
    graph = digits_cnn(FAST)
    graph.by_name("conv2d1").trainable = False
    graph.save(tmp_path / "p.json")
    assert cli_main(["summary", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert "frozen 160)" in out and "frozen" in out.split("conv2d1", 1)[1].splitlines()[0]
    assert "Initial weights" not in out
    graph.finetune = {"weights": "w.safetensors"}
    graph.save(tmp_path / "p.json")
    assert cli_main(["summary", str(tmp_path / "p.json")]) == 0
    assert "Initial weights: w.safetensors" in capsys.readouterr().out


def test_adapt_head_resizes_the_last_dense_for_the_data():
    graph = digits_cnn(FAST)
    graph.set_param(graph.by_name("dense9").id, "units", 5)
    target = head_target(graph)
    assert target == HeadTarget("multiclass", 10)
    changes = adapt_head(graph, target)
    assert graph.by_name("dense9").params["units"] == 10 and "5 -> 10" in changes[0]
    assert validate(graph).ok and adapt_head(graph, target) == []


def test_adapt_head_adds_a_dense_when_the_network_ends_without_one():
    graph = chain("pool head", {"kind": "image", "channels": 1, "height": 8, "width": 8},
                  [("Conv2d", {"out_channels": 4}), ("ReLU", {})], "regression",
                  {"source": "builtin", "name": "digits"}, FAST)
    changes = adapt_head(graph, HeadTarget("multiclass", 10))
    assert validate(graph).ok and validate(graph).shapes[graph.output_nodes()[0].id] == (None, 10)
    assert graph.output_nodes()[0].params["task"] == "multiclass" and len(changes) == 2
    two = digits_cnn(FAST)
    two.add_node("Output", "second")
    with pytest.raises(GraphError, match="2 Output nodes"):
        adapt_head(two, HeadTarget("multiclass", 10))


@pytest.mark.slow
def test_exported_train_script_keeps_frozen_parts_and_starts_from_the_run_weights(tmp_path: Path, monkeypatch):
    from sklearn.datasets import load_digits

    from engine.export import export_run
    from engine.export.formats import load_standalone
    from engine.predict import load_predictor

    graph = digits_cnn(FAST)
    graph.by_name("conv2d1").trainable = False
    graph.by_name("dense9").lr_mult = 0.5
    with single_thread():
        trainer = Trainer(graph, run=create_run(graph, tmp_path / "runs"))
        trainer.fit()
    result = export_run(trainer.run.path, "python", tmp_path / "export")
    folder = result.path.parent
    x, y = load_digits(return_X_y=True)
    np.savez(tmp_path / "digits.npz", x=(x / 16).reshape(-1, 1, 8, 8).astype(np.float32), y=y)
    monkeypatch.syspath_prepend(str(folder))  # train.py imports model.py beside it; run it in this process
    monkeypatch.delitem(sys.modules, "model", raising=False)
    monkeypatch.setattr(sys, "argv", ["train.py", "--data", str(tmp_path / "digits.npz"), "--epochs", "1",
                                      "--out", str(tmp_path / "tuned.safetensors")])
    runpy.run_path(str(folder / "train.py"), run_name="__main__")
    sys.modules.pop("model", None)
    module = load_standalone(result.path)
    exported = module.load_model(folder / "model.safetensors").state_dict()
    tuned = module.load_model(tmp_path / "tuned.safetensors").state_dict()
    assert torch.equal(exported["conv2d1.weight"], tuned["conv2d1.weight"])
    assert not torch.equal(exported["conv2d4.weight"], tuned["conv2d4.weight"])
    assert torch.equal(exported["conv2d1.weight"], trainer.model.state_dict()["conv2d1.weight"].cpu())
    predictor = load_predictor(folder)
    assert predictor([np.zeros((2, 1, 8, 8), np.float32)]).shape == (2, 10)


def test_adapt_head_looks_through_layers_without_weights():
    graph = chain("relu head", {"kind": "features", "features": 4}, [("Dense", {"units": 7}), ("ReLU", {})],
                  "multiclass", {"source": "builtin", "name": "iris"}, FAST)
    assert adapt_head(graph, head_target(graph)) == ["'dense1' units 7 -> 3 (fresh weights)"]
    assert len(graph.nodes) == 4


def test_document_fine_tuning_edits_undo_and_survive_other_edits():
    from engine.document import Document

    doc = Document(digits_cnn(FAST))
    conv = doc.graph.by_name("conv2d1").id
    doc.set_trainable([conv], False)
    doc.set_lr_mult([doc.graph.by_name("dense9").id], 0.5)
    doc.add_node("Dropout")
    doc.undo()  # undoing an unrelated edit restores nodes from a snapshot: the flags must come back too
    assert finetune.frozen_ids(doc.graph) == {conv} and doc.graph.by_name("dense9").lr_mult == 0.5
    doc.undo()
    doc.undo()
    assert finetune.frozen_ids(doc.graph) == set() and doc.graph.by_name("dense9").lr_mult == 1.0
    doc.redo()
    assert finetune.frozen_ids(doc.graph) == {conv}
    doc.set_section("finetune", {"unfreeze_every": 2})
    assert doc.graph.finetune == {"unfreeze_every": 2}
    doc.set_param(doc.graph.by_name("dense9").id, "units", 4)
    assert doc.adapt_head(HeadTarget("multiclass", 10)) and doc.graph.by_name("dense9").params["units"] == 10


def test_a_run_with_progressive_unfreezing_resumes_with_its_optimizer_state(tmp_path: Path):
    graph = digits_cnn({**FAST, "epochs": 1})
    graph.finetune = {"unfreeze_every": 1}
    graph.by_name("conv2d1").trainable = False
    with single_thread():
        first = Trainer(graph, run=create_run(graph, tmp_path))
        first.fit()
        assert not any(p.requires_grad for p in _module(first, "conv2d1").parameters())
        again = Trainer.resume(first.run.path, epochs=2)
        again.fit()
    assert all(p.requires_grad for p in _module(again, "conv2d1").parameters())
    conv = {id(p) for p in _module(again, "conv2d1").parameters()}
    assert conv <= {id(p) for p in again.optimizers[0].state}  # thawed in epoch 2: it now has Adam state
