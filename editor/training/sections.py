"""Undoable edits of the project's `data`, `training`, `sweep` and `finetune` sections (plain dicts on the Graph)."""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

SECTIONS = ("data", "training", "sweep", "finetune")
_MERGE_ID = 7311


class SetSectionCommand(QUndoCommand):
    """Replace one section; consecutive edits of the same key merge into one undo step (typing in a spin box)."""

    def __init__(self, controller, section: str, old: dict, new: dict, key: str) -> None:
        super().__init__(f"set {section} {key}")
        self._controller, self._section, self._key = controller, section, key
        self._graph = controller.graph
        self._old, self._new = copy.deepcopy(old), copy.deepcopy(new)

    def _apply(self, value: dict) -> None:
        setattr(self._graph, self._section, copy.deepcopy(value))
        self._graph.touch()
        self._controller.graph_changed.emit()

    def redo(self) -> None:
        self._apply(self._new)

    def undo(self) -> None:
        self._apply(self._old)

    def id(self) -> int:
        return _MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetSectionCommand) or (other._section, other._key) != (self._section, self._key):
            return False
        self._new = other._new
        return True


def set_section(controller, section: str, new: dict, key: str = "") -> bool:
    """Make `new` the graph's `section` as one undo step; False when nothing changed."""
    if section not in SECTIONS:
        raise ValueError(f"section must be one of {SECTIONS}, not {section!r}")
    old = getattr(controller.graph, section)
    if new == old:
        return False
    controller.undo_stack.push(SetSectionCommand(controller, section, old, new, key or section))
    return True


def set_key(controller, section: str, path: str, value: Any) -> bool:
    """Set `path` ('lr', 'early_stopping.patience') in `section`; None removes the key (back to its default)."""
    new = copy.deepcopy(getattr(controller.graph, section))
    *parents, leaf = path.split(".")
    node = new
    for name in parents:
        node = node.setdefault(name, {})
    if value is None:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return set_section(controller, section, new, path)
