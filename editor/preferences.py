"""Edit > Preferences: theme, default training device and autosave interval, written to `editor.settings`."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from editor import theme
from editor.settings import AUTOSAVE_RANGE_S, DEVICES, Settings, available_themes
from engine.device import mps_available
from engine.lazy import LazyModule

torch = LazyModule("torch")

DEVICE_LABELS = {"auto": "auto (CUDA GPU, then Apple MPS, then CPU)", "cpu": "CPU", "cuda": "CUDA GPU",
                 "mps": "Apple MPS (Metal)"}


def device_available(name: str) -> bool:
    """Whether training can run on `name` on this machine."""
    return {"cuda": torch.cuda.is_available, "mps": mps_available}.get(name, lambda: True)()


class PreferencesDialog(QDialog):
    """Shows the stored settings; accept() writes the edited ones back (the window then applies them)."""

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Preferences")
        self.setMinimumWidth(460)
        self.theme = QComboBox()
        self.theme.addItems(available_themes())
        self.theme.setCurrentText(settings.theme)
        self.theme.setToolTip("The editor's colours; OK applies them at once to every open view")
        self.device = QComboBox()
        for name in DEVICES:
            self.device.addItem(DEVICE_LABELS[name], name)
            if not device_available(name):
                item = self.device.model().item(self.device.count() - 1)
                item.setEnabled(False)
                item.setToolTip("not found on this machine")
        self.device.setCurrentIndex(DEVICES.index(settings.device))
        self.device.setToolTip("Where a project trains when its own Training > Device is 'auto'")
        self.autosave = QSpinBox()
        self.autosave.setRange(*AUTOSAVE_RANGE_S)
        self.autosave.setSuffix(" s")
        self.autosave.setValue(settings.autosave_interval_s)
        self.autosave.setToolTip("Unsaved work is written to the recovery file this long after the last change")

        form = QFormLayout()
        form.setVerticalSpacing(10)
        form.addRow("Theme", self.theme)
        form.addRow("Default training device", self.device)
        form.addRow("Autosave after", self.autosave)
        note = QLabel(f"Settings are stored in {settings.path}", wordWrap=True)
        note.setStyleSheet(f"color: {theme.MUTED};")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def accept(self) -> None:
        self.settings.theme = self.theme.currentText()
        self.settings.device = self.device.currentData()
        self.settings.autosave_interval_s = self.autosave.value()
        super().accept()
