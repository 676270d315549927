"""Run lineage: which run a branched run started from (its init.json), and the runs ordered as a tree."""

from __future__ import annotations

from pathlib import Path

from engine.runs import Run, read_json

INIT = "init.json"
"""In a run folder: where its initial weights came from (the parent run, for a branch) and what loaded."""


def read_init(run_path: str | Path) -> dict:
    """The run's init.json ({} when it started from fresh weights or the file is unreadable)."""
    try:
        doc = read_json(Path(run_path) / INIT, {})
    except Exception:  # noqa: BLE001  a broken init.json only loses the lineage
        return {}
    return doc if isinstance(doc, dict) else {}


def parent_of(run: Run) -> Path | None:
    """The run folder `run` was branched from, else None."""
    parent = read_init(run.path).get("parent_run")
    return Path(parent) if isinstance(parent, str) and parent else None


def tree_order(runs: list[Run]) -> list[tuple[Run, int]]:
    """`runs` as a tree, with each one's depth: every run whose parent is not among them is a root (in the
    given order), and each run is followed by the runs branched from it (in the given order)."""
    by_path = {run.path.resolve(): run for run in runs}
    children: dict[Path, list[Run]] = {}
    roots = []
    for run in runs:
        parent = parent_of(run)
        key = parent.resolve() if parent is not None else None
        if key is not None and key in by_path and key != run.path.resolve():
            children.setdefault(key, []).append(run)
        else:
            roots.append(run)
    out: list[tuple[Run, int]] = []
    seen: set[Path] = set()

    def visit(run: Run, depth: int) -> None:
        path = run.path.resolve()
        if path in seen:
            return
        seen.add(path)
        out.append((run, depth))
        for child in children.get(path, []):
            visit(child, depth + 1)

    for root in roots:
        visit(root, 0)
    for run in runs:  # runs on a cycle of parents (edited by hand) still appear once
        visit(run, 0)
    return out
