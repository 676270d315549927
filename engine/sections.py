"""Declarations of the project's `training`, `data` and `sweep` sections: one `Key` per setting.

A `Key` is a layer `Param` (kind, default, range, choices, help) plus what a form needs (a title,
exclusive bounds, a step). The declarations drive the training and data panels' forms, the training
config's checks, `deepwire validate`'s section problems and the docs tables. Defaults are not typed
twice: training defaults come from `TrainingConfig`, data defaults from the data loader's own tables.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.data import augment, files, preprocess
from engine.data.load import DEFAULTS as DATA_DEFAULTS
from engine.data.load import FILE_NORMALIZE
from engine.data.raw import TASKS
from engine.data.sources import DATA_SOURCES, SOURCE_NAMES
from engine.errors import Problem, TrainingError
from engine.layers.spec import PARAM_KINDS, Param
from engine.train import config as training

SECTION_KINDS = (*PARAM_KINDS, "floats", "any")


@dataclass(frozen=True)
class Key(Param):
    """One setting of a section; `name` is its path ('lr', 'early_stopping.patience').

    Beyond `Param`: `above`/`below` are exclusive bounds, `optional` allows null, `suggest` makes `choices`
    suggestions (other text is accepted), `labels` names the choices in a form, `log` asks for a
    scientific spin box, `step`/`decimals` shape a number box.
    """

    title: str = ""
    above: float | None = None
    below: float | None = None
    optional: bool = False
    suggest: bool = False
    labels: tuple[str, ...] = ()
    log: bool = False
    step: float | None = None
    decimals: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in SECTION_KINDS:
            raise ValueError(f"key {self.name}: unknown kind {self.kind!r}")

    @property
    def label(self) -> str:
        return self.title or self.name.rsplit(".", 1)[-1].replace("_", " ").capitalize()

    def coerce(self, value: Any) -> Any:
        """`value` checked against kind, range and choices; ValueError says what is wrong ("lr: must be ...")."""
        name, kind = self.name, self.kind
        if value is None and (self.optional or self.default is None):
            return None
        if kind == "any":
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{name}: expected true or false, found {value!r}")
            return value
        if kind == "choice" and not self.suggest:
            if not any(v == value and type(v) is type(value) for v in self.choices):
                raise ValueError(f"{name}: {value!r} is not one of {', '.join(str(c) for c in self.choices)}")
            return value
        if kind in ("str", "choice"):
            if not isinstance(value, str):
                raise ValueError(f"{name}: expected text, found {value!r}")
            return value
        if kind in ("ints", "floats"):
            if not isinstance(value, list | tuple) or (self.length and len(value) != self.length):
                raise ValueError(f"{name}: expected a list of {self.length or 'some'} numbers, found {value!r}")
            return [self._number(v, kind == "ints") for v in value]
        return self._number(value, kind in ("int", "int_or_choice"))

    def _number(self, value: Any, whole: bool) -> float | int:
        name = self.name
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{name}: expected {'a whole number' if whole else 'a number'}, found {value!r}")
        if whole and value != int(value):
            raise ValueError(f"{name}: expected a whole number, found {value!r}")
        value = int(value) if whole else float(value)
        if self.above is not None and not value > self.above:
            raise ValueError(f"{name}: must be greater than {self.above:g}, found {value!r}")
        if self.below is not None and not value < self.below:
            raise ValueError(f"{name}: must be less than {self.below:g}, found {value!r}")
        if self.min is not None and value < self.min:
            raise ValueError(f"{name}: must be {self.min:g} or more, found {value!r}")
        if self.max is not None and value > self.max:
            raise ValueError(f"{name}: must be at most {self.max:g}, found {value!r}")
        return value

    @property
    def lowest(self) -> float:
        """The smallest value a form's number box offers (just above an exclusive bound)."""
        if self.min is not None:
            return self.min
        if self.above is None:
            return -1e12
        return self.above + self._tick

    @property
    def highest(self) -> float:
        """The largest value a form's number box offers (just below an exclusive bound)."""
        if self.max is not None:
            return self.max
        if self.below is None:
            return 2**31 - 1 if self.kind == "int" else 1e12
        return self.below - self._tick

    @property
    def _tick(self) -> float:
        if self.kind == "int":
            return 1
        if self.log:
            return 1e-12
        return 10.0 ** -(self.decimals if self.decimals is not None else 3)


