"""Activations of the selected node: output histogram, mean/std over time, feature-map thumbnails; canvas badges.

The numbers come from the trainer's `Activations` events (a fixed probe batch, so the plots compare
like with like). Each node on the canvas gets a small live badge: the fraction of zero outputs of
ReLU nodes ("dead" units) and the count of non-finite values of any node.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from editor import theme
from editor.training.plotting import TRAIN_COLOR, VAL_COLOR, curve, plot_widget
from engine.train.events import Activations, Event, RunStarted

DEAD_TYPES = ("ReLU",)
THUMB_PIXELS = 72
THUMB_COLUMNS = 4


def badge_for(node_type: str, summary: dict) -> tuple[str, str]:
    """(text, colour) of a node's live badge; empty text when there is nothing to flag."""
    if summary.get("nonfinite"):
        return f"NaN {summary['nonfinite']}", theme.ERROR_COLOR
    if node_type in DEAD_TYPES:
        zeros = summary.get("zeros", 0.0)
        return f"{zeros:.0%} dead", theme.WARNING_COLOR if zeros > 0.5 else theme.MUTED
    return "", ""


def badge_tip(summary: dict) -> str:
    """The badge's tooltip: what the live numbers mean."""
    return (f"Live, on the probe batch: {summary.get('zeros', 0.0):.0%} of the outputs are zero "
            f"(a ReLU unit that is always zero has stopped learning), {summary.get('nonfinite', 0)} non-finite "
            "values. Select the node and open Training views ▸ Activations for its histogram.")


