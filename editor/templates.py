"""The built-in example projects grouped by the task they suit, for the New-from-template gallery."""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import ProjectFileError
from engine.graph import Graph
from engine.templates import list_templates, load_project

TASKS: dict[str, tuple[str, ...]] = {
    "Image classification": ("image", "images", "vision", "cnn", "convolution", "mnist", "cifar", "digits"),
    "Detection & segmentation": ("detection", "localization", "localisation", "bounding-box", "segmentation",
                                 "unet", "u-net"),
    "Sequence modelling": ("sequence", "rnn", "lstm", "gru", "text", "nlp", "time-series", "timeseries",
                           "transformer", "attention", "language"),
    "Generative": ("generative", "autoencoder", "vae", "gan", "denoising", "reconstruction"),
    "Recommender": ("recommender", "recommendation", "collaborative-filtering", "ratings", "matrix-factorization"),
    "Similarity": ("similarity", "siamese", "metric-learning", "contrastive", "triplet", "embedding-similarity"),
    "Tabular data": ("tabular", "features", "regression", "csv"),
}
OTHER_TASK = "Other"


@dataclass(frozen=True)
class Template:
    """One example project: its file stem, the loaded graph and the tasks it suits."""

    stem: str
    graph: Graph

    @property
    def title(self) -> str:
        return self.graph.name or self.stem

    @property
    def tasks(self) -> list[str]:
        return tasks_for_tags(self.graph.tags)


def tasks_for_tags(tags: list[str]) -> list[str]:
    """The gallery tasks a project's tags point to, best match first; ["Other"] when none fit."""
    lowered = [t.lower().replace("_", "-").replace(" ", "-") for t in tags]
    found = [task for task, words in TASKS.items()
             if any(w == t or w in t.split("-") for t in lowered for w in words)]
    return found or [OTHER_TASK]


def all_templates() -> tuple[list[Template], list[str]]:
    """Every readable template, plus one message per template that could not be read."""
    found, broken = [], []
    for stem in list_templates():
        try:
            found.append(Template(stem, load_project(stem)))
        except ProjectFileError as exc:
            broken.append(str(exc))
    return found, broken
