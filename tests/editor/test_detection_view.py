"""The evaluation view of a detector draws true and predicted boxes with a working score-threshold slider."""

from __future__ import annotations

import numpy as np
import torch

from engine.detection.average_precision import Detections
from engine.evaluate.detection import evaluate_detections


def _result():
    rng = np.random.default_rng(0)
    images = rng.random((3, 1, 24, 24)).astype(np.float32)
    truth = torch.tensor([[[0, 2, 2, 10, 10], [1, 12, 12, 22, 20]],
                          [[1, 4, 4, 12, 12], [-1, 0, 0, 0, 0]],
                          [[0, 0, 0, 8, 8], [-1, 0, 0, 0, 0]]], dtype=torch.float32)
    found = [Detections(np.array([[2, 2, 10, 10], [12, 12, 22, 20], [0, 0, 5, 5.0]]), np.array([0, 1, 1]),
                        np.array([0.9, 0.6, 0.2])),
             Detections(np.array([[4, 4, 12, 12.0]]), np.array([1]), np.array([0.4])),
             Detections(np.zeros((0, 4)), np.zeros(0, int), np.zeros(0))]
    return evaluate_detections(found, truth, ["cat", "dog"], images)


def test_detection_evaluation_shows_boxes_instead_of_a_confusion_matrix(qtbot):
    from editor.training.evaluation_view import EvaluationView

    result = _result()
    assert result.metrics["map50"] < 1.0 and len(result.boxes) == 3
    view = EvaluationView()
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    view.show_result(result)
    assert view.boxes.isVisible() and not view.confusion.isVisible() and not view.wrong_box.isVisible()
    assert "map50" in view.summary.text()
    assert view.table.rowCount() == 2 and view.table.horizontalHeaderItem(1).text() == "ap"
    panel = view.boxes
    assert len(panel.cells) == 3 and panel.cells[0].pixmap().width() > 100
    panel.slider.setValue(50)
    assert panel.shown_predictions() == [2, 0, 0] and panel.value.text() == "0.50"
    panel.slider.setValue(10)
    assert panel.shown_predictions() == [3, 1, 0] and "3 predicted" in panel.cells[0].toolTip()


def test_drawn_boxes_colour_the_pixels_of_predictions_above_the_threshold(qtbot):
    from editor.training.boxes_view import draw_boxes

    example = {"image": np.zeros((24, 24)).tolist(), "truth": [], "pred": [[0, 0.9, 4, 4, 20, 20]]}
    shown = draw_boxes(example, ["cat"], 0.5, pixels=96).toImage()
    hidden = draw_boxes(example, ["cat"], 0.95, pixels=96).toImage()
    edge = shown.pixelColor(40, 80)  # on the box's bottom edge (y = 20 * 4)
    assert edge.saturation() > 50 and hidden.pixelColor(40, 80).saturation() == 0


def test_a_classification_result_hides_the_boxes_again(qtbot):
    from editor.training.evaluation_view import EvaluationView
    from engine.evaluate.metrics import evaluate_predictions

    view = EvaluationView()
    qtbot.addWidget(view)
    view.show()
    view.show_result(_result())
    truth = np.array([0, 1, 2, 1])
    view.show_result(evaluate_predictions("multiclass", truth, np.eye(3)[truth], ["a", "b", "c"]))
    assert not view.boxes.isVisible() and view.wrong_box.isVisible() and view.confusion.isVisible()


def test_a_detection_head_scoring_other_classes_than_the_data_is_fixed_from_its_output_node(window, qtbot):
    from engine.templates import load_project

    graph = load_project("detector")
    graph.data["options"] = {"classes": 3, "n_samples": 60}
    c = window.controller
    c.load_graph(graph)
    qtbot.waitUntil(lambda: c.data_info is not None, timeout=120_000)
    out = c.graph.output_nodes()[0].id
    head = c.graph.incoming(out)[0].src
    qtbot.waitUntil(lambda: not c.validation.ok, timeout=10_000)
    note = c.view.nodes[out].view.note_item
    assert "scores 5 classes but the data has 3" in note.text and note.fix == "Match the data"
    note.click_fix()
    qtbot.waitUntil(lambda: c.validation.ok, timeout=10_000)
    assert c.graph.nodes[head].params["num_classes"] == 3 and "valid" in window.valid_label.text()