@dataclass(frozen=True)
class Section:
    """A project section's declared keys; `open_keys`: unknown keys are only warned about (data sources add keys)."""

    name: str
    keys: tuple[Key, ...]
    open_keys: bool = False

    def key(self, path: str) -> Key:
        for k in self.keys:
            if k.name == path:
                return k
        raise KeyError(f"{self.name}.{path} is not a declared key")

    def default(self, path: str) -> Any:
        return self.key(path).default

    def paths(self) -> list[str]:
        return [k.name for k in self.keys]


def _training_default(path: str) -> Any:
    value: Any = training.TrainingConfig()
    for part in path.split("."):
        value = getattr(value, part)
    return list(value) if isinstance(value, tuple) else value


def _t(path: str, kind: str, doc: str = "", **meta: Any) -> Key:
    return Key(path, kind, _training_default(path), doc, **meta)


TRAINING = Section("training", (
    _t("loss", "choice", "How far the predictions are from the targets; training lowers it. auto follows the Output "
       "node's task (cross-entropy for classes, MSE for numbers)", choices=training.LOSSES),
    _t("huber_delta", "float", "Where the Huber loss turns from squared to linear", above=0, step=0.1),
    _t("margin", "float", "Contrastive loss: how far apart different pairs are pushed", above=0, step=0.1),
    _t("label_smoothing", "float", "cross-entropy only", min=0, max=1.0, step=0.05, decimals=2),
    _t("class_weights", "choice", "balanced: each class's share of the loss is weighted by how rare it is in the "
       "training split, so rare classes count as much as common ones (classification)", choices=training.CLASS_WEIGHTS),
    _t("optimizer", "choice", "How gradients update the weights: SGD takes plain steps (with momentum), Adam/AdamW "
       "adapt each weight's step size, RMSprop scales steps by recent gradient size", choices=training.OPTIMIZERS),
    _t("lr", "float", "Step size of each update; arrows halve/double it", title="Learning rate", above=0, log=True),
    _t("momentum", "float", "SGD / RMSprop", min=0, step=0.05),
    _t("nesterov", "bool", "Nesterov momentum (SGD with momentum > 0)"),
    _t("betas", "floats", "Adam's two averaging factors", min=0, below=1, length=2),
    _t("weight_decay", "float", "L2 penalty (decoupled for AdamW)", min=0, log=True),
    _t("schedule", "choice", "How the learning rate changes as training goes on: step drops, cosine decay, one-cycle, "
       "or lower it when the monitored metric stops improving (plateau)", title="LR schedule",
       choices=training.SCHEDULES),
    _t("step_size", "int", "Epochs between two step drops", title="Step every (epochs)", above=0, max=10000),
    _t("gamma", "float", "Factor of each step drop", title="Step factor", above=0, max=1.0, step=0.05),
    _t("plateau_patience", "int", "Epochs without improvement before the LR drops", min=0, max=1000),
    _t("plateau_factor", "float", "Factor of each plateau drop", above=0, below=1, step=0.05),
    _t("min_lr", "float", "The LR never goes below this", min=0, log=True),
    _t("warmup_epochs", "int", "The LR rises linearly over these epochs before the schedule starts",
       title="Warm-up epochs", min=0, max=1000),
    _t("epochs", "int", "One epoch is one full pass over the training split", above=0, max=100000),
    _t("batch_size", "int", "Samples per weight update: larger batches give smoother but fewer updates per epoch",
       above=0, max=1 << 20),
    _t("eval_batch_size", "int", "Batch size of validation and test passes; 0 = auto (4x the batch size, at most 1024)",
       title="Eval batch size", min=0, max=1 << 20),
    _t("clip", "choice", "Clip the total gradient norm or each value", title="Gradient clipping",
       choices=training.CLIPS),
    _t("clip_value", "float", "The norm or value gradients are clipped to", title="Clip threshold", above=0, max=1e6,
       step=0.5, decimals=4),
    _t("monitor", "choice", "Metric that picks the best epoch (and drives early stopping / plateau)", suggest=True,
       choices=("val_loss", "val_accuracy", "val_f1", "val_auc", "val_mae", "val_rmse", "val_r2", "train_loss")),
    _t("monitor_mode", "choice", "min or max is better for the monitored metric (auto: by its name)",
       choices=training.MODES),
    _t("early_stopping.enabled", "bool", "Stop when the monitored metric has not improved for `patience` epochs",
       title="Early stopping"),
    _t("early_stopping.patience", "int", "Epochs without improvement before stopping", title="Patience (epochs)",
       min=0, max=10000),
    _t("early_stopping.min_delta", "float", "The least change that counts as an improvement", min=0),
    _t("early_stopping.restore_best", "bool", "Keep the best epoch's weights when stopping early",
       title="Restore best weights"),
    _t("seed", "int", "Same seed, same run", min=0, max=2**31 - 1),
    _t("device", "choice", "auto picks CUDA, then Apple MPS, then the CPU", suggest=True,
       choices=("auto", "cpu", "cuda", "mps")),
    _t("precision", "choice", "auto = bf16 mixed precision on CUDA GPUs that support it; mixed precision is CUDA-only",
       choices=training.PRECISIONS),
    _t("checkpoint_every", "int", "Also save checkpoints/last.* every N epochs (0 = by time only)", min=0),
    _t("checkpoint_every_s", "float", "Save checkpoints/last.* between batches after this many seconds (0 = not by "
       "time)", min=0),
    _t("events.batch_rate_hz", "float", "At most this many batch events per second", above=0),
    _t("events.summaries", "bool", "Record per-layer activation and gradient summaries while training",
       title="Activations & gradients"),
    _t("events.summaries_every", "int", "0 = once per epoch", title="Summaries every (batches)", min=0, max=100000),
    _t("events.summaries_max_hz", "float", "At most this many summaries per second (0 = no limit)", min=0),
    _t("events.probe_size", "int", "Samples the activation summaries look at", above=0),
    _t("events.histogram_bins", "int", "Bins of each activation histogram", above=0),
    _t("events.thumbnails", "int", "Feature-map thumbnails per layer", min=0),
    _t("gan.generator", "str", "Name or id of the generator's Output node (default: the non-binary Output)"),
    _t("gan.discriminator", "str", "Name or id of the discriminator's Output node (default: the binary Output)"),
    _t("gan.d_steps", "int", "Discriminator updates per generator update", above=0),
))

