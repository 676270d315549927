"""Keeps the live preview up to date: after each edit (debounced) one sample runs through the graph on a
worker thread; results go to the strips under the nodes and to the Preview panel."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from editor.canvas.preview_strip import PreviewStripItem
from editor.debounced_job import DebouncedJob
from engine.lazy import LazyModule
from engine.preview import PREVIEW_THREADS, Previewer, PreviewResult

torch = LazyModule("torch")

DEBOUNCE_MS = 120


class LivePreview(QObject):
    """Owns the Previewer (used by one worker job at a time) and the node strips."""

    updated = Signal(object)
    """A PreviewResult, or None when no preview can be made (the reason is in `error`)."""

    def __init__(self, controller, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.previewer = Previewer()
        self.enabled = True
        self.strips_shown = False
        self.sample = 0
        self.result: PreviewResult | None = None
        self.error = ""
        self.seconds = 0.0
        """Time of the last preview run (on the worker thread)."""
        self._strips: dict[str, PreviewStripItem] = {}
        self._job = DebouncedJob(self, DEBOUNCE_MS, self._prepare, self._done, self._failed)
        self._weights: Callable[[], object] | None = None
        self.weights_label = "random weights (not trained yet)"
        controller.graph_changed.connect(self.schedule)
        controller.view.nodes_built.connect(self._on_built)

    @property
    def busy(self) -> bool:
        return self._job.busy

    def schedule(self) -> None:
        """Preview again shortly (edits in quick succession make one run)."""
        if self.enabled:
            self._job.schedule()

    def set_enabled(self, on: bool) -> None:
        self.enabled = on
        if on:
            self.schedule()

    def set_sample(self, index: int) -> None:
        self.sample = max(0, index)
        self.schedule()

    def use_weights(self, load: Callable[[], object] | None, label: str = "") -> None:
        """Preview with the weights `load()` returns (a trained compiled model), read on the worker; None: random."""
        self._weights = load if load is not None else (lambda: None)
        self.weights_label = label or ("trained weights" if load else "random weights (not trained yet)")
        self.schedule()

    def show_strips(self, on: bool) -> None:
        self.strips_shown = on
        self._paint_strips()

    # ---- the worker ------------------------------------------------------------------------
    def _prepare(self):
        """The preview run of the current graph and sample, to run off the GUI thread."""
        graph, validation, sample = self.controller.graph.copy(), self.controller.validation, self.sample
        if validation.pending:
            return None  # PyTorch is still loading; the validation that follows schedules this again
        weights, self._weights = self._weights, None
        previewer = self.previewer

        def work() -> tuple[PreviewResult, float]:
            torch.set_num_threads(PREVIEW_THREADS)  # this worker thread only
            if weights is not None:
                previewer.use_weights(weights())
            start = time.perf_counter()
            result = previewer.run(graph, sample, validation)
            return result, time.perf_counter() - start

        return work

    def _done(self, outcome: tuple[PreviewResult, float]) -> None:
        self.result, self.seconds = outcome
        self.error = ""
        self.sample = self.result.sample
        self._paint_strips()
        self.updated.emit(self.result)

    def _failed(self, exc: Exception) -> None:
        self.result, self.error = None, str(exc)
        self._paint_strips()
        self.updated.emit(None)

    # ---- strips on the canvas ---------------------------------------------------------------
    def _paint_strips(self) -> None:
        nodes = self.controller.view.nodes.built  # a node without items yet gets its strip when it is built
        shown = self.result.nodes if self.result is not None and self.strips_shown else {}
        for nid in [n for n, strip in self._strips.items() if n not in shown or n not in nodes
                    or strip.parentItem() is not nodes[n].view]:
            strip = self._strips.pop(nid)
            if strip.scene() is not None:
                strip.scene().removeItem(strip)
        for nid, preview in shown.items():
            if nid not in nodes:
                continue
            item = nodes[nid].view
            strip = self._strips.get(nid)
            if strip is None:
                strip = self._strips[nid] = PreviewStripItem(item)
            strip.show_preview(preview, item.width, item.height)

    def _on_built(self, _ids: list) -> None:
        self._paint_strips()

    def strip(self, nid: str) -> PreviewStripItem | None:
        return self._strips.get(nid)
