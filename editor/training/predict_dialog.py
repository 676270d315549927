"""Run a trained run's model on new data (a file, several images or typed texts) off the GUI thread and show
one table row per sample: predicted classes with confidences, or values in data units (a column group per head
of a multi-head project), or a detector's boxes drawn on the images with a score slider; Save as CSV writes it."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor import theme
from editor.training.background import run_job
from editor.training.boxes_view import MIN_THRESHOLD, BoxesPanel
from editor.training.widgets import banner
from engine.data import text
from engine.errors import DeepWireError
from engine.export import preprocessing
from engine.generate import continue_text, is_next_word
from engine.predict import (
    IMAGE_SUFFIXES,
    Predictor,
    box_scale,
    describe_predictions,
    load_predictor,
    read_input,
    read_texts,
    scale_boxes,
    scale_warning,
)
from engine.runs import open_run
from engine.shapes import infer_shapes

THUMB = 48
"""Side of the image thumbnails in the results table, in pixels."""
MAX_VALUE_COLUMNS = 32
"""A regression output wider than this shows its first values in the table (and in the CSV)."""
READ_ERRORS = (DeepWireError, OSError, ValueError, RuntimeError, KeyError)
"""What reading a user's file or running the model on it raises for bad input (never a bug to trace)."""


@dataclass(frozen=True)
class ModelInfo:
    """What the dialog shows and offers for one run, read without loading the weights."""

    run_id: str
    project: str
    best: str
    record: dict
    class_count: int

    @property
    def task(self) -> str | None:
        return (self.record.get("outputs") or [{}])[0].get("task") or self.record.get("task")

    @property
    def detector(self) -> bool:
        return self.task == "detection"

    @property
    def next_word(self) -> bool:
        """A language model: it continues typed prompts instead of labelling texts."""
        return is_next_word(self.record)

    @property
    def kind(self) -> str:
        """'text' (trained on a text column), 'image', or the first input's kind."""
        if self.record.get("text"):
            return "text"
        return (self.record["inputs"] or [{}])[0].get("kind") or "features"


def model_info(run_path: str | Path) -> ModelInfo:
    """The run's id, project name, best validation metric and preprocessing record."""
    run = open_run(run_path)
    graph = run.graph
    record = preprocessing.describe(graph, run.data_info() or None)
    metrics = run.metrics()
    best = metrics.get("best", {})
    monitor = metrics.get("monitor")
    shown = ((monitor, best[monitor]) if monitor in best and monitor != "val_loss" else None) \
        or next(((k, v) for k, v in best.items() if k.startswith("val_") and not k.endswith("loss")), None) \
        or next(((k, v) for k, v in best.items() if k.startswith("val_") and k != "val_loss"), None) \
        or next(iter(best.items()), None)
    epoch = f" (epoch {metrics['best_epoch']})" if metrics.get("best_epoch") else ""
    best_text = f"{shown[0]} {shown[1]:.4g}{epoch}" if shown else "no finished epoch recorded"
    names = record.get("class_names") or []
    outputs = graph.output_nodes()
    shape = infer_shapes(graph).out_shape(outputs[0].id) if outputs and not names else None
    return ModelInfo(run.id, graph.name, best_text, record, len(names) or int(shape[-1] if shape else 0))


def file_patterns(info: ModelInfo) -> list[str]:
    """File dialog filters for what `engine.predict.read_input` reads for this model."""
    images = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
    kinds = {"image": [f"Images ({images})"], "text": ["Texts, one per line (*.txt)", "CSV with the text column (*.csv)"]}
    own = kinds.get(info.kind, ["CSV (*.csv)"])
    every = " ".join(p[p.index("(") + 1:-1] for p in own) + " *.npy *.npz"
    return [f"Supported files ({every})", *own, "NumPy arrays (*.npy *.npz)"]


def input_hint(info: ModelInfo) -> str:
    """What to give this model, said the way a user can act on it."""
    spec = info.record["inputs"][0]
    shape = " x ".join(str(n) for n in spec["shape"])
    if info.kind == "image":
        return (f"Pick image files (PNG, JPEG, …), resized to {shape} (channels x height x width), or a .npy/.npz "
                f"array of samples of shape {shape}.")
    if info.next_word:
        return "Type prompts below (one per line) or pick a .txt file: the model writes on from each, word by word."
    if info.kind == "text":
        return (f"Pick a .txt file (one text per line) or a CSV with the '{info.record['text']['column']}' column, "
                "or type the texts below.")
    width = int(np.prod(spec["shape"]))
    return (f"A CSV needs {width} numeric column(s) per row, in the order used for training (extra columns after "
            f"them are ignored); a .npy/.npz array needs samples of shape {shape}.")


