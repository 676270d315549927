"""PyTorch after the first paint: the window shows its graph unchecked, PyTorch loads on a background thread,
then the document is validated (shapes, problems) and the editor works as always."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from engine.graph import Graph
from engine.validate import Validation, Validator

_loading = threading.Event()
"""Set while PyTorch loads in the background: validation waits (answers 'pending') until it is cleared."""
_waiting: list[Callable[[], None]] = []
"""What runs on the GUI thread once the load ends, in order (re-validation, the device list)."""


def loading() -> bool:
    """True between `begin()` and the end of the background load."""
    return _loading.is_set()


def after_load(callback: Callable[[], None]) -> None:
    """Call `callback` on the GUI thread once PyTorch has loaded; at once when nothing is loading."""
    if loading():
        _waiting.append(callback)
    else:
        callback()


def _finish() -> list[Callable[[], None]]:
    """End the loading state; the callbacks that were waiting for it."""
    _loading.clear()
    callbacks = list(_waiting)
    _waiting.clear()
    return callbacks


class StartupValidator(Validator):
    """A `Validator` that answers a pending, empty result while PyTorch loads (nodes drawn without shapes)."""

    def validate(self, graph: Graph) -> Validation:
        if loading():
            return Validation(pending=True, order=list(graph.nodes), shapes=dict.fromkeys(graph.nodes),
                              param_counts=dict.fromkeys(graph.nodes, 0))
        return super().validate(graph)


class _Loader(QObject):
    """Carries the end of the background load to the GUI thread (its slot runs where this object lives)."""

    finished = Signal()

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.finished.connect(self._ready)  # emitted on the loader thread, delivered queued on the GUI thread

    @Slot()
    def _ready(self) -> None:
        self.deleteLater()
        for callback in _finish():
            callback()

    def load(self) -> None:
        try:
            from engine.shapes import warm_up

            warm_up()
        except Exception:  # noqa: BLE001  the GUI thread's own import then reports a broken PyTorch properly
            pass
        try:
            self.finished.emit()
        except RuntimeError:  # the window closed first
            _finish()


def begin() -> None:
    """From now on validation waits for `load_in_background` (call before the window is built)."""
    _loading.set()


def load_in_background(parent: QObject) -> threading.Thread:
    """Import PyTorch (and warm its shape kernels) on a daemon thread; then, on the GUI thread, let validation run
    and call what waited for it (`after_load`)."""
    loader = _Loader(parent)
    thread = threading.Thread(target=loader.load, name="deepwire-torch-import", daemon=True)
    thread.start()
    return thread
