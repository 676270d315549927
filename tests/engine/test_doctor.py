"""The training doctor: each scenario provokes one failure on purpose, the doctor names it and pins it to
the right node, and training again with the remedy it offers improves what the diagnosis is about."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, load_iris
from train_helpers import chain, digits_cnn, iris_mlp, single_thread

from engine.doctor import Diagnosis, Doctor, diagnose_run
from engine.doctor.remedies import REMEDIES, apply_remedy, offered
from engine.errors import TrainingError
from engine.graph import Graph
from engine.runs import create_run
from engine.train.trainer import Trainer
from engine.validate import validate

EVENTS = {"summaries_every": 5, "summaries_max_hz": 0}
EVERY_STEP = {"summaries_every": 1, "summaries_max_hz": 0}
"""A run the divergence guard stops within a few dozen steps needs a summary per step to show its gradients."""


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


class Trained:
    """A finished (or failed) run of `graph`: its final metrics and the doctor's view of its events."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        trainer = self.trainer = Trainer(graph)
        queue = trainer.bus.queue()
        try:
            self.final = trainer.fit().final
        except TrainingError:
            self.final = {}
        self.doctor = Doctor(graph)
        while (event := queue.get()) is not None:
            self.doctor.add(event)
        self.diagnoses = self.doctor.diagnoses()
        for d in self.diagnoses:
            assert d.remedies and set(d.remedies) <= set(REMEDIES), d.remedies

    def find(self, diagnosis_id: str) -> Diagnosis:
        found = [d for d in self.diagnoses if d.id == diagnosis_id]
        assert found, f"no {diagnosis_id} in {[d.id for d in self.diagnoses]}"
        return found[0]

    def has(self, diagnosis_id: str) -> bool:
        return any(d.id == diagnosis_id for d in self.diagnoses)

    def names(self, d: Diagnosis) -> list[str]:
        return [self.graph.nodes[n].name for n in d.node_ids]

    def remedied(self, d: Diagnosis, remedy_id: str) -> Trained:
        assert remedy_id in [r.id for r in offered(self.graph, d)]
        graph, what = apply_remedy(self.graph, remedy_id, d)
        assert what and validate(graph).ok, validate(graph).report()
        return Trained(graph)

    @property
    def record(self):
        return self.doctor.record


def _loss(run: Trained) -> float:
    return run.record.loss()[-1]


def _npz(path, x, y) -> str:
    np.savez(path, x=x.astype(np.float32), y=y)
    return str(path)


def deep_sigmoid() -> Graph:
    layers = []
    for _ in range(8):
        layers += [("Dense", {"units": 32}), ("Sigmoid", {})]
    return chain("deep sigmoid", {"kind": "features", "features": 4}, [*layers, ("Dense", {"units": 3})],
                 "multiclass", {"source": "builtin", "name": "iris"},
                 {"epochs": 10, "batch_size": 16, "lr": 0.01, "optimizer": "sgd", "events": EVENTS})


def digits_mlp(training: dict, units: tuple[int, ...] = (64, 64), data: dict | None = None) -> Graph:
    layers = [("Flatten", {})]
    for u in units:
        layers += [("Dense", {"units": u}), ("ReLU", {})]
    return chain("digits mlp", {"kind": "image", "channels": 1, "height": 8, "width": 8},
                 [*layers, ("Dense", {"units": 10})], "multiclass", data or {"source": "builtin", "name": "digits"},
                 {"batch_size": 32, "events": EVENTS, **training})


# ---- healthy runs ------------------------------------------------------------------------------
def test_healthy_runs_get_no_diagnosis():
    assert Trained(iris_mlp({"epochs": 30, "batch_size": 16, "lr": 0.01, "events": EVENTS})).diagnoses == []
    cnn = Trained(digits_cnn({"epochs": 3, "batch_size": 32, "lr": 0.003, "events": EVENTS}))
    assert cnn.final["val_accuracy"] > 0.9 and cnn.diagnoses == []


# ---- gradients and activations -----------------------------------------------------------------
def test_deep_sigmoid_mlp_has_vanishing_gradients_in_its_early_layers_and_batchnorm_fixes_them():
    run = Trained(deep_sigmoid())
    d = run.find("vanishing_gradients")
    names = run.names(d)
    assert names[0] == "dense1" and "dense15" not in names and "dense17" not in names
    assert d.measure["ratio"] < 1e-3 and d.evidence[0].kind == "bar" and d.evidence[0].log_y
    assert run.has("plateau") and d.remedies[0] == "insert_batchnorm"
    graph, what = apply_remedy(run.graph, "insert_batchnorm", d)
    assert sum(n.type == "BatchNorm1d" for n in graph.nodes.values()) == 8 and "BatchNorm1d" in what
    fixed = Trained(graph)
    assert not fixed.has("vanishing_gradients") and not fixed.has("plateau")
    assert _loss(fixed) < 0.8 * _loss(run)


