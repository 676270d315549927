"""The data panel: choose a built-in dataset or a CSV / image folder / NumPy file, preprocessing and
augmentation (each an undoable edit of the project's `data` section), see the data's size, shapes,
classes and samples, and keep the Input node's shape in step with the data.
"""

from __future__ import annotations

import copy

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor import theme
from editor.training.background import run_job
from editor.training.evaluation_view import image_of
from editor.training.form import SectionForm, field_for, float_spin, int_spin, widget_for
from editor.training.sections import set_key, set_section
from editor.training.widgets import banner, header
from engine.data import list_builtin, load_data, preview
from engine.data import notes as data_notes
from engine.data.sources import DATA_SOURCES, DataSource
from engine.datacheck import input_shape_of
from engine.sections import DATA, value_at

KEEP_ON_SWITCH = ("normalize", "split", "augment", "stream", "stream_threshold_mb", "chunk_rows", "resident_max_mb",
                  "workers")
OPTION_LABELS = {"n_samples": "Samples", "n_pairs": "Pairs", "seq_len": "Sequence length", "steps": "Steps",
                 "window": "Window (steps)", "vocab_size": "Vocabulary size", "noise": "Noise (std)", "seed": "Seed",
                 "n_users": "Users", "n_items": "Items", "rank": "Taste factors", "n_ratings": "Ratings"}
"""Row labels of the built-in datasets' options in the data panel."""
PREPROCESSING_KEYS = ("normalize", "split.val", "split.test", "split.stratify", "split.seed", "augment.hflip",
                      "augment.rotate_deg", "augment.crop_pad", "augment.noise_std")
LARGE_DATA_KEYS = ("stream", "stream_threshold_mb", "chunk_rows", "resident_max_mb", "workers")
"""The declared data keys (engine/sections.py) the panel's two forms show."""
PREVIEW_COUNT = 16
PREVIEW_COLUMNS = 8
DEBOUNCE_MS = 300


def mismatches(graph, info: dict) -> list[tuple[str, tuple, tuple]]:
    """(Input node id, its shape, the data's shape) for each Input whose shape differs from its data input."""
    out = []
    for node, shape in zip(graph.input_nodes(), info.get("input_shapes", []), strict=False):
        have = input_shape_of(node)[0]
        if have != tuple(shape):
            out.append((node.id, have, tuple(shape)))
    return out


def _fmt_shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


