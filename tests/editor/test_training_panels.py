"""The data and training panels edit the project's sections (undoably), and the data panel keeps Input in step."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox

from editor.training.data_panel import DataPanel
from editor.training.diagnosis import format_eta, gradient_warning, overfitting_hint
from editor.training.live_plots import LivePlots
from editor.training.training_panel import TrainingPanel, device_summary
from engine.datacheck import input_params_for
from engine.templates import load_project
from engine.train.config import TrainingConfig
from engine.train.events import BatchEnded, EpochEnded, Gradients, RunFailed, RunStarted

TIMEOUT_MS = 60_000


@pytest.fixture
def controller(qtbot):
    from editor.canvas.controller import CanvasController

    c = CanvasController()
    qtbot.addWidget(c.widget)
    c.load_graph(load_project("lenet"))
    return c


def a_different_value(widget):
    """A value other than the widget's current one, of the widget's kind."""
    if isinstance(widget, QCheckBox):
        return not widget.isChecked()
    if isinstance(widget, QComboBox):
        return next(widget.itemText(i) for i in range(widget.count()) if widget.itemText(i) != widget.currentText()
                    and widget.model().item(i).isEnabled())
    value = widget.value()
    return value + widget.singleStep() if value + widget.singleStep() <= widget.maximum() else widget.minimum()


def test_every_training_widget_writes_its_key_and_undo_restores_it(controller, qtbot):
    panel = TrainingPanel(controller)
    qtbot.addWidget(panel)
    for form in panel.forms:
        for path, field in form.fields.items():
            before = dict(controller.graph.training)
            value = a_different_value(field.widget)
            if isinstance(field.widget, QCheckBox):
                field.widget.setChecked(value)
            elif isinstance(field.widget, QComboBox):
                field.widget.setCurrentText(value)
            else:
                field.widget.setValue(value)
            section = controller.graph.training
            node = section
            for part in path.split("."):
                node = node[part]
            assert node == pytest.approx(value) if isinstance(value, float) else node == value, path
            controller.undo()
            assert controller.graph.training == before, path


def test_training_panel_shows_the_project_and_hides_what_does_not_apply(controller, qtbot):
    controller.graph.training.update(optimizer="sgd", lr=0.05, clip="norm")
    panel = TrainingPanel(controller)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.field("optimizer").currentText() == "sgd"
    assert panel.field("lr").value() == pytest.approx(0.05)
    assert panel.field("momentum").isVisible() and panel.field("clip_value").isVisible()
    panel.field("optimizer").setCurrentText("adam")
    assert not panel.field("momentum").isVisible()
    assert controller.graph.training["optimizer"] == "adam"
    TrainingConfig.from_dict(controller.graph.training)  # what the panel wrote is a valid section
    assert ("GPU found" in panel.device_label.text()) or ("No GPU found" in panel.device_label.text())
    assert panel.device_label.text() == device_summary()
    panel.set_default_device("cpu")
    assert "Device 'auto' trains on the CPU" in panel.device_label.text()
    assert "Preferences" in panel.device_label.text() and "Preferences" in panel.field("device").toolTip()


def test_a_bad_training_section_is_shown_not_hidden(controller, qtbot):
    controller.graph.training["optimizer"] = "adamax"
    panel = TrainingPanel(controller)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.error.isVisible() and "adamax" in panel.error.text()


def test_lr_spin_box_reads_and_steps_in_factors_of_two(controller, qtbot):
    panel = TrainingPanel(controller)
    qtbot.addWidget(panel)
    lr = panel.field("lr")
    lr.setValue(1e-3)
    lr.stepBy(1)
    assert controller.graph.training["lr"] == pytest.approx(2e-3)
    assert lr.textFromValue(3e-5) == "3e-05"
    assert lr.valueFromText("0.25") == 0.25


def test_choosing_iris_loads_it_and_match_input_fixes_the_input_node(controller, qtbot):
    panel = DataPanel(controller)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.info is not None, timeout=TIMEOUT_MS)
    assert panel.info["input_shapes"] == [[1, 8, 8]]
    assert "✔" in panel.match_label.text()
    assert panel.samples_grid.count() == 16, "digits are shown as a grid of pictures"

    iris = next(i for i in range(panel.builtin_list.count())
                if panel.builtin_list.item(i).data(Qt.ItemDataRole.UserRole) == "iris")
    panel.builtin_list.setCurrentRow(iris)
    assert controller.graph.data["name"] == "iris"
    qtbot.waitUntil(lambda: panel.info is not None and panel.info["input_shapes"] == [[4]], timeout=TIMEOUT_MS)
    assert "150 samples" in panel.summary.text().replace(",", "")
    assert "3 classes" in panel.summary.text()
    assert panel.sample_table.rowCount() == 16, "tabular data is shown as rows with labels"
    assert "✖" in panel.match_label.text() and not panel.match_button.isHidden()

    qtbot.mouseClick(panel.match_button, Qt.MouseButton.LeftButton)
    image = controller.graph.input_nodes()[0]
    assert image.params["kind"] == "features" and image.params["features"] == 4
    assert "✔" in panel.match_label.text()
    controller.undo()
    assert controller.graph.input_nodes()[0].params["kind"] == "image", "matching is one undo step"
    controller.undo()
    assert controller.graph.data.get("name", "digits") == "digits"


def test_preprocessing_fields_edit_the_data_section(controller, qtbot):
    panel = DataPanel(controller)
    qtbot.addWidget(panel)
    panel.form.fields["split.val"].widget.setValue(0.2)
    panel.form.fields["augment.hflip"].widget.setChecked(True)
    panel.form.fields["normalize"].widget.setCurrentText("minmax")
    assert controller.graph.data["split"]["val"] == pytest.approx(0.2)
    assert controller.graph.data["augment"]["hflip"] is True
    assert controller.graph.data["normalize"] == "minmax"


def test_large_data_fields_edit_the_data_section_and_show_it(controller, qtbot):
    panel = DataPanel(controller)
    qtbot.addWidget(panel)
    fields = panel.large_form.fields
    assert fields["stream"].widget.currentText() == "auto (by size)"
    fields["stream"].widget.setCurrentText("always")
    fields["chunk_rows"].widget.setValue(1000)
    fields["workers"].widget.setValue(0)
    assert controller.graph.data["stream"] is True
    assert controller.graph.data["chunk_rows"] == 1000 and controller.graph.data["workers"] == 0
    controller.undo()
    assert "workers" not in controller.graph.data and controller.graph.data["chunk_rows"] == 1000
    controller.graph.data["stream"] = False
    panel.refresh()
    assert fields["stream"].widget.currentText() == "never"


def choose_builtin(panel: DataPanel, name: str) -> None:
    """Click the built-in dataset `name` in the data panel's list."""
    panel.builtin_list.setCurrentRow(next(i for i in range(panel.builtin_list.count())
                                          if panel.builtin_list.item(i).data(Qt.ItemDataRole.UserRole) == name))