def thumbnail(rows: list[list[int]], pixels: int = THUMB_PIXELS) -> QPixmap:
    """A grey feature map (rows of 0-255) as a pixmap scaled up without smoothing."""
    array = np.ascontiguousarray(np.asarray(rows, dtype=np.uint8))
    h, w = array.shape
    image = QImage(array.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(image).scaled(pixels, pixels, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.FastTransformation)


class ActivationsView(QWidget):
    """Pick a node (or select it on the canvas) to see its activations as training goes."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.history: dict[str, list[tuple[float, dict]]] = {}
        self.latest: dict[str, dict] = {}
        self.steps_per_epoch = 1
        self._badged: set[str] = set()
        self._thumb_labels: list[QLabel] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        top.addWidget(QLabel("Node:"))
        self.node_box = QComboBox()
        self.node_box.setMinimumContentsLength(12)
        self.node_box.currentIndexChanged.connect(lambda _i: self.redraw())
        top.addWidget(self.node_box)
        self.stats = QLabel("Activation summaries arrive while a run trains (Training ▸ Live views).")
        self.stats.setStyleSheet(f"color: {theme.MUTED};")
        self.stats.setWordWrap(True)
        top.addWidget(self.stats, 1)
        layout.addLayout(top)
        plots = QHBoxLayout()
        self.hist_plot = plot_widget("Output histogram (probe batch)", "value", "count")
        self.hist_curve = self.hist_plot.plot([], [], stepMode="center", fillLevel=0,
                                              brush=pg.mkBrush(TRAIN_COLOR + "90"), pen=pg.mkPen(TRAIN_COLOR))
        self.time_plot = plot_widget("Mean and std over time", "epoch")
        self.mean_curve = curve(self.time_plot, "mean", TRAIN_COLOR, 2.0)
        self.std_curve = curve(self.time_plot, "std", VAL_COLOR, 2.0)
        plots.addWidget(self.hist_plot, 1)
        plots.addWidget(self.time_plot, 1)
        maps = QVBoxLayout()
        self.maps_title = QLabel("Feature maps (conv nodes)")
        self.maps_title.setStyleSheet(f"color: {theme.MUTED};")
        maps.addWidget(self.maps_title)
        self.maps = QGridLayout()
        maps.addLayout(self.maps)
        maps.addStretch(1)
        plots.addLayout(maps)
        layout.addLayout(plots, 1)
        controller.selection_changed.connect(self._follow_selection)

    # ---- events --------------------------------------------------------------------------------
    def reset(self) -> None:
        self.history.clear()
        self.latest.clear()
        self._set_badges({})
        self.node_box.clear()
        self.redraw()

    def add_events(self, events: list[Event]) -> None:
        changed = False
        for event in events:
            if isinstance(event, RunStarted):
                self.steps_per_epoch = max(event.steps_per_epoch, 1)
            elif isinstance(event, Activations):
                x = event.step / self.steps_per_epoch
                for nid, summary in event.nodes.items():
                    self.history.setdefault(nid, []).append((x, summary))
                self.latest = event.nodes
                changed = True
        if changed:
            self._fill_nodes()
            self._set_badges(self.latest)
            self.redraw()

    def _fill_nodes(self) -> None:
        graph = self.controller.graph
        ids = [nid for nid in self.latest if nid in graph.nodes]
        if ids == [self.node_box.itemData(i) for i in range(self.node_box.count())]:
            return
        current = self.node_box.currentData()
        self.node_box.blockSignals(True)
        self.node_box.clear()
        for nid in ids:
            node = graph.nodes[nid]
            self.node_box.addItem(f"{node.name} ({node.type})", nid)
        index = self.node_box.findData(current)
        self.node_box.setCurrentIndex(index if index >= 0 else 0)
        self.node_box.blockSignals(False)

    def _follow_selection(self, ids: list) -> None:
        if len(ids) == 1:
            index = self.node_box.findData(ids[0])
            if index >= 0:
                self.node_box.setCurrentIndex(index)

    def select(self, node_id: str) -> None:
        """Show `node_id` (as picking it in the box does)."""
        self.node_box.setCurrentIndex(self.node_box.findData(node_id))

    def _set_badges(self, nodes: dict[str, dict]) -> None:
        graph = self.controller.graph
        shown = set()
        for nid, summary in nodes.items():
            if nid in graph.nodes:
                text, colour = badge_for(graph.nodes[nid].type, summary)
                if text:
                    self.controller.set_node_badge(nid, text, colour, badge_tip(summary))
                    shown.add(nid)
        for nid in self._badged - shown:
            self.controller.set_node_badge(nid, "", "")
        self._badged = shown

    # ---- drawing -------------------------------------------------------------------------------
    def redraw(self) -> None:
        nid = self.node_box.currentData()
        summary = self.latest.get(nid) if nid else None
        self._clear_maps()
        if summary is None:
            self.hist_curve.setData([], [])
            self.mean_curve.setData([], [])
            self.std_curve.setData([], [])
            return
        hist = summary["hist"]
        lo, hi = summary["min"], summary["max"]
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, len(hist) + 1)
        self.hist_curve.setData(edges, hist)
        xs = [x for x, _ in self.history[nid]]
        self.mean_curve.setData(xs, [s["mean"] for _, s in self.history[nid]])
        self.std_curve.setData(xs, [s["std"] for _, s in self.history[nid]])
        shape = "(" + ", ".join("N" if d is None else str(d) for d in summary["shape"]) + ")"
        self.stats.setText(f"shape {shape} · mean {summary['mean']:.4g} · std {summary['std']:.4g} · "
                           f"zeros {summary['zeros']:.1%} · non-finite {summary['nonfinite']}")
        thumbs = summary.get("thumbs") or []
        self.maps_title.setText(f"Feature maps: first {len(thumbs)} channels of one sample" if thumbs
                                else "Feature maps (conv nodes)")
        while len(self._thumb_labels) < len(thumbs):
            label = QLabel()
            label.setToolTip(f"channel {len(self._thumb_labels)}")
            self.maps.addWidget(label, len(self._thumb_labels) // THUMB_COLUMNS, len(self._thumb_labels) % THUMB_COLUMNS)
            self._thumb_labels.append(label)
        for i, label in enumerate(self._thumb_labels):
            if i < len(thumbs):
                label.setPixmap(thumbnail(thumbs[i]))
            label.setVisible(i < len(thumbs))

    def _clear_maps(self) -> None:
        for label in self._thumb_labels:
            label.hide()
