"""Remedies as plain graph edits (no training): where each puts its layer, which settings it changes, when it
is offered, and that the result still validates."""

from __future__ import annotations

import pytest
from train_helpers import chain, digits_cnn, iris_mlp

from engine.doctor import Diagnosis
from engine.doctor.remedies import REMEDIES, apply_remedy, offered
from engine.errors import GraphError
from engine.validate import validate


def diagnosis(graph, check: str, *names: str, remedies: tuple[str, ...] = ()) -> Diagnosis:
    return Diagnosis(check, check, "warning", tuple(graph.by_name(n).id for n in names), "why",
                     remedies=remedies or tuple(REMEDIES))


def test_batchnorm_follows_the_layer_kind_and_every_hidden_layer_of_a_cnn():
    g = digits_cnn()
    new, what = apply_remedy(g, "insert_batchnorm", diagnosis(g, "vanishing_gradients", "conv2d1"))
    types = {n.type for n in new.nodes.values()}
    assert {"BatchNorm2d", "BatchNorm1d"} <= types and validate(new).ok
    conv = new.by_name("conv2d1")
    after = new.nodes[new.outgoing(conv.id)[0].dst]
    assert after.type == "BatchNorm2d" and new.nodes[new.outgoing(after.id)[0].dst].name == "relu2"
    assert "after 'conv2d1'" in what and "after 'dense7'" in what and "dense9" not in what  # not after the head
    assert after.pos[0] > conv.pos[0] and new.by_name("relu2").pos[0] > g.by_name("relu2").pos[0]
    assert not offered(new, diagnosis(new, "vanishing_gradients", "conv2d1", remedies=("insert_batchnorm",)))


def test_a_sequence_gets_layernorm_and_a_signal_gets_batchnorm_per_channel():
    seq = chain("seq", {"kind": "sequence", "seq_len": 10, "features": 3},
                [("Dense", {"units": 8}), ("Tanh", {}), ("Flatten", {}), ("Dense", {"units": 2})], "multiclass",
                {"source": "builtin", "name": "iris"})
    new, _ = apply_remedy(seq, "insert_batchnorm", diagnosis(seq, "saturated_units", "tanh2"))
    assert any(n.type == "LayerNorm" for n in new.nodes.values()) and validate(new).ok
    signal = chain("signal", {"kind": "sequence", "seq_len": 20, "features": 1},
                   [("Conv1d", {"out_channels": 4}), ("ReLU", {}), ("Flatten", {}), ("Dense", {"units": 2})],
                   "multiclass", {"source": "builtin", "name": "iris"})
    new, _ = apply_remedy(signal, "insert_batchnorm", diagnosis(signal, "vanishing_gradients", "conv1d1"))
    assert any(n.type == "BatchNorm1d" for n in new.nodes.values())


def test_dropout_goes_after_the_pinned_layer_s_activation_or_in_front_of_the_head():
    g = iris_mlp()
    new, _ = apply_remedy(g, "add_dropout", diagnosis(g, "overfitting", "dense1"))
    drop = next(n for n in new.nodes.values() if n.type == "Dropout")
    assert new.incoming(drop.id)[0].src == new.by_name("relu2").id and drop.params["p"] == 0.5
    new, _ = apply_remedy(g, "add_dropout", diagnosis(g, "overfitting", "dense3"))
    drop = next(n for n in new.nodes.values() if n.type == "Dropout")
    assert new.outgoing(drop.id)[0].dst == new.by_name("dense3").id and validate(new).ok


def test_settings_remedies_change_only_their_keys():
    g = iris_mlp({"lr": 0.5, "optimizer": "adam"})
    d = diagnosis(g, "x", "output")
    assert apply_remedy(g, "weight_decay", d)[0].training["optimizer"] == "adamw"
    sgd = iris_mlp({"optimizer": "sgd"})
    assert apply_remedy(sgd, "weight_decay", d)[0].training["weight_decay"] == 5e-4
    assert apply_remedy(g, "lower_lr", d)[0].training["lr"] == pytest.approx(0.05)
    assert "raise_lr" not in [r.id for r in offered(g, d)]  # 5 would be absurd
    stopped = apply_remedy(g, "early_stopping", d)[0].training["early_stopping"]
    assert stopped == {"enabled": True, "patience": 3, "restore_best": True}
    clipped = apply_remedy(g, "clip_gradients", d)[0].training
    assert (clipped["clip"], clipped["clip_value"]) == ("norm", 1.0)
    assert "clip_gradients" not in [r.id for r in offered(apply_remedy(g, "clip_gradients", d)[0], d)]
    assert g.training == {"lr": 0.5, "optimizer": "adam"}  # the original is untouched


def test_augmentation_is_offered_for_images_only():
    iris, cnn = iris_mlp(), digits_cnn()
    assert "augmentation" not in [r.id for r in offered(iris, diagnosis(iris, "overfitting", "dense1"))]
    new, _ = apply_remedy(cnn, "augmentation", diagnosis(cnn, "overfitting", "dense7"))
    assert new.data["augment"] == {"crop_pad": 1, "rotate_deg": 10.0}


def test_retasking_sets_the_output_the_head_and_the_data_task():
    g = iris_mlp()
    d = Diagnosis("label_task_mismatch", "x", "warning", (g.by_name("output").id,), "why", measure={})
    new, _ = apply_remedy(g, "make_regression", d)
    assert new.by_name("output").params["task"] == "regression" and new.by_name("dense3").params["units"] == 1
    assert new.data["task"] == "regression"


def test_a_remedy_that_does_not_apply_is_refused_with_a_reason():
    g = iris_mlp()
    with pytest.raises(GraphError, match="no remedy"):
        apply_remedy(g, "pray", diagnosis(g, "x", "dense1"))
    stopped = iris_mlp({"early_stopping": {"enabled": True}})
    with pytest.raises(GraphError, match="does not apply"):
        apply_remedy(stopped, "early_stopping", diagnosis(stopped, "x", "dense1"))


def test_a_swapped_activation_keeps_its_frozen_flag():
    g = iris_mlp()
    relu = g.by_name("relu2")
    relu.trainable = False
    new, _ = apply_remedy(g, "swap_to_gelu", diagnosis(g, "dead_units", "relu2"))
    assert new.nodes[relu.id].type == "GELU" and new.nodes[relu.id].trainable is False
