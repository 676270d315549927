"""The Predict dialog on real runs: iris rows from a CSV give the classes `deepwire predict` gives, top k, bad
files and missing weights as messages, Save as CSV, digit images with thumbnails, and the Training menu action."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu, QToolBar
from sklearn.datasets import load_digits, load_iris

from editor.training.predict_dialog import MAX_VALUE_COLUMNS, ModelInfo, PredictDialog, result_columns
from engine.data.load import load_data
from engine.graph import Graph
from engine.predict import predict_file
from engine.runs import BEST, CHECKPOINTS, create_run
from engine.train.trainer import Trainer

QUIET = {"epochs": 2, "batch_size": 32, "schedule": "none", "events": {"summaries": False, "batch_rate_hz": 1.0}}


def chain(name: str, input_params: dict, layers: list[tuple[str, dict]], data: dict,
          task: str = "multiclass") -> Graph:
    """Input -> layers... -> Output(task) on `data`, trained quietly."""
    graph = Graph(name=name, data=data, training=dict(QUIET))
    prev = graph.add_node("Input", "input", input_params).id
    for i, (type_id, params) in enumerate(layers):
        node = graph.add_node(type_id, f"{type_id.lower()}{i + 1}", params)
        graph.connect(prev, node.id)
        prev = node.id
    graph.connect(prev, graph.add_node("Output", "output", {"task": task}).id)
    return graph


def train(graph: Graph, run_dir: Path, epochs: int) -> Path:
    """A real run folder, trained for `epochs` on one thread the way `deepwire train` does."""
    graph.training["epochs"] = epochs
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = create_run(graph, run_dir)
        Trainer(graph, run=run).fit()
    finally:
        torch.set_num_threads(before)
    return run.path


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory) -> Path:
    graph = chain("iris predict", {"kind": "features", "features": 4},
                  [("Dense", {"units": 16}), ("ReLU", {}), ("Dense", {"units": 3})],
                  {"source": "builtin", "name": "iris"})
    return train(graph, tmp_path_factory.mktemp("iris") / "runs", epochs=3)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    graph = chain("digits predict", {"kind": "image", "channels": 1, "height": 8, "width": 8},
                  [("Conv2d", {"out_channels": 8}), ("ReLU", {}), ("Flatten", {}), ("Dense", {"units": 10})],
                  {"source": "builtin", "name": "digits"})
    return train(graph, tmp_path_factory.mktemp("digits") / "runs", epochs=1)


@pytest.fixture(scope="module")
def text_run(tmp_path_factory) -> Path:
    """A binary classifier of short reviews read from a CSV text column (good or bad opinion words)."""
    folder = tmp_path_factory.mktemp("reviews")
    rows = [f"{filler} {word} {filler},{label}" for i, filler in enumerate(["the film was", "a story and"] * 20)
            for word, label in ((["great", "superb"][i % 2], "positive"), (["dull", "awful"][i % 2], "negative"))]
    (folder / "reviews.csv").write_text("review,opinion\n" + "\n".join(rows) + "\n")
    section = {"source": "csv", "path": str(folder / "reviews.csv"), "text": "review", "target": "opinion"}
    data = load_data(section)
    graph = chain("reviews predict", {"kind": "tokens", "seq_len": data.text["seq_len"]}, [
        ("Embedding", {"num_embeddings": data.vocab_size, "embedding_dim": 8, "padding_idx": 0}),
        ("Flatten", {}), ("Dense", {"units": 1})], section, task="binary")
    return train(graph, folder / "runs", epochs=2)


@pytest.fixture
def iris_csv(tmp_path) -> Path:
    """Twelve iris rows (four from each species) with a header, as a user would export them."""
    iris = load_iris()
    rows = np.concatenate([iris.data[i:i + 4] for i in (0, 50, 100)])
    path = tmp_path / "new flowers.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sepal length", "sepal width", "petal length", "petal width"])
        writer.writerows(rows.tolist())
    return path


def dialog_on(qtbot, run: Path) -> PredictDialog:
    dialog = PredictDialog(run)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def predict(qtbot, dialog: PredictDialog) -> None:
    """Press Predict and wait for the worker's answer."""
    qtbot.mouseClick(dialog.predict_button, Qt.MouseButton.LeftButton)
    assert dialog.busy or dialog.error
    qtbot.waitUntil(lambda: not dialog.busy, timeout=60_000)


