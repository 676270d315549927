"""The trainer on real data: accuracy, events on disk, run folders, early stopping, resume, NaN guard, control."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from safetensors.torch import load_file
from train_helpers import digits_cnn, iris_mlp, single_thread

from engine.cli import main as cli_main
from engine.errors import TrainingError
from engine.runs import create_run, list_runs, open_run
from engine.train.config import TrainingConfig
from engine.train.events import (
    Activations,
    BatchEnded,
    CheckpointSaved,
    EpochEnded,
    Gradients,
    RunFailed,
    RunFinished,
    RunStarted,
    event_from_dict,
)
from engine.train.probes import activation_summaries, node_outputs
from engine.train.trainer import Trainer


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


def test_cnn_on_digits_reaches_95_percent_test_accuracy():
    result = Trainer(digits_cnn({"epochs": 8, "batch_size": 32, "lr": 0.003})).fit()
    assert result.reason == "completed" and result.epochs_done == 8
    assert result.final["test_accuracy"] >= 0.95
    assert result.history[-1]["train"]["loss"] < result.history[0]["train"]["loss"] / 5


def test_events_jsonl_has_every_epoch_and_every_event_round_trips(tmp_path):
    graph = digits_cnn({"epochs": 3, "events": {"summaries_every": 10, "histogram_bins": 12, "batch_rate_hz": 5,
                                                   "summaries_max_hz": 0}})
    run = create_run(graph, tmp_path)
    trainer = Trainer(graph, run=run)
    live = trainer.bus.queue()
    started = time.monotonic()
    trainer.fit()
    elapsed = time.monotonic() - started
    events = run.events()
    queued = []
    while (event := live.get()) is not None:
        queued.append(event)
    assert events == queued
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    assert [e.epoch for e in events if isinstance(e, EpochEnded)] == [1, 2, 3]
    assert all(event_from_dict(e.to_dict()) == e for e in events)
    batches = [e for e in events if isinstance(e, BatchEnded)]
    assert 1 <= len(batches) <= 5 * elapsed + 3 * 2  # thinned: at most 5/s (+ the first of each epoch)
    conv_ids = [n.id for n in graph.nodes.values() if n.type == "Conv2d"]
    layer_ids = {n.id for n in graph.nodes.values() if n.type not in ("Input", "Output")}
    acts = [e for e in events if isinstance(e, Activations)]
    assert len(acts) == trainer.step // 10
    summary = acts[-1].nodes
    assert set(summary) == layer_ids
    assert all(len(s["hist"]) == 12 and s["nonfinite"] == 0 for s in summary.values())
    relu = next(n.id for n in graph.nodes.values() if n.type == "ReLU")
    assert summary[relu]["zeros"] > 0 and summary[relu]["min"] == 0
    thumbs = summary[conv_ids[0]]["thumbs"]
    assert len(thumbs) == 4 and len(thumbs[0]) == 8 and max(max(row) for row in thumbs[0]) == 255
    grads = [e for e in events if isinstance(e, Gradients)][-1]
    weighted = {n.id for n in graph.nodes.values() if n.type in ("Conv2d", "Dense")}
    assert set(grads.norms) == weighted and all(v > 0 for v in grads.norms.values())
    assert grads.total == pytest.approx(sum(v * v for v in grads.norms.values()) ** 0.5, rel=1e-5)


def test_run_folder_alone_reloads_the_trained_model(tmp_path):
    graph = iris_mlp({"epochs": 3, "lr": 0.01})
    run = create_run(graph, tmp_path)
    trainer = Trainer(graph, run=run)
    trainer.fit()
    reopened = open_run(run.path)
    assert [r.path for r in list_runs(tmp_path)] == [run.path]
    model, loaded_graph = reopened.load_model("last")
    x = trainer.data.test.inputs[0]
    trainer.model.eval()
    assert torch.equal(model(x), trainer.model(x))
    assert loaded_graph.to_dict() == graph.to_dict()
    info = reopened.data_info()
    assert info["class_names"] == ["setosa", "versicolor", "virginica"]
    assert info["input_shapes"] == [[4]] and info["normalization"]["method"] == "standardize"
    metrics = reopened.metrics()
    assert metrics["epochs_done"] == 3 and "test_accuracy" in metrics["final"]
    best = load_file(str(run.path / "best.safetensors"))
    assert set(best) == set(trainer.model.state_dict())


def test_early_stopping_stops_after_patience_and_restores_the_best_weights(tmp_path):
    # "max" on the training loss: epoch 1 stays the best, so the run must stop after `patience` more epochs
    graph = iris_mlp({"epochs": 20, "lr": 0.01, "monitor": "train_loss", "monitor_mode": "max",
                      "early_stopping": {"enabled": True, "patience": 2}})
    trainer = Trainer(graph, run=create_run(graph, tmp_path))
    result = trainer.fit()
    assert result.reason == "early_stopping" and result.epochs_done == 3 and result.best_epoch == 1
    assert trainer.evaluate("val")["loss"] == pytest.approx(result.history[0]["val"]["loss"], rel=1e-6)
    assert result.history[2]["val"]["loss"] != pytest.approx(result.history[0]["val"]["loss"], rel=1e-6)


def _dropout_cnn(epochs: int, schedule: str = "cosine") -> object:
    graph = digits_cnn({"epochs": epochs, "batch_size": 64, "schedule": schedule, "warmup_epochs": 1,
                        "step_size": 1, "gamma": 0.7,
                        "events": {"summaries_every": 7}})
    dense = next(n for n in graph.nodes.values() if n.name == "dense7")
    drop = graph.add_node("Dropout", "drop", {"p": 0.3})
    after = next(e for e in graph.edges if e.src == dense.id)
    graph.disconnect(after)
    graph.connect(dense.id, drop.id)
    graph.connect(drop.id, after.dst)
    graph.data["augment"] = {"noise_std": 0.05}
    return graph


def test_resume_after_finishing_continues_with_the_same_losses(tmp_path):
    # a step schedule does not depend on the total number of epochs, so 2 + 2 epochs must equal 4
    straight = Trainer(_dropout_cnn(4, "step")).fit()
    graph = _dropout_cnn(2, "step")
    run = create_run(graph, tmp_path)
    Trainer(graph, run=run).fit()
    with pytest.raises(TrainingError, match="already trained 2 of 2 epochs"):
        Trainer.resume(run.path)
    resumed = Trainer.resume(run.path, epochs=4).fit()
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    for a, b in zip(straight.history, resumed.history, strict=True):
        assert a["train"]["loss"] == pytest.approx(b["train"]["loss"], rel=1e-6, abs=1e-9)
        assert a["val"]["loss"] == pytest.approx(b["val"]["loss"], rel=1e-6, abs=1e-9)
        assert a["lr"] == pytest.approx(b["lr"])


def test_stop_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path):
    straight = Trainer(_dropout_cnn(3)).fit()
    graph = _dropout_cnn(3)
    run = create_run(graph, tmp_path)
    trainer = Trainer(graph, run=run)

    def stop_in_epoch_two(event):
        if isinstance(event, BatchEnded) and event.epoch == 2:
            trainer.control.stop()

    trainer.bus.subscribe(stop_in_epoch_two)
    trainer.config = trainer.config.replace(events={"batch_rate_hz": 1000, "summaries_every": 7})
    stopped = trainer.fit()
    assert stopped.reason == "stopped" and stopped.epochs_done == 1
    assert open_run(run.path).metrics()["reason"] == "stopped"
    resumed_trainer = Trainer.resume(run.path)
    assert resumed_trainer.epoch == 1 and resumed_trainer.batch_in_epoch > 0
    resumed = resumed_trainer.fit()
    for a, b in zip(straight.history, resumed.history, strict=True):
        assert a["train"]["loss"] == pytest.approx(b["train"]["loss"], rel=1e-6, abs=1e-9)
        assert a["val"]["loss"] == pytest.approx(b["val"]["loss"], rel=1e-6, abs=1e-9)


def test_a_crash_mid_epoch_resumes_from_the_last_timed_checkpoint_with_the_same_losses(tmp_path):
    straight = Trainer(_dropout_cnn(2)).fit()
    graph = _dropout_cnn(2)
    graph.training["checkpoint_every_s"] = 1e-9  # a checkpoint between every two batches
    run = create_run(graph, tmp_path)
    trainer = Trainer(graph, run=run)
    train_batch = trainer.task.train_batch

    def power_cut_in_epoch_two(batch, metrics):
        if trainer.epoch == 1 and trainer.batch_in_epoch == 5:
            raise RuntimeError("power cut")
        return train_batch(batch, metrics)

    trainer.task.train_batch = power_cut_in_epoch_two
    with pytest.raises(RuntimeError, match="power cut"):
        trainer.fit()
    assert not open_run(run.path).metrics()  # it never finished
    resumed_trainer = Trainer.resume(run.path)
    assert (resumed_trainer.epoch, resumed_trainer.batch_in_epoch) == (1, 5)
    resumed = resumed_trainer.fit()
    for a, b in zip(straight.history, resumed.history, strict=True):
        assert a["train"]["loss"] == pytest.approx(b["train"]["loss"], rel=1e-6, abs=1e-9)
        assert a["val"]["loss"] == pytest.approx(b["val"]["loss"], rel=1e-6, abs=1e-9)


def test_checkpoints_follow_the_time_interval_not_every_epoch(tmp_path):
    graph = iris_mlp({"epochs": 6, "lr": 0.01})  # default: every 30 s, and at the end
    run = create_run(graph, tmp_path)
    trainer = Trainer(graph, run=run)
    trainer.fit()
    saved = [e for e in run.events() if isinstance(e, CheckpointSaved)]
    assert [(e.which, e.epoch) for e in saved if e.which == "last"] == [("last", 6)]
    best = [e for e in saved if e.which == "best"]
    assert len(best) == 1 and best[0].epoch == trainer.best_epoch
    assert torch.equal(load_file(best[0].path)["dense1.weight"], trainer.best_state["dense1.weight"])
    every = iris_mlp({"epochs": 6, "lr": 0.01, "checkpoint_every": 2})
    run = create_run(every, tmp_path)
    Trainer(every, run=run).fit()
    assert [e.epoch for e in run.events() if isinstance(e, CheckpointSaved) and e.which == "last"] == [2, 4, 6]


def test_runs_lists_sweep_trials_with_their_study(tmp_path, monkeypatch, capsys):
    graph = iris_mlp()
    plain = create_run(graph, tmp_path)
    trial = create_run(graph, tmp_path / "sweep-lr-search", "trial-0001")
    (tmp_path / "sweep-empty").mkdir()
    (tmp_path / "notes").mkdir()
    runs = list_runs(tmp_path)
    assert sorted(r.path for r in runs) == sorted([plain.path, trial.path])
    assert {r.path: r.study for r in runs} == {plain.path: None, trial.path: "lr-search"}
    monkeypatch.setenv("COLUMNS", "200")
    assert cli_main(["runs", "--run-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert trial.id in printed and "lr-search" in printed and plain.id in printed


def test_nan_run_fails_naming_the_first_non_finite_node(tmp_path):
    graph = iris_mlp({"optimizer": "sgd", "lr": 1e30, "momentum": 0.0, "epochs": 5})
    run = create_run(graph, tmp_path)
    with pytest.raises(TrainingError, match="NaN or infinite") as info:
        Trainer(graph, run=run).fit()
    failed = run.events()[-1]
    assert isinstance(failed, RunFailed)
    node = graph.nodes[failed.node_id]
    assert node.type == "Dense" and f"'{node.name}'" in failed.message
    assert "learning rate" in failed.hint and info.value.node_id == node.id


def test_pause_holds_training_and_stop_ends_it_between_batches():
    trainer = Trainer(digits_cnn({"epochs": 50, "batch_size": 16, "events": {"batch_rate_hz": 1000}}))
    seen = []
    trainer.bus.subscribe(lambda e: seen.append(e))
    trainer.control.pause()
    worker = threading.Thread(target=lambda: seen.append(trainer.fit()))
    worker.start()
    time.sleep(0.5)
    step_while_paused = trainer.step
    time.sleep(0.3)
    assert trainer.step == step_while_paused <= 1
    trainer.control.resume()
    deadline = time.monotonic() + 20
    while trainer.step < step_while_paused + 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    trainer.control.stop()
    worker.join(30)
    assert not worker.is_alive()
    result = seen[-1]
    assert result.reason == "stopped" and result.epochs_done < 50


def test_a_slow_listener_does_not_slow_training():
    trainer = Trainer(iris_mlp({"epochs": 40, "batch_size": 8, "events": {"batch_rate_hz": 1000}}))
    calls = []

    def slow(event):
        calls.append(event)
        time.sleep(0.05)

    trainer.bus.subscribe(slow)
    queue = trainer.bus.queue()
    trainer.fit()
    events = []
    while (event := queue.get()) is not None:
        events.append(event)
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert finished.duration < 0.05 * len(events) / 2  # the listener alone needs far longer than the run took


def test_activation_summaries_match_plain_statistics_and_count_non_finite_values():
    trainer = Trainer(iris_mlp({"epochs": 1}))
    probe = trainer.data.val.inputs[0][:8].clone()
    probe[3, 1] = float("nan")  # one sample's row goes NaN through every layer
    outputs = {}
    with torch.no_grad(), node_outputs(trainer.node_map, lambda nid, out: outputs.setdefault(nid, out)):
        trainer.model.eval()
        trainer.model(probe)
    nodes = activation_summaries(trainer.model, trainer.node_map, (probe,), bins=10)
    assert set(nodes) == set(outputs)
    for nid, out in outputs.items():
        finite = torch.isfinite(out)
        clean = torch.where(finite, out, 0.0).double()
        summary = nodes[nid]
        assert summary["nonfinite"] == int((~finite).sum()) > 0
        assert summary["mean"] == pytest.approx(float(clean.mean()), abs=1e-6)
        assert summary["std"] == pytest.approx(float(clean.std(unbiased=False)), abs=1e-5)
        assert summary["zeros"] == pytest.approx(float((clean == 0).double().mean()))
        assert (summary["min"], summary["max"]) == pytest.approx((float(clean.min()), float(clean.max())))
        assert summary["hist"] == [int(v) for v in torch.histc(clean.float(), bins=10)]
    clean_nodes = activation_summaries(trainer.model, trainer.node_map, (probe[:3],), bins=10)
    assert all(s["nonfinite"] == 0 and sum(s["hist"]) == 3 * s["shape"][1] for s in clean_nodes.values())


def test_config_errors_name_the_key_and_the_choices():
    with pytest.raises(TrainingError, match=r"unknown key\(s\) 'learning_rate'.*lr"):
        TrainingConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(TrainingError, match="training.optimizer: 'adamx' is not one of sgd, adam, adamw, rmsprop"):
        TrainingConfig.from_dict({"optimizer": "adamx"})
    with pytest.raises(TrainingError, match="training.epochs: expected a whole number, found 'ten'"):
        TrainingConfig.from_dict({"epochs": "ten"})
    with pytest.raises(TrainingError, match="training.early_stopping.patience: must be 0 or more"):
        TrainingConfig.from_dict({"early_stopping": {"patience": -1}})
    with pytest.raises(TrainingError, match="nesterov needs optimizer 'sgd'"):
        TrainingConfig.from_dict({"optimizer": "adam", "nesterov": True})
    with pytest.raises(TrainingError, match="'val_auc' is not a metric of this task"):
        Trainer(iris_mlp({"monitor": "val_auc"}))
    with pytest.raises(TrainingError, match="needs a CUDA GPU"):
        Trainer(iris_mlp({"precision": "fp16", "device": "cpu"}))
    assert TrainingConfig.from_dict({}).to_dict() == TrainingConfig().to_dict()


def test_evaluation_batches_are_larger_by_default_and_do_not_change_the_metrics():
    assert TrainingConfig.from_dict({"batch_size": 32}).eval_batch == 128
    assert TrainingConfig.from_dict({"batch_size": 512}).eval_batch == 1024
    assert TrainingConfig.from_dict({"batch_size": 4096}).eval_batch == 4096
    assert TrainingConfig.from_dict({"batch_size": 32, "eval_batch_size": 7}).eval_batch == 7
    with pytest.raises(TrainingError, match="training.eval_batch_size: must be 0 or more"):
        TrainingConfig.from_dict({"eval_batch_size": -1})
    trainer = Trainer(iris_mlp({"epochs": 2, "batch_size": 8}))
    trainer.fit()
    auto = trainer.evaluate("val")
    trainer.config = trainer.config.replace(eval_batch_size=3)
    small = trainer.evaluate("val")
    assert auto.keys() == small.keys() and auto["loss"] > 0
    for name, value in auto.items():
        assert small[name] == pytest.approx(value, rel=1e-5, abs=1e-7), name


def test_input_shape_mismatch_names_the_input_node():
    graph = iris_mlp()
    graph.set_param(graph.input_nodes()[0].id, "features", 5)
    with pytest.raises(TrainingError, match=r"Input 'input' \(n1\) has shape \(N, 5\) but the data gives \(N, 4\)"):
        Trainer(graph)