def _first_to_top(run: Trained, d: Diagnosis) -> float:
    grads = run.record.grads[-1]
    return grads[d.node_ids[0]] / grads[d.measure["top"]]


def test_gelu_instead_of_sigmoid_lets_far_more_gradient_reach_the_first_layer():
    run = Trained(deep_sigmoid())
    d = run.find("vanishing_gradients")
    fixed = run.remedied(d, "swap_to_gelu")
    assert sum(n.type == "GELU" for n in fixed.graph.nodes.values()) == 8
    assert _first_to_top(fixed, d) > 100 * d.measure["ratio"]


def test_residual_remedy_adds_a_skip_that_shortens_the_gradient_path():
    run = Trained(deep_sigmoid())
    d = run.find("vanishing_gradients")
    graph, what = apply_remedy(run.graph, "add_residual", d)
    adds = [n for n in graph.nodes.values() if n.type == "Add"]
    assert len(adds) == 1 and len(graph.incoming(adds[0].id)) == 2 and validate(graph).ok
    assert _first_to_top(Trained(graph), d) > 100 * d.measure["ratio"]


def test_high_learning_rate_kills_relu_units_and_a_lower_one_keeps_them_alive():
    run = Trained(digits_mlp({"epochs": 4, "lr": 0.3, "optimizer": "sgd"}))
    dead = [d for d in run.diagnoses if d.id == "dead_units"]
    assert dead and all(run.graph.nodes[d.node_ids[0]].type == "ReLU" for d in dead)
    d = dead[0]
    assert d.measure["dead"] >= 0.5
    fixed = run.remedied(d, "lower_lr")
    assert not fixed.has("dead_units")
    assert fixed.record.acts[-1][d.node_ids[0]]["dead"] < d.measure["dead"] / 2
    leaky, _ = apply_remedy(run.graph, "swap_to_leakyrelu", d)
    assert leaky.nodes[d.node_ids[0]].type == "LeakyReLU"


def test_inputs_times_1000_saturate_tanh_and_are_named_unnormalised(tmp_path):
    x, y = load_iris(return_X_y=True)
    data = {"source": "npz", "path": _npz(tmp_path / "big.npz", x * 1000, y), "normalize": "none"}
    graph = chain("tanh", {"kind": "features", "features": 4}, [("Dense", {"units": 16}), ("Tanh", {}),
                                                                 ("Dense", {"units": 3})], "multiclass", data,
                  {"epochs": 10, "batch_size": 16, "lr": 0.01, "events": EVENTS})
    run = Trained(graph)
    unnorm = run.find("unnormalised_inputs")
    assert run.names(unnorm) == ["input"] and unnorm.measure["mean"] > 1000
    saturated = run.find("saturated_units")
    assert run.names(saturated) == ["tanh2"] and saturated.measure["saturated"] > 0.9
    fixed = run.remedied(unnorm, "normalize_inputs")
    assert fixed.graph.data["normalize"] == "standardize"
    assert not fixed.has("unnormalised_inputs") and not fixed.has("saturated_units")
    assert _loss(fixed) < 0.5 * _loss(run)
    normed = run.remedied(saturated, "insert_batchnorm")
    bn = [n for n in normed.graph.nodes.values() if n.type == "BatchNorm1d"]
    assert len(bn) == 1 and normed.graph.incoming(bn[0].id)[0].src == normed.graph.by_name("dense1").id
    assert not normed.has("saturated_units")


# ---- the loss curve and the learning rate ------------------------------------------------------
def test_learning_rate_10_diverges_and_lowering_it_converges():
    run = Trained(iris_mlp({"epochs": 10, "batch_size": 16, "lr": 10.0, "optimizer": "sgd", "events": EVERY_STEP}))
    d = run.find("diverging")
    assert d.severity == "error" and run.names(d) == ["output"]
    assert run.has("exploding_gradients")
    fixed = run.remedied(d, "lower_lr")
    assert fixed.graph.training["lr"] == pytest.approx(1.0)
    assert not fixed.has("diverging") and _loss(fixed) < 0.5 and fixed.final["val_accuracy"] > 0.8


