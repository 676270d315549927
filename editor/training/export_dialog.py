"""Export a trained run in any engine format, off the GUI thread, and show the export check's verdict."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from editor import theme
from editor.training.background import run_job
from engine.lazy import LazyModule

if TYPE_CHECKING:
    from engine.export import ExportResult

export = LazyModule("engine.export")  # PyTorch: imported when the dialog opens, not at start-up


def check_text(check: dict | None) -> tuple[str, bool]:
    """(readable verdict, passed) of an export's output check."""
    if not check:
        return "No output check for this format.", True
    passed = bool(check.get("passed", False))
    details = ", ".join(f"{k.replace('_', ' ')} {v:.3g}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}"
                        for k, v in check.items() if k != "passed")
    return f"{'✔ Check passed' if passed else '✖ Check FAILED'}: {details}", passed


class ExportDialog(QDialog):
    """Choose format, weights and destination; Export runs `engine.export.export_run` on a worker thread."""

    def __init__(self, run_path: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_path = Path(run_path)
        self.result: ExportResult | None = None
        self.error: Exception | None = None
        self.setWindowTitle(f"Export {self.run_path.name}")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.format_box = QComboBox()
        for fmt in export.EXPORT_FORMATS.values():
            self.format_box.addItem(f"{fmt.name}  ({fmt.description})", fmt.name)
        self.weights_box = QComboBox()
        self.weights_box.addItems(["best", "last"])
        self.path_edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        form.addRow("Format", self.format_box)
        form.addRow("Weights", self.weights_box)
        form.addRow("Save to", row)
        layout.addLayout(form)
        self.status = QLabel("Every export also writes preprocessing.json (normalization, class names, input shape).")
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {theme.MUTED};")
        layout.addWidget(self.status)
        self.files = QLabel()
        self.files.setWordWrap(True)
        layout.addWidget(self.files)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.clicked.connect(self.start_export)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.format_box.currentIndexChanged.connect(lambda _i: self._default_path())
        self._default_path()

    @property
    def fmt(self) -> str:
        return self.format_box.currentData()

    def set_format(self, fmt: str) -> None:
        self.format_box.setCurrentIndex(self.format_box.findData(fmt))

    def _default_path(self) -> None:
        fmt = export.EXPORT_FORMATS[self.fmt]
        name = f"model-{fmt.name}" if fmt.folder_only else f"model{fmt.suffix}"
        self.path_edit.setText(str(self.run_path / "exports" / fmt.name / name))

    def _browse(self) -> None:
        fmt = export.EXPORT_FORMATS[self.fmt]
        if fmt.folder_only:
            path = QFileDialog.getExistingDirectory(self, "Export folder", self.path_edit.text())
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path_edit.text(),
                                                  f"{fmt.name} (*{fmt.suffix})")
        if path:
            self.path_edit.setText(path)

    def start_export(self) -> None:
        """Export on a worker thread; the dialog stays responsive and shows the check when done."""
        fmt, weights, out = self.fmt, self.weights_box.currentText(), Path(self.path_edit.text())
        self.result, self.error = None, None
        self.export_button.setEnabled(False)
        self.status.setText(f"Exporting to {fmt}…")
        self._job = run_job(self, lambda: export.export_run(self.run_path, fmt, out, weights), self._done, self._failed)

    @property
    def busy(self) -> bool:
        return self.export_button.isEnabled() is False

    def _done(self, result: ExportResult) -> None:
        self.result = result
        self.export_button.setEnabled(True)
        text, passed = check_text(result.check)
        colour = theme.OK_COLOR if passed else theme.ERROR_COLOR
        self.status.setText(f"<span style='color:{colour}'>{text}</span>")
        self.files.setText("Wrote:<br>" + "<br>".join(str(p) for p in result.files))

    def _failed(self, exc: Exception) -> None:
        self.error = exc
        self.export_button.setEnabled(True)
        self.status.setText(f"<span style='color:{theme.ERROR_COLOR}'>Export failed: {exc}</span>")