DATA = Section("data", (
    Key("source", "choice", DATA_DEFAULTS["source"], "Where the data comes from", choices=SOURCE_NAMES),
    Key("name", "str", DATA_DEFAULTS["name"], "The built-in dataset"),
    Key("options", "any", {}, "The built-in dataset's own options"),
    Key("task", "choice", None, "What to learn from the data (default: the dataset's own task)", choices=TASKS,
        optional=True),
    Key("path", "str", "", "The file or folder to read"),
    Key("x_path", "str", "", "The inputs' .npy file"),
    Key("y_path", "str", "", "The targets' .npy file"),
    Key("x_key", "str", "", "The inputs' array in an .npz file"),
    Key("y_key", "str", "", "The targets' array in an .npz file"),
    Key("target", "str", "", "The CSV column to predict (task multitask: columns joined by commas, one per Output)"),
    Key("features", "any", None, "The CSV columns to learn from (default: all others)"),
    Key("text", "str", "text", "The CSV column that holds text"),
    Key("tokens", "any", None, "How texts are split into words"),
    Key("delimiter", "str", ",", "The CSV delimiter"),
    Key("dropna", "bool", False, "Drop rows with missing values", title="Drop rows with empty cells"),
    Key("size", "ints", list(files.IMAGE_SIZE), "Every image is resized to this height and width (px)", min=1, max=4096, length=2),
    Key("annotations", "str", "", "The boxes of a detection folder: a COCO-style .json or a file,x0,y0,x1,y1,label "
        ".csv inside it"),
    Key("image_size", "ints", list(files.IMAGE_SIZE), "Every detection image is resized to this height and width "
        "(px), its boxes scaled alike", min=1, max=4096, length=2),
    Key("color", "choice", files.COLORS[0], "grayscale: 1 channel; rgb: 3 channels", title="Colour",
        choices=files.COLORS),
    Key("channels_last", "bool", False, "The arrays hold channels in their last dimension"),
    Key("max_words", "int", 20_000, "Vocabulary size of a text column", above=0),
    Key("min_count", "int", 1, "A word must appear this often to enter the vocabulary", above=0),
    Key("text_length", "int", None, "Words per text (default: from the data)", above=0, optional=True),
    Key("normalize", "choice", FILE_NORMALIZE, "Statistics come from the training split only; a built-in dataset "
        "has its own default", title="Normalization", choices=preprocess.METHODS),
    Key("normalize_target", "bool", False, "Standardize regression targets (default: on for regression)"),
    Key("split.val", "float", DATA_DEFAULTS["split"]["val"], "Share of the samples kept for validation",
        title="Validation fraction", min=0, max=0.9, step=0.05, decimals=2),
    Key("split.test", "float", DATA_DEFAULTS["split"]["test"], "Share of the samples kept for the final test",
        title="Test fraction", min=0, max=0.9, step=0.05, decimals=2),
    Key("split.stratify", "bool", DATA_DEFAULTS["split"]["stratify"], "Keep class proportions in every split",
        title="Stratified split"),
    Key("split.seed", "int", DATA_DEFAULTS["split"]["seed"], "Seed of the split", title="Split seed", min=0,
        max=2**31 - 1),
    Key("augment.hflip", "bool", augment.DEFAULTS["hflip"],
        "Augmentation: flip training images at random (training batches only)", title="Flip left-right"),
    Key("augment.rotate_deg", "float", augment.DEFAULTS["rotate_deg"],
        "Augmentation: rotate training images by a random angle within ± this", title="Rotate up to (°)",
        min=0, max=180, step=5, decimals=1),
    Key("augment.crop_pad", "int", augment.DEFAULTS["crop_pad"],
        "Augmentation: pad by this much, then crop back at a random place (a random shift)", title="Shift up to (px)",
        min=0, max=64),
    Key("augment.noise_std", "float", augment.DEFAULTS["noise_std"],
        "Augmentation: add Gaussian noise of this standard deviation to training inputs", title="Noise (std)",
        min=0, max=10, step=0.05),
    Key("stream", "choice", DATA_DEFAULTS["stream"], "Stream the file from disk chunk by chunk instead of loading it "
        "whole (CSV, .npy, uncompressed .npz, image folders); auto streams data above the size below",
        title="Read in chunks", choices=("auto", True, False), labels=("auto (by size)", "always", "never")),
    Key("stream_threshold_mb", "float", DATA_DEFAULTS["stream_threshold_mb"],
        "Data larger than this once loaded is streamed when 'Read in chunks' is auto", title="Auto above (MB)",
        min=1, max=1e7, step=64, decimals=0),
    Key("chunk_rows", "int", DATA_DEFAULTS["chunk_rows"],
        "Samples read at a time (fewer for big samples: a chunk stays under 64 MB)", title="Rows per chunk",
        min=1, max=10**8),
    Key("resident_max_mb", "float", DATA_DEFAULTS["resident_max_mb"],
        "Splits up to this size are copied to the training device once and batched there",
        title="On-device up to (MB)", min=0, max=1e7, step=64, decimals=0),
    Key("workers", "int", DATA_DEFAULTS["workers"], "Processes that read and batch larger and streamed data",
        title="Loader workers", min=0, max=64),
), open_keys=True)

