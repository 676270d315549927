"""Draw a diagnosis's or a comparison's evidence (engine.doctor.records.Evidence) on a pyqtgraph plot."""

from __future__ import annotations

import math

import pyqtgraph as pg

from editor import theme
from editor.training.plotting import curve, palette, plot_widget
from engine.doctor.records import Evidence

LOG_FLOOR = 1e-30


def evidence_plot() -> pg.PlotWidget:
    widget = plot_widget("", "", "")
    widget.setMinimumSize(220, 150)
    return widget


def draw_evidence(widget: pg.PlotWidget, evidence: Evidence | None) -> None:
    """Replace what `widget` shows with `evidence` (bars or lines, log scale where it asks; None clears it)."""
    item = widget.getPlotItem()
    item.clear()
    item.legend.clear()
    item.legend.hide()
    bottom = item.getAxis("bottom")
    bottom.setTicks(None)
    if evidence is None:
        item.setTitle("")
        return
    item.setTitle(evidence.title, color=theme.TEXT, size="9pt")
    item.setLabel("bottom", evidence.x_label, color=theme.MUTED)
    item.setLabel("left", evidence.y_label, color=theme.MUTED)
    item.setLogMode(y=evidence.log_y)
    colours = palette(len(evidence.series))
    for series, colour in zip(evidence.series, colours, strict=True):
        ys = [max(v, LOG_FLOOR) if evidence.log_y and math.isfinite(v) else v for v in series.y]
        if evidence.kind == "bar" and not evidence.log_y:
            item.addItem(pg.BarGraphItem(x=series.x, height=ys, width=0.7, brush=pg.mkBrush(colour),
                                         pen=pg.mkPen(colour)))
        else:
            symbol = "o" if evidence.kind == "bar" or len(ys) < 40 else None
            curve(widget, series.label if len(evidence.series) > 1 else None, colour, 2.0,
                  symbol=symbol).setData(series.x, ys)
    if evidence.x_ticks:
        step = max(1, len(evidence.x_ticks) // 10)
        bottom.setTicks([[(i, name) for i, name in enumerate(evidence.x_ticks) if i % step == 0]])
        item.enableAutoRange(axis="y")
        item.setXRange(-0.7, len(evidence.x_ticks) - 0.3, padding=0)  # room for the first and last names
        return
    item.enableAutoRange()
