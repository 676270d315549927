"""The editor's undo history over the engine Document: each document Step becomes one QUndoCommand."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from engine.document import Document, Step

_MERGING_ID = 7301


class StepCommand(QUndoCommand):
    """One document Step on Qt's undo stack; it was already made when pushed, so the first redo does nothing.

    Consecutive steps that edit the same value (typing in a box) merge into one entry.
    """

    def __init__(self, document: Document, step: Step) -> None:
        super().__init__(step.name)
        self.document, self.step = document, step
        self._made = True

    def redo(self) -> None:
        if self._made:
            self._made = False
            return
        self.document.redo_step(self.step)

    def undo(self) -> None:
        self.document.undo_step(self.step)

    def id(self) -> int:
        return _MERGING_ID if self.step.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        return isinstance(other, StepCommand) and self.step.merge(other.step)