class PredictError(Exception):
    """A prediction that could not be made, with a message naming the file and what to do."""


@dataclass
class Prediction:
    """The model's answer: one description per sample, what each sample was, and image thumbnails."""

    rows: list[dict]
    sources: list[str]
    thumbnails: list[QImage]
    warning: str = ""  # the input lies on another scale than the training data (engine.predict.scale_warning)
    pixels: np.ndarray | None = None
    """A detector's input images (N, C, H, W) at the model's size, which its boxes are drawn on."""
    scales: list[tuple[float, float]] | None = None
    """Per sample, the (x, y) factors from the model's pixels to the boxes' (an image file's own, as `deepwire
    predict` gives them)."""

    def box_examples(self) -> list[dict]:
        """A detector's images with their predicted boxes in the model's pixels, as `BoxesPanel` draws them (no
        true boxes)."""
        if self.pixels is None:
            return []
        scales = self.scales or [(1.0, 1.0)] * len(self.rows)
        return [{"index": k, "label": source, "image": image, "truth": [],
                 "pred": [[b["class_id"], b["score"], *(v / scale[i % 2] for i, v in enumerate(b["box"]))]
                          for b in row["boxes"]]}
                for k, (row, source, image, scale) in enumerate(zip(self.rows, self.sources, self.pixels, scales,
                                                                     strict=True))]


def predict(predictor: Predictor, info: ModelInfo, paths: list[Path], texts: list[str] | None,
            top: int, words: int = 10) -> Prediction:
    """Read every path (or encode `texts`), run the model once and describe its predictions (any thread);
    a next-word model continues each text (a prompt) by `words` words instead."""
    record = predictor.record
    if info.next_word:
        prompts = texts if texts is not None else _prompts(paths[0], record["text"]["column"])
        rows = [{"index": i, "continuation": continue_text(lambda ids: predictor([ids]), record["text"], p, words)}
                for i, p in enumerate(prompts)]
        return Prediction(rows, list(prompts), [])
    if texts is not None:
        raw = [text.encode(texts, record["text"]["vocab"], int(record["text"]["seq_len"]))]
        sources, thumbs, warning = list(texts), [], ""
    else:
        parts = [_read(path, info, record) for path in paths]
        raw = [np.concatenate([part[i] for part in parts]) for i in range(len(parts[0]))]
        sources = _sources(paths, raw[0], info)
        thumbs = _thumbnails(paths, raw[0]) if info.kind == "image" else []
        warning = scale_warning(record, raw, paths[0].name if len(paths) == 1 else f"{len(paths)} files") or ""
    try:
        outputs = predictor.outputs(raw)
    except READ_ERRORS as exc:
        where = paths[0].name if len(paths) == 1 else "the typed texts" if texts is not None else "these files"
        raise PredictError(f"The model cannot take {where}: {exc}\n{input_hint(info)}") from exc
    if info.detector:  # every box the slider can show; the dialog hides the weaker ones
        rows = describe_predictions(record, outputs, score_threshold=MIN_THRESHOLD)
        images = paths and all(p.suffix.lower() in IMAGE_SUFFIXES for p in paths)
        scales = [box_scale(p, record) for p in paths] if images else [(1.0, 1.0)] * len(rows)
        for row, scale in zip(rows, scales, strict=True):
            scale_boxes(row, scale)
        return Prediction(rows, sources, thumbs, warning, np.asarray(raw[0]), scales)
    return Prediction(describe_predictions(record, outputs, top), sources, thumbs, warning)


def _prompts(path: Path, column: str) -> list[str]:
    """The prompts of a .txt file (one per line) or of a CSV's text column, read as `deepwire predict` reads texts."""
    if path.suffix.lower() not in (".txt", ".csv"):
        raise PredictError(f"{path.name}: a language model continues prompts from a .txt file (one per line), a CSV "
                           "with the text column, or typed below.")
    try:
        return read_texts(path, column)
    except READ_ERRORS as exc:
        raise PredictError(f"Cannot read {path}: {getattr(exc, 'strerror', None) or exc}. Check the file.") from exc