def test_generated_dataset_options_are_editable_and_change_the_data(controller, qtbot):
    panel = DataPanel(controller)
    qtbot.addWidget(panel)
    choose_builtin(panel, "adding_problem")
    assert set(panel.option_editors) == {"n_samples", "seq_len", "seed"}
    assert panel.option_editors["seq_len"].value() == 50
    panel.option_editors["seq_len"].setValue(12)
    panel.option_editors["n_samples"].setValue(400)
    assert controller.graph.data["options"] == {"seq_len": 12, "n_samples": 400}
    qtbot.waitUntil(lambda: panel.info is not None and panel.info["input_shapes"] == [[12, 2]], timeout=TIMEOUT_MS)
    assert sum(panel.info["splits"].values()) == 400
    controller.undo()
    assert controller.graph.data["options"] == {"seq_len": 12} and panel.option_editors["n_samples"].value() == 3000


def test_a_built_in_text_set_has_a_words_per_text_field(controller, qtbot):
    panel = DataPanel(controller)
    qtbot.addWidget(panel)
    choose_builtin(panel, "toy_reviews")
    assert panel.builtin_text_length is not None and panel.builtin_text_length.value() == 0  # auto
    panel.builtin_text_length.setValue(10)
    assert controller.graph.data["text_length"] == 10
    qtbot.waitUntil(lambda: panel.info is not None and panel.info["input_shapes"] == [[10]], timeout=TIMEOUT_MS)
    assert panel.info["input_dtypes"] == ["int64"] and panel.info["text"]["seq_len"] == 10
    panel.builtin_list.setCurrentRow(0)
    assert panel.builtin_text_length is None and "text_length" not in controller.graph.data


