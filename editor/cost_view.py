"""Cost per node in the editor: computed off the GUI thread after edits, shown as heat colouring on the canvas
(View > Cost colouring, by FLOPs, parameters, output memory or latency) and in the properties panel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from editor.canvas.cost_overlay import CostHeatItem, heat_color
from editor.debounced_job import DebouncedJob
from engine.lazy import LazyModule
from engine.memory import format_bytes

if TYPE_CHECKING:
    from engine.cost import CostReport

cost = LazyModule("engine.cost")  # PyTorch: imported when the first cost is computed, after the window shows

DEBOUNCE_MS = 300
AUTO_MAX_NODES = 500
"""Above this many nodes, costs are computed only while the colouring is on (timing every layer takes a while)."""
MEASURES = {"flops": "FLOPs", "params": "parameters", "activation_bytes": "output memory", "latency_ms": "latency"}


def cost_line(report: CostReport, nid: str) -> str:
    """One node's cost as the properties panel and tooltips show it."""
    c = report.nodes[nid]
    latency = f" · {c.latency_ms:.3f} ms" if c.latency_ms is not None else ""
    share = c.flops / total if (total := report.total("flops")) else 0.0
    kept = f" · kept for backward {format_bytes(c.saved_bytes)}" if c.saved_bytes else ""
    return (f"cost per batch of {report.batch_size} on {report.device}: {cost.format_flops(c.flops)} ({share:.0%} of the "
            f"model) · output {format_bytes(c.activation_bytes)}{kept}{latency}")


def _short(report: CostReport, nid: str, measure: str) -> str:
    c = report.nodes[nid]
    value = getattr(c, measure) or 0
    total = report.total(measure)
    if not value:
        return ""
    shown = {"flops": cost.format_flops, "activation_bytes": format_bytes, "params": lambda v: f"{v:,} params",
             "latency_ms": lambda v: f"{v:.2f} ms"}[measure](value)
    return f"{shown} ({value / total:.0%})" if total else shown


class CostView(QObject):
    """Keeps a CostReport of the current graph and paints it when the colouring is on."""

    updated = Signal()

    def __init__(self, controller, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.report: CostReport | None = None
        self.error = ""
        self.colouring = False
        self.measure = "flops"
        self._items: dict[str, CostHeatItem] = {}
        self._job = DebouncedJob(self, DEBOUNCE_MS, self._prepare, self._done, self._failed)
        controller.graph_changed.connect(self.schedule)
        controller.view.nodes_built.connect(self._on_built)

    @property
    def busy(self) -> bool:
        return self._job.busy

    def _wanted(self) -> bool:
        return self.colouring or len(self.controller.graph.nodes) <= AUTO_MAX_NODES

    def schedule(self) -> None:
        if self._wanted():
            self._job.schedule()

    def set_colouring(self, on: bool) -> None:
        self.colouring = on
        self.paint()
        if on:
            self.schedule()

    def set_measure(self, measure: str) -> None:
        if measure not in MEASURES:
            raise ValueError(f"measure must be one of {list(MEASURES)}")
        self.measure = measure
        self.paint()

    def _prepare(self):
        """The analysis of the current graph to run off the GUI thread (None when the graph has errors, or has
        grown too big to analyse while the colouring is off since it was scheduled)."""
        if not self._wanted():
            return None
        graph, validation = self.controller.graph.copy(), self.controller.validation
        if validation.pending:
            return None  # PyTorch is still loading; the validation that follows schedules this again
        if not validation.ok:
            self.report, self.error = None, "fix the graph's errors to see its cost"
            self.paint()
            self.updated.emit()
            return None
        return lambda: cost.analyse(graph, validation=validation)

    def _done(self, report: CostReport) -> None:
        self.report, self.error = report, ""
        self.paint()
        self.updated.emit()

    def _failed(self, exc: Exception) -> None:
        self.report, self.error = None, str(exc)
        self.paint()
        self.updated.emit()

    def line(self, nid: str) -> str:
        """The properties panel's cost text for a node ('' when there is none)."""
        if self.report is not None and nid in self.report.nodes:
            return cost_line(self.report, nid)
        return f"cost: {self.error}" if self.error else ""

    def paint(self) -> None:
        nodes = self.controller.view.nodes.built  # a node without items yet gets its colour when it is built
        report = self.report if self.colouring else None
        shown = set(report.nodes) & set(nodes) if report is not None else set()
        for nid in [n for n, item in self._items.items() if n not in shown or item.parentItem() is not nodes[n].view]:
            item = self._items.pop(nid)
            if item.scene() is not None:
                item.scene().removeItem(item)
        for nid in shown:
            view = nodes[nid].view
            item = self._items.get(nid)
            if item is None:
                item = self._items[nid] = CostHeatItem(view)
            item.set_cost(report.share(nid, self.measure), _short(report, nid, self.measure), view.width, view.height)
        self.controller.view.layer.set_halos(  # nodes without items yet: a halo painted by the canvas's far layer
            {nid: heat_color(report.share(nid, self.measure)) for nid in report.nodes if nid not in nodes}
            if report is not None else {})

    def _on_built(self, _ids: list) -> None:
        self.paint()

    def item(self, nid: str) -> CostHeatItem | None:
        return self._items.get(nid)
