"""File > Import PyTorch model…: choose a model file, class and input shapes; the import runs as a job, its
report shows here and the imported project opens on the canvas (asking first about unsaved work)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from editor import theme
from editor.import_job import ImportControl, ImportRequest, import_job, model_classes
from editor.jobs import DRAIN_MS, ProcessJob, ThreadJob
from engine.errors import DeepWireError, ProjectFileError
from engine.graph import Graph
from engine.head import OUTPUT_TASKS
from engine.importer import split_reference
from engine.importer_cli import parse_input_shape

AUTO_TASK = "automatic (from the output's size)"


class ImportDialog(QDialog):
    """Import a torch.nn.Module into the `window`'s document; `backend` "process" (the default) runs the user's
    code in a child process, so a crash or a hang in it cannot take the editor down and Cancel can end it."""

    def __init__(self, window, backend: str = "process"):
        super().__init__(window)
        self.window_ = window
        self.backend = backend
        self.setWindowTitle("Import PyTorch model")
        self.setMinimumWidth(780)
        self._job: ProcessJob | ThreadJob | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self.drain)
        self.outcome: dict | None = None
        """The worker's last message once it ended: kind 'done' or 'error'."""
        self._build()
        self._update_enabled()

    # ---- construction ----------------------------------------------------------------------
    def _build(self) -> None:
        self.source = QLineEdit()
        self.source.setPlaceholderText("models.py, or package.module:Class")
        self.source.editingFinished.connect(self.refresh_classes)
        self.source.textChanged.connect(lambda _t: self._update_enabled())
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.choose_file)
        self.classes = QComboBox()
        self.classes.setEditable(True)
        self.classes.lineEdit().setPlaceholderText("the file's only nn.Module class")
        self.shapes = QLineEdit()
        self.shapes.setPlaceholderText("3,32,32  (no batch dim; ';' between inputs; N marks a sequence-first batch: 35,N)")
        self.shapes.textChanged.connect(lambda _t: self._update_enabled())
        self.output_key = QLineEdit()
        self.output_key.setPlaceholderText("all outputs (or the key / index to keep of a dict or tuple result)")
        self.task = QComboBox()
        self.task.addItems([AUTO_TASK, *OUTPUT_TASKS])
        self.keep_weights = QCheckBox("Save the weights with the project (PROJECT.safetensors beside it; "
                                      "training starts from them)")
        self.keep_weights.setChecked(True)
        self.keep_weights.toggled.connect(lambda _on: self._update_enabled())
        self.project_path = QLineEdit()
        self.project_path.setPlaceholderText("where to save the project (.json)")
        self.project_path.textChanged.connect(lambda _t: self._update_enabled())
        self.browse_project = QPushButton("Browse…")
        self.browse_project.clicked.connect(self.choose_project_path)

        form = QFormLayout()
        form.addRow("Model file:", _row(self.source, browse))
        note = QLabel("Importing runs the code in this file, as Python would: import only code you trust.")
        note.setStyleSheet(f"color: {theme.MUTED}")
        form.addRow("", note)
        form.addRow("Class:", self.classes)
        form.addRow("Input shape:", self.shapes)
        form.addRow("Output key:", self.output_key)
        form.addRow("Task:", self.task)
        form.addRow("", self.keep_weights)
        form.addRow("Project file:", _row(self.project_path, self.browse_project))

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setMinimumHeight(2 * self.status.fontMetrics().lineSpacing())  # a message never squeezed away
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.report.setMinimumHeight(150)
        self.report.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.report, 1)
        layout.addWidget(self.buttons)

    def _update_enabled(self) -> None:
        idle = self._job is None and not self.report.isVisible()  # after an import: its report, Close
        keep = self.keep_weights.isChecked()
        for widget in (self.source, self.classes, self.shapes, self.output_key, self.task, self.keep_weights):
            widget.setEnabled(idle)
        self.project_path.setEnabled(idle and keep)
        self.browse_project.setEnabled(idle and keep)
        ready = bool(self.source.text().strip() and self.shapes.text().strip()
                     and (not keep or self.project_path.text().strip()))
        self.import_button.setEnabled(idle and ready)

    # ---- choosing --------------------------------------------------------------------------
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model file", self.source.text() or str(Path.home()),
                                              "Python file (*.py)")
        if path:
            self.source.setText(path)
            self.refresh_classes()

    def choose_project_path(self) -> None:
        start = self.project_path.text() or str(self._default_project_path())
        path, _ = QFileDialog.getSaveFileName(self, "Save the imported project as", start, "DeepWire project (*.json)")
        if path:
            self.project_path.setText(str(Path(path).with_suffix(".json")))

    def _default_project_path(self) -> Path:
        source = Path(split_reference(self.source.text().strip())[0])
        folder = source.parent if source.suffix == ".py" else Path.home()
        return folder / f"{self.classes.currentText().strip() or 'imported'}.json"

    def refresh_classes(self) -> None:
        """Fill the class list from the chosen .py file (read, not run); say what is wrong with the file."""
        text = self.source.text().strip()
        if not text.endswith(".py"):
            return
        chosen = self.classes.currentText()
        self.classes.clear()
        try:
            found = model_classes(text)
        except OSError as exc:
            self.show_error(f"{text}: cannot be read ({exc.strerror or exc})")
            return
        except (SyntaxError, ValueError) as exc:
            line = f", line {exc.lineno}" if getattr(exc, "lineno", None) else ""
            self.show_error(f"{Path(text).name}{line}: the file is not valid Python ({getattr(exc, 'msg', exc)})")
            return
        if not found:
            self.show_error(f"{Path(text).name} defines no torch.nn.Module class; type the class name if it "
                            "comes from elsewhere")
            return
        self.classes.addItems(found)
        self.classes.setCurrentText(chosen if chosen in found else found[-1])
        self.status.clear()
        if not self.project_path.text():
            self.project_path.setText(str(self._default_project_path()))

    # ---- running ---------------------------------------------------------------------------
    def request(self) -> ImportRequest:
        """The import the fields describe; DeepWireError for a shape or file the user must fix first."""
        source = self.source.text().strip()
        cls = self.classes.currentText().strip()
        ref = f"{source}:{cls}" if cls and not split_reference(source)[1] else source
        if source.endswith(".py") and not Path(source).is_file():
            raise DeepWireError(f"{source}: no such file")
        try:
            parsed = [parse_input_shape(s) for s in self.shapes.text().split(";") if s.strip()]
        except DeepWireError as exc:  # the CLI's wording names its option; here it is the field
            raise DeepWireError(str(exc).replace("--input-shape", "Input shape")) from None
        if not parsed or any(not shape for shape, _axis in parsed):
            raise DeepWireError("give each input's shape without the batch dim, e.g. 3,32,32 (';' between inputs)")
        key = self.output_key.text().strip() or None
        output = int(key) if key is not None and key.lstrip("-").isdigit() else key
        task = self.task.currentText() if self.task.currentIndex() > 0 else None
        path = None
        if self.keep_weights.isChecked():
            target = Path(self.project_path.text().strip()).expanduser()
            path = str((target if target.suffix else target.with_suffix(".json")).resolve())
        return ImportRequest(ref, [s for s, _ in parsed], [a for _, a in parsed], None, task, output, path)

    def start(self) -> bool:
        """Check the fields, ask about unsaved work, then run the import as a job; False when it did not start."""
        try:
            request = self.request()
        except DeepWireError as exc:
            self.show_error(str(exc))
            return False
        if request.project_path and Path(request.project_path).exists() and QMessageBox.question(
                self, "Replace the file?", f"{request.project_path} exists. Replace it (and its weights file)?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No) != QMessageBox.StandardButton.Yes:
            return False
        if not self.window_.confirm_discard():
            return False
        self.outcome = None
        self.report.hide()
        self.status.setStyleSheet("")
        self.status.setText("Starting the import…")
        self.progress.show()
        job = ProcessJob if self.backend == "process" else ThreadJob
        self._job = job(import_job, ImportControl, (request,), name="deepwire-import")
        self._timer.start()
        self._update_enabled()
        return True

    @property
    def busy(self) -> bool:
        return self._job is not None

    def drain(self) -> None:
        """Show the worker's progress; when it ended, its report or error (the timer calls this)."""
        if self._job is None:
            return
        messages, ended = self._job.drain()
        for message in messages:
            if message.get("kind") == "progress":
                self.status.setText(message["text"])
            else:
                self.outcome = message
        if not ended:
            return
        lost = self._job.exit_note("The import") if self.outcome is None else ""
        self._stop_job()
        if self.outcome is None:
            self.outcome = {"kind": "error", "message": f"{lost} Nothing was imported."}
        if self.outcome["kind"] == "done":
            self._finish(self.outcome)
        else:
            self.show_error(self.outcome["message"])

    def _finish(self, outcome: dict) -> None:
        """Open the imported project on the canvas and show its report."""
        try:
            if outcome["path"]:
                self.window_.document.open(outcome["path"])
            else:
                self.window_.document.new(Graph.from_dict(outcome["project"]))
        except ProjectFileError as exc:
            self.show_error(str(exc))
            return
        self.window_.hide_welcome()
        self.window_.controller.fit_view()
        problems, warnings = outcome["problems"], outcome["warnings"]
        summary = "Imported exactly." if not problems else (
            f"Imported with {problems} placeholder node{'s' if problems != 1 else ''} to replace (see Problems).")
        if warnings:
            summary += f" {warnings} warning{'s' if warnings != 1 else ''}."
        if outcome["weights"]:
            summary += f" Saved {Path(outcome['path']).name} with its weights in {Path(outcome['weights']).name}."
        else:
            summary += " The project is not saved yet."
        self.status.setStyleSheet(f"color: {theme.WARNING_COLOR}" if problems else "")
        self.status.setText(summary)
        self.report.setPlainText(outcome["report"])
        self.report.show()
        self._update_enabled()
        self.import_button.hide()
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).hide()
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)  # rejected -> reject(): closes

    def show_error(self, message: str) -> None:
        self.status.setStyleSheet(f"color: {theme.ERROR_COLOR}")
        self.status.setText(message)

    def _stop_job(self) -> None:
        job, self._job = self._job, None
        self._timer.stop()
        self.progress.hide()
        if isinstance(job, ProcessJob) and job.process.is_alive():
            job.process.terminate()
            job.wait(5)
        self._update_enabled()

    def reject(self) -> None:
        """Cancel: end a running import (its process) and close; the open project stays as it was."""
        if self._job is not None:
            self._stop_job()
        super().reject()


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, QLineEdit) else 0)
    return row
