"""Built-in example projects shipped in `resources/templates/`, addressable by file stem."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from engine.errors import ProjectFileError
from engine.graph import Graph


def template_dir() -> Path:
    return Path(str(resources.files("resources") / "templates"))


BLANK_DATA = {"source": "builtin", "name": "digits"}
"""The data a new blank project starts with, written into its data section (a project file without one is an error)."""


def blank_project(name: str = "Untitled") -> Graph:
    """A new empty project whose data section names the built-in digits until the user picks other data."""
    return Graph(name=name, data=dict(BLANK_DATA))


def list_templates() -> list[str]:
    """Stems of every shipped template, sorted."""
    return sorted(p.stem for p in template_dir().glob("*.json"))


def load_project(ref: str) -> Graph:
    """Load a project from a file path, or a shipped template when `ref` is a template stem."""
    path = Path(ref)
    if path.suffix == ".json" or path.exists():
        return Graph.load(path)
    candidate = template_dir() / f"{ref}.json"
    if candidate.exists():
        return Graph.load(candidate)
    known = ", ".join(list_templates()) or "none"
    raise ProjectFileError(f"{ref}: no such project file, and not a template name (templates: {known})")
