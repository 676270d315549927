"""Data warnings: Python warnings (`DataWarning`, printed by the CLI), or gathered per thread for the editor."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from contextvars import ContextVar

from engine.errors import DataWarning

_collected: ContextVar[list[str] | None] = ContextVar("deepwire_data_notes", default=None)


def warn(message: str) -> None:
    """Say something about the data that loads but may not be what the user meant."""
    notes = _collected.get()
    if notes is not None:
        notes.append(message)
    else:
        warnings.warn(message, DataWarning, stacklevel=3)


@contextlib.contextmanager
def collect() -> Iterator[list[str]]:
    """Gather this thread's data warnings into a list instead of raising Python warnings."""
    notes: list[str] = []
    token = _collected.set(notes)
    try:
        yield notes
    finally:
        _collected.reset(token)