class DataPanel(QWidget):
    """Edits `controller.graph.data`; `info` holds the loaded data's description once it is known."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.info: dict | None = None
        self.samples: list = []
        self._generation = 0
        self._shown_section: dict | None = None
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.reload)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 8, 0)
        layout.addWidget(header("Source"))
        self.source_box = QComboBox()
        self.pages = QStackedWidget()
        self.path_edits: list[QLineEdit] = []
        self.source_forms: list[tuple[SectionForm, tuple[str, ...]]] = []
        hand_written = {"builtin": self._builtin_page, "csv": self._csv_page, "images": self._images_page,
                        "arrays": self._arrays_page}
        for record in DATA_SOURCES.values():  # one entry and page per source record (npy shares the npz entry)
            if record.panel_as is None:
                self.source_box.addItem(record.title, record.name)
                self.pages.addWidget(hand_written[record.page]() if record.page else self._declared_page(record))
        self.source_box.currentIndexChanged.connect(self._source_chosen)
        layout.addWidget(self.source_box)
        layout.addWidget(self.pages)
        layout.addWidget(header("Preprocessing"))
        self.form = SectionForm(controller, "data")
        for path in PREPROCESSING_KEYS:
            self.form.add(field_for(DATA.key(path)))
        layout.addLayout(self.form)
        layout.addWidget(header("Large data"))
        self.large_form = SectionForm(controller, "data")
        for path in LARGE_DATA_KEYS:
            self.large_form.add(field_for(DATA.key(path)))
        layout.addLayout(self.large_form)
        layout.addWidget(header("The data"))
        self.summary = QLabel("Loading…")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.summary)
        self.error = banner("error")
        layout.addWidget(self.error)
        self.note = banner("warning")
        layout.addWidget(self.note)
        self.match_label = QLabel()
        self.match_label.setWordWrap(True)
        layout.addWidget(self.match_label)
        self.match_button = QPushButton("Match Input to data")
        self.match_button.setToolTip("Set the Input node's shape parameters to the shape of the data's samples")
        self.match_button.clicked.connect(self.match_input)
        self.match_button.hide()
        layout.addWidget(self.match_button)
        self.samples_grid = QGridLayout()
        self.samples_grid.setSpacing(4)
        layout.addLayout(self.samples_grid)
        self.sample_table = QTableWidget()
        self.sample_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.sample_table.setMinimumHeight(220)
        self.sample_table.hide()
        layout.addWidget(self.sample_table)
        layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll)
        controller.graph_changed.connect(self.refresh)
        self.refresh()

    # ---- pages ---------------------------------------------------------------------------------
    def _builtin_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.builtin_list = QListWidget()
        self.builtin_list.setMinimumHeight(150)
        for info in list_builtin():
            item = QListWidgetItem(info.title)
            item.setData(Qt.ItemDataRole.UserRole, info.name)
            item.setToolTip(info.description)
            self.builtin_list.addItem(item)
        self.builtin_list.currentItemChanged.connect(self._builtin_chosen)
        layout.addWidget(self.builtin_list)
        self.builtin_about = QLabel()
        self.builtin_about.setWordWrap(True)
        self.builtin_about.setStyleSheet(f"color: {theme.MUTED};")
        layout.addWidget(self.builtin_about)
        row = QHBoxLayout()
        row.addWidget(QLabel("Task"))
        self.task_box = QComboBox()
        self.task_box.currentTextChanged.connect(self._task_chosen)
        row.addWidget(self.task_box, 1)
        layout.addLayout(row)
        self.option_form = QFormLayout()
        self.option_editors: dict[str, QWidget] = {}
        self.builtin_text_length: QSpinBox | None = None
        self._options_of = ""
        layout.addLayout(self.option_form)
        return page

    def _show_builtin_options(self, info, options: dict) -> None:
        """One row per option of a generated set (size, length, noise, seed), each an undoable edit."""
        if self._options_of != info.name:
            self._options_of = info.name
            while self.option_form.rowCount():
                self.option_form.removeRow(0)
            self.option_editors, self.builtin_text_length = {}, None
            for key, default in info.options.items():
                editor = float_spin(0.0, 1e6, 0.01, 3) if isinstance(default, float) else int_spin(0, 10**7)
                editor.setToolTip(f"data.options.{key} (default {default})")
                editor.valueChanged.connect(lambda value, k=key: set_key(self.controller, "data", f"options.{k}", value))
                self.option_form.addRow(OPTION_LABELS.get(key, key.replace("_", " ").capitalize()), editor)
                self.option_editors[key] = editor
            if info.text:
                self.builtin_text_length = self._words_spin()
                self.option_form.addRow("Words per text", self.builtin_text_length)
        for key, editor in self.option_editors.items():
            editor.blockSignals(True)
            editor.setValue(options.get(key, info.options[key]))
            editor.blockSignals(False)
        if info.text:
            self._show_words(self.builtin_text_length)

    def _words_spin(self) -> QSpinBox:
        """The 'Words per text' field (data.text_length) of a text column or a built-in text set."""
        spin = int_spin(0, 4096)
        spin.setSpecialValueText("auto")
        spin.setToolTip("Texts are padded or cut to this many words; auto keeps 95 % of them whole")
        spin.valueChanged.connect(lambda value: set_key(self.controller, "data", "text_length", value))
        return spin

    def _show_words(self, spin: QSpinBox) -> None:
        with QSignalBlocker(spin):
            spin.setValue(int(self.section.get("text_length", 0)))

    def _declared_page(self, record: DataSource) -> QWidget:
        """The page of a source without a hand-written one: its path and a form of its declared `page_keys`."""
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        path = self._path_row(layout, record.folder, record.pattern)
        if record.folder:
            path.setPlaceholderText("the folder to read")
        form = SectionForm(self.controller, "data")
        for path in record.page_keys:
            form.add(field_for(DATA.key(path)))
        layout.addLayout(form)
        self.source_forms.append((form, record.page_keys))
        return page

    def _path_row(self, layout: QVBoxLayout, folder: bool, pattern: str) -> QLineEdit:
        row = QHBoxLayout()
        edit = QLineEdit()
        edit.setPlaceholderText("folder with one sub-folder per class" if folder else "path to the file")
        edit.editingFinished.connect(lambda: self._set_path(edit.text()))
        browse = QPushButton("Browse…")

        def choose() -> None:
            if folder:
                path = QFileDialog.getExistingDirectory(self, "Image folder", edit.text())
            else:
                path, _ = QFileDialog.getOpenFileName(self, "Data file", edit.text(), pattern)
            if path:
                edit.setText(path)
                self._set_path(path)

        browse.clicked.connect(choose)
        row.addWidget(edit, 1)
        row.addWidget(browse)
        layout.addLayout(row)
        self.path_edits.append(edit)
        return edit

    def _csv_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.csv_path = self._path_row(layout, False, DATA_SOURCES["csv"].pattern)
        form = QFormLayout()
        self.target_box = QComboBox()
        self.target_box.activated.connect(lambda _i: self._csv_columns_changed())
        form.addRow("Target column", self.target_box)
        self.text_box = QComboBox()
        self.text_box.setToolTip("A column of raw text (reviews, messages...): its words become token ids with a "
                                 "vocabulary from the training split, for an Input of kind 'tokens' and an Embedding")
        self.text_box.activated.connect(lambda _i: self._text_column_chosen())
        form.addRow("Text column", self.text_box)
        self.text_length = self._words_spin()
        form.addRow("Words per text", self.text_length)
        layout.addLayout(form)
        layout.addWidget(QLabel("Feature columns"))
        self.feature_list = QListWidget()
        self.feature_list.setMinimumHeight(120)
        self.feature_list.itemChanged.connect(lambda _item: self._csv_columns_changed())
        layout.addWidget(self.feature_list)
        self.dropna_box = QCheckBox("Drop rows with empty cells")
        self.dropna_box.setToolTip("Leave out every row where a chosen feature or the target is empty "
                                   "(otherwise empty cells stop loading with a message naming the column)")
        self.dropna_box.toggled.connect(lambda on: set_key(self.controller, "data", "dropna", on))
        layout.addWidget(self.dropna_box)
        return page

    def _images_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.image_path = self._path_row(layout, True, "")
        size, color = DATA.key("size"), DATA.key("color")
        self.image_h, self.image_w = int_spin(int(size.min), int(size.max)), int_spin(int(size.min), int(size.max))
        self.color_box = widget_for(color)
        form = QFormLayout()
        form.addRow("Height (px)", self.image_h)
        form.addRow("Width (px)", self.image_w)
        form.addRow(color.label, self.color_box)
        for widget, tip in ((self.image_h, "Every image is resized to this height"),
                            (self.image_w, "Every image is resized to this width"),
                            (self.color_box, color.doc)):
            widget.setToolTip(tip)
        self.image_h.valueChanged.connect(lambda _v: self._image_size_changed())
        self.image_w.valueChanged.connect(lambda _v: self._image_size_changed())
        self.color_box.currentTextChanged.connect(lambda text: set_key(self.controller, "data", "color", text))
        layout.addLayout(form)
        return page

    def _arrays_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.array_path = self._path_row(layout, False, DATA_SOURCES["npz"].pattern)
        row = QHBoxLayout()
        self.x_key, self.y_key = QLineEdit(), QLineEdit()
        for label, edit, key in (("inputs key", self.x_key, "x_key"), ("targets key", self.y_key, "y_key")):
            row.addWidget(QLabel(label))
            row.addWidget(edit)
            edit.editingFinished.connect(lambda e=edit, k=key: set_key(self.controller, "data", k, e.text() or None))
        layout.addLayout(row)
        return page

    # ---- edits ---------------------------------------------------------------------------------
    @property
    def section(self) -> dict:
        return self.controller.graph.data

    def _switch(self, base: dict) -> None:
        kept = {k: copy.deepcopy(v) for k, v in self.section.items() if k in KEEP_ON_SWITCH}
        set_section(self.controller, "data", {**base, **kept}, "source")

    def _source_chosen(self, _index: int) -> None:
        source = self.source_box.currentData()
        self.pages.setCurrentIndex(self.source_box.currentIndex())
        current = self.section.get("source", "builtin")
        if source in (current, _panel_entry(current)):
            return
        if source == "builtin":
            self._switch({"source": "builtin", "name": DATA.default("name")})
        else:
            self._switch({"source": source})

    def _builtin_chosen(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        if self.section.get("source", "builtin") == "builtin" and self.section.get("name") == name:
            return
        self._switch({"source": "builtin", "name": name})

    def _task_chosen(self, task: str) -> None:
        if task and self.section.get("source", "builtin") == "builtin":
            info = self._builtin_info()
            set_key(self.controller, "data", "task", None if task == info.task else task)

    def _set_path(self, path: str) -> None:
        source = self.source_box.currentData()
        sharing = next((r.name for r in DATA_SOURCES.values() if r.panel_as == source
                        and any(path.lower().endswith(x) for x in r.predict_suffixes)), None)
        source = sharing or source
        new = {**self.section, "source": source, "path": path}
        if source == "csv":
            new.pop("features", None)
            new.pop("target", None)
        set_section(self.controller, "data", new, "path")

    def _text_column_chosen(self) -> None:
        column = self.text_box.currentData()
        new = {k: v for k, v in self.section.items() if k not in ("text", "features")}
        if column:
            new["text"] = column
        set_section(self.controller, "data", new, "text column")

    def _csv_columns_changed(self) -> None:
        features = [self.feature_list.item(i).text() for i in range(self.feature_list.count())
                    if self.feature_list.item(i).checkState() == Qt.CheckState.Checked]
        target = self.target_box.currentText()
        new = {**self.section, "target": target, "features": [f for f in features if f != target]}
        set_section(self.controller, "data", new, "columns")

    def _image_size_changed(self) -> None:
        set_key(self.controller, "data", "size", [self.image_h.value(), self.image_w.value()])

    def match_input(self) -> None:
        """Set the Inputs and the Output to fit the loaded data, as one undo step (the nodes' "Match the data")."""
        self.controller.match_data()

    # ---- model -> view -------------------------------------------------------------------------
    def _builtin_info(self):
        name = self.section.get("name", DATA.default("name"))
        return next((i for i in list_builtin() if i.name == name), list_builtin()[0])

    def refresh(self) -> None:
        """Show the current section; reload the data (debounced, off the GUI thread) when it changed."""
        section = self.section
        source = section.get("source", "builtin")
        widgets = (self.source_box, self.builtin_list, self.task_box, self.csv_path, self.image_path, self.array_path,
                   self.image_h, self.image_w, self.color_box, self.x_key, self.y_key, self.dropna_box)
        for w in widgets:
            w.blockSignals(True)
        try:
            index = max(0, self.source_box.findData(_panel_entry(source)))
            self.source_box.setCurrentIndex(index)
            self.pages.setCurrentIndex(index)
            if source == "builtin":
                info = self._builtin_info()
                named = section.get("name")  # a project without data selects nothing: it has no default set
                self.builtin_list.setCurrentRow(next((row for row in range(self.builtin_list.count())
                                                      if self.builtin_list.item(row).data(Qt.ItemDataRole.UserRole)
                                                      == named), -1))
                self.builtin_about.setText(info.description)
                self.task_box.clear()
                self.task_box.addItems(list(info.tasks or (info.task,)))
                self.task_box.setCurrentText(section.get("task") or info.task)
                self._show_builtin_options(info, section.get("options", {}))
            path = section.get("path") or section.get("x_path") or ""
            for edit in self.path_edits:
                edit.setText(path)
            size = section.get("size", DATA.default("size"))
            self.image_h.setValue(int(size[0]))
            self.image_w.setValue(int(size[1]))
            self.color_box.setCurrentText(section.get("color", DATA.default("color")))
            self.x_key.setText(section.get("x_key", ""))
            self.dropna_box.setChecked(bool(section.get("dropna", False)))
            self.y_key.setText(section.get("y_key", ""))
        finally:
            for w in widgets:
                w.blockSignals(False)
        values = {path: value_at(section, path, DATA.default(path)) for path in (*PREPROCESSING_KEYS, *LARGE_DATA_KEYS)}
        if source == "builtin" and "normalize" not in section:
            values["normalize"] = self._builtin_info().normalize
        self.form.refresh(values)
        self.large_form.refresh(values)
        for form, keys in self.source_forms:
            form.refresh({path: value_at(section, path, DATA.default(path)) for path in keys})
        if source == "csv" and section.get("path"):
            self._fill_columns(section)
        if section != self._shown_section:
            self._shown_section = copy.deepcopy(section)
            self._generation += 1  # a load of the previous section still running must not report back
            self.controller.data_info = None  # stale until the new data is loaded (no re-validation needed)
            self.summary.setText("Loading the data…")
            self._debounce.start()
        else:
            self._show_match()

    def _fill_columns(self, section: dict) -> None:
        try:
            import pandas as pd

            columns = [str(c) for c in pd.read_csv(section["path"], nrows=0, sep=section.get("delimiter", ",")).columns]
        except (OSError, ValueError):
            return
        target = section.get("target", columns[-1] if columns else "")
        features = section.get("features") or [c for c in columns if c != target]
        self.target_box.blockSignals(True)
        self.feature_list.blockSignals(True)
        self.text_box.blockSignals(True)
        self.text_box.clear()
        self.text_box.addItem("(none: numeric feature columns)", "")
        for column in columns:
            self.text_box.addItem(column, column)
        self.text_box.setCurrentIndex(max(self.text_box.findData(section.get("text", "")), 0))
        self.text_box.blockSignals(False)
        self._show_words(self.text_length)
        self.text_length.setEnabled(bool(section.get("text")))
        self.feature_list.setEnabled(not section.get("text"))
        self.target_box.clear()
        self.target_box.addItems(columns)
        self.target_box.setCurrentText(target)
        self.feature_list.clear()
        for column in columns:
            item = QListWidgetItem(column)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if column in features else Qt.CheckState.Unchecked)
            self.feature_list.addItem(item)
        self.target_box.blockSignals(False)
        self.feature_list.blockSignals(False)

    def reload(self) -> None:
        """Load the data section on a worker thread, then show its description and samples."""
        self._generation += 1
        generation, section = self._generation, copy.deepcopy(self.section)

        def work() -> tuple[dict, list, list[str]]:
            with data_notes.collect() as notes:  # e.g. a CSV whose first row was read as data
                return load_data(section).describe(), preview(section, PREVIEW_COUNT), notes

        run_job(self, work, lambda result: self._loaded(generation, result),
                lambda exc: self._load_failed(generation, exc))

    @property
    def loading(self) -> bool:
        return self._debounce.isActive() or self.summary.text().startswith("Loading")

    def _loaded(self, generation: int, result: tuple[dict, list, list[str]]) -> None:
        if generation != self._generation:
            return
        self.info, self.samples, notes = result
        self.controller.set_data_info(self.info)
        self.error.hide()
        self.note.setText("\n".join(dict.fromkeys(notes)))
        self.note.setVisible(bool(notes))
        info = self.info
        splits = info["splits"]
        shapes = ", ".join(_fmt_shape(s) for s in info["input_shapes"])
        classes = info.get("class_names") or []
        class_text = (f"{len(classes)} classes: {', '.join(classes[:12])}{' …' if len(classes) > 12 else ''}"
                      if classes else f"task {info['task']}")
        text = info.get("text")
        words = (f"<br>text column '{text['column']}': {len(text['vocab']):,} words in the vocabulary (ids from "
                 f"2; 0 pads, 1 is an unknown word), texts padded or cut to {text['seq_len']} words · an Embedding "
                 f"needs num_embeddings ≥ {info['vocab_size']:,}") if text else ""
        self.summary.setText(
            f"<b>{info['source']}</b> · {sum(splits.values()):,} samples "
            f"(train {splits['train']:,} / val {splits['val']:,} / test {splits['test']:,})<br>"
            f"input {shapes} · target {_fmt_shape(info['target_shape'])} · {class_text}{words}")
        self._show_samples()
        self._show_match()

    def _load_failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self.info, self.samples = None, []
        self.note.hide()
        self.controller.set_data_info({"error": str(exc)})
        self.summary.setText("The data could not be loaded.")
        self.error.setText(str(exc))
        self.error.show()
        self._show_samples()
        self._show_match()

    def _show_samples(self) -> None:
        while self.samples_grid.count():
            self.samples_grid.takeAt(0).widget().deleteLater()
        texts = bool(self.samples) and np.asarray(self.samples[0].inputs[0]).dtype == object
        pictures = [None if texts else image_of(np.asarray(s.inputs[0]).tolist()) for s in self.samples]
        if self.samples and all(p is not None for p in pictures):
            self.sample_table.hide()
            for k, (sample, picture) in enumerate(zip(self.samples, pictures, strict=True)):
                cell = QLabel()
                cell.setPixmap(picture.scaled(48, 48, Qt.AspectRatioMode.KeepAspectRatio))
                cell.setToolTip(sample.label)
                text = QLabel(sample.label[:12])
                text.setAlignment(Qt.AlignmentFlag.AlignCenter)
                box = QWidget()
                column = QVBoxLayout(box)
                column.setContentsMargins(0, 0, 0, 0)
                column.setSpacing(0)
                column.addWidget(cell, 0, Qt.AlignmentFlag.AlignCenter)
                column.addWidget(text)
                self.samples_grid.addWidget(box, k // PREVIEW_COLUMNS, k % PREVIEW_COLUMNS)
            return
        self.sample_table.setVisible(bool(self.samples))
        if not self.samples:
            return
        width = min(max(np.asarray(s.inputs[0]).size for s in self.samples), 8)
        self.sample_table.setColumnCount(width + 1)
        self.sample_table.setHorizontalHeaderLabels(["label"] + (["text"] if texts else [f"x{i}" for i in range(width)]))
        self.sample_table.setRowCount(len(self.samples))
        for r, sample in enumerate(self.samples):
            self.sample_table.setItem(r, 0, QTableWidgetItem(sample.label))
            flat = np.ravel(sample.inputs[0])[:width]
            for c, value in enumerate(flat):
                text = f"{value:.4g}" if np.issubdtype(type(value), np.floating) else str(value)
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.sample_table.setItem(r, c + 1, item)
        self.sample_table.horizontalHeader().setStretchLastSection(texts)

    def _show_match(self) -> None:
        if not self.info:
            self.match_label.setText("")
            self.match_button.hide()
            return
        graph = self.controller.graph
        wrong = mismatches(graph, self.info)
        inputs = graph.input_nodes()
        if not inputs:
            self.match_label.setText("The graph has no Input node yet.")
            self.match_button.hide()
            return
        if not wrong:
            shapes = ", ".join(_fmt_shape(input_shape_of(n)[0]) for n in inputs)
            self.match_label.setText(f"<span style='color:{theme.OK_COLOR}'>✔ Input shape {shapes} matches the data."
                                     "</span>")
            self.match_button.hide()
            return
        lines = [f"✖ Input '{graph.nodes[nid].name}' is {_fmt_shape(have)} but the data's samples are "
                 f"{_fmt_shape(want)}" for nid, have, want in wrong]
        self.match_label.setText(f"<span style='color:{theme.ERROR_COLOR}'>{'<br>'.join(lines)}</span>")
        self.match_button.show()


def _panel_entry(source: str) -> str:
    """The source-box entry that shows `source` (its own, or the one it shares: npy -> npz)."""
    record = DATA_SOURCES.get(source)
    return (record.panel_as or record.name) if record else source