def _read(path: Path, info: ModelInfo, record: dict) -> list[np.ndarray]:
    try:
        return read_input(path, record)
    except READ_ERRORS as exc:
        message = str(exc).removeprefix(f"{path}: ")
        raise PredictError(f"Cannot use {path.name} ({path.parent}): {message.rstrip('.')}.\n{input_hint(info)}") from exc


def _sources(paths: list[Path], first: np.ndarray, info: ModelInfo) -> list[str]:
    """What each sample was: its image file, its line of a .txt file, else its row of the file."""
    if all(p.suffix.lower() in IMAGE_SUFFIXES for p in paths):
        return [p.name for p in paths]
    path = paths[0]
    if info.kind == "text" and path.suffix.lower() == ".txt":
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [f"{path.name} #{i + 1}" for i in range(len(first))]


def _thumbnails(paths: list[Path], pixels: np.ndarray) -> list[QImage]:
    """The image files themselves, else each array sample drawn in grey (one channel) or colour."""
    if all(p.suffix.lower() in IMAGE_SUFFIXES for p in paths):
        return [QImage(str(p)).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation) for p in paths]
    return [array_image(sample) for sample in pixels]


def array_image(sample: np.ndarray) -> QImage:
    """A (C, H, W) or (H, W) sample scaled to 0..255 as a thumbnail (C of 1 is grey, 3 or more is RGB)."""
    a = np.asarray(sample, dtype=np.float64)
    a = a[None] if a.ndim == 2 else a
    low, high = float(a.min()), float(a.max())
    a = np.zeros_like(a) if high <= low else (a - low) / (high - low)
    grey = a.shape[0] < 3
    pixels = np.ascontiguousarray((a[0] if grey else a[:3].transpose(1, 2, 0)) * 255).astype(np.uint8)
    h, w = pixels.shape[:2]
    image = QImage(pixels.data, w, h, pixels.strides[0],
                   QImage.Format.Format_Grayscale8 if grey else QImage.Format.Format_RGB888).copy()
    return image.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)


def result_columns(info: ModelInfo, rows: list[dict], threshold: float = 0.5) -> tuple[list[str], list[list[object]]]:
    """Headers and per-sample cells (numbers stay numbers) after the '#' and 'input' columns: one group of columns
    per head of a multi-head project (headed '<head>: ...'), a detector's boxes scored at least `threshold`."""
    if rows and "continuation" in rows[0]:
        return ["continued text"], [[row["continuation"]] for row in rows]
    if rows and "heads" in rows[0]:
        headers, cells = [], [[] for _ in rows]
        for name, spec in zip(rows[0]["heads"], _answering_specs(info), strict=True):
            part_headers, part_cells = answer_columns(spec.get("task"), name, [r["heads"][name] for r in rows],
                                                      threshold)
            headers += [h if h.startswith(name) else f"{name}: {h}" for h in part_headers]
            for row, part in zip(cells, part_cells, strict=True):
                row += part
        return headers, cells
    name = (info.record.get("outputs") or [{}])[0].get("name") or "value"
    return answer_columns(info.task, name, rows, threshold)


def _answering_specs(info: ModelInfo) -> list[dict]:
    outputs = info.record.get("outputs") or []
    return [outputs[i] for i in preprocessing.answering_outputs(info.record)]


def _task_text(task: str | None, names: list) -> str:
    """A head's task, with its classes when it has names for them."""
    if not names:
        return task or "?"
    shown = ", ".join(str(n) for n in names[:6]) + (", …" if len(names) > 6 else "")
    return f"{task}, {len(names)} classes ({shown})"


def answer_columns(task: str | None, name: str, rows: list[dict], threshold: float = 0.5
                   ) -> tuple[list[str], list[list[object]]]:
    """Headers and cells of one head's answers (its classes, values or boxes)."""
    if rows and "boxes" in rows[0]:
        shown = [[b for b in row["boxes"] if b["score"] >= threshold] for row in rows]
        return [f"boxes (score ≥ {threshold:.2f})", "class score (x0, y0, x1, y1)"], [
            [len(boxes), "; ".join(f"{b['class']} {b['score']:.2f} ({', '.join(f'{v:.0f}' for v in b['box'])})"
                                   for b in boxes) or "none"] for boxes in shown]
    if task in ("multiclass", "binary") and rows and not isinstance(rows[0]["classes"][0], list):
        k = len(rows[0]["classes"])
        headers = ["class", "confidence"] if k == 1 else \
            [h for i in range(1, k + 1) for h in (f"class {i}", f"confidence {i}")]
        return headers, [[x for label, p in row["classes"] for x in (label, p)] for row in rows]
    if task in ("multiclass", "binary"):  # one class per position (a sequence labeller)
        return ["classes", "mean confidence"], [
            [" ".join(pos[0][0] for pos in row["classes"]), float(np.mean([pos[0][1] for pos in row["classes"]]))]
            for row in rows]
    if task == "multilabel":
        return ["classes (confidence > 0.5)"], [
            [", ".join(f"{label} {p:.0%}" for label, p in row["classes"]) or "none"] for row in rows]
    values = [np.ravel(row["values"]).tolist()[:MAX_VALUE_COLUMNS] for row in rows]
    width = len(values[0]) if values else 1
    return ([name] if width == 1 else [f"{name}[{i}]" for i in range(width)]), values


