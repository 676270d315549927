"""The training settings panel: every widget edits one key of the project's `training` section; run buttons."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from editor import theme, warmup
from editor.training.form import Field, SectionForm, combo, field_for
from editor.training.lr_finder import LRFinderDialog
from editor.training.widgets import banner, header
from engine.device import choose_device, device_name, mps_available
from engine.errors import TrainingError
from engine.lazy import LazyModule
from engine.sections import TRAINING
from engine.train.config import TrainingConfig

torch = LazyModule("torch")

FORM_GROUPS = (
    ("Objective", ("loss", "label_smoothing", "class_weights")),
    ("Optimizer", ("optimizer", "lr", "momentum", "nesterov", "weight_decay")),
    ("Schedule", ("schedule", "warmup_epochs", "step_size", "gamma", "plateau_patience", "plateau_factor")),
    ("Loop", ("epochs", "batch_size", "eval_batch_size", "clip", "clip_value", "seed")),
    ("Early stopping", ("early_stopping.enabled", "monitor", "early_stopping.patience", "early_stopping.restore_best")),
    ("Hardware", ("device", "precision")),
    ("Live views", ("events.summaries", "events.summaries_every")),
)
"""Which declared training keys the panel shows, grouped under headers."""


def device_choices() -> list[str]:
    """'auto', 'cpu' and every accelerator present on this machine."""
    out = ["auto", "cpu"]
    if warmup.loading():
        return out
    if torch.cuda.is_available():
        out += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if mps_available():
        out.append("mps")
    return out


def device_summary(default: str = "auto") -> str:
    """The GPU found (or that there is none) and where a project whose Device is 'auto' trains, given the
    Preferences' default device `default`."""
    found = choose_device("auto")
    line = "No GPU found." if found.type == "cpu" else f"GPU found: {device_name(found)} ({found.type})."
    if default == "auto":
        return f"{line} Device 'auto' trains on the {device_name(found)}."
    try:
        return f"{line} Device 'auto' trains on the {device_name(choose_device(default))} (your Preferences default)."
    except TrainingError:
        return f"{line} Your Preferences default device '{default}' is not on this machine: runs will fail; " \
               "choose another in Edit > Preferences."


def flat_config(config: TrainingConfig) -> dict:
    """{'lr': ..., 'early_stopping.patience': ...} of every key the form shows."""
    out = {}
    for key, value in config.to_dict().items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


