"""Run folders: `runs/<YYYYmmdd-HHMMSS>-<name>/` with the project snapshot, events, weights and metrics.

A run folder alone is enough to rebuild the trained model (`open_run(path).load_model()`); weights
are read only from safetensors files.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import safeio
from engine.errors import BadFileError, TrainingError
from engine.graph import Graph

PROJECT = "project.json"
EVENTS = "events.jsonl"
DATA = "data.json"
METRICS = "metrics.json"
BEST = "best.safetensors"
CHECKPOINTS = "checkpoints"
SWEEP_PREFIX = "sweep-"
"""Sweep trials live in `<run_dir>/sweep-<study>/<time>-trial-NNNN/`."""


@dataclass(frozen=True)
class Run:
    """One run folder on disk."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def study(self) -> str | None:
        """The sweep study this run is a trial of (its folder is `sweep-<study>/`), else None."""
        parent = self.path.parent.name
        return parent[len(SWEEP_PREFIX):] if parent.startswith(SWEEP_PREFIX) else None

    @property
    def graph(self) -> Graph:
        """The project as it was when the run started."""
        return Graph.load(self.path / PROJECT)

    @property
    def events_path(self) -> Path:
        return self.path / EVENTS

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / CHECKPOINTS

    def events(self) -> list:
        """Every event recorded so far (a line cut off by a crash is skipped)."""
        from engine.train.events import read_events

        return read_events(self.events_path) if self.events_path.exists() else []

    def metrics(self) -> dict:
        """Final and best metrics once the run has ended ({} while it runs)."""
        return read_json(self.path / METRICS, {})

    def data_info(self) -> dict:
        """Normalization statistics, class names, input shapes and dtypes of the run's data."""
        return read_json(self.path / DATA, {})

    def weights_path(self, which: str = "best") -> Path:
        if which not in ("best", "last"):
            raise TrainingError(f"which must be 'best' or 'last', not {which!r}")
        best, last = self.path / BEST, self.checkpoint_dir / "last.safetensors"
        candidates = (best, last) if which == "best" else (last, best)
        for path in candidates:
            if path.exists():
                return path
        raise TrainingError(f"run {self.id} has no saved weights yet (no {BEST} or {CHECKPOINTS}/last.safetensors)")

    def load_model(self, which: str = "best", device: str | None = None) -> tuple[Any, Graph]:
        """(compiled model with the run's `which` weights, in eval mode; the run's graph)."""
        from engine.compile import compile_graph

        graph = self.graph
        model = compile_graph(graph)
        path = self.weights_path(which)
        other = "last" if which == "best" else "best"
        todo = f"Use the run's other weights (--weights {other}) or train the project again."
        safeio.load_state_dict(model, safeio.load_safetensors(path, "weights", todo), path, todo)
        model.eval()
        return (model.to(device) if device else model), graph


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name.strip()).strip("-").lower()[:40] or "run"


def create_run(graph: Graph, run_dir: str | os.PathLike, name: str | None = None) -> Run:
    """A new, uniquely named run folder under `run_dir` holding a snapshot of `graph`."""
    root = Path(run_dir)
    root.mkdir(parents=True, exist_ok=True)
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-{slug(name or graph.name)}"
    for i in range(1, 1000):
        path = root / (base if i == 1 else f"{base}-{i}")
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
    else:
        raise TrainingError(f"cannot create a run folder in {root}")
    (path / CHECKPOINTS).mkdir()
    graph.save(path / PROJECT)
    return Run(path)


def open_run(path: str | os.PathLike) -> Run:
    """An existing run folder; TrainingError if it is not one."""
    path = Path(path)
    if not (path / PROJECT).is_file():
        raise TrainingError(f"{path} is not a DeepWire run folder (no {PROJECT} in it)")
    return Run(path)


def list_runs(run_dir: str | os.PathLike) -> list[Run]:
    """Every run folder under `run_dir`, sweep trials in its `sweep-<study>/` folders included, oldest first."""
    root = Path(run_dir)
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        if (path / PROJECT).is_file():
            found.append(Run(path))
        elif path.name.startswith(SWEEP_PREFIX) and path.is_dir():
            found.extend(Run(p) for p in path.iterdir() if (p / PROJECT).is_file())
    return sorted(found, key=lambda run: (run.id, str(run.path)))


def default_run_dir(project: str | os.PathLike | None) -> Path:
    """`runs/` next to the project file when it is a file, else in the current directory."""
    if project is not None and Path(project).is_file():
        return Path(project).resolve().parent / "runs"
    return Path.cwd() / "runs"


def read_json(path: Path, default: Any) -> Any:
    """The JSON object in a run-folder file, `default` when the file is missing; BadFileError when it is damaged."""
    return safeio.read_json(path, f"run file {Path(path).name}", default, error=BadFileError)


def write_json(path: Path, doc: Any, indent: int | None = 2) -> None:
    """Atomic JSON write (temp file in the same folder, then rename); `indent=None` for compact machine files."""
    write_atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(doc, indent=indent) + "\n", encoding="utf-8"))


def write_atomic(path: Path, write) -> None:
    """Call `write(tmp_path)` and move the result over `path` so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