SWEEP = Section("sweep", (
    Key("dimensions", "any", [], "The search dimensions: {target, low, high, log, step} or {target, choices}"),
    Key("objective.metric", "str", None, "The metric to optimise (default: the training monitor)"),
    Key("objective.direction", "choice", None, "maximize or minimize (default: by the metric)", choices=("maximize", "minimize"),
        optional=True),
    Key("budget.trials", "int", 20, "Trials to run", above=0, optional=True),
    Key("budget.minutes", "float", None, "Stop starting trials after this long", above=0, optional=True),
    Key("sampler", "choice", "tpe", "How the next trial's values are picked", choices=("grid", "random", "tpe")),
    Key("pruning", "bool", True, "Stop unpromising trials early (median pruner)"),
    Key("seed", "int", 0, "Seed of the sampler", min=0),
    Key("storage", "str", None, "Where the study is kept (default: a file in the runs folder)"),
    Key("name", "str", None, "The study's name (default: from the project)"),
    Key("epochs", "int", None, "Epochs per trial (default: the training section's)", above=0, optional=True),
))

FINETUNE = Section("finetune", (
    Key("weights", "str", None, "Initial weights: a .safetensors file, a state_dict saved with torch.save, a run "
        "folder or an export folder (relative paths are read from the project's folder)", optional=True),
    Key("which", "choice", "best", "For a run folder: its best or its last weights", choices=("best", "last")),
    Key("mapping", "any", {}, "{node name: key prefix in the weights file, or null to keep the node's fresh "
        "weights; 'node.tensor': key}"),
    Key("unfreeze_every", "int", 0, "Progressive unfreezing: every N epochs the frozen part nearest the output "
        "starts training (0 = off)", min=0, title="Unfreeze every (epochs)"),
))

