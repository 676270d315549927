"""The Predict dialog on a trained detector draws its boxes with class and score and a working score slider,
and on a project with two heads (a classifier with an auxiliary box regression) shows both heads' answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from editor.training.predict_dialog import PredictDialog
from engine.data import load_data
from engine.predict import predict_file
from engine.runs import create_run
from engine.templates import load_project
from engine.train.trainer import Trainer
from tests.engine.test_train_multihead import classifier_with_box_head
from tests.engine.train_helpers import single_thread


def _trained(graph, folder: Path) -> Path:
    graph.training["events"] = {"summaries": False}
    run = create_run(graph, folder)
    with single_thread():
        Trainer(graph, run=run, device="cpu").fit()
    return run.path


@pytest.fixture(scope="module")
def detector_run(tmp_path_factory) -> Path:
    """The one-stage detector template, trained for two quick epochs on 200 digit scenes."""
    graph = load_project("detector")
    graph.data["options"] = {"n_samples": 200}
    graph.training["epochs"] = 2
    return _trained(graph, tmp_path_factory.mktemp("detector"))


@pytest.fixture
def scenes(detector_run, tmp_path) -> Path:
    data = load_data(load_project("detector").data | {"options": {"n_samples": 200}}, seed=0)
    path = tmp_path / "scenes.npy"
    np.save(path, data.test.inputs[0][:3].numpy())
    return path


def _predict(qtbot, run: Path, path: Path) -> PredictDialog:
    dialog = PredictDialog(run)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.set_paths([path])
    qtbot.mouseClick(dialog.predict_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=60_000)
    assert not dialog.error, dialog.error
    return dialog


def _column(dialog: PredictDialog, start: str) -> list[str]:
    headers = [dialog.table.horizontalHeaderItem(c).text() for c in range(dialog.table.columnCount())]
    c = next(i for i, h in enumerate(headers) if h.startswith(start))
    return [dialog.table.item(r, c).text() for r in range(dialog.table.rowCount())]


def _coloured_pixels(image: QImage) -> int:
    """Pixels that are not grey: the boxes and their labels (the scene itself is drawn in grey)."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    rgb = pixels[:, : image.width() * 3].reshape(image.height(), image.width(), 3).astype(int)
    return int((np.ptp(rgb, axis=2) > 30).sum())


def test_a_detectors_boxes_are_drawn_with_class_and_score_and_follow_the_slider(qtbot, detector_run, scenes):
    dialog = _predict(qtbot, detector_run, scenes)
    panel = dialog.boxes
    assert dialog.info.best.startswith("val_map50 ")  # the metric the run monitored
    assert panel.isVisible() and len(panel.cells) == 3
    panel.slider.setValue(panel.slider.minimum())
    low = panel.threshold
    assert low == pytest.approx(0.05)
    counts = panel.shown_predictions()
    expected = predict_file(detector_run, scenes, score_threshold=low)
    assert counts == [len(r["boxes"]) for r in expected] and sum(counts) > 0
    assert [int(n) for n in _column(dialog, "boxes")] == counts
    listing = _column(dialog, "class score")
    for text, row in zip(listing, expected, strict=True):
        for box in row["boxes"]:
            assert f"{box['class']} {box['score']:.2f} (" in text
    drawn = [_coloured_pixels(cell.pixmap().toImage()) for cell in panel.cells]
    assert all(d > 0 for d, n in zip(drawn, counts, strict=True) if n)

    best = max(b["score"] for row in expected for b in row["boxes"])
    panel.slider.setValue(min(100, int(best * 100) + 1))  # above every score: no box left
    assert panel.shown_predictions() == [0, 0, 0]
    assert _column(dialog, "boxes") == ["0", "0", "0"] and _column(dialog, "class score") == ["none"] * 3
    assert all(_coloured_pixels(cell.pixmap().toImage()) == 0 for cell in panel.cells)
    assert f"{panel.threshold:.2f}" in panel.value.text()


def test_boxes_on_image_files_are_listed_in_their_own_pixels_and_drawn_on_the_models(qtbot, detector_run, scenes,
                                                                                      tmp_path):
    from PIL import Image

    pixels = np.load(scenes)
    paths = []
    for k, side in enumerate((96, 144)):  # two files, each three times or twice the model's 48 pixels
        paths.append(tmp_path / f"scene{k}.png")
        Image.fromarray((pixels[k, 0] * 255).astype(np.uint8)).resize((side, side), Image.NEAREST).save(paths[-1])
    dialog = PredictDialog(detector_run)
    qtbot.addWidget(dialog)
    dialog.set_paths(paths)
    dialog.start_predict()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=60_000)
    assert not dialog.error, dialog.error
    low, found = dialog.boxes.slider.minimum() / 100, 0
    for k, path in enumerate(paths):
        [row] = predict_file(detector_run, path, score_threshold=low)
        cli = row["boxes"]
        found += len(cli)
        mine = dialog.prediction.rows[k]["boxes"]
        assert [b["class"] for b in mine] == [b["class"] for b in cli]
        for a, b in zip(mine, cli, strict=True):
            assert a["box"] == pytest.approx(b["box"], abs=1e-3)
        drawn = dialog.prediction.box_examples()[k]["pred"]
        side = (96, 144)[k]
        for a, b in zip(drawn, cli, strict=True):
            assert a[2:] == pytest.approx([v * 48 / side for v in b["box"]], abs=1e-3)
            assert max(a[2:]) <= 48 + 1
    assert found


def test_a_classifier_with_an_auxiliary_box_head_shows_both_heads_answers(qtbot, tmp_path):
    graph = classifier_with_box_head(epochs=1)
    graph.data["options"] = {"n_samples": 300}
    run = _trained(graph, tmp_path / "runs")
    data = load_data(graph.data, seed=0)
    images = data.test.inputs[0][:5]
    np.save(tmp_path / "images.npy", images.numpy())
    dialog = _predict(qtbot, run, tmp_path / "images.npy")
    assert not dialog.boxes.isVisible()
    task = next(w.text() for w in dialog.findChildren(QLabel) if w.text().startswith("digit: "))
    assert task == "digit: multiclass, 10 classes (0, 1, 2, 3, 4, 5, …) · box: regression"
    assert dialog.info.best.startswith("val_digit_accuracy ")  # a head's first metric that is not a loss
    headers = [dialog.table.horizontalHeaderItem(c).text() for c in range(dialog.table.columnCount())]
    assert headers[3:] == ["digit: class", "digit: confidence", "box[0]", "box[1]", "box[2]", "box[3]"]
    from engine.runs import open_run

    model, _ = open_run(run).load_model("best")
    with torch.no_grad():
        digit_out, box_out = model(images)
    assert _column(dialog, "digit: class") == [str(int(c)) for c in digit_out.argmax(1)]
    shown = [[float(dialog.table.item(r, c).data(Qt.ItemDataRole.UserRole)) for c in range(5, 9)]
             for r in range(5)]
    np.testing.assert_allclose(shown, box_out.numpy(), atol=1e-5)
    saved = dialog.save_csv(tmp_path / "p.csv")
    assert saved and "digit: class" in saved.read_text().splitlines()[0]
