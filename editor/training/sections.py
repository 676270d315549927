"""Undoable edits of the project's `data`, `training` and `sweep` sections, through the controller's document."""

from __future__ import annotations

from typing import Any

from engine.sections import SECTIONS


def set_section(controller, section: str, new: dict, key: str = "") -> bool:
    """Make `new` the graph's `section` as one undo step (re-validated); False when nothing changed."""
    if section not in SECTIONS:
        raise ValueError(f"section must be one of {tuple(SECTIONS)}, not {section!r}")
    return controller.document.set_section(section, new, key)


def set_key(controller, section: str, path: str, value: Any) -> bool:
    """Set `path` ('lr', 'early_stopping.patience') in `section`; None removes the key (back to its default)."""
    return controller.document.set_section_key(section, path, value)
