"""The training settings panel: every widget edits one key of the project's `training` section; run buttons."""

from __future__ import annotations

import torch
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from editor import theme
from editor.training.form import Field, SectionForm, combo, float_spin, int_spin, sci_spin
from editor.training.lr_finder import LRFinderDialog
from editor.training.widgets import banner, header
from engine.device import choose_device, device_name, mps_available
from engine.errors import TrainingError
from engine.train.config import CLIPS, LOSSES, OPTIMIZERS, PRECISIONS, SCHEDULES, TrainingConfig

MONITORS = ("val_loss", "val_accuracy", "val_f1", "val_auc", "val_mae", "val_rmse", "val_r2", "train_loss")


def device_choices() -> list[str]:
    """'auto', 'cpu' and every accelerator present on this machine."""
    out = ["auto", "cpu"]
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
        self.device_label = QLabel(device_summary())
        self.device_label.setWordWrap(True)
        self.device_label.setStyleSheet(f"color: {theme.MUTED};")
        layout.addWidget(self.device_label)
        layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self._mark_cuda_only()
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
        return [
            ("Objective", [
                Field("loss", "Loss", combo(LOSSES), "How far the predictions are from the targets; training lowers it. "
                      "auto follows the Output node's task (cross-entropy for classes, MSE for numbers)"),
                Field("label_smoothing", "Label smoothing", float_spin(0, 0.5, 0.05, 2), "cross-entropy only"),
            ]),
            ("Optimizer", [
                Field("optimizer", "Optimizer", combo(OPTIMIZERS),
                      "How gradients update the weights: SGD takes plain steps (with momentum), Adam/AdamW "
                      "adapt each weight's step size, RMSprop scales steps by recent gradient size"),
                Field("lr", "Learning rate", sci_spin(1e-7, 10.0), "Step size of each update; arrows halve/double it"),
                Field("momentum", "Momentum", float_spin(0, 0.999, 0.05, 3), "SGD / RMSprop"),
                Field("nesterov", "Nesterov", QCheckBox(), "Nesterov momentum (SGD with momentum > 0)"),
                Field("weight_decay", "Weight decay", sci_spin(0.0, 1.0), "L2 penalty (decoupled for AdamW)"),
            ]),
            ("Schedule", [
                Field("schedule", "LR schedule", combo(SCHEDULES),
                      "How the learning rate changes as training goes on: step drops, cosine decay, one-cycle, "
                      "or lower it when the monitored metric stops improving (plateau)"),
                Field("warmup_epochs", "Warm-up epochs", int_spin(0, 1000),
                      "The LR rises linearly over these epochs before the schedule starts"),
                Field("step_size", "Step every (epochs)", int_spin(1, 10000)),
                Field("gamma", "Step factor", float_spin(0.001, 1.0, 0.05, 3)),
                Field("plateau_patience", "Plateau patience", int_spin(0, 1000)),
                Field("plateau_factor", "Plateau factor", float_spin(0.001, 0.999, 0.05, 3)),
            ]),
            ("Loop", [
                Field("epochs", "Epochs", int_spin(1, 100000), "One epoch is one full pass over the training split"),
                Field("batch_size", "Batch size", int_spin(1, 1 << 20),
                      "Samples per weight update: larger batches give smoother but fewer updates per epoch"),
                Field("eval_batch_size", "Eval batch size", int_spin(0, 1 << 20),
                      "Batch size of validation and test passes; 0 = auto (4x the batch size, at most 1024)"),
                Field("clip", "Gradient clipping", combo(CLIPS), "Clip the total gradient norm or each value"),
                Field("clip_value", "Clip threshold", float_spin(1e-4, 1e6, 0.5, 4)),
                Field("seed", "Seed", int_spin(0, 2**31 - 1), "Same seed, same run"),
            ]),
            ("Early stopping", [
                Field("early_stopping.enabled", "Early stopping", QCheckBox(),
                      "Stop when the monitored metric has not improved for `patience` epochs"),
                Field("monitor", "Monitor", combo(MONITORS, editable=True),
                      "Metric that picks the best epoch (and drives early stopping / plateau)"),
                Field("early_stopping.patience", "Patience (epochs)", int_spin(0, 10000)),
                Field("early_stopping.restore_best", "Restore best weights", QCheckBox()),
            ]),
            ("Hardware", [
                Field("device", "Device", combo(device_choices()), "auto picks CUDA, then Apple MPS, then the CPU"),
                Field("precision", "Precision", combo(PRECISIONS),
                      "auto = bf16 mixed precision on CUDA GPUs that support it; mixed precision is CUDA-only"),
            ]),
            ("Live views", [
                Field("events.summaries", "Activations & gradients", QCheckBox(),
                      "Record per-layer activation and gradient summaries while training"),
                Field("events.summaries_every", "Summaries every (batches)", int_spin(0, 100000),
                      "0 = once per epoch"),
            ]),
        ]

    def set_default_device(self, name: str) -> None:
        """Show where 'auto' trains now that the Preferences' default device is `name`."""
        self.default_device = name
        self.device_label.setText(device_summary(name))
        tip = "auto picks CUDA, then Apple MPS, then the CPU" if name == "auto" else \
            f"auto uses the default device from Edit > Preferences ({name})"
        self.field("device").setToolTip(tip)

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
