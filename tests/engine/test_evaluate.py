"""Evaluation numbers equal scikit-learn's on the same predictions; runs are evaluated, saved, printed and plotted."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm
from train_helpers import chain, iris_mlp, single_thread

from engine.cli import main as cli_main
from engine.evaluate import EvaluationResult, evaluate_predictions, evaluate_run
from engine.evaluate.metrics import sigmoid, softmax
from engine.evaluate.plots import write_plots


def _multiclass_case(seed: int = 0, n: int = 300, classes: int = 4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    logits = rng.normal(size=(n, classes)) + 1.5 * np.eye(classes)[y]
    return y, logits


def test_multiclass_numbers_match_sklearn():
    y, logits = _multiclass_case()
    names = ["cat", "dog", "bird", "fish"]
    r = evaluate_predictions("multiclass", y, logits, names)
    probs = softmax(logits)
    pred = probs.argmax(1)
    assert r.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert r.metrics["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert r.metrics["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert r.metrics["weighted_f1"] == pytest.approx(skm.f1_score(y, pred, average="weighted"))
    assert r.metrics["log_loss"] == pytest.approx(skm.log_loss(y, probs))
    assert r.metrics["roc_auc_ovr_macro"] == pytest.approx(skm.roc_auc_score(y, probs, multi_class="ovr"))
    assert r.confusion == skm.confusion_matrix(y, pred).tolist()
    np.testing.assert_allclose(r.confusion_normalized, skm.confusion_matrix(y, pred, normalize="true"))
    p, rec, f, support = skm.precision_recall_fscore_support(y, pred)
    for i, row in enumerate(r.per_class):
        assert row["class"] == names[i]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx(
            (p[i], rec[i], f[i], support[i]))
    for i, (roc, pr) in enumerate(zip(r.roc, r.pr, strict=True)):
        fpr, tpr, _ = skm.roc_curve(y == i, probs[:, i])
        np.testing.assert_allclose(roc.x, fpr)
        np.testing.assert_allclose(roc.y, tpr)
        assert roc.area == pytest.approx(skm.roc_auc_score(y == i, probs[:, i]))
        precision, recall, _ = skm.precision_recall_curve(y == i, probs[:, i])
        np.testing.assert_allclose(pr.x, recall)
        np.testing.assert_allclose(pr.y, precision)
        assert pr.area == pytest.approx(skm.average_precision_score(y == i, probs[:, i]))


def test_most_confidently_wrong_are_the_wrong_predictions_with_highest_confidence():
    y, logits = _multiclass_case(1)
    inputs = np.arange(len(y) * 2, dtype=np.float32).reshape(len(y), 2)
    r = evaluate_predictions("multiclass", y, logits, None, inputs=inputs)
    probs = softmax(logits)
    wrong = np.flatnonzero(probs.argmax(1) != y)
    expected = wrong[np.argsort(-probs[wrong].max(1), kind="stable")][:10]
    assert [w["index"] for w in r.wrong] == expected.tolist()
    first = r.wrong[0]
    assert first["true"] == str(y[first["index"]]) and first["pred"] == str(probs[first["index"]].argmax())
    assert first["confidence"] == pytest.approx(probs[first["index"]].max())
    assert first["input"] == inputs[first["index"]].tolist()
    assert [w["confidence"] for w in r.wrong] == sorted((w["confidence"] for w in r.wrong), reverse=True)


def test_binary_numbers_match_sklearn():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 200)
    logits = rng.normal(size=(200, 1)) + (y[:, None] - 0.5) * 2
    r = evaluate_predictions("binary", y, logits, ["no", "yes"])
    prob = sigmoid(logits[:, 0])
    pred = (prob > 0.5).astype(int)
    assert r.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, prob))
    assert r.metrics["average_precision"] == pytest.approx(skm.average_precision_score(y, prob))
    assert r.metrics["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert r.metrics["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert r.metrics["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert r.metrics["log_loss"] == pytest.approx(skm.log_loss(y, prob))
    assert r.confusion == skm.confusion_matrix(y, pred).tolist()
    assert len(r.roc) == 1 and r.roc[0].label == "yes"
    fpr, tpr, _ = skm.roc_curve(y, prob)
    np.testing.assert_allclose(r.roc[0].x, fpr)
    np.testing.assert_allclose(r.roc[0].y, tpr)


def test_multilabel_numbers_match_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, (150, 3))
    logits = rng.normal(size=(150, 3)) + (y - 0.5) * 2
    r = evaluate_predictions("multilabel", y, logits, ["a", "b", "c"])
    pred = (sigmoid(logits) > 0.5).astype(int)
    assert r.metrics["subset_accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert r.metrics["hamming_loss"] == pytest.approx(skm.hamming_loss(y, pred))
    assert r.metrics["micro_f1"] == pytest.approx(skm.f1_score(y, pred, average="micro"))
    assert r.metrics["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert r.metrics["roc_auc_macro"] == pytest.approx(skm.roc_auc_score(y, sigmoid(logits), average="macro"))


def test_regression_numbers_and_residuals_match_sklearn():
    rng = np.random.default_rng(4)
    y = rng.normal(size=(120, 1)) * 3
    pred = y + rng.normal(size=(120, 1))
    r = evaluate_predictions("regression", y, pred)
    assert r.metrics["mse"] == pytest.approx(skm.mean_squared_error(y, pred))
    assert r.metrics["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)))
    assert r.metrics["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert r.metrics["r2"] == pytest.approx(skm.r2_score(y, pred))
    assert r.metrics["explained_variance"] == pytest.approx(skm.explained_variance_score(y, pred))
    assert r.metrics["max_error"] == pytest.approx(skm.max_error(y[:, 0], pred[:, 0]))
    np.testing.assert_allclose(r.residuals["residual"], (pred - y).ravel())
    worst = int(np.abs(pred - y).argmax())
    assert r.wrong[0]["index"] == worst and r.wrong[0]["error"] == pytest.approx(abs(pred - y)[worst, 0])


def test_a_class_absent_from_the_labels_has_no_curve_and_json_stays_strict(tmp_path):
    y = np.array([0, 0, 1, 1, 0, 1])
    logits = np.random.default_rng(5).normal(size=(6, 3))
    r = evaluate_predictions("multiclass", y, logits, ["x", "y", "z"])
    assert [c.label for c in r.roc] == ["x", "y"]
    assert r.per_class[2]["support"] == 0
    r.save(tmp_path / "e.json")
    json.loads((tmp_path / "e.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    back = EvaluationResult.load(tmp_path / "e.json")
    assert back.metrics == r.to_dict()["metrics"] and back.roc[1].x == r.roc[1].x


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    from engine.runs import create_run
    from engine.train.trainer import Trainer

    graph = iris_mlp({"epochs": 3, "batch_size": 16, "lr": 0.02})
    run = create_run(graph, tmp_path_factory.mktemp("runs"))
    with single_thread():
        Trainer(graph, run=run, device="cpu").fit()
    return run


def test_evaluate_run_matches_sklearn_on_the_test_split_and_saves_json(iris_run):
    import torch

    from engine.data import load_data

    result = evaluate_run(iris_run)
    saved = json.loads((iris_run.path / "evaluation.json").read_text())
    assert saved["split"] == "test" and saved["metrics"] == result.to_dict()["metrics"]
    model, graph = iris_run.load_model("best")
    data = load_data(graph.data, seed=0)
    with torch.no_grad():
        probs = torch.softmax(model(data.test.inputs[0]), -1).numpy()
    y = data.test.target.numpy()
    assert result.n == len(y)
    assert result.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, probs.argmax(1)))
    assert result.metrics["roc_auc_ovr_macro"] == pytest.approx(skm.roc_auc_score(y, probs, multi_class="ovr"))
    assert result.class_names == ["setosa", "versicolor", "virginica"]
    for row in result.wrong:
        raw = data.test.inputs[0][row["index"]]
        mean, std = (np.asarray(data.normalization[k]) for k in ("mean", "std"))
        np.testing.assert_allclose(row["input"], raw.numpy() * std + mean, rtol=1e-5)


def test_evaluate_on_a_labelled_file_uses_the_training_statistics(iris_run, tmp_path):
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    path = tmp_path / "extra.npz"
    np.savez(path, x=x[::3].astype(np.float32), y=y[::3])
    result = evaluate_run(iris_run, split=str(path))
    assert result.n == 50 and (iris_run.path / "evaluation-extra.json").exists()
    assert result.metrics["accuracy"] > 0.5


def test_cli_evaluate_prints_tables_and_writes_pngs(iris_run, tmp_path, capsys):
    assert cli_main(["evaluate", str(iris_run.path), "--plots", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "virginica" in out and "Confusion matrix" in out
    for name in ("confusion.png", "roc.png", "pr.png"):
        data = (tmp_path / "plots" / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000


def test_regression_plots_show_residuals(tmp_path):
    rng = np.random.default_rng(6)
    y = rng.normal(size=50)
    files = write_plots(evaluate_predictions("regression", y, y + 0.1), tmp_path)
    assert [f.name for f in files] == ["residuals.png"]


def test_gan_runs_are_refused(tmp_path):
    from engine.errors import DataError
    from engine.runs import create_run

    graph = chain("gan-ish", {"kind": "features", "features": 4}, [("Dense", {"units": 2})], "multiclass",
                  {"source": "builtin", "name": "iris", "task": "gan"})
    run = create_run(graph, tmp_path)
    (run.path / "data.json").write_text(json.dumps({"task": "gan"}))
    from engine.compile import compile_graph
    from engine.export.formats import save_weights

    save_weights(compile_graph(graph), run.path / "best.safetensors")
    with pytest.raises(DataError, match="GAN"):
        evaluate_run(run)