def column(dialog: PredictDialog, header: str) -> list[str]:
    headers = [dialog.table.horizontalHeaderItem(c).text() for c in range(dialog.table.columnCount())]
    c = headers.index(header)
    return [dialog.table.item(r, c).text() for r in range(dialog.table.rowCount())]


def test_dialog_names_the_run_and_offers_top_k_for_iris(qtbot, iris_run):
    dialog = dialog_on(qtbot, iris_run)
    texts = [label.text() for label in dialog.findChildren(type(dialog.status))]
    assert iris_run.name in texts and "iris predict" in texts
    assert any(t.startswith("val_") for t in texts), texts
    assert dialog.top_spin.isVisibleTo(dialog) and dialog.top_spin.maximum() == 3
    assert not dialog.save_button.isEnabled()


def test_csv_rows_get_the_classes_deepwire_predict_gives(qtbot, iris_run, iris_csv):
    expected = predict_file(iris_run, iris_csv, top=2)
    dialog = dialog_on(qtbot, iris_run)
    dialog.set_paths([iris_csv])
    predict(qtbot, dialog)
    assert dialog.error == ""
    assert dialog.table.rowCount() == 12
    assert column(dialog, "class") == [row["classes"][0][0] for row in expected]
    assert column(dialog, "confidence") == [f"{row['classes'][0][1]:.1%}" for row in expected]
    assert column(dialog, "input")[0] == "new flowers.csv #1"

    dialog.top_spin.setValue(2)
    predict(qtbot, dialog)
    assert column(dialog, "class 1") == [row["classes"][0][0] for row in expected]
    assert column(dialog, "class 2") == [row["classes"][1][0] for row in expected]
    assert "12 prediction(s)" in dialog.status.text()


def test_save_as_csv_writes_the_table_with_full_precision(qtbot, iris_run, iris_csv, tmp_path):
    expected = predict_file(iris_run, iris_csv)
    dialog = dialog_on(qtbot, iris_run)
    dialog.set_paths([iris_csv])
    predict(qtbot, dialog)
    assert dialog.save_button.isEnabled()
    written = dialog.save_csv(tmp_path / "predictions.csv")
    with written.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["#", "input", "class", "confidence"]
    assert len(rows) == 13
    for got, want in zip(rows[1:], expected, strict=True):
        assert got[0] == str(want["index"] + 1)
        assert got[2] == want["classes"][0][0]
        assert float(got[3]) == pytest.approx(want["classes"][0][1], rel=1e-9)
    assert str(written) in dialog.status.text()
    assert dialog.save_csv(tmp_path / "missing folder" / "p.csv") is None
    assert "missing folder" in dialog.error and "Pick another folder" in dialog.error


def test_bad_files_show_a_message_naming_the_file_and_what_to_do(qtbot, iris_run, tmp_path):
    dialog = dialog_on(qtbot, iris_run)
    notes = tmp_path / "notes.json"
    notes.write_text("{}")
    dialog.set_paths([notes])
    predict(qtbot, dialog)
    assert "notes.json" in dialog.error and "predict reads .csv" in dialog.error
    assert "Traceback" not in dialog.error and dialog.status.text() == dialog.error
    assert dialog.table.rowCount() == 0 and dialog.predict_button.isEnabled()

    narrow = tmp_path / "two columns.csv"
    narrow.write_text("a,b\n1,2\n3,4\n")
    dialog.set_paths([narrow])
    predict(qtbot, dialog)
    assert "two columns.csv" in dialog.error
    assert "2 numeric column(s), but the model needs 4" in dialog.error
    assert "A CSV needs 4 numeric column(s) per row" in dialog.error

    dialog.set_paths([tmp_path / "gone.csv"])
    predict(qtbot, dialog)
    assert "gone.csv" in dialog.error and "no such file" in dialog.error

    dialog.set_paths([])
    qtbot.mouseClick(dialog.predict_button, Qt.MouseButton.LeftButton)
    assert dialog.error.startswith("Pick a file") and not dialog.busy


