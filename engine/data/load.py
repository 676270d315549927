"""The data section -> `PreparedData` (load, split, normalize) and the editor's sample preview."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from engine.data import augment, preprocess, text
from engine.data.builtin import builtin_info
from engine.data.prepared import PreparedData, Split, StreamSplit
from engine.data.raw import TASKS, RawData
from engine.data.sources import SOURCE_NAMES, source_of
from engine.errors import DataError
from engine.lazy import LazyModule

torch = LazyModule("torch")
streaming = LazyModule("engine.data.streaming")

SOURCES = SOURCE_NAMES
"""The data sources' names, live from the registry in engine/data/sources.py."""
DEFAULTS = {
    "source": "builtin", "name": "digits", "options": {}, "augment": {},
    "split": {"val": 0.15, "test": 0.15, "seed": 0, "stratify": True},
    "stream": "auto",            # true / false / "auto" (stream files above stream_threshold_mb)
    "stream_threshold_mb": 512, "chunk_rows": 50_000,
    "resident_max_mb": 1024,     # in-memory splits up to this size are batched on the device
    "workers": 2,                # DataLoader workers for larger and streamed data
}
FILE_NORMALIZE = "standardize"
"""The normalization of data read from files (a built-in dataset has its own)."""


@dataclass
class Sample:
    """One preview item: raw (un-normalized) inputs, the target and a readable label."""

    inputs: tuple[np.ndarray, ...]
    target: np.ndarray | float | int
    label: str


def with_defaults(section: dict, seed: int | None = None) -> dict:
    """A copy of `section` with every missing key filled in; DataError for a missing or unknown source or task.

    The source or a built-in set's name must be given: a project without data never trains on a default set.
    """
    if not isinstance(section, dict) or ("source" not in section and not section.get("name")):
        raise DataError("The project has no data section (or it names no 'source'); choose the data to train on "
                        "in the Data panel, or add e.g. \"data\": {\"source\": \"builtin\", \"name\": \"digits\"}.")
    if section.get("source", "builtin") == "builtin" and not section.get("name"):
        raise DataError("The data section uses a built-in dataset but names none; set 'name' (deepwire datasets "
                        "lists them).")
    out = {**copy.deepcopy(DEFAULTS), **copy.deepcopy(section)}
    split = {**DEFAULTS["split"], **({"seed": seed} if seed is not None else {}), **section.get("split", {})}
    out["split"] = split
    source_of(out)
    if out.get("task") is not None and out["task"] not in TASKS:
        raise DataError(f"Unknown task '{out['task']}'; use one of {list(TASKS)}.")
    if "normalize" not in out:
        out["normalize"] = builtin_info(out["name"]).normalize if out["source"] == "builtin" else FILE_NORMALIZE
    if out["normalize"] not in preprocess.METHODS:
        raise DataError(f"Unknown normalization '{out['normalize']}'; use one of {list(preprocess.METHODS)}.")
    out["augment"] = augment.augment_options(out["augment"])
    return out


def load_raw(section: dict, seed: int | None = None) -> RawData:
    """The whole dataset of a (defaults-filled) in-memory section."""
    return source_of(section).read(section, seed)


def wants_stream(section: dict) -> bool:
    """True when the section asks for streaming, or (auto) its data would take more memory than the threshold."""
    if section["stream"] != "auto":
        return bool(section["stream"])
    return _memory_bytes(section) > float(section["stream_threshold_mb"]) * 2**20


def _memory_bytes(section: dict) -> int:
    """About how many bytes the section's data takes once loaded (0 for built-in sets, which are small)."""
    return source_of(section).size(section)


def load_data(section: dict, *, seed: int | None = None) -> PreparedData:
    """Load, split and normalize the data section; `seed` is used where the section sets none."""
    section = with_defaults(section, seed)
    if wants_stream(section):
        return _streamed(section)
    return _in_memory(load_raw(section, seed), section)