def test_a_nan_loss_is_diverging_pinned_to_the_first_non_finite_node(tmp_path):
    x, y = load_iris(return_X_y=True)
    data = {"source": "npz", "path": _npz(tmp_path / "huge.npz", x * 1e30, y), "normalize": "none"}
    graph = chain("nan", {"kind": "features", "features": 4}, [("Dense", {"units": 16}), ("ReLU", {}),
                                                                ("Dense", {"units": 3})], "multiclass", data,
                  {"epochs": 3, "batch_size": 16, "lr": 1.0, "optimizer": "sgd", "events": EVENTS})
    run = Trained(graph)
    d = run.find("diverging")
    failed = run.record.failed
    assert failed is not None and d.node_ids == (failed.node_id,)
    assert "no longer a number" in d.explanation


def test_clipping_tames_exploding_gradients():
    run = Trained(iris_mlp({"epochs": 10, "batch_size": 16, "lr": 10.0, "optimizer": "sgd", "events": EVERY_STEP}))
    d = run.find("exploding_gradients")
    assert set(run.names(d)) <= {"dense1", "dense3"}
    fixed = run.remedied(d, "clip_gradients")
    assert fixed.graph.training["clip"] == "norm"
    assert not fixed.has("exploding_gradients") and fixed.record.failed is None  # not stopped as diverged
    assert _loss(fixed) < _loss(run) / 1000


def test_a_spiky_loss_means_the_learning_rate_is_too_high():
    run = Trained(iris_mlp({"epochs": 15, "batch_size": 16, "lr": 3.0, "events": EVENTS}))
    d = run.find("lr_too_high")
    assert d.measure["peak"] > 3 and not run.has("diverging")
    fixed = run.remedied(d, "lower_lr")
    assert not fixed.has("lr_too_high") and max(fixed.record.loss()) < max(run.record.loss()) / 10


def test_a_tiny_learning_rate_is_too_low_and_raising_it_learns_faster():
    run = Trained(iris_mlp({"epochs": 10, "batch_size": 16, "lr": 3e-4, "optimizer": "sgd", "events": EVENTS}))
    d = run.find("lr_too_low")
    assert not run.has("underfitting") and d.measure["level"] > 0.6
    faster = run.remedied(d, "raise_lr")
    assert faster.graph.training["lr"] == pytest.approx(3e-3)
    assert _loss(faster) < _loss(run) - 0.1
    found = run.remedied(d, "find_lr")  # the range test picks a rate itself
    assert found.graph.training["lr"] > 3e-3 and _loss(found) < _loss(run) - 0.1


# ---- generalisation ----------------------------------------------------------------------------
def overfit_graph() -> Graph:
    return digits_mlp({"epochs": 30, "batch_size": 16, "lr": 0.003}, units=(512, 512),
                      data={"source": "builtin", "name": "digits", "split": {"val": 0.45, "test": 0.5}})


@pytest.mark.slow
def test_a_tiny_training_set_and_a_big_net_overfit_and_dropout_narrows_the_gap():
    run = Trained(overfit_graph())
    d = run.find("overfitting")
    assert run.names(d) == ["dense4"]  # the 512 x 512 layer has the most weights
    assert d.measure["rise"] > 0.1
    fixed = run.remedied(d, "add_dropout")
    drop = next(n for n in fixed.graph.nodes.values() if n.type == "Dropout")
    assert fixed.graph.incoming(drop.id)[0].src == fixed.graph.by_name("relu5").id
    gap = fixed.record.loss("val")[-1] - fixed.record.loss("train")[-1]
    assert gap < d.measure["gap"]
    stopped = run.remedied(d, "early_stopping")
    assert stopped.record.finished.reason == "early_stopping"
    assert stopped.final["test_loss"] < run.final["test_loss"]  # the test split is scored with the best weights


def test_a_two_unit_bottleneck_underfits_and_widening_it_fits():
    run = Trained(digits_mlp({"epochs": 8, "lr": 0.01}, units=(2,)))
    d = run.find("underfitting")
    assert run.names(d) == ["dense2"] and d.measure["accuracy"] < 0.85
    wider = run.remedied(d, "widen_layer")
    assert wider.graph.by_name("dense2").params["units"] == 8
    assert wider.record.train["accuracy"][-1] > d.measure["accuracy"] + 0.2
    deeper, what = apply_remedy(run.graph, "deepen_layer", d)
    assert len(deeper.nodes) == len(run.graph.nodes) + 2 and validate(deeper).ok and "after 'relu3'" in what


