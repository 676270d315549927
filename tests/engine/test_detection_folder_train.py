"""A detector trained on the user's own detection data: a folder of images of different sizes with boxes in a
COCO JSON or a CSV. 'Match the data' fits the template to the folder, a few epochs train, and evaluation
reports mAP and AP per named class."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.cli import main as cli_main
from engine.data import load_data
from engine.datacheck import check_data, describe_data, match_data
from engine.detection.average_precision import mean_average_precision
from engine.detection.baseline import mean_box_baseline
from engine.detection.postprocess import truth_detections
from engine.evaluate import evaluate_run
from engine.runs import create_run
from engine.templates import load_project
from engine.train.trainer import Trainer
from tests.engine.train_helpers import single_thread

SIZES = [(48, 48), (72, 40), (36, 60), (96, 96)]  # width, height: every image is resized to 48 x 48
CLASSES = ["disc", "square"]


def _scenes(folder, count: int = 90) -> list[tuple[str, list[tuple[str, float, float, float, float]]]]:
    """`count` noisy grey images of the SIZES, each with one to three bright discs or squares, and their boxes."""
    rng = np.random.default_rng(0)
    listing = []
    for i in range(count):
        width, height = SIZES[i % len(SIZES)]
        image = Image.fromarray(rng.integers(0, 60, (height, width), dtype=np.uint8))
        draw, boxes = ImageDraw.Draw(image), []
        for _ in range(int(rng.integers(1, 4))):
            side = int(rng.integers(10, 17)) * min(width, height) // 48
            x0, y0 = int(rng.integers(0, width - side)), int(rng.integers(0, height - side))
            if any(x0 < b[3] + 2 and b[1] < x0 + side + 2 and y0 < b[4] + 2 and b[2] < y0 + side + 2 for b in boxes):
                continue  # no overlaps: every object is seen whole
            label = CLASSES[int(rng.integers(0, 2))]
            shape = draw.ellipse if label == "disc" else draw.rectangle
            shape([x0, y0, x0 + side - 1, y0 + side - 1], fill=230)
            boxes.append((label, x0, y0, x0 + side, y0 + side))
        name = f"scene{i:03d}.png"
        image.save(folder / name)
        listing.append((name, boxes))
    return listing


def _write_coco(folder, listing) -> str:
    ids = {name: 5 + 2 * k for k, name in enumerate(CLASSES)}  # category ids 5 and 7, in the order of CLASSES
    doc = {"images": [{"id": i, "file_name": name} for i, (name, _) in enumerate(listing)],
           "annotations": [{"id": len(listing) * i + j, "image_id": i, "category_id": ids[label],
                            "bbox": [x0, y0, x1 - x0, y1 - y0]}
                           for i, (_, boxes) in enumerate(listing) for j, (label, x0, y0, x1, y1) in enumerate(boxes)],
           "categories": [{"id": ids[name], "name": name} for name in CLASSES]}
    (folder / "instances.json").write_text(json.dumps(doc))
    return "instances.json"


def _write_csv(folder, listing) -> str:
    lines = ["file,x0,y0,x1,y1,label"] + [f"{name},{x0},{y0},{x1},{y1},{label}"
                                          for name, boxes in listing for label, x0, y0, x1, y1 in boxes]
    (folder / "boxes.csv").write_text("\n".join(lines) + "\n")
    return "boxes.csv"


@pytest.mark.slow
@pytest.mark.parametrize("write", [_write_coco, _write_csv], ids=["coco", "csv"])
def test_a_detector_trains_on_a_folder_of_differently_sized_images_and_evaluates_map(tmp_path, write, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    listing = _scenes(folder)
    graph = load_project("detector")
    graph.data = {"source": "detection_folder", "path": str(folder), "annotations": write(folder, listing),
                  "image_size": [48, 48], "color": "rgb"}
    graph.training.update(epochs=6, events={"summaries": False})
    info = describe_data(graph.data)
    assert info["class_names"] == CLASSES and info["input_shapes"] == [[3, 48, 48]]
    assert {p.kind for p in check_data(graph)} == {"data_shape", "data_classes"}
    assert match_data(graph, info) and check_data(graph) == []
    head = graph.nodes[graph.incoming(graph.output_nodes()[0].id)[0].src]
    assert head.params["num_classes"] == 2 and graph.input_nodes()[0].params["channels"] == 3

    run = create_run(graph, tmp_path / "runs")
    with single_thread():
        result = Trainer(graph, run=run, device="cpu").fit()
    first, last = result.history[0], result.history[-1]
    assert last["train"]["loss"] < first["train"]["loss"]
    evaluation = evaluate_run(run)
    assert evaluation.task == "detection"
    assert evaluation.metrics["map50"] == pytest.approx(result.final["test_map50"])
    assert evaluation.metrics["map"] <= evaluation.metrics["map50"] <= 1.0
    data = load_data(graph.data, seed=0)
    truth = truth_detections(data.test.target)
    guess = mean_box_baseline(truth_detections(data.train.target), len(truth), len(CLASSES))
    baseline = mean_average_precision(guess, truth, len(CLASSES)).map50
    assert evaluation.metrics["map50"] > max(0.1, 5 * baseline)  # about 0.3 after six epochs
    assert [row["class"] for row in evaluation.per_class] == CLASSES
    assert len(evaluation.boxes[0]["image"]) == 3 and evaluation.boxes[0]["truth"]
    assert cli_main(["evaluate", str(run.path)]) == 0
    out = capsys.readouterr().out
    assert "map50" in out and "disc" in out and "square" in out
