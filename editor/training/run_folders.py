"""One runs folder per project: `runs/` beside the saved project file, else `runs/` in the user data folder,
whose runs of the project move along when it is first saved."""

from __future__ import annotations

import shutil
from pathlib import Path

from editor.files import data_dir
from editor.training.run_history import project_runs
from engine.errors import DeepWireError
from engine.runs import BEST, CHECKPOINTS, METRICS, SWEEP_PREFIX, Run, list_runs, read_json


def runs_folder(project_path: str | Path | None) -> Path:
    """Where the runs of the project saved at `project_path` (None: not saved yet) go and are listed from."""
    return Path(project_path).resolve().parent / "runs" if project_path else data_dir() / "runs"


def latest_run(folder: Path, project_name: str) -> Run | None:
    """The newest plain run (not a sweep trial) of the project in `folder`, or None."""
    runs = [run for run in project_runs(folder, project_name) if run.study is None]
    return runs[-1] if runs else None


def stopped_with_checkpoint(run_path: Path) -> bool:
    """True when the run has a checkpoint and did not end for good: stopped by the user, or cut off without
    an ending (the editor closed or crashed) after saving it."""
    try:
        if read_json(Path(run_path) / CHECKPOINTS / "last.json", None) is None:
            return False
        metrics = read_json(Path(run_path) / METRICS, None)
    except DeepWireError:
        return False
    return metrics is None or metrics.get("reason") == "stopped"


def adopt_runs(project_name: str, source: Path, dest: Path, keep: set[Path] | None = None) -> list[Path]:
    """Move the project's runs from `source` to `dest` (a sweep folder goes whole when all its trials are the
    project's); runs in `keep` (one still training) stay. Returns the new paths."""
    if source.resolve() == dest.resolve() or not source.is_dir():
        return []
    keep = {p.resolve() for p in keep or set()}
    ours = project_runs(source, project_name)
    mine = {run.path.resolve() for run in ours}
    moved = []
    dest.mkdir(parents=True, exist_ok=True)
    folders = [run.path for run in ours if run.study is None]
    for sweep in (p for p in source.iterdir() if p.is_dir() and p.name.startswith(SWEEP_PREFIX)):
        trials = {run.path.resolve() for run in list_runs(sweep)}
        if trials and trials <= mine:
            folders.append(sweep)
    for folder in folders:
        target = dest / folder.name
        if folder.resolve() in keep or any(k.is_relative_to(folder.resolve()) for k in keep) or target.exists():
            continue
        shutil.move(str(folder), str(target))
        moved.append(target)
    return moved


def run_has_weights(path: str | Path | None) -> bool:
    """True when `path` is a run folder with best or last weights saved."""
    if path is None:
        return False
    path = Path(path)
    return (path / BEST).is_file() or (path / CHECKPOINTS / "last.safetensors").is_file()