def test_a_run_without_weights_says_so(qtbot, iris_run, iris_csv, tmp_path):
    copy = Path(shutil.copytree(iris_run, tmp_path / iris_run.name))
    (copy / BEST).unlink()
    (copy / CHECKPOINTS / "last.safetensors").unlink()
    dialog = dialog_on(qtbot, copy)
    dialog.set_paths([iris_csv])
    predict(qtbot, dialog)
    assert f"Cannot load the model of run {copy.name}" in dialog.error
    assert "no saved weights" in dialog.error and "Runs" in dialog.error


def test_closing_while_predicting_leaves_the_answer_to_nobody(qtbot, iris_run, iris_csv):
    dialog = dialog_on(qtbot, iris_run)
    dialog.set_paths([iris_csv])
    qtbot.mouseClick(dialog.predict_button, Qt.MouseButton.LeftButton)
    assert dialog.busy
    dialog.close()
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=60_000)
    assert dialog.table.rowCount() == 12


def digit_png(folder: Path, index: int) -> Path:
    """A scikit-learn digit as an 8-bit grey PNG, upscaled to 32x32 as a scanned digit might be."""
    image = load_digits().images[index] / 16.0 * 255
    path = folder / f"digit{index}.png"
    Image.fromarray(image.astype(np.uint8)).resize((32, 32), Image.NEAREST).save(path)
    return path


def test_several_digit_images_get_a_thumbnail_row_each(qtbot, digits_run, tmp_path):
    paths = [digit_png(tmp_path, i) for i in (0, 1, 7)]
    dialog = dialog_on(qtbot, digits_run)
    dialog.set_paths(paths)
    predict(qtbot, dialog)
    assert dialog.error == ""
    assert dialog.table.horizontalHeaderItem(0).text() == "image"
    assert column(dialog, "input") == [p.name for p in paths]
    assert column(dialog, "class") == [predict_file(digits_run, p)[0]["classes"][0][0] for p in paths]
    for r in range(3):
        pixmap = dialog.table.item(r, 0).icon().pixmap(48, 48)
        assert not pixmap.isNull() and pixmap.width() == 48
    assert dialog.table_rows()[0] == ["#", "input", "class", "confidence"]


def test_a_digits_array_gets_thumbnails_drawn_from_its_samples(qtbot, digits_run, tmp_path):
    samples = (load_digits().images[:4] / 16.0)[:, None].astype(np.float32)
    array = tmp_path / "digits.npy"
    np.save(array, samples)
    dialog = dialog_on(qtbot, digits_run)
    dialog.set_paths([array])
    predict(qtbot, dialog)
    assert column(dialog, "class") == [row["classes"][0][0] for row in predict_file(digits_run, array)]
    assert not dialog.table.item(3, 0).icon().isNull()


def test_raw_digits_on_another_scale_show_a_warning_strip_that_goes_with_scaled_ones(qtbot, digits_run, tmp_path):
    images = load_digits().images[:4, None].astype(np.float32)
    raw, scaled = tmp_path / "raw16.npy", tmp_path / "scaled.npy"
    np.save(raw, images)
    np.save(scaled, images / 16.0)
    dialog = dialog_on(qtbot, digits_run)
    assert dialog.scale_banner.isHidden()
    dialog.set_paths([raw])
    predict(qtbot, dialog)
    assert dialog.error == "" and dialog.table.rowCount() == 4
    assert dialog.scale_banner.isVisible()
    text = dialog.scale_banner.text()
    assert "raw16.npy" in text and "values span 0 to 16" in text and "trained on 0 to 1" in text
    dialog.set_paths([scaled])
    predict(qtbot, dialog)
    assert dialog.scale_banner.isHidden()


def test_predict_action_follows_the_selected_run(qtbot, window, iris_run, tmp_path):
    ws = window.training
    action = ws.actions["predict"]
    assert not action.isEnabled()
    unfinished = create_run(Graph(name="untrained"), tmp_path / "runs").path
    ws.history.run_chosen.emit(str(unfinished))
    assert not action.isEnabled()
    ws.history.run_chosen.emit(str(iris_run))
    assert action.isEnabled()
    menu = next(m for m in window.findChildren(QMenu) if m.title() == "T&raining")
    bar = window.findChild(QToolBar, "TrainingToolbar")
    for actions in (menu.actions(), bar.actions()):
        assert actions[actions.index(ws.actions["export"]) + 1] is action
    action.trigger()
    dialog = ws.predict_dialog
    qtbot.waitExposed(dialog)
    assert dialog.run_path == iris_run and not dialog.isModal()
    assert dialog.info.run_id == iris_run.name


