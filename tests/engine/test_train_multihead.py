"""Several Output nodes trained together: per-head targets, losses, weights and metrics."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from engine.errors import TrainingError
from engine.graph import Graph
from engine.train.config import TrainingConfig
from engine.train.multihead import MultiHeadTask
from engine.train.trainer import Trainer
from tests.engine.train_helpers import single_thread


def classifier_with_box_head(digit: dict | None = None, box: dict | None = None, epochs: int = 4) -> Graph:
    """digit_boxes as multitask: a conv trunk, a 10-class 'digit' head and an auxiliary 4-number 'box' head."""
    g = Graph(name="digit and box", data={"source": "builtin", "name": "digit_boxes", "task": "multitask",
                                          "options": {"n_samples": 2000}},
              training={"epochs": epochs, "batch_size": 32, "lr": 3e-3, "seed": 0,
                        "events": {"summaries": False}})
    prev = g.add_node("Input", "image", {"kind": "image", "channels": 1, "height": 24, "width": 24}).id
    for i, (type_id, params) in enumerate([("Conv2d", {"out_channels": 16}), ("ReLU", {}), ("MaxPool2d", {}),
                                           ("Conv2d", {"out_channels": 32}), ("ReLU", {}), ("MaxPool2d", {}),
                                           ("Flatten", {}), ("Dense", {"units": 64}), ("ReLU", {})]):
        node = g.add_node(type_id, f"l{i}", params)
        g.connect(prev, node.id)
        prev = node.id
    for name, units, task, extra in (("digit", 10, "multiclass", digit), ("box", 4, "regression", box)):
        dense = g.add_node("Dense", f"{name}_fc", {"units": units})
        g.connect(prev, dense.id)
        g.connect(dense.id, g.add_node("Output", name, {"task": task, **(extra or {})}).id)
    return g


def test_classifier_with_auxiliary_box_head_trains_and_reports_both_heads():
    with single_thread():
        result = Trainer(classifier_with_box_head(epochs=8)).fit()
    first, last = result.history[0]["val"], result.history[-1]["val"]
    for name in ("loss", "digit_loss", "digit_accuracy", "digit_f1", "box_loss", "box_mae", "box_r2"):
        assert name in last
    assert last["digit_accuracy"] > 0.4  # chance is 0.1
    assert last["box_r2"] > 0.4 and last["loss"] < first["loss"]
    assert last["loss"] == pytest.approx(last["digit_loss"] + last["box_loss"], rel=1e-6)
    assert "test_digit_accuracy" in result.final and "test_box_r2" in result.final


def test_total_loss_is_the_weighted_sum_of_the_heads_losses():
    graph = classifier_with_box_head(box={"loss_weight": 5.0, "loss": "mae"}, epochs=1)
    trainer = Trainer(graph)
    task = trainer.task
    assert isinstance(task, MultiHeadTask) and [h.name for h in task.heads] == ["digit", "box"]
    inputs, target = next(trainer.data.batches("val", 64, shuffle=False, device=torch.device("cpu")))
    metrics = task.new_metrics()
    task.eval_batch((inputs, target), metrics)
    values = metrics.compute()
    with torch.no_grad():
        digit_out, box_out = trainer.model(*inputs)
    ce = torch.nn.functional.cross_entropy(digit_out, target[:, 0].long())
    mae = (box_out - target[:, 1:]).abs().mean()
    assert values["digit_loss"] == pytest.approx(float(ce), rel=1e-5)
    assert values["box_loss"] == pytest.approx(float(mae), rel=1e-5)
    assert values["loss"] == pytest.approx(float(ce + 5.0 * mae), rel=1e-5)


def test_monitoring_a_head_metric_picks_its_direction():
    assert TrainingConfig.from_dict({"monitor": "val_box_mae"}).mode == "min"
    assert TrainingConfig.from_dict({"monitor": "val_digit_accuracy"}).mode == "max"


def test_an_output_reading_a_missing_field_is_named_with_the_fields_there_are():
    graph = classifier_with_box_head(box={"target": "bbox"})
    with pytest.raises(TrainingError, match=r"Output 'box'.*no target field\(s\) \['bbox'\].*digit, box"):
        Trainer(graph)


def test_a_class_head_with_the_wrong_number_of_scores_is_named():
    graph = classifier_with_box_head()
    graph.by_name("digit_fc").params["units"] = 7
    with pytest.raises(TrainingError, match="Output 'digit'.*7 scores.*10 classes"):
        Trainer(graph)


def test_csv_target_columns_become_fields_and_text_classes_are_encoded(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 3, generator=g)
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2],
                          "kind": ["big" if v > 0 else "small" for v in x[:, 0]],
                          "size": (2 * x[:, 1] - x[:, 2]).numpy()})
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    graph = Graph(name="csv heads", data={"source": "csv", "path": str(path), "task": "multitask",
                                          "target": "kind, size"},
                  training={"epochs": 30, "batch_size": 32, "lr": 1e-2, "events": {"summaries": False}})
    inp = graph.add_node("Input", "x", {"kind": "features", "features": 3}).id
    hidden = graph.add_node("Dense", "hidden", {"units": 16})
    graph.connect(inp, hidden.id)
    act = graph.add_node("ReLU", "act", {})
    graph.connect(hidden.id, act.id)
    for name, units, task in (("kind", 2, "multiclass"), ("size", 1, "regression")):
        dense = graph.add_node("Dense", f"{name}_fc", {"units": units})
        graph.connect(act.id, dense.id)
        graph.connect(dense.id, graph.add_node("Output", name, {"task": task}).id)
    with single_thread():
        result = Trainer(graph).fit()
    assert result.final["val_kind_accuracy"] > 0.9 and result.final["val_size_r2"] > 0.9
    assert result.run is None


@pytest.fixture(scope="module")
def two_head_run(tmp_path_factory):
    from engine.runs import create_run

    graph = classifier_with_box_head(epochs=2)
    run = create_run(graph, tmp_path_factory.mktemp("runs"))
    with single_thread():
        Trainer(graph, run=run, device="cpu").fit()
    return run


def test_each_head_is_evaluated_on_its_own_field_and_saved(two_head_run):
    from sklearn import metrics as skm

    from engine.data import load_data
    from engine.evaluate import evaluate_run

    digit = evaluate_run(two_head_run)
    box = evaluate_run(two_head_run, head="box")
    assert digit.head == "digit" and digit.task == "multiclass" and digit.class_names[:3] == ["0", "1", "2"]
    assert box.head == "box" and box.task == "regression"
    assert (two_head_run.path / "evaluation.json").exists() and (two_head_run.path / "evaluation-box.json").exists()
    model, graph = two_head_run.load_model("best")
    data = load_data(graph.data, seed=0)
    with torch.no_grad():
        digit_out, box_out = model(data.test.inputs[0])
    truth = data.test.target
    assert digit.metrics["accuracy"] == pytest.approx(skm.accuracy_score(truth[:, 0], digit_out.argmax(1)))
    assert box.metrics["mae"] == pytest.approx(float((box_out - truth[:, 1:]).abs().mean()), rel=1e-5)


def test_cli_evaluate_prints_every_head(two_head_run, capsys):
    from engine.cli import main as cli_main

    assert cli_main(["evaluate", str(two_head_run.path)]) == 0
    out = capsys.readouterr().out
    assert "head 'digit'" in out and "head 'box'" in out and "Confusion matrix" in out and "r2" in out


def test_predict_answers_for_every_head_from_the_run_the_cli_and_exports(two_head_run, tmp_path, capsys):
    import csv
    import json

    import numpy as np

    from engine.cli import main as cli_main
    from engine.data import load_data
    from engine.export import export_run
    from engine.predict import load_predictor, predict_file

    model, graph = two_head_run.load_model("best")
    data = load_data(graph.data, seed=0)
    images = data.test.inputs[0][:4]
    np.save(tmp_path / "images.npy", images.numpy())
    with torch.no_grad():
        digit_out, box_out = model(images)
    rows = predict_file(two_head_run.path, tmp_path / "images.npy")
    assert [list(r["heads"]) for r in rows] == [["digit", "box"]] * 4
    assert [r["heads"]["digit"]["classes"][0][0] for r in rows] == [str(int(c)) for c in digit_out.argmax(1)]
    np.testing.assert_allclose([r["heads"]["box"]["values"] for r in rows], box_out.numpy(), atol=1e-5)
    assert load_predictor(two_head_run.path).record["outputs"][0]["class_names"][:2] == ["0", "1"]

    assert cli_main(["predict", str(two_head_run.path), str(tmp_path / "images.npy"),
                     "--out", str(tmp_path / "p.csv")]) == 0
    out = capsys.readouterr().out
    assert "digit: " in out and "box: " in out
    with (tmp_path / "p.csv").open() as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == ["sample", "digit", "box"]
    assert json.loads(table[0]["box"]) == pytest.approx(rows[0]["heads"]["box"]["values"])
    for fmt in ("torchscript", "onnx", "python", "safetensors"):
        exported = export_run(two_head_run.path, fmt, tmp_path / fmt)
        got = predict_file(exported.path.parent, tmp_path / "images.npy")
        assert [r["heads"]["digit"]["classes"][0][0] for r in got] == \
            [r["heads"]["digit"]["classes"][0][0] for r in rows]
        np.testing.assert_allclose([r["heads"]["box"]["values"] for r in got],
                                   [r["heads"]["box"]["values"] for r in rows], atol=1e-4)


def test_which_heads_answer_and_how_their_answers_are_named():
    import numpy as np

    from engine.predict import describe_predictions

    record = {"outputs": [{"name": "kind", "task": "multiclass", "class_names": ["big", "small"]},
                          {"name": "size", "task": "regression"}],
              "class_names": None, "normalization": {"method": "none"}}
    kind, size = np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([[1.5], [-2.0]])
    rows = describe_predictions(record, [kind, size])
    assert [r["heads"]["kind"]["classes"][0][0] for r in rows] == ["big", "small"]
    assert [r["heads"]["size"]["values"] for r in rows] == [[1.5], [-2.0]]
    assert rows[0]["heads"]["kind"]["classes"][0][1] == pytest.approx(1 / (1 + np.exp(-2.0)))
    only_main = [[("big", pytest.approx(0.881, abs=1e-3))], [("small", pytest.approx(0.731, abs=1e-3))]]
    assert [r["classes"] for r in describe_predictions(record, kind)] == only_main  # the main output alone
    assert [r["classes"] for r in describe_predictions(record, [kind])] == only_main  # a loader giving one
    detector = {"outputs": [{"name": "proposals", "task": "detection"}, {"name": "detections", "task": "detection"}],
                "class_names": ["a", "b"], "normalization": {"method": "none"}}
    proposals = np.zeros((1, 1, 9))
    found = np.array([[[0, 0, 4, 4, 1, 1, 5, 5, -9.0, 3.0]]])
    [row] = describe_predictions(detector, [proposals, found])
    assert row["boxes"] == [{"class": "b", "class_id": 1, "score": pytest.approx(1 / (1 + np.exp(-3.0))),
                             "box": [1.0, 1.0, 5.0, 5.0]}]
