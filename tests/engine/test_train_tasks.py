"""Task loops beyond plain classification: recurrent memory, Siamese pairs, GAN, autoencoder, binary, regression."""

from __future__ import annotations

import pytest
import torch
from sklearn.metrics import mean_absolute_error, r2_score, roc_auc_score
from torch.nn import functional as F
from train_helpers import chain, gan, recurrent, siamese, single_thread

from engine.runs import create_run
from engine.train import metrics as metrics_module
from engine.train.metrics import ClassMetrics
from engine.train.trainer import Trainer


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


def test_lstm_beats_a_plain_rnn_on_the_adding_problem():
    # 50 steps: the plain RNN's gradient vanishes before it reaches the marked values and it stays at the mean
    training = {"epochs": 10, "lr": 0.01, "batch_size": 32, "events": {"summaries": False}}
    maes = {}
    for cell in ("LSTM", "SimpleRNN"):
        result = Trainer(recurrent(cell, hidden=32, seq_len=50, n_samples=4000, training=training)).fit()
        maes[cell] = result.final["test_mae"]
    assert maes["LSTM"] < 0.1, maes
    assert maes["SimpleRNN"] > 0.25, maes  # predicting the mean (1.0) gives an MAE of about 1/3


def test_siamese_contrastive_training_separates_same_and_different_pairs():
    trainer = Trainer(siamese({"epochs": 4}))
    result = trainer.fit()
    assert trainer.task.loss_name == "contrastive"
    assert result.final["test_accuracy"] > 0.8 and result.final["test_auc"] > 0.9
    a, b = trainer.data.test.inputs
    trainer.model.eval()
    with torch.no_grad():
        distance = trainer.model(a, b).reshape(-1)
    same = trainer.data.test.target.reshape(-1).bool()
    assert distance[same].mean() < distance[~same].mean() / 2
    auc = roc_auc_score(same.numpy(), -distance.numpy())
    assert result.final["test_auc"] == pytest.approx(auc, abs=0.01)  # histogram AUC vs the exact one


def test_gan_trains_generator_and_discriminator_from_one_project(tmp_path):
    graph = gan()
    graph.training["epochs"] = 3
    run = create_run(graph, tmp_path)
    trainer = Trainer(graph, run=run)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    result = trainer.fit()
    after = trainer.model.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before)  # both networks learned
    assert 0 < result.final["val_d_real"] < 1 and 0 < result.final["val_d_fake"] < 1
    model, _ = run.load_model("last")
    noise, real = torch.randn(5, 16), trainer.data.test.inputs[0][:5]
    with torch.no_grad():
        fake, verdict = model(noise, real)
    assert fake.shape == (5, 1, 8, 8) and verdict.shape == (5, 1)
    assert 0 <= float(fake.min()) and float(fake.max()) <= 1  # the Sigmoid matches min-max-scaled digits


def test_autoencoder_learns_to_reconstruct_its_input():
    graph = chain("ae", {"kind": "image", "channels": 1, "height": 8, "width": 8}, [
        ("Flatten", {}), ("Dense", {"units": 16}), ("ReLU", {}), ("Dense", {"units": 64}),
        ("Reshape", {"shape": [1, 8, 8]})], "regression",
        {"source": "builtin", "name": "digits", "task": "autoencoder"}, {"epochs": 6, "lr": 0.005})
    trainer = Trainer(graph)
    result = trainer.fit()
    assert trainer.task.loss_name == "mse"
    assert result.final["test_r2"] > 0.6
    assert result.history[-1]["val"]["loss"] < result.history[0]["val"]["loss"] / 2


def test_binary_metrics_match_scikit_learn():
    graph = chain("cancer", {"kind": "features", "features": 30}, [("Dense", {"units": 16}), ("ReLU", {}),
                  ("Dense", {"units": 1})], "binary", {"source": "builtin", "name": "breast_cancer"}, {"epochs": 15, "lr": 0.003})
    trainer = Trainer(graph)
    result = trainer.fit()
    x, y = trainer.data.test.inputs[0], trainer.data.test.target.reshape(-1)
    trainer.model.eval()
    with torch.no_grad():
        logits = trainer.model(x).reshape(-1)
    assert result.final["test_accuracy"] == pytest.approx(float(((logits > 0).float() == y).float().mean()))
    assert result.final["test_auc"] == pytest.approx(roc_auc_score(y.numpy(), logits.numpy()), abs=0.01)
    assert result.final["test_auc"] > 0.95


def test_regression_metrics_are_in_data_units_and_match_scikit_learn():
    graph = chain("sine", {"kind": "sequence", "seq_len": 30, "features": 1}, [("Flatten", {}), ("Dense", {"units": 32}),
                  ("ReLU", {}), ("Dense", {"units": 1})], "regression", {"source": "builtin", "name": "sine"},
                  {"epochs": 4})
    trainer = Trainer(graph)
    result = trainer.fit()
    data = trainer.data
    assert "target" in data.normalization  # targets were standardized for training
    trainer.model.eval()
    with torch.no_grad():
        pred = data.denormalize_target(trainer.model(data.test.inputs[0])).reshape(-1).numpy()
    truth = data.denormalize_target(data.test.target).reshape(-1).numpy()
    assert result.final["test_mae"] == pytest.approx(mean_absolute_error(truth, pred), rel=1e-4)
    assert result.final["test_r2"] == pytest.approx(r2_score(truth, pred), abs=1e-4)


@pytest.mark.parametrize("limit", [100, 1 << 20])
def test_confusion_matrix_and_loss_sums_fold_held_batches_exactly(monkeypatch, limit):
    # a small limit folds the held batches several times during the epoch, the default once at the end
    monkeypatch.setattr(metrics_module, "PENDING_LIMIT", limit)
    torch.manual_seed(0)
    out, target = torch.randn(300, 4), torch.randint(0, 4, (300,))
    metrics = ClassMetrics(torch.device("cpu"), 4)
    for chunk in range(0, 300, 64):
        part, truth = out[chunk: chunk + 64], target[chunk: chunk + 64]
        metrics.add_loss(F.cross_entropy(part, truth), len(truth))
        metrics.update(part, truth)
    expected = torch.zeros(4, 4, dtype=torch.int64)
    for t, p in zip(target, out.argmax(1), strict=True):
        expected[t, p] += 1
    state = metrics.export_state()
    assert torch.equal(state["cm"].view(4, 4), expected) and int(state["samples"]) == 300
    computed = metrics.compute()
    assert computed["accuracy"] == pytest.approx(float(expected.diag().sum()) / 300)
    assert computed["loss"] == pytest.approx(float(F.cross_entropy(out, target)), rel=1e-6)


def test_class_metrics_leave_out_ignored_positions():
    metrics = ClassMetrics(torch.device("cpu"), 3)
    out = torch.tensor([[[5.0, 0, 0], [0, 5, 0], [0, 0, 5], [5, 0, 0]]])  # predicts 0, 1, 2, 0
    metrics.update(out, torch.tensor([[0, 1, 1, -100]]))  # the last position is past the text's end
    metrics.add_loss(torch.tensor(0.5), 1)
    assert metrics.compute()["accuracy"] == pytest.approx(2 / 3)
    assert int(metrics.state["cm"].sum()) == 3
