"""pyqtgraph plots in DeepWire's theme colours, set up for long live curves (peak downsampling, clip to view)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from editor import theme

TRAIN_COLOR = theme.ACCENT
VAL_COLOR = "#e8912d"
SMOOTH = 0.1
"""Weight of the newest batch loss in the exponential moving average drawn over the raw batch losses."""


LEGEND_ROW = 4
"""The plot layout's row under the x axis, where the legend sits: never over the curves."""
LEGEND_COLUMNS = 3


def plot_widget(title: str, x_label: str = "", y_label: str = "", log_y: bool = False,
                legend_in_title: bool = False) -> pg.PlotWidget:
    """A plot in the theme's colours with a title, axis labels, a faint grid and a legend below the x axis (or,
    for a plot of two or three curves, `legend_in_title`: coloured names after the title, which costs no height)."""
    widget = pg.PlotWidget(background=theme.BASE)
    widget.base_title = title
    widget.title_legend = [] if legend_in_title else None
    item = widget.getPlotItem()
    item.setTitle(title, color=theme.TEXT, size="10pt")
    for side, text in (("bottom", x_label), ("left", y_label)):
        axis = item.getAxis(side)
        axis.setPen(pg.mkPen(theme.BORDER))
        axis.setTextPen(pg.mkPen(theme.MUTED))
        if text:
            item.setLabel(side, text, color=theme.MUTED)
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    item.setLogMode(y=log_y)
    legend = pg.LegendItem(labelTextColor=theme.TEXT, labelTextSize="7.5pt", colCount=LEGEND_COLUMNS,
                           horSpacing=12, verSpacing=0)
    item.layout.addItem(legend, LEGEND_ROW, 1)
    item.legend = legend  # plot(..., name=...) adds its curve here
    legend.hide()  # shown by the first named curve
    widget.setMinimumSize(120, 80)
    return widget


def curve(widget: pg.PlotWidget, name: str | None, color: str, width: float = 2.0, dashed: bool = False,
          symbol: str | None = None, alpha: int = 255) -> pg.PlotDataItem:
    """A line on `widget`; epoch curves get a symbol so a single point is visible."""
    qcolor = pg.mkColor(color)
    qcolor.setAlpha(alpha)
    pen = pg.mkPen(qcolor, width=width, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
    kwargs = {"symbol": symbol, "symbolSize": 6, "symbolBrush": qcolor, "symbolPen": None} if symbol else {}
    entries = getattr(widget, "title_legend", None)
    if name and entries is not None:
        entries.append((name, qcolor.name(), dashed))
        line = "&nbsp;&nbsp;".join(f"<span style='color:{c}'>{'┄┄' if d else '━━'} {n}</span>" for n, c, d in entries)
        widget.getPlotItem().setTitle(f"{widget.base_title}&nbsp;&nbsp;<small>{line}</small>", color=theme.TEXT,
                                      size="10pt")
        name = None
    item = widget.plot([], [], name=name, pen=pen, **kwargs)
    if name:
        widget.getPlotItem().legend.show()
    return item


def tidy_ranges(widget: pg.PlotWidget, start_x: float | None = 0.0) -> None:
    """Axis ranges that read well for short and constant series: x from `start_x` (None: the data's own) to at
    least one step past it; a flat y series gets a band around its value instead of pyqtgraph's ±0.5."""
    item = widget.getPlotItem()
    log = item.ctrl.logYCheck.isChecked()
    xs, ys = [], []
    for data in item.listDataItems():
        x, y = data.getOriginalDataset()  # all of it: getData() is clipped to the current view
        if x is not None and len(x):
            xs += [float(v) for v in x if math.isfinite(float(v))]
            y = np.log10(y[np.asarray(y) > 0]) if log else y  # as drawn on a log axis
            ys += [float(v) for v in y if math.isfinite(float(v))]
    if not xs or not ys:
        return
    low = min(xs) if start_x is None else min(start_x, min(xs))
    item.setXRange(low, max(max(xs), low + 1.0), padding=0.02)
    top, bottom = max(ys), min(ys)
    if top - bottom <= 1e-9 * max(abs(top), 1e-30):
        pad = 0.5 if log else (abs(top) * 0.5 or 1.0)
        item.setYRange(bottom - pad, top + pad, padding=0)
    else:
        item.enableAutoRange(axis="y")


def palette(count: int) -> list[str]:
    """`count` distinct colours for per-layer curves (darker on a light background, so yellow stays readable)."""
    bright = 230 if theme.COLORS.dark else 175
    return [pg.intColor(i, hues=max(count, 1), values=1, maxValue=bright, minValue=150).name() for i in range(count)]