SECTIONS: dict[str, Section] = {s.name: s for s in (TRAINING, DATA, SWEEP, FINETUNE)}


def flatten(section: dict, declared: Section, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) of every setting in a section dict; a dict is walked into unless its own path is declared."""
    names = set(declared.paths())
    for name, value in section.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict) and path not in names:
            yield from flatten(value, declared, f"{path}.")
        else:
            yield path, value


def value_at(section: dict, path: str, default: Any = None) -> Any:
    """The value at a dotted `path` of a section dict, or `default` when it is not set."""
    value: Any = section
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


def section_problems(name: str, section: dict | None) -> list[Problem]:
    """Every bad key of one section at once: wrong type, out of range, not a choice, unknown."""
    declared = SECTIONS[name]
    if section is None:
        return []
    if not isinstance(section, dict):
        return [Problem(None, "section", f"The {name} section must be a JSON object, not {type(section).__name__}",
                        f"write \"{name}\": {{...}} in the project file")]
    problems = []
    known = {k.name: k for k in declared.keys}
    source = section.get("source") if name == "data" else None
    own = set(DATA_SOURCES[source].keys) if isinstance(source, str) and source in DATA_SOURCES else set()
    for path, value in flatten(section, declared):
        key = known.get(path)
        if key is None and path in own:  # a key its data source's record adds: that source checks it
            continue
        if key is None:
            close = difflib.get_close_matches(path, known, n=1)
            parent = path.rpartition(".")[0]
            siblings = sorted({p[len(parent) + 1 if parent else 0:].split(".")[0] for p in known
                               if not parent or p.startswith(parent + ".")})
            hint = f"did you mean {name}.{close[0]}?" if close else f"known keys here: {', '.join(siblings)}"
            severity = "warning" if declared.open_keys else "error"
            problems.append(Problem(None, "section", f"{name}.{path} is not a known setting", hint, severity))
            continue
        try:
            key.coerce(value)
        except ValueError as exc:
            problems.append(Problem(None, "section", f"{name}.{exc}", key.doc))
    return problems


def check_training(config: training.TrainingConfig) -> None:
    """Raise TrainingError for the first declared range or choice a typed training config breaks."""
    values = dataclasses.asdict(config)
    for key in TRAINING.keys:
        value: Any = values
        for part in key.name.split("."):
            value = value[part]
        try:
            key.coerce(list(value) if isinstance(value, tuple) else value)
        except ValueError as exc:
            raise TrainingError(f"training.{exc}") from None


def project_section_problems(graph) -> list[Problem]:
    """The section problems of a project's data, training and sweep sections (what `validate` adds)."""
    return [p for name in SECTIONS for p in section_problems(name, getattr(graph, name, None))]