class TrainingPanel(QWidget):
    """Loss, optimizer, schedule, epochs, batch size, regularization, early stopping, seed, device, precision."""

    start_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addLayout(self._buttons())
        self.status = QLabel("Ready.")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        self.error = banner("error")
        outer.addWidget(self.error)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 8, 0)
        self.forms: list[SectionForm] = []
        for title, rows in self._rows():
            layout.addWidget(header(title))
            form = SectionForm(controller, "training", self._after_edit)
            for row in rows:
                form.add(row)
            layout.addLayout(form)
            self.forms.append(form)
        self.default_device = "auto"
        self.device_label = QLabel("Looking for a GPU…")
        self.device_label.setWordWrap(True)
        self.device_label.setStyleSheet(f"color: {theme.MUTED};")
        layout.addWidget(self.device_label)
        layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        warmup.after_load(self._find_devices)
        controller.graph_changed.connect(self.refresh)
        self.refresh()
        self.set_run_state("idle", False)

    # ---- construction ----------------------------------------------------------------------
    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.stop_button = QPushButton("Stop")
        tips = ("Train the network on the project's data with these settings",
                "Pause between batches", "Continue a paused run, or a stopped run from its checkpoint",
                "Stop after the current batch (a checkpoint is saved, so Resume can continue)")
        for button, tip, signal in zip((self.start_button, self.pause_button, self.resume_button, self.stop_button),
                                       tips, (self.start_requested, self.pause_requested, self.resume_requested,
                                              self.stop_requested), strict=True):
            button.setToolTip(tip)
            button.clicked.connect(signal.emit)
            row.addWidget(button)
        self.find_lr_button = QPushButton("Find LR\u2026")
        self.find_lr_button.setToolTip("Learning-rate range test: short trainings while the LR grows, over several "
                                       "seeds; shows the loss curve and suggests a learning rate")
        self.find_lr_button.clicked.connect(self.find_lr)
        self.lr_find_settings = {"repeats": 3, "steps": 100}
        row.addWidget(self.find_lr_button)
        return row

    def find_lr(self) -> LRFinderDialog:
        """Open the range-test dialog on the current project (it runs in the background)."""
        dialog = LRFinderDialog(self.controller, self, **self.lr_find_settings)
        dialog.show()
        return dialog

    def _rows(self) -> list[tuple[str, list[Field]]]:
        """The form: groups of declared training keys (engine/sections.py holds their labels, ranges and help)."""
        dynamic = {"device": combo(device_choices())}
        return [(title, [field_for(TRAINING.key(path), dynamic.get(path)) for path in paths])
                for title, paths in FORM_GROUPS]

    def set_default_device(self, name: str) -> None:
        """Show where 'auto' trains now that the Preferences' default device is `name`."""
        self.default_device = name
        if warmup.loading():
            return  # the GPU is looked for once PyTorch has loaded (`_find_devices`)
        self.device_label.setText(device_summary(name))
        tip = "auto picks CUDA, then Apple MPS, then the CPU" if name == "auto" else \
            f"auto uses the default device from Edit > Preferences ({name})"
        self.field("device").setToolTip(tip)

    def _find_devices(self) -> None:
        """Offer the accelerators present and mark CUDA-only settings (needs PyTorch: after it has loaded)."""
        box = self.field("device")
        for name in device_choices()[box.count():]:
            box.addItem(name)
        self.set_default_device(self.default_device)
        self._mark_cuda_only()
        self.refresh()

    def _mark_cuda_only(self) -> None:
        box = self.field("precision")
        if not torch.cuda.is_available():
            for name in ("bf16", "fp16"):
                item = box.model().item(box.findText(name))
                item.setEnabled(False)
                item.setToolTip("needs a CUDA GPU")

    def field(self, path: str) -> QWidget:
        """The widget editing `path` of the training section."""
        for form in self.forms:
            if path in form.fields:
                return form.fields[path].widget
        raise KeyError(path)

    # ---- model -> view ---------------------------------------------------------------------
    def refresh(self) -> None:
        section = self.controller.graph.training
        try:
            config = TrainingConfig.from_dict(section)
            self.error.hide()
        except TrainingError as exc:
            self.error.setText(f"The training settings need a fix: {exc}")
            self.error.show()
            known = {k: v for k, v in section.items() if k in TrainingConfig.__dataclass_fields__}
            try:
                config = TrainingConfig.from_dict({k: v for k, v in known.items() if not isinstance(v, dict)})
            except TrainingError:
                config = TrainingConfig()
        values = flat_config(config)
        for form in self.forms:
            form.refresh(values)
        self._show_relevant(config)

    def _show_relevant(self, c: TrainingConfig) -> None:
        for form in self.forms:
            form.show_rows({path: shown for path, shown in {
                "momentum": c.optimizer in ("sgd", "rmsprop"), "nesterov": c.optimizer == "sgd",
                "label_smoothing": c.loss in ("auto", "cross_entropy"),
                "class_weights": c.loss in ("auto", "cross_entropy", "bce"),
                "step_size": c.schedule == "step", "gamma": c.schedule == "step",
                "plateau_patience": c.schedule == "plateau", "plateau_factor": c.schedule == "plateau",
                "clip_value": c.clip != "none", "early_stopping.patience": c.early_stopping.enabled,
                "early_stopping.restore_best": c.early_stopping.enabled,
                "events.summaries_every": c.events.summaries,
            }.items() if path in form.fields})

    def _after_edit(self) -> None:
        self.status.setText("Settings changed; they apply to the next run.")

    # ---- run state -------------------------------------------------------------------------
    def set_run_state(self, state: str, can_continue: bool) -> None:
        """Enable the buttons that make sense: state is idle, running, paused or stopping."""
        self.start_button.setEnabled(state == "idle")
        self.find_lr_button.setEnabled(state == "idle")
        self.pause_button.setEnabled(state == "running")
        self.resume_button.setEnabled(state == "paused" or (state == "idle" and can_continue))
        self.stop_button.setEnabled(state in ("running", "paused"))
