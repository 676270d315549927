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