def test_a_csv_file_lists_its_columns_and_the_chosen_ones_are_saved(controller, qtbot, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "table.csv"
    rows = ["a,b,c,label"] + [f"{x:.3f},{y:.3f},{z:.3f},{'yes' if x > 0 else 'no'}"
                                for x, y, z in rng.normal(size=(60, 3))]
    path.write_text("\n".join(rows) + "\n")
    panel = DataPanel(controller)
    qtbot.addWidget(panel)
    panel.source_box.setCurrentIndex(panel.source_box.findData("csv"))
    panel.csv_path.setText(str(path))
    panel.csv_path.editingFinished.emit()
    assert controller.graph.data["source"] == "csv" and controller.graph.data["path"] == str(path)
    assert [panel.feature_list.item(i).text() for i in range(panel.feature_list.count())] == ["a", "b", "c", "label"]
    assert panel.target_box.currentText() == "label"
    panel.feature_list.item(1).setCheckState(Qt.CheckState.Unchecked)
    assert controller.graph.data["features"] == ["a", "c"]
    assert controller.graph.data["target"] == "label"
    qtbot.waitUntil(lambda: panel.info is not None and panel.info["input_shapes"] == [[2]], timeout=TIMEOUT_MS)
    assert panel.info["class_names"] == ["no", "yes"]


def test_empty_csv_cells_are_reported_until_drop_rows_is_ticked(controller, qtbot, tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},{'' if i % 7 == 0 else i * 2},{i % 2}\n" for i in range(70)))
    panel = DataPanel(controller)
    qtbot.addWidget(panel)
    panel.source_box.setCurrentIndex(panel.source_box.findData("csv"))
    panel.csv_path.setText(str(path))
    panel.csv_path.editingFinished.emit()
    qtbot.waitUntil(lambda: "empty cells" in panel.error.text(), timeout=TIMEOUT_MS)
    panel.dropna_box.setChecked(True)
    assert controller.graph.data["dropna"] is True
    qtbot.waitUntil(lambda: panel.info is not None and not panel.error.isVisible(), timeout=TIMEOUT_MS)
    assert sum(panel.info["splits"].values()) == 60  # the 10 rows with an empty 'b' are left out
    controller.undo()
    assert not panel.dropna_box.isChecked()


def test_a_text_column_is_tokenized_and_match_input_makes_a_token_input(controller, qtbot, tmp_path):
    path = tmp_path / "notes.csv"
    rng = np.random.default_rng(1)
    path.write_text("note,mood\n" + "".join(
        f"{'good happy day' if i % 2 else 'bad sad day'} {' '.join(rng.choice(['and', 'it', 'was'], i % 5))},{i % 2}\n"
        for i in range(80)))
    panel = DataPanel(controller)
    qtbot.addWidget(panel)
    panel.source_box.setCurrentIndex(panel.source_box.findData("csv"))
    panel.csv_path.setText(str(path))
    panel.csv_path.editingFinished.emit()
    panel.target_box.setCurrentText("mood")
    panel.target_box.activated.emit(panel.target_box.currentIndex())
    assert not panel.text_length.isEnabled()
    panel.text_box.setCurrentIndex(panel.text_box.findData("note"))
    panel.text_box.activated.emit(panel.text_box.currentIndex())
    assert controller.graph.data["text"] == "note" and "features" not in controller.graph.data
    assert not panel.feature_list.isEnabled() and panel.text_length.isEnabled()
    qtbot.waitUntil(lambda: panel.info is not None and panel.info.get("text") is not None, timeout=TIMEOUT_MS)
    assert "words in the vocabulary" in panel.summary.text()
    assert panel.sample_table.horizontalHeaderItem(1).text() == "text"
    panel.match_input()
    image = controller.graph.input_nodes()[0]
    assert image.params["kind"] == "tokens" and image.params["seq_len"] == panel.info["text"]["seq_len"]
    panel.text_length.setValue(4)
    assert controller.graph.data["text_length"] == 4
    qtbot.waitUntil(lambda: panel.info is not None and panel.info["input_shapes"] == [[4]], timeout=TIMEOUT_MS)


def test_a_missing_file_shows_the_data_error(controller, qtbot, tmp_path):
    panel = DataPanel(controller)
    qtbot.addWidget(panel)
    panel.show()
    panel.source_box.setCurrentIndex(panel.source_box.findData("npz"))
    panel.array_path.setText(str(tmp_path / "nothing.npz"))
    panel.array_path.editingFinished.emit()
    qtbot.waitUntil(lambda: panel.error.isVisible(), timeout=TIMEOUT_MS)
    assert "nothing.npz" in panel.error.text()


@pytest.mark.parametrize(("shape", "dtype", "params"), [
    ((3, 32, 32), "float32", {"kind": "image", "channels": 3, "height": 32, "width": 32}),
    ((13,), "float32", {"kind": "features", "features": 13}),
    ((50, 1), "float32", {"kind": "sequence", "seq_len": 50, "features": 1}),
    ((20,), "int64", {"kind": "tokens", "seq_len": 20}),
])
def test_input_params_follow_the_data_shape(shape, dtype, params):
    assert input_params_for(shape, dtype) == params


def test_gradient_warning_names_vanishing_and_exploding_layers():
    names = {"a": "rnn", "b": "head"}
    assert gradient_warning({"a": 0.5, "b": 1.2}, names) is None
    vanishing = gradient_warning({"a": 1e-9, "b": 1.0}, names)
    assert "Vanishing" in vanishing and "'rnn'" in vanishing and "LSTM" in vanishing
    exploding = gradient_warning({"a": math.inf, "b": 1.0}, names)
    assert "Exploding" in exploding and "clipping" in exploding


def test_overfitting_hint_needs_val_up_while_train_down():
    assert overfitting_hint([1.0, 0.8, 0.6], [0.9, 0.95, 1.0]) is not None
    assert "Dropout" in overfitting_hint([1.0, 0.8, 0.6], [0.9, 0.95, 1.0])
    assert overfitting_hint([1.0, 0.8, 0.6], [0.9, 0.85, 0.8]) is None
    assert overfitting_hint([1.0, 0.8], [0.9, 1.0]) is None
    assert format_eta(75) == "1:15" and format_eta(3725) == "1:02:05" and format_eta(None) == "–"


def test_live_plots_draw_batches_epochs_and_warn(qtbot):
    plots = LivePlots()
    qtbot.addWidget(plots)
    plots.show()
    plots.reset({"n1": "conv1", "n2": "fc"})
    plots.add_events([RunStarted("r", None, "p", {"batch_size": 10}, "cpu", "CPU", "multiclass", 3, 0, 4, 100,
                                 ["loss", "accuracy"])])
    assert plots.shown == ["loss", "accuracy", "lr", "grads"]
    t = 1000.0
    for epoch in (1, 2, 3):
        batch = [BatchEnded(epoch, b, 4, (epoch - 1) * 4 + b, 1.0 / epoch, 0.01, time=t + epoch * 4 + b)
                 for b in range(1, 5)]
        plots.add_events([*batch, EpochEnded(epoch, 3, {"loss": 1.0 / epoch, "accuracy": 0.5 + epoch / 10},
                                             {"loss": 0.5 + epoch / 10, "accuracy": 0.6}, 0.01, 100.0, 0.1)])
    assert plots.points_per_epoch()["val_accuracy"] == [1, 2, 3]
    assert len(plots.curves["batch_smooth"].getData()[0]) == 12
    assert plots.overfit_banner.isVisible(), "val loss rose while train loss fell"
    plots.add_events([Gradients(3, 12, {"n1": 1e-10, "n2": 1.0}, 1.0)])
    assert plots.gradient_banner.isVisible() and "conv1" in plots.gradient_banner.text()
    assert "ETA" in plots.stats.text() and "samples/s" in plots.stats.text()
    message = "The loss became NaN or infinite at epoch 3, batch 2; the first layer whose output is not finite is 'fc'"
    plots.add_events([RunFailed(message, "n2", "lower the learning rate", 3, 10)])
    assert plots.progress.format() == "failed at epoch 3"  # the bar is short; the whole message goes below it
    assert plots.stats.text() == f"{message}\nWhat to do: lower the learning rate"


def test_evaluation_of_many_classes_stays_readable(qtbot):
    from editor.training.evaluation_view import MAX_CURVES, MAX_TICKS, EvaluationView
    from engine.evaluate.metrics import evaluate_predictions

    rng = np.random.default_rng(0)
    classes = 60
    truth = np.minimum(rng.geometric(0.08, 3000) - 1, classes - 1)  # a few common classes, a long tail
    scores = rng.normal(size=(3000, classes)) + 3 * np.eye(classes)[truth]
    result = evaluate_predictions("multiclass", truth, scores, [f"word{i}" for i in range(classes)])
    view = EvaluationView()
    qtbot.addWidget(view)
    view.show_result(result)
    drawn = [c for c in view.roc.getPlotItem().listDataItems() if len(c.getData()[0]) > 2]  # not the diagonal
    assert len(drawn) == MAX_CURVES and f"{MAX_CURVES} commonest classes" in view.roc.getPlotItem().titleLabel.text
    bottom = view.confusion.getPlotItem().getAxis("bottom")._tickLevels[0]
    assert len(bottom) <= MAX_TICKS["bottom"] and bottom[0][1] == "word0"
    assert view.table.rowCount() == classes  # every class keeps its row in the table
    digits = np.arange(10)
    view.show_result(evaluate_predictions("multiclass", digits, np.eye(10)[digits], [str(d) for d in digits]))
    assert len(view.confusion.getPlotItem().getAxis("bottom")._tickLevels[0]) == 10  # a few classes: all named


def test_a_perfect_evaluation_says_there_is_nothing_wrong(qtbot):
    from PySide6.QtWidgets import QLabel

    from editor.training.evaluation_view import EvaluationView
    from engine.evaluate.metrics import evaluate_predictions

    truth = np.array([0, 1, 2, 1, 0])
    view = EvaluationView()
    qtbot.addWidget(view)
    view.show_result(evaluate_predictions("multiclass", truth, np.eye(3)[truth] * 5, ["a", "b", "c"]))
    texts = [w.text() for w in view.wrong_body.findChildren(QLabel)]
    assert texts == ["No wrong predictions on this split."]


def test_largest_errors_of_box_targets_are_written_short(qtbot):
    from PySide6.QtWidgets import QLabel

    from editor.training.evaluation_view import EvaluationView
    from engine.evaluate.metrics import evaluate_predictions

    rng = np.random.default_rng(1)
    truth = rng.uniform(size=(20, 4)).astype(np.float32)
    view = EvaluationView()
    qtbot.addWidget(view)
    view.show_result(evaluate_predictions("regression", truth, truth + rng.normal(0, 0.1, truth.shape)))
    first = next(w.text() for w in view.wrong_body.findChildren(QLabel) if "→" in w.text())
    numbers = first.split("<br>")[0].replace("<b>", "").replace("</b>", "")
    values = re.findall(r"[-\d.e]+", numbers)
    assert numbers.count("(") == 2 and len(values) == 8
    assert all(len(v.lstrip("-0.").replace(".", "")) <= 3 for v in values)  # 3 significant digits each


def test_panel_forms_are_generated_from_the_section_declarations(controller, qtbot, monkeypatch):
    import dataclasses

    from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

    from engine import sections

    panel = TrainingPanel(controller)
    qtbot.addWidget(panel)
    data_panel = DataPanel(controller)
    qtbot.addWidget(data_panel)
    forms = [(sections.TRAINING, form) for form in panel.forms] + \
        [(sections.DATA, form) for form in (data_panel.form, data_panel.large_form)]
    for declared, form in forms:
        for path, field in form.fields.items():
            key = declared.key(path)
            assert (field.label, field.widget.toolTip()) == (key.label, key.doc)
            if isinstance(field.widget, QSpinBox | QDoubleSpinBox):
                assert (field.widget.minimum(), field.widget.maximum()) == pytest.approx((key.lowest, key.highest))
    # a narrower range in the declaration gives a narrower widget and a stricter check
    keys = tuple(dataclasses.replace(k, max=7) if k.name == "epochs" else k for k in sections.TRAINING.keys)
    monkeypatch.setattr(sections, "TRAINING", sections.Section("training", keys))
    monkeypatch.setitem(sections.SECTIONS, "training", sections.TRAINING)
    monkeypatch.setattr("editor.training.training_panel.TRAINING", sections.TRAINING)
    narrow = TrainingPanel(controller)
    qtbot.addWidget(narrow)
    assert narrow.field("epochs").maximum() == 7
    assert "training.epochs: must be at most 7" in sections.section_problems("training", {"epochs": 8})[0].message


def test_a_section_edit_in_the_editor_revalidates_at_once(controller, qtbot):
    """The stale-Problems regression: a section edit re-validates like a graph edit, and undo does too."""
    from editor.training.sections import set_key

    panel = TrainingPanel(controller)
    qtbot.addWidget(panel)
    seen = []
    controller.validation_changed.connect(seen.append)
    set_key(controller, "training", "epochs", -1)
    assert seen and "training.epochs: must be greater than 0" in controller.validation.report()
    controller.undo()
    assert "training.epochs" not in controller.validation.report()
    controller.redo()
    assert "training.epochs: must be greater than 0" in controller.validation.report()
    panel.field("epochs").setValue(4)  # the form's edit fixes it, and the problem goes without any graph edit
    assert controller.graph.training["epochs"] == 4
    assert "training.epochs" not in controller.validation.report()


def test_a_csv_without_a_header_row_is_read_as_data_and_the_panel_says_so(controller, qtbot, tmp_path):
    path = tmp_path / "noheader.csv"
    path.write_text("".join(f"{i * 0.5},{i % 3},{i % 2}\n" for i in range(60)))
    panel = DataPanel(controller)
    qtbot.addWidget(panel)
    panel.source_box.setCurrentIndex(panel.source_box.findData("csv"))
    panel.csv_path.setText(str(path))
    panel.csv_path.editingFinished.emit()
    qtbot.waitUntil(lambda: "read as data" in panel.note.text(), timeout=TIMEOUT_MS)
    assert not panel.note.isHidden() and "col1" in panel.note.text()
    assert sum(panel.info["splits"].values()) == 60, "the first row is a sample"


def test_a_new_data_source_gets_its_entry_and_page_from_its_record(controller, qtbot, tmp_path, monkeypatch):
    """A source registered in a test is offered in the Data panel; its page (a path row and a form of its declared
    keys) edits the data section and the data loads through it."""
    from PySide6.QtWidgets import QLineEdit

    from engine.data.sources import DATA_SOURCES
    from tests.engine.tsv_source import TSV, write_tsv

    path = tmp_path / "table.tsv"
    write_tsv(path)
    monkeypatch.setitem(DATA_SOURCES, "tsv", TSV)
    panel = DataPanel(controller)
    qtbot.addWidget(panel)
    assert [panel.source_box.itemData(i) for i in range(panel.source_box.count())] == \
        ["builtin", "csv", "image_folder", "npz", "detection_folder", "tsv"]
    index = panel.source_box.findData("tsv")
    assert panel.source_box.itemText(index) == "Tab-separated file"
    panel.source_box.setCurrentIndex(index)
    assert controller.graph.data["source"] == "tsv" and panel.pages.currentIndex() == index
    page = panel.pages.currentWidget()
    edit = page.findChild(QLineEdit)
    edit.setText(str(path))
    edit.editingFinished.emit()
    assert controller.graph.data["path"] == str(path)
    dropna = page.findChild(QCheckBox)
    dropna.setChecked(not dropna.isChecked())
    assert controller.graph.data["dropna"] is True
    qtbot.waitUntil(lambda: panel.info is not None and panel.info["input_shapes"] == [[3]], timeout=TIMEOUT_MS)
    assert panel.info["class_names"] == ["no", "yes"] and "tsv" in panel.summary.text()
    controller.undo_stack.undo()
    assert "dropna" not in controller.graph.data


def test_the_detection_folder_page_sets_the_annotations_and_image_size(controller, qtbot, tmp_path):
    """The declared page of `detection_folder`: path, annotations file and image size typed in, the boxes load."""
    from PySide6.QtWidgets import QLineEdit

    from editor.training.form import IntsEdit, TextEdit
    from tests.engine.test_detection_data import _csv, _folder

    _csv(_folder(tmp_path))
    panel = DataPanel(controller)
    qtbot.addWidget(panel)
    panel.source_box.setCurrentIndex(panel.source_box.findData("detection_folder"))
    page = panel.pages.currentWidget()
    path = next(e for e in page.findChildren(QLineEdit) if not isinstance(e, TextEdit))
    assert path.placeholderText() == "the folder to read"
    path.setText(str(tmp_path))
    path.editingFinished.emit()
    annotations = next(e for e in page.findChildren(TextEdit) if not isinstance(e, IntsEdit))
    size = page.findChild(IntsEdit)
    for edit, text in ((annotations, "boxes.csv"), (size, "32, 40"), (size, "32")):
        edit.setText(text)
        edit.editingFinished.emit()
    assert controller.graph.data["annotations"] == "boxes.csv" and controller.graph.data["image_size"] == [32, 40]
    qtbot.waitUntil(lambda: panel.info is not None and panel.info.get("input_shapes") == [[1, 32, 40]],
                    timeout=TIMEOUT_MS)
    assert panel.info["class_names"] == ["cat", "dog"] and panel.info["task"] == "detection"