def test_typed_texts_and_a_txt_file_give_the_classes_deepwire_predict_gives(qtbot, text_run, tmp_path):
    lines = ["the film was superb", "a dull story and a dull ending"]
    (tmp_path / "new.txt").write_text("\n".join(lines) + "\n\n")
    expected = [row["classes"][0][0] for row in predict_file(text_run, tmp_path / "new.txt")]
    dialog = dialog_on(qtbot, text_run)
    assert not dialog.top_spin.isVisibleTo(dialog) and dialog.file_radio.isChecked()
    dialog.set_texts(lines)
    assert dialog.text_radio.isChecked()
    predict(qtbot, dialog)
    assert column(dialog, "input") == lines and column(dialog, "class") == expected

    dialog.set_paths([tmp_path / "new.txt"])
    assert dialog.file_radio.isChecked()
    predict(qtbot, dialog)
    assert column(dialog, "input") == lines and column(dialog, "class") == expected

    dialog.text_radio.setChecked(True)
    dialog.set_texts(["", "  "])
    qtbot.mouseClick(dialog.predict_button, Qt.MouseButton.LeftButton)
    assert dialog.error.startswith("Type at least one text")


def test_predict_is_enabled_once_a_run_from_the_editor_has_weights(qtbot, window):
    ws = window.training
    ws.runner.backend = "thread"
    window.controller.load_graph(chain("iris gui", {"kind": "features", "features": 4},
                                       [("Dense", {"units": 8}), ("Dense", {"units": 3})],
                                       {"source": "builtin", "name": "iris"}))
    ws.train()
    assert not ws.actions["predict"].isEnabled()
    qtbot.waitUntil(lambda: not ws.runner.busy, timeout=120_000)
    assert ws.actions["predict"].isEnabled()
    assert ws.open_predict().run_path == ws.runner.run_path


def test_result_columns_for_values_labels_and_per_position_classes():
    def info(task: str) -> ModelInfo:
        record = {"inputs": [{"kind": "features", "shape": [2]}], "outputs": [{"name": "price", "task": task}]}
        return ModelInfo("run", "project", "–", record, 0)

    assert result_columns(info("regression"), [{"index": 0, "values": [1.5]}]) == (["price"], [[1.5]])
    headers, cells = result_columns(info("regression"), [{"index": 0, "values": [[0.0] * 8] * 8}])
    assert headers[:2] == ["price[0]", "price[1]"] and len(cells[0]) == len(headers) == MAX_VALUE_COLUMNS
    assert result_columns(info("multilabel"), [{"index": 0, "classes": [("cat", 0.9), ("dog", 0.75)]},
                                               {"index": 1, "classes": []}]) == \
        (["classes (confidence > 0.5)"], [["cat 90%, dog 75%"], ["none"]])
    tags = [{"index": 0, "classes": [[("NOUN", 0.75), ("VERB", 0.2)], [("VERB", 0.25), ("NOUN", 0.2)]]}]
    assert result_columns(info("multiclass"), tags) == (["classes", "mean confidence"], [["NOUN VERB", 0.5]])


def test_a_language_model_continues_typed_prompts_like_deepwire_generate(qtbot, tmp_path):
    from engine.generate import generate
    from engine.templates import load_project

    run = train(load_project("next_word"), tmp_path / "runs", epochs=2)
    dialog = dialog_on(qtbot, run)
    assert dialog.info.next_word and "word by word" in dialog.status.text()
    dialog.words_spin.setValue(5)
    dialog.set_texts(["the plot was", "the actors"])
    predict(qtbot, dialog)
    assert not dialog.error
    assert column(dialog, "continued text") == [generate(run, "the plot was", 5), generate(run, "the actors", 5)]
    shown = column(dialog, "continued text")
    assert shown[0].startswith("the plot was ") and shown[1].startswith("the actors ")
    assert all(len(text) > len(prompt) + 5 for text, prompt in zip(shown, ("the plot was", "the actors"), strict=True))
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("the music\n\nthe ending was\n")
    dialog.set_paths([prompts])
    predict(qtbot, dialog)
    assert column(dialog, "input") == ["the music", "the ending was"]
