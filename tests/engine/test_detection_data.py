"""The `detection_folder` source: differently sized images with COCO or CSV boxes, resized with their boxes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from engine.data import load_data
from engine.datacheck import check_data
from engine.errors import DataError
from engine.templates import load_project
from engine.validate import validate

SIZE = [32, 40]
SPLIT = {"val": 0.0, "test": 0.0, "seed": 0}
FILES = {"wide.png": (80, 32), "tall.png": (20, 64), "empty.png": (40, 40)}  # width, height
BOXES = [  # file, x0, y0, x1, y1, label (original pixels)
    ("wide.png", 8, 4, 48, 20, "cat"),
    ("wide.png", 60, 0, 80, 32, "dog"),
    ("tall.png", 2, 16, 12, 48, "dog"),
]


def _folder(tmp_path):
    for name, (width, height) in FILES.items():
        pixels = np.random.default_rng(len(name)).integers(0, 255, (height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / name)
    return tmp_path


def _coco(tmp_path, boxes=BOXES, categories=None):
    ids = {name: index + 1 for index, name in enumerate(FILES)}
    categories = categories or [{"id": 7, "name": "dog"}, {"id": 3, "name": "cat"}]
    cat_id = {c["name"]: c["id"] for c in categories}
    doc = {"images": [{"id": ids[n], "file_name": n, "width": w, "height": h} for n, (w, h) in FILES.items()],
           "annotations": [{"id": i, "image_id": ids[f], "category_id": cat_id.get(label, 99),
                            "bbox": [x0, y0, x1 - x0, y1 - y0]} for i, (f, x0, y0, x1, y1, label) in enumerate(boxes)],
           "categories": categories}
    (tmp_path / "instances.json").write_text(json.dumps(doc))
    return {"source": "detection_folder", "path": str(tmp_path), "annotations": "instances.json",
            "image_size": SIZE, "color": "rgb", "split": SPLIT, "normalize": "none"}


def _csv(tmp_path, boxes=BOXES):
    lines = ["file,x0,y0,x1,y1,label"] + [",".join(map(str, row)) for row in boxes] + ["empty.png,,,,,"]
    (tmp_path / "boxes.csv").write_text("\n".join(lines) + "\n")
    return {"source": "detection_folder", "path": str(tmp_path), "annotations": "boxes.csv", "image_size": SIZE,
            "color": "grayscale", "split": SPLIT, "normalize": "none"}


def _by_image(data) -> dict[int, np.ndarray]:
    """Every image's real box rows, keyed by its width-to-height signature (splits shuffle the order)."""
    target = data.train.target.numpy() if hasattr(data.train.target, "numpy") else np.asarray(data.train.target)
    return {int((rows[:, 0] >= 0).sum()): rows[rows[:, 0] >= 0] for rows in target}


# wide.png 80x32 -> 40x32: x * 0.5, y * 1.0; tall.png 20x64 -> 40x32: x * 2, y * 0.5
WIDE_SCALED = [[8 * 0.5, 4, 48 * 0.5, 20], [60 * 0.5, 0, 80 * 0.5, 32]]
TALL_SCALED = [[2 * 2, 16 * 0.5, 12 * 2, 48 * 0.5]]


def test_coco_boxes_are_scaled_with_their_images_and_categories_become_classes(tmp_path):
    data = load_data(_coco(_folder(tmp_path)))
    assert data.task == "detection" and data.class_names == ["cat", "dog"]  # category ids 3, 7 in id order
    assert data.input_shapes == ((3, 32, 40),)
    assert tuple(data.train.target.shape) == (3, 2, 5)
    rows = _by_image(data)
    np.testing.assert_allclose(rows[2][:, 1:], WIDE_SCALED, atol=1e-5)
    np.testing.assert_allclose(rows[2][:, 0], [0, 1])
    np.testing.assert_allclose(rows[1], [[1, *TALL_SCALED[0]]], atol=1e-5)
    assert (np.asarray(rows[0]).size == 0)  # the image without annotations is all padding


def test_csv_boxes_load_the_same_as_coco(tmp_path):
    data = load_data(_csv(_folder(tmp_path)))
    assert data.class_names == ["cat", "dog"] and data.input_shapes == ((1, 32, 40),)
    target = np.asarray(data.train.target)
    assert target.shape == (3, 2, 5) and (target[:, :, 0] == -1).sum() == 3
    rows = _by_image(data)
    np.testing.assert_allclose(rows[2][:, 1:], WIDE_SCALED, atol=1e-5)
    np.testing.assert_allclose(rows[1], [[1, *TALL_SCALED[0]]], atol=1e-5)


def test_whole_number_labels_keep_their_numeric_order(tmp_path):
    boxes = [(f, x0, y0, x1, y1, {"cat": "10", "dog": "2"}[label]) for f, x0, y0, x1, y1, label in BOXES]
    assert load_data(_csv(_folder(tmp_path), boxes)).class_names == ["2", "10"]


@pytest.mark.parametrize(("kind", "change", "message"), [
    (_coco, lambda p, s: (p / "tall.png").unlink(), r"'instances.json' name image 'tall.png', which is not in"),
    (_csv, lambda p, s: _csv(p, [*BOXES, ("wide.png", 70, 4, 90, 20, "cat")]),
     r"'boxes.csv'.*'wide.png'.*outside the image \(80×32"),
    (_coco, lambda p, s: _coco(p, [*BOXES, ("tall.png", 1, 1, 5, 5, "bird")]),
     r"'instances.json': unknown category 99 on image 'tall.png'"),
    (_coco, lambda p, s: (p / "instances.json").write_text('{"images": ['), r"instances.json' are not valid JSON"),
    (_coco, lambda p, s: (p / "instances.json").write_text('{"images": []}'), r"instances.json' are not COCO-style"),
    (_csv, lambda p, s: (p / "boxes.csv").write_text("file,x0,y0\na.png,1,2\n"),
     r"'boxes.csv' lack column\(s\) \['x1', 'y1', 'label'\]"),
    (_csv, lambda p, s: (p / "boxes.csv").write_text("file,x0,y0,x1,y1,label\nwide.png,1,a,3,4,cat\n"),
     r"'boxes.csv' line 2: .*four numbers"),
    (_coco, lambda p, s: s.update(annotations="labels.txt"), r"'labels.txt': use a COCO-style .json or a .csv"),
    (_coco, lambda p, s: s.update(annotations="missing.json"), r"Annotations file not found: '.*missing.json'"),
    (_csv, lambda p, s: s.update(image_size=[0, 4]), r"image_size must be \[height, width\]"),
])
def test_bad_annotations_are_data_errors_naming_the_file(tmp_path, kind, change, message):
    folder = _folder(tmp_path)
    section = kind(folder)
    change(folder, section)
    with pytest.raises(DataError, match=message):
        load_data(section)


def test_a_detector_template_validates_against_the_folder_once_its_input_and_classes_match(tmp_path):
    section = _csv(_folder(tmp_path))
    graph = load_project("detector")
    graph.data = section
    problems = check_data(graph)
    assert [p.kind for p in problems] == ["data_shape", "data_classes"] and "(N, 1, 32, 40)" in problems[0].message
    assert "scores 5 classes but the data has 2" in problems[1].message
    graph.input_nodes()[0].params.update(height=32, width=40)
    graph.nodes[graph.incoming(graph.output_nodes()[0].id)[0].src].params["num_classes"] = 2
    assert check_data(graph) == []
    assert [p for p in validate(graph).problems if p.severity == "error"] == []
