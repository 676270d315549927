"""The detection templates learn: a few CPU epochs on a small digit_scenes set beat the mean-box baseline."""

from __future__ import annotations

import pytest
from train_helpers import single_thread

from engine.cli import main as cli_main
from engine.data import load_data
from engine.detection.average_precision import mean_average_precision
from engine.detection.baseline import mean_box_baseline
from engine.detection.postprocess import truth_detections
from engine.evaluate import evaluate_run
from engine.runs import create_run
from engine.templates import load_project
from engine.train.trainer import Trainer

SMALL = {"n_samples": 600}


def _baseline_map50(graph) -> float:
    data = load_data(graph.data, seed=0)
    test = truth_detections(data.test.target)
    guess = mean_box_baseline(truth_detections(data.train.target), len(test), len(data.class_names))
    return mean_average_precision(guess, test, len(data.class_names)).map50


@pytest.fixture(scope="module")
def one_stage_run(tmp_path_factory):
    graph = load_project("detector")
    graph.data["options"] = dict(SMALL)
    graph.training["epochs"] = 5
    run = create_run(graph, tmp_path_factory.mktemp("runs"))
    with single_thread():
        result = Trainer(graph, run=run, device="cpu").fit()
    return run, result


@pytest.mark.slow
def test_one_stage_template_beats_the_mean_box_baseline(one_stage_run):
    run, result = one_stage_run
    baseline = _baseline_map50(run.graph)
    assert baseline < 0.05
    assert result.final["test_map50"] > max(0.1, 10 * baseline)
    assert result.final["test_map"] < result.final["test_map50"]
    history = [h["val"]["map50"] for h in result.history]
    assert history[-1] > history[0]


@pytest.mark.slow
def test_evaluating_a_detector_gives_map_per_class_and_boxes_to_draw(one_stage_run, capsys):
    run, result = one_stage_run
    evaluation = evaluate_run(run)
    assert evaluation.task == "detection" and evaluation.metrics["map50"] == pytest.approx(result.final["test_map50"])
    assert [row["class"] for row in evaluation.per_class] == ["0", "1", "2", "3", "4"]
    assert len(evaluation.pr) == 5 and len(evaluation.pr[0].x) == 101
    example = evaluation.boxes[0]
    assert len(example["image"][0]) == 48 and example["truth"] and example["pred"]
    scores = [p[1] for p in example["pred"]]
    assert scores == sorted(scores, reverse=True)
    assert (run.path / "evaluation.json").exists()
    assert cli_main(["evaluate", str(run.path)]) == 0
    out = capsys.readouterr().out
    assert "map50" in out and "AP@0.5" in out


@pytest.mark.slow
def test_predict_writes_boxes_as_csv_and_json_from_the_run_and_its_onnx_export(one_stage_run, tmp_path, capsys):
    import csv
    import json

    import numpy as np
    from PIL import Image

    from engine.export import export_run
    from engine.predict import predict_file

    run, _ = one_stage_run
    data = load_data(run.graph.data, seed=0)
    images = data.test.inputs[0][:3].numpy()
    np.save(tmp_path / "scenes.npy", images)
    assert cli_main(["predict", str(run.path), str(tmp_path / "scenes.npy"), "--score", "0.3",
                     "--out", str(tmp_path / "boxes.csv")]) == 0
    assert " at (" in capsys.readouterr().out
    with (tmp_path / "boxes.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows and set(rows[0]) == {"sample", "class", "score", "x0", "y0", "x1", "y1"}
    assert {r["sample"] for r in rows} <= {"0", "1", "2"} and all(float(r["score"]) >= 0.3 for r in rows)
    found = predict_file(run.path, tmp_path / "scenes.npy", score_threshold=0.3)
    onnx = export_run(run.path, "onnx", tmp_path / "onnx")
    assert onnx.check["passed"]
    exported = predict_file(onnx.path.parent, tmp_path / "scenes.npy", score_threshold=0.3)
    assert [[b["class"] for b in r["boxes"]] for r in exported] == [[b["class"] for b in r["boxes"]] for r in found]
    for mine, theirs in zip(found, exported, strict=True):
        for a, b in zip(mine["boxes"], theirs["boxes"], strict=True):
            assert a["box"] == pytest.approx(b["box"], abs=1e-2) and a["score"] == pytest.approx(b["score"], abs=1e-4)
    # an image file of another size: boxes come back in its own pixels
    Image.fromarray((images[0, 0] * 255).astype(np.uint8)).resize((96, 96)).save(tmp_path / "big.png")
    assert cli_main(["predict", str(run.path), str(tmp_path / "big.png"), "--score", "0.3",
                     "--out", str(tmp_path / "big.json")]) == 0
    [big] = json.loads((tmp_path / "big.json").read_text())
    small = found[0]["boxes"]
    if big["boxes"] and small:
        assert big["boxes"][0]["box"][2] == pytest.approx(2 * small[0]["box"][2], abs=3.0)