def _in_memory(raw: RawData, section: dict) -> PreparedData:
    split = section["split"]
    strata = raw.class_ids if split["stratify"] else None
    parts = preprocess.split_indices(len(raw), split["val"], split["test"], int(split["seed"]), strata, raw.ordered)
    train = parts["train"]
    text_info = _tokenize(raw, train, section) if raw.texts is not None else None
    floats = [x for x in raw.inputs if x.dtype == np.float32]
    for x in (*raw.inputs, raw.target):
        if x.dtype == np.float32 and not np.isfinite(x).all():
            raise DataError(f"The data ({_describe_source(section)}) contains NaN or infinite values; clean it first.")
    norm = {"method": "none"}
    if floats:
        if len({x.shape[1:] for x in floats}) > 1:
            raise DataError("All float inputs must have the same per-sample shape to share normalization.")
        train_floats = np.concatenate([x[train] for x in floats])
        norm = preprocess.fit(section["normalize"], train_floats, raw.channels_last)
        if norm["method"] != "none":  # the span predict compares new inputs with (engine/predict.py)
            norm["range"] = [float(train_floats.min()), float(train_floats.max())]
    scale_target = section.get("normalize_target", raw.task in ("regression", "next_step")
                               and section["normalize"] != "none")
    if scale_target:
        norm["target"] = preprocess.fit("standardize", raw.target[train])

    def make(rows: np.ndarray) -> Split:
        inputs = tuple(torch.from_numpy(np.ascontiguousarray(
            preprocess.apply(norm, x[rows]) if x.dtype == np.float32 else x[rows])) for x in raw.inputs)
        if raw.task == "autoencoder":
            return Split(inputs, inputs[0])
        target = preprocess.apply(norm["target"], raw.target[rows]) if scale_target else raw.target[rows]
        return Split(inputs, torch.from_numpy(np.ascontiguousarray(target)))

    names = raw.class_names
    return PreparedData(
        make(parts["train"]), make(parts["val"]), make(parts["test"]), raw.task,
        tuple(tuple(x.shape[1:]) for x in raw.inputs), tuple(str(x.dtype) for x in raw.inputs),
        tuple(raw.target.shape[1:]),
        len(names) if names else (raw.target.shape[-1] if raw.task == "multilabel" else None), names, norm,
        raw.vocab_sizes, section["augment"], _describe_source(section),
        float(section["resident_max_mb"]), int(section["workers"]), text_info, raw.target_fields, raw.field_classes,
    )


def _tokenize(raw: RawData, train: np.ndarray, section: dict) -> dict:
    """Turn `raw.texts` into its token-id input with a vocabulary of the training rows (and, for the next_step
    task, each position's next word as its target); the text record."""
    vocab = text.fit_vocab(raw.texts[train], int(section.get("max_words", 20_000)), int(section.get("min_count", 1)))
    seq_len = int(section.get("text_length") or text.auto_length(raw.texts[train]))
    if raw.task == "next_step":  # next-word prediction: a class (a word id) per position
        inputs, target = text.next_word_pairs(text.encode(raw.texts, vocab, seq_len + 1))
        raw.inputs, raw.target, raw.task = (inputs,), target, "multiclass"
        raw.class_names, raw.class_ids = [*text.SPECIALS, *vocab], None
    else:
        raw.inputs = (text.encode(raw.texts, vocab, seq_len),)
    raw.vocab_sizes = (len(vocab) + text.FIRST_WORD,)
    return {"column": section.get("text", "text"), "seq_len": seq_len, "vocab": vocab}


def _streamed(section: dict) -> PreparedData:
    chunks = streaming.open_chunks(section)
    seed = int(section["split"]["seed"])
    info = streaming.scan(chunks, section, seed)
    splits = [StreamSplit(info.counts[name], streaming.ChunkDataset(chunks, info, section, name, seed))
              for name in streaming.SPLITS]
    first_x, first_y = info.head
    target_shape = info.sample_shape if info.task == "autoencoder" else streaming.encode(
        first_y[:1], first_x[:1], info.task, info.classes).shape[1:]
    names = None if info.classes is None else [str(c) for c in info.classes]
    return PreparedData(
        *splits, info.task, (info.sample_shape,), (str(first_x.dtype),), tuple(target_shape),
        len(names) if names else None, names, info.normalization, (None,), section["augment"],
        _describe_source(section), float(section["resident_max_mb"]), int(section["workers"]),
    )


def _describe_source(section: dict) -> str:
    return source_of(section).describe(section)


def preview(section: dict, n: int = 16) -> list[Sample]:
    """A few raw samples with labels for the editor (streamed files: the first rows of the file)."""
    section = with_defaults(section)
    if wants_stream(section):
        x, y = next(iter(streaming.open_chunks(section).first_pass()))
        return [Sample((x[i],), None if y is None else y[i], "" if y is None else str(y[i]))
                for i in range(min(n, len(x)))]
    raw = load_raw(section)
    rng = np.random.default_rng(int(section["split"]["seed"]))
    rows = np.sort(rng.choice(len(raw), size=min(n, len(raw)), replace=False))
    if raw.texts is not None:  # the raw text: ids come only once the training split's vocabulary is known
        return [Sample((np.asarray(raw.texts[i], dtype=object),), raw.target[i], _label(raw, i)) for i in rows]
    return [Sample(tuple(x[i] for x in raw.inputs), raw.target[i], _label(raw, i)) for i in rows]


def _label(raw: RawData, i: int) -> str:
    if raw.class_ids is not None and raw.class_names:
        return raw.class_names[int(raw.class_ids[i])]
    value = raw.target[i]
    if raw.class_names and raw.task == "multiclass" and np.ndim(value) >= 2:  # a class per pixel (a mask)
        return "+".join(raw.class_names[int(v)] for v in np.unique(value))
    if raw.class_names and raw.task == "multiclass":  # one class per step
        return " ".join(raw.class_names[int(v)] for v in np.ravel(value))
    if raw.task == "autoencoder" or np.size(value) > 4:
        return f"{raw.task} target {tuple(np.shape(value))}"
    return ", ".join(f"{v:.4g}" if np.issubdtype(type(v), np.floating) else str(v) for v in np.ravel(value))