# ---- data --------------------------------------------------------------------------------------
def test_class_imbalance_is_pinned_to_the_output_and_balanced_weights_lift_the_rare_classes(tmp_path):
    x, y = load_digits(return_X_y=True)
    keep = np.concatenate([np.where(y == c)[0][: (170 if c < 5 else 8)] for c in range(10)])
    path = _npz(tmp_path / "imbalanced.npz", x[keep].reshape(-1, 1, 8, 8), y[keep])
    data = {"source": "npz", "path": path, "split": {"val": 0.0, "test": 0.0}}
    run = Trained(digits_mlp({"epochs": 3, "lr": 0.003, "monitor": "train_loss"}, units=(32,), data=data))
    d = run.find("class_imbalance")
    assert run.names(d) == ["output"] and d.measure["ratio"] > 10
    assert d.evidence[0].kind == "bar" and len(d.evidence[0].series[0].y) == 10
    fixed = run.remedied(d, "class_weights")
    assert fixed.graph.training["class_weights"] == "balanced"
    assert fixed.record.train["recall"][-1] > run.record.train["recall"][-1] + 0.05  # recall is a class average


def test_class_ids_trained_as_regression_are_a_label_task_mismatch(tmp_path):
    x, y = load_iris(return_X_y=True)
    data = {"source": "npz", "path": _npz(tmp_path / "ids.npz", x, y.astype(np.float32)), "task": "regression"}
    graph = chain("ids", {"kind": "features", "features": 4}, [("Dense", {"units": 16}), ("ReLU", {}),
                                                                ("Dense", {"units": 1})], "regression", data,
                  {"epochs": 10, "batch_size": 16, "lr": 0.01, "events": EVENTS})
    run = Trained(graph)
    d = run.find("label_task_mismatch")
    assert run.names(d) == ["output"] and d.measure["distinct"] == 3
    fixed = run.remedied(d, "make_classification")
    assert fixed.graph.by_name("dense3").params["units"] == 3 and fixed.graph.data["task"] == "multiclass"
    assert not fixed.has("label_task_mismatch")
    # the regression model's answers rounded to the nearest class, against the classifier's accuracy
    data, model = run.trainer.data, run.trainer.model.eval()
    val = data.split("val")
    with torch.no_grad():
        guesses = data.denormalize_target(model(*val.inputs)).round().reshape(-1)
    rounded = float((guesses == data.denormalize_target(val.target).reshape(-1)).float().mean())
    assert fixed.final["val_accuracy"] > rounded


# ---- from the run folder -----------------------------------------------------------------------
def test_a_run_folder_is_diagnosed_like_the_live_run(tmp_path):
    graph = deep_sigmoid()
    run = create_run(graph, tmp_path)
    trainer = Trainer(graph, run=run)
    doctor = Doctor(graph)
    queue = trainer.bus.queue()
    trainer.fit()
    while (event := queue.get()) is not None:
        doctor.add(event)
    live = doctor.diagnoses()
    assert [d.to_dict() for d in diagnose_run(run)] == [d.to_dict() for d in live]
    assert {"vanishing_gradients", "plateau"} <= {d.id for d in live}
    summary = run.events()[0].data["summary"]
    assert summary["classes"] and sum(summary["classes"]) == len(trainer.data.train)


def test_diagnoses_are_json_and_have_finite_or_nan_evidence():
    run = Trained(deep_sigmoid())
    for d in run.diagnoses:
        doc = d.to_dict()
        assert doc["explanation"] and doc["remedies"]
        for ev in doc["evidence"]:
            for s in ev["series"]:
                assert len(s["x"]) == len(s["y"]) and all(isinstance(v, float | int) for v in s["y"])
                assert all(math.isfinite(v) or math.isnan(v) for v in s["y"])


def test_the_why_not_learn_page_covers_every_check_and_remedy():
    from pathlib import Path

    from engine.doctor.checks import CHECKS

    page = (Path(__file__).resolve().parents[2] / "docs" / "why-not-learn.md").read_text(encoding="utf-8")
    for c in CHECKS:
        assert f"`{c.id}`" in page, c.id
    for r in REMEDIES.values():
        assert f"*{r.title}*" in page, r.title


def test_a_dead_unit_is_a_feature_or_channel_that_is_zero_for_every_sample():
    import torch

    from engine.train.probes import _dead_units

    features = torch.tensor([[0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 3.0]])
    assert float(_dead_units(features)) == pytest.approx(0.5)  # features 0 and 2
    images = torch.zeros(2, 4, 3, 3)
    images[0, 1, 0, 0] = 1.0  # channel 1 fires at one pixel of one sample: alive
    images[1, 3, 2, 2] = 5.0
    assert float(_dead_units(images)) == pytest.approx(0.5)  # channels 0 and 2
    sequence = torch.zeros(2, 5, 3)  # (N, steps, features): feature 1 fires at one step
    sequence[1, 4, 1] = 1.0
    assert float(_dead_units(sequence)) == pytest.approx(2 / 3)  # read as features; as 'channels' 4 of 5 are dead
