"""pyqtgraph plots in DeepWire's theme colours, set up for long live curves (peak downsampling, clip to view)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from editor import theme

TRAIN_COLOR = theme.ACCENT
VAL_COLOR = "#e8912d"
SMOOTH = 0.1
"""Weight of the newest batch loss in the exponential moving average drawn over the raw batch losses."""


def plot_widget(title: str, x_label: str = "", y_label: str = "", log_y: bool = False,
                legend_at: tuple[int, int] = (-8, 8)) -> pg.PlotWidget:
    """A plot in the theme's colours with a title, axis labels, a faint grid and a legend (offset from a corner, pyqtgraph style)."""
    widget = pg.PlotWidget(background=theme.BASE)
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
    legend = item.addLegend(offset=legend_at, labelTextColor=theme.TEXT, labelTextSize="8pt", verSpacing=-4)
    legend.setBrush(pg.mkBrush(theme.PANEL + "c0"))
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
    item = widget.plot([], [], name=name, pen=pen, **kwargs)
    if name:
        widget.getPlotItem().legend.show()
    return item


def palette(count: int) -> list[str]:
    """`count` distinct colours for per-layer curves (darker on a light background, so yellow stays readable)."""
    bright = 230 if theme.COLORS.dark else 175
    return [pg.intColor(i, hues=max(count, 1), values=1, maxValue=bright, minValue=150).name() for i in range(count)]