class PredictDialog(QDialog):
    """Pick a file (several images, or typed texts) and Predict: the run's model answers off the GUI thread."""

    def __init__(self, run_path: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_path = Path(run_path)
        self.info = model_info(self.run_path)
        self.prediction: Prediction | None = None
        self.error = ""
        self._predictor: Predictor | None = None
        self._job = None
        self.setWindowTitle(f"Predict with {self.info.run_id}")
        self.setModal(False)
        self.resize(820, 680)
        layout = QVBoxLayout(self)
        layout.addWidget(self._model_box())
        layout.addWidget(self._input_box())
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.scale_banner = banner("warning")
        layout.addWidget(self.scale_banner)
        self.boxes = BoxesPanel(title="Predicted boxes with class and score")
        self.boxes.slider.valueChanged.connect(lambda _v: self.prediction and self._fill(self.prediction))
        self.boxes.setVisible(self.info.detector)
        layout.addWidget(self.boxes, 2)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setIconSize(QPixmap(THUMB, THUMB).size())
        layout.addWidget(self.table, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.save_button = self.buttons.addButton("Save as CSV…", QDialogButtonBox.ButtonRole.ResetRole)
        self.save_button.setEnabled(False)
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(lambda: self.save_csv())
        self.predict_button = self.buttons.addButton("Predict", QDialogButtonBox.ButtonRole.ActionRole)
        self.predict_button.setDefault(True)
        self.predict_button.clicked.connect(self.start_predict)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._say(input_hint(self.info), theme.MUTED)

    # ---- construction ----------------------------------------------------------------------
    def _model_box(self) -> QGroupBox:
        info, spec = self.info, self.info.record["inputs"][0]
        box = QGroupBox("Model")
        form = QFormLayout(box)
        heads = _answering_specs(info)
        if len(heads) > 1:
            task = " · ".join(f"{h.get('name')}: {_task_text(h.get('task'), h.get('class_names') or [])}"
                              for h in heads)
        else:
            task = _task_text(info.task, info.record.get("class_names") or [])
        if info.kind == "text":
            what = f"texts, tokenized as the '{info.record['text']['column']}' column was in training"
        elif info.kind == "image":
            what = f"images of {' x '.join(str(n) for n in spec['shape'])} (channels x height x width)"
        else:
            what = f"{int(np.prod(spec['shape']))} {spec.get('kind') or 'values'} per sample"
        for label, value in (("Run", info.run_id), ("Project", info.project), ("Best", info.best),
                             ("Task", task), ("Input", what)):
            field = QLabel(value)
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(label, field)
        return box

    def _input_box(self) -> QGroupBox:
        box = QGroupBox("Input")
        form = QFormLayout(box)
        self.path_edit = QLineEdit()
        several = "image files (several: separate with ';')" if self.info.kind == "image" else "a file"
        self.path_edit.setPlaceholderText(f"Path of {several}")
        browse = QPushButton("Browse…")
        browse.setAutoDefault(False)  # Enter predicts, whichever button was clicked last
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.file_radio = QRadioButton("File")
        self.text_radio = QRadioButton("Typed text")
        self.text_edit = QPlainTextEdit()
        if self.info.kind == "text":
            group = QButtonGroup(box)
            group.addButton(self.file_radio)
            group.addButton(self.text_radio)
            self.file_radio.setChecked(True)
            self.text_edit.setPlaceholderText("One prompt per line to continue, e.g.\nthe plot was\nthe actors"
                                              if self.info.next_word else
                                              "One text per line, e.g.\nwhat a wonderful film\nboring and far too long")
            self.text_edit.setFixedHeight(96)
            self.text_edit.textChanged.connect(lambda: self.text_radio.setChecked(True))
            self.path_edit.textEdited.connect(lambda _t: self.file_radio.setChecked(True))
            form.addRow(self.file_radio, row)
            form.addRow(self.text_radio, self.text_edit)
        else:
            form.addRow("File" if self.info.kind != "image" else "Files", row)
        self.top_spin = QSpinBox()
        self.top_spin.setRange(1, max(1, self.info.class_count))
        self.top_spin.setToolTip("How many of the most likely classes to list per sample")
        self.top_spin.setMinimumWidth(72)
        self.words_spin = QSpinBox()
        self.words_spin.setRange(1, 200)
        self.words_spin.setValue(10)
        self.words_spin.setMinimumWidth(72)
        self.words_spin.setToolTip("How many words the model adds to each prompt, each its likeliest next word")
        if self.info.next_word:
            words_row = QHBoxLayout()
            words_row.addWidget(self.words_spin)
            words_row.addWidget(QLabel("the likeliest next word each time"))
            words_row.addStretch(1)
            form.addRow("Words to add", words_row)
        elif self.info.task == "multiclass" and self.info.class_count > 2:
            top_row = QHBoxLayout()
            top_row.addWidget(self.top_spin)
            top_row.addWidget(QLabel(f"most likely of {self.info.class_count} classes per sample"))
            top_row.addStretch(1)
            form.addRow("Top k", top_row)
        return box

    # ---- input -----------------------------------------------------------------------------
    def _browse(self) -> None:
        start = self.paths()[0].parent if self.paths() else Path.home()
        filters = ";;".join(file_patterns(self.info))
        if self.info.kind == "image":
            paths, _ = QFileDialog.getOpenFileNames(self, "Images or array to predict on", str(start), filters)
        else:
            path, _ = QFileDialog.getOpenFileName(self, "File to predict on", str(start), filters)
            paths = [path] if path else []
        if paths:
            self.set_paths(paths)

    def set_paths(self, paths: list[str | Path]) -> None:
        """The input file(s) (several only for image files)."""
        self.path_edit.setText("; ".join(str(p) for p in paths))
        self.file_radio.setChecked(True)

    def paths(self) -> list[Path]:
        return [Path(p.strip()) for p in self.path_edit.text().split(";") if p.strip()]

    def set_texts(self, lines: list[str]) -> None:
        """Typed texts, one per line (text models)."""
        self.text_edit.setPlainText("\n".join(lines))

    def _request(self) -> tuple[list[Path], list[str] | None] | str:
        """(paths, typed texts or None), or the message saying what is missing."""
        if self.text_radio.isChecked():
            texts = [line for line in self.text_edit.toPlainText().splitlines() if line.strip()]
            return ([], texts) if texts else "Type at least one text (one per line), or pick a file."
        paths = self.paths()
        if not paths:
            return "Pick a file to predict on (Browse…)."
        if len(paths) > 1 and any(p.suffix.lower() not in IMAGE_SUFFIXES for p in paths):
            return "Several files work only for image files; pick one .csv, .npy or .npz file at a time."
        return paths, None

    # ---- predicting ------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._job is not None

    def start_predict(self) -> None:
        """Load the model (once) and predict on a worker thread; the dialog stays usable and closable."""
        if self.busy:
            return
        request = self._request()
        if isinstance(request, str):
            self._show_error(request)
            return
        paths, texts = request
        info, top, loaded, run = self.info, self.top_spin.value(), self._predictor, self.run_path
        words = self.words_spin.value()

        def work() -> tuple[Predictor, Prediction]:
            try:
                predictor = loaded or load_predictor(run)
            except READ_ERRORS as exc:
                raise PredictError(f"Cannot load the model of run {run.name}: {exc}\nPick a run with saved weights "
                                   "under Training views > Runs, or train this one again.") from exc
            return predictor, predict(predictor, info, paths, texts, top, words)

        self.predict_button.setEnabled(False)
        what = f"{len(texts)} text(s)" if texts is not None else ", ".join(p.name for p in paths[:3]) + \
            (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        self._say(f"Predicting on {what}…", theme.MUTED)
        self._job = run_job(self, work, self._done, self._failed)

    def _done(self, result: tuple[Predictor, Prediction]) -> None:
        self._job = None
        self._predictor, self.prediction = result
        self.error = ""
        self.predict_button.setEnabled(True)
        self._fill(self.prediction)
        self.scale_banner.setText(f"⚠ {self.prediction.warning}")
        self.scale_banner.setVisible(bool(self.prediction.warning))
        rows = self.prediction.rows
        answers = (list(rows[0]["heads"].values()) if "heads" in rows[0] else [rows[0]]) if rows else []
        widest = max((np.size(a["values"]) for a in answers if "values" in a), default=0)
        note = f" (the first {MAX_VALUE_COLUMNS} of {widest} values each)" if widest > MAX_VALUE_COLUMNS else ""
        if self.info.detector:
            self.boxes.show_result(self.prediction.box_examples(), self.info.record.get("class_names") or [])
        self._say(f"{len(rows)} prediction(s){note}.", theme.OK_COLOR)

    def _failed(self, exc: Exception) -> None:
        self._job = None
        self.predict_button.setEnabled(True)
        self.scale_banner.hide()
        self._show_error(str(exc) if isinstance(exc, PredictError) else f"Prediction failed: {exc}")

    def _show_error(self, message: str) -> None:
        self.error = message
        self._say(message, theme.ERROR_COLOR)

    def _say(self, message: str, colour: str) -> None:
        self.status.setStyleSheet(f"color: {colour};")
        self.status.setText(message)

    # ---- results ---------------------------------------------------------------------------
    def _fill(self, prediction: Prediction) -> None:
        headers, cells = result_columns(self.info, prediction.rows, self.boxes.threshold)
        thumbs = prediction.thumbnails
        lead = (["image"] if thumbs else []) + ["#", "input"]
        self.table.clear()
        self.table.setColumnCount(len(lead) + len(headers))
        self.table.setRowCount(len(cells))
        self.table.setHorizontalHeaderLabels(lead + headers)
        for r, row in enumerate(cells):
            values: list[object] = [r + 1, prediction.sources[r], *row]
            if thumbs:
                thumb = QTableWidgetItem()
                thumb.setIcon(QIcon(QPixmap.fromImage(thumbs[r])))
                self.table.setItem(r, 0, thumb)
            for c, value in enumerate(values, start=len(lead) - 2):
                self.table.setItem(r, c, self._cell(value, "confidence" in self.table.horizontalHeaderItem(c).text()))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        stretched = self.table.columnCount() - 1 if self.info.detector else len(lead) - 1  # the box listing
        header.setSectionResizeMode(stretched, QHeaderView.ResizeMode.Stretch)
        if thumbs:
            self.table.verticalHeader().setDefaultSectionSize(THUMB + 6)
        self.save_button.setEnabled(bool(cells))

    @staticmethod
    def _cell(value: object, percent: bool) -> QTableWidgetItem:
        """Confidences read as percentages, other floats with 4 significant digits; the CSV keeps the number."""
        if isinstance(value, float):
            item = QTableWidgetItem(f"{value:.1%}" if percent else f"{value:.4g}")
            item.setData(Qt.ItemDataRole.UserRole, value)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return item
        item = QTableWidgetItem(str(value))
        if isinstance(value, int):
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item

    def table_rows(self) -> list[list[str]]:
        """The table as text, without the thumbnail column, numbers at full precision (what the CSV holds)."""
        first = 1 if self.table.columnCount() and self.table.horizontalHeaderItem(0).text() == "image" else 0
        columns = range(first, self.table.columnCount())
        header = [self.table.horizontalHeaderItem(c).text() for c in columns]
        body = []
        for r in range(self.table.rowCount()):
            cells = [self.table.item(r, c) for c in columns]
            body.append([repr(i.data(Qt.ItemDataRole.UserRole)) if isinstance(i.data(Qt.ItemDataRole.UserRole), float)
                         else i.text() for i in cells])
        return [header, *body]

    def save_csv(self, path: str | Path | None = None) -> Path | None:
        """Write the results table to `path` (asked for when None); returns the file written."""
        if path is None:
            default = self.run_path / "predictions.csv"
            path, _ = QFileDialog.getSaveFileName(self, "Save predictions", str(default), "CSV (*.csv)")
            if not path:
                return None
        path = Path(path)
        try:
            with path.open("w", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerows(self.table_rows())
        except OSError as exc:
            self._show_error(f"Cannot write {path}: {exc.strerror or exc}. Pick another folder.")
            return None
        self._say(f"Saved {self.table.rowCount()} prediction(s) to {path}.", theme.OK_COLOR)
        return path
