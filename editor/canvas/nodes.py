"""Layer nodes on the canvas: one generic NodeGraphQt node class per registered LayerSpec, one look."""

from __future__ import annotations

import gc
import math
from contextlib import contextmanager
from dataclasses import dataclass

from NodeGraphQt import BaseNode
from NodeGraphQt.constants import PortEnum, PortTypeEnum
from NodeGraphQt.qgraphics.node_base import NodeItem
from NodeGraphQt.qgraphics.port import PortItem
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSimpleTextItem, QStyleOptionGraphicsItem

from editor import theme
from engine.layers.registry import get_spec
from engine.layers.spec import LayerSpec

HEADER_PAD = 6.0
BODY_PAD = 13.0
"""Text inset from the node's sides, clear of the port circles that sit on them."""
PORT_Y = 15.0
"""Height of an unnamed port's centre below the header: the same on every node, so wires run level."""
MIN_WIDTH = 170.0
LINE_GAP = 2.0
SIMPLE_ZOOM = 0.5
"""Below this zoom a node's small text cannot be read: it shows only its name, drawn large (the fitted view of
a big network)."""
LOCK_W = 10.0
FAR_PX = 45
"""A node drawn narrower than this many pixels on screen is a plain block (its text would be unreadable)."""
SHAPE_GAP = "   "
"""Between a node's output shape and its parameter count on the shape line (editor.canvas.view writes it)."""


@dataclass(frozen=True)
class NodeLook:
    """Everything a node shows besides its name and ports; equal looks need no repaint."""

    title: str
    params: str
    shape: str
    badge: str = ""
    severity: str = ""  # "", "warning" or "error"
    tooltip: str = ""
    note: str = ""
    """The node's first problem in words, shown under it (with `fix` as a button when the problem has one)."""
    fix: str = ""
    frozen: bool = False
    """Fine-tuning: the node's weights do not train (a lock in the header)."""
    loaded: bool = False
    """Fine-tuning: the node starts from loaded weights (a 'loaded' pill in the header)."""


def _font(size: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(size)
    font.setBold(bold)
    return font


class _Batch:
    """While active, node redraws are collected and done once each at the end."""

    active = False
    pending: set = set()


@contextmanager
def batched_drawing():
    """Draw every node touched inside the block once, when the block ends (bulk loads stay fast).

    Python's cyclic garbage collector is paused meanwhile: thousands of new Qt wrappers would
    otherwise set off full collections over every object torch has loaded (~1 s for 500 nodes).
    """
    if _Batch.active:
        yield
        return
    _Batch.active = True
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        _Batch.active = False
        flush_drawing()
        if collecting:
            gc.enable()


def flush_drawing() -> None:
    """Do the redraws collected so far (ports must sit in place before wires are drawn to them)."""
    pending, _Batch.pending = _Batch.pending, set()
    for item in pending:
        if item.scene():
            NodeItem.draw_node(item)


_PORT_FONT = _font(8.0)


class _PortLabel(QGraphicsSimpleTextItem):
    """A port's name: a plain text item (NodeGraphQt's rich-text one costs ~0.2 ms a port to build)."""

    def setDefaultTextColor(self, color: QColor) -> None:  # noqa: N802 (the QGraphicsTextItem name NodeGraphQt calls)
        self.setBrush(color)


_SCENE_MOVED = QGraphicsItem.GraphicsItemChange.ItemScenePositionHasChanged
_PORT_RECT = QRectF(0.0, 0.0, PortEnum.SIZE.value + PortEnum.CLICK_FALLOFF.value, PortEnum.SIZE.value)


class _Port(PortItem):
    """NodeGraphQt's port with the hot paths (geometry, moves) free of per-call enum lookups."""

    def boundingRect(self) -> QRectF:
        return _PORT_RECT

    def itemChange(self, change, value):
        if change == _SCENE_MOVED and self._pipes:
            self.redraw_connected_pipes()
        return QGraphicsItem.itemChange(self, change, value)


class LiveBadgeItem(QGraphicsItem):
    """A small rounded pill a node wears at its top-right corner while training reports on it."""

    FONT = _font(7.5, bold=True)

    def __init__(self, parent: QGraphicsItem):
        super().__init__(parent)
        self.text, self.color = "", QColor(theme.MUTED)
        self._rect = QRectF()
        self.setZValue(1.0)
        self.setAcceptHoverEvents(True)

    def set_badge(self, text: str, color: QColor) -> None:
        metrics = QFontMetricsF(self.FONT)
        self.prepareGeometryChange()
        self.text, self.color = text, QColor(color)
        h = metrics.height() + 3.0
        self._rect = QRectF(-metrics.horizontalAdvance(text) - 12.0, -h / 2, metrics.horizontalAdvance(text) + 12.0, h)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        fill = QColor(self.color).darker(260)
        fill.setAlpha(245)
        painter.setBrush(fill)
        painter.setPen(QPen(self.color, 1.3))
        painter.drawRoundedRect(self._rect, self._rect.height() / 2, self._rect.height() / 2)
        painter.setFont(self.FONT)
        painter.setPen(QColor(self.color).lighter(135) if self.color.lightness() < 150 else QColor("#ffffff"))
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.text)
        painter.restore()


class ProblemNoteItem(QGraphicsItem):
    """A problem's message under its node, wrapped, with a clickable fix pill: readable and fixable in place."""

    FONT = _font(8.0)
    FIX_FONT = _font(8.0, bold=True)
    PAD = 5.0

    def __init__(self, parent: LayerNodeItem):
        super().__init__(parent)
        self.text, self.fix, self.color = "", "", QColor(theme.ERROR_COLOR)
        self._rect, self._text_rect, self._fix_rect = QRectF(), QRectF(), QRectF()
        self.setZValue(2.0)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)  # readable at any zoom
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setCursor(Qt.CursorShape.ArrowCursor)

    def set_note(self, text: str, fix: str, color: QColor, width: float) -> None:
        self.prepareGeometryChange()
        self.text, self.fix, self.color = text, fix, QColor(color)
        metrics = QFontMetricsF(self.FONT)
        inner = width - 2 * self.PAD
        bound = metrics.boundingRect(QRectF(0, 0, inner, 1000), int(Qt.TextFlag.TextWordWrap), text)
        self._text_rect = QRectF(self.PAD, self.PAD, inner, min(bound.height(), metrics.lineSpacing() * 4))
        y = self._text_rect.bottom() + 3.0
        if fix:
            fix_metrics = QFontMetricsF(self.FIX_FONT)
            self._fix_rect = QRectF(self.PAD, y, fix_metrics.horizontalAdvance(self._pill_text()) + 14.0,
                                    fix_metrics.height() + 5.0)
            y = self._fix_rect.bottom() + 1.0
        else:
            self._fix_rect = QRectF()
        self._rect = QRectF(0, 0, width, y + self.PAD - 1.0)
        self.update()

    def fix_rect(self) -> QRectF:
        """Where the fix pill is, in this item's coordinates (empty when the problem has no fix)."""
        return QRectF(self._fix_rect)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        fill = QColor(theme.NODE).darker(115)
        painter.setBrush(fill)
        painter.setPen(QPen(self.color, 1.2))
        painter.drawRoundedRect(self._rect, 5.0, 5.0)
        painter.setFont(self.FONT)
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(self._text_rect, int(Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft), self.text)
        if self.fix:
            painter.setBrush(QColor(theme.ACCENT).darker(140))
            painter.setPen(QPen(QColor(theme.ACCENT), 1.0))
            r = self._fix_rect
            painter.drawRoundedRect(r, r.height() / 2, r.height() / 2)
            painter.setFont(self.FIX_FONT)
            painter.setPen(QColor("#ffffff"))
            painter.drawText(r, Qt.AlignmentFlag.AlignCenter, self._pill_text())
        painter.restore()

    def _pill_text(self) -> str:
        return f"\u2692 {self.fix}"

    def click_fix(self) -> None:
        """What a click on the fix pill does: the node's `on_fix` (set by the canvas view)."""
        handler = getattr(self.parentItem(), "on_fix", None)
        if self.fix and handler is not None:
            handler()

    def mousePressEvent(self, event) -> None:
        if self.fix and self._fix_rect.contains(event.pos()):
            event.accept()
            self.click_fix()
            return
        event.ignore()


TITLE_FONT = _font(10.0, bold=True)
SMALL_FONT = _font(8.5)
SHAPE_FONT = _font(9.0, bold=True)
TEXT_MARGIN = 4.0
"""The margin a QGraphicsTextItem (the node's name) keeps around its text."""
PORT_ROW = PortEnum.SIZE.value + 1.0
_label_probe: list[QGraphicsSimpleTextItem] = []


_METRICS: dict[int, tuple[QFont, QFontMetricsF]] = {}


def metrics(font: QFont) -> QFontMetricsF:
    """Font metrics, made once per font object (making them costs more than asking them); the font is kept, so
    its id stays its own."""
    found = _METRICS.get(id(font))
    if found is None:
        found = _METRICS[id(font)] = (font, QFontMetricsF(font))
    return found[1]


def _label_width(name: str) -> float:
    """Width of a port's label, measured as the label item measures itself."""
    if not _label_probe:
        probe = QGraphicsSimpleTextItem()
        probe.setFont(_PORT_FONT)
        _label_probe.append(probe)
    _label_probe[0].setText(name)
    return _label_probe[0].boundingRect().width()


def header_height() -> float:
    """The header (name row) of every node."""
    return math.ceil(metrics(TITLE_FONT).height()) + 2 * TEXT_MARGIN + 2.0


def ports_height(named_inputs: list[str], named_outputs: list[str]) -> float:
    """Room for named ports, a row each (nodes with one unnamed port a side need none)."""
    return max(len(named_inputs), len(named_outputs)) * PORT_ROW if named_inputs or named_outputs else 0.0


def look_lines(look: NodeLook) -> list[tuple[str, QFont, QColor]]:
    """The body's text lines: title, key params (when any) and the output shape, each with its font and colour."""
    lines = [(look.title, SMALL_FONT, QColor(theme.MUTED))]
    if look.params:
        lines.append((look.params, SMALL_FONT, QColor(theme.TEXT)))
    shape_color = QColor(theme.ERROR_COLOR if look.severity == "error" else theme.ACCENT)
    lines.append((look.shape, SHAPE_FONT, shape_color))
    return lines


def marks_width(look: NodeLook) -> float:
    """Room the fine-tuning marks take in the header (lock, 'loaded' pill)."""
    width = LOCK_W + 6.0 if look.frozen else 0.0
    if look.loaded:
        width += metrics(LiveBadgeItem.FONT).horizontalAdvance(LOADED_TEXT) + 16.0
    return width


def node_size(name: str, look: NodeLook, named_inputs: list[str], named_outputs: list[str]) -> tuple[float, float]:
    """A node's width and height from what it shows: the same whether or not its scene item exists yet."""
    title = metrics(TITLE_FONT).horizontalAdvance(name) + 2 * TEXT_MARGIN
    text_w = title + 2 * HEADER_PAD + marks_width(look)
    if look.badge:
        text_w += metrics(SMALL_FONT).horizontalAdvance(look.badge) + 20
    in_w = max((_label_width(n) for n in named_inputs), default=0.0)
    out_w = max((_label_width(n) for n in named_outputs), default=0.0)
    lines = look_lines(look)
    # the shape line (last) does not widen the node: it changes with every wire, and a node that grows when
    # it is first connected moves its ports away from the next drag (a long shape is elided instead)
    body_w = max(metrics(f).horizontalAdvance(s) for s, f, _ in lines[:-1]) + 2 * BODY_PAD + 8
    body_h = sum(metrics(f).height() + LINE_GAP for _, f, _ in lines) + 6.0
    width = max(MIN_WIDTH, text_w, in_w + out_w + 30, body_w)
    return width, header_height() + ports_height(named_inputs, named_outputs) + body_h


def port_offset(named: bool) -> float:
    """Height of a node's first port's top edge below the node's top (NodeGraphQt's align_ports offset)."""
    head = header_height()
    return head + 3.0 if named else head + PORT_Y - PortEnum.SIZE.value / 2


LOADED_TEXT = "loaded"


class LayerNodeItem(NodeItem):
    """Draws a layer: category-coloured header with the name, ports, then title, key params and shape."""

    def __init__(self, name: str = "node", parent=None):
        super().__init__(name, parent)
        self._look = NodeLook("", "", "")
        self._category = QColor(theme.OTHER_CATEGORY_COLOR)
        self._icon_item.setVisible(False)
        self._proxy_mode_threshold = FAR_PX
        self._text_item.setFont(TITLE_FONT)
        self._small = SMALL_FONT
        self._live: LiveBadgeItem | None = None
        self.note_item: ProblemNoteItem | None = None
        self._simple = False
        self.on_fix = None
        """Called (no arguments) when the fix pill under the node is clicked; the canvas view sets it."""

    # ---- content ------------------------------------------------------------------------
    def set_category_color(self, color: QColor) -> None:
        self._category = QColor(color)

    def set_look(self, look: NodeLook) -> None:
        if look == self._look:
            return
        self._look = look
        self.setToolTip(look.tooltip)
        if self.scene():
            self.draw_node()

    def set_live_badge(self, text: str, color: QColor, tooltip: str = "") -> None:
        """Show (or with empty text remove) the live pill at the top-right corner."""
        if not text:
            if self._live is not None:
                self._live.hide()
            return
        if self._live is None:
            self._live = LiveBadgeItem(self)
        self._live.set_badge(text, color)
        self._live.setToolTip(tooltip or text)
        self._live.show()
        self._place_live_badge()

    def _place_note(self) -> None:
        """Show the first problem under the node (hidden when it has none, or in the low-zoom proxy mode)."""
        look = self._look
        if not look.note:
            if self.note_item is not None:
                self.note_item.hide()
            return
        if self.note_item is None:
            self.note_item = ProblemNoteItem(self)
        color = QColor(theme.ERROR_COLOR if look.severity == "error" else theme.WARNING_COLOR)
        self.note_item.set_note(look.note, look.fix, color, max(self._width, MIN_WIDTH))
        self.note_item.setPos(0.0, self._height + 4.0)
        self.note_item.setVisible(not self._proxy_mode)

    def live_badge(self) -> str:
        """The text of the live pill ('' when none is shown)."""
        return self._live.text if self._live is not None and self._live.isVisible() else ""

    def _place_live_badge(self) -> None:
        """Straddle the top edge at the right; left of the 'shares' badge when the node has one."""
        if self._live is None:
            return
        right = self._width - 8.0
        if self._look.badge:
            right -= QFontMetricsF(self._small).horizontalAdvance(self._look.badge) + 14.0
        self._live.setPos(right - self._marks_width(), 0.0)

    def _lines(self) -> list[tuple[str, QFont, QColor]]:
        return look_lines(self._look)

    # ---- layout (replaces NodeGraphQt's horizontal layout) --------------------------------
    def _header_height(self) -> float:
        return header_height()

    def _ports_height(self) -> float:
        """Room for named ports (a row each); unnamed single ports sit on the body's edge instead."""
        return ports_height([p.name for p in self._input_items if p.display_name],
                            [p.name for p in self._output_items if p.display_name])

    def _calc_size_horizontal(self):
        return node_size(self.name, self._look, [p.name for p in self._input_items if p.display_name],
                         [p.name for p in self._output_items if p.display_name])

    def draw_node(self):
        if _Batch.active:
            _Batch.pending.add(self)
        else:
            super().draw_node()

    def _draw_node_horizontal(self):
        for port, text in list(self._input_items.items()) + list(self._output_items.items()):
            text.setVisible(port.display_name and port.isVisible() and not self._simple)
        self._width, self._height = self._calc_size_horizontal()
        self._set_text_color(QColor(theme.TEXT).getRgb())  # port labels, on the node's body
        self._text_item.setDefaultTextColor(QColor(theme.NODE_TITLE))
        self.setToolTip(self._look.tooltip)
        self._text_item.setPos(HEADER_PAD - 2.0, 0.0)
        self._place_live_badge()
        self._place_note()
        if self._ports_height():
            self.align_ports(v_offset=self._header_height() + 3.0)
        else:  # one unnamed port a side, at the same height on every node
            self.align_ports(v_offset=self._header_height() + PORT_Y - PortEnum.SIZE.value / 2)
        self.update()

    def add_input(self, name="input", multi_port=False, display_name=True, locked=False, painter_func=None):
        return self._new_port(PortTypeEnum.IN.value, name, multi_port, display_name, locked)

    def add_output(self, name="output", multi_port=False, display_name=True, locked=False, painter_func=None):
        return self._new_port(PortTypeEnum.OUT.value, name, multi_port, display_name, locked)

    def _new_port(self, kind: str, name: str, multi: bool, display_name: bool, locked: bool) -> _Port:
        port = _Port(self)
        port.name, port.port_type, port.multi_connection = name, kind, multi
        port.display_name, port.locked = display_name, locked
        return self._add_port(port)

    def _add_port(self, port):
        label = _PortLabel(port.name, self)
        label.setFont(_PORT_FONT)
        label.setVisible(port.display_name)
        (self._input_items if port.port_type == PortTypeEnum.IN.value else self._output_items)[port] = label
        if self.scene():
            self.post_init()
        return port

    def set_proxy_mode(self, mode):
        if mode is self._proxy_mode:
            return
        super().set_proxy_mode(mode)
        self._icon_item.setVisible(False)
        for port in (*self._input_items, *self._output_items):  # a few pixels wide when zoomed out: not drawn
            port.setVisible(not mode)
        if self._simple:
            self._text_item.setVisible(False)
        if self.note_item is not None:
            self.note_item.setVisible(bool(self._look.note) and not mode)

    # ---- painting -----------------------------------------------------------------------
    def auto_switch_mode(self) -> None:
        """Replaced by the level-of-detail test in `paint` (NodeGraphQt's maps the node to the screen each time)."""

    def paint(self, painter: QPainter, option, widget) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        self.set_proxy_mode(self._width * lod < self._proxy_mode_threshold)
        if self._proxy_mode:  # zoomed far out: one block in the header colour, its outline only when it matters
            self._paint_far(painter)
            return
        simple = lod < SIMPLE_ZOOM
        self._set_simple(simple)
        painter.save()
        rect = QRectF(0.5, 0.5, self._width - 1.0, self._height - 1.0)
        radius = 6.0
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.NODE))
        painter.drawRoundedRect(rect, radius, radius)

        header = QPainterPath()
        header.addRoundedRect(QRectF(rect.x(), rect.y(), rect.width(), self._header_height()), radius, radius)
        head_color = QColor(theme.header_color(self._category.name()))
        painter.setBrush(head_color)
        painter.drawPath(header)
        painter.fillRect(QRectF(rect.x(), self._header_height() - radius, rect.width(), radius), head_color)
        painter.fillRect(QRectF(rect.x(), rect.y() + 2, 3.0, self._header_height() - 2), self._category)

        if self._look.badge and not self._proxy_mode and not simple:
            self._paint_badge(painter, rect)
        if (self._look.frozen or self._look.loaded) and not self._proxy_mode and not simple:
            self._paint_marks(painter, rect)
        if simple and not self._proxy_mode:
            self._paint_name(painter, rect)
        elif not self._proxy_mode:
            y = self._header_height() + 3.0 + self._ports_height() + 3.0
            for text, font, color in self._lines():
                metrics = QFontMetricsF(font)
                painter.setFont(font)
                painter.setPen(color)
                room = rect.width() - 2 * BODY_PAD
                if metrics.horizontalAdvance(text) > room and SHAPE_GAP in text:
                    text = text.split(SHAPE_GAP)[0]  # the shape without its parameter count (the tooltip has it)
                painter.drawText(QRectF(BODY_PAD, y, room, metrics.height()),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                 metrics.elidedText(text, Qt.TextElideMode.ElideRight, room))
                y += metrics.height() + LINE_GAP

        border, width = QColor(theme.BORDER), 1.0
        if self._look.severity == "error":
            border, width = QColor(theme.ERROR_COLOR), 2.2
        elif self._look.severity == "warning":
            border, width = QColor(theme.WARNING_COLOR), 1.6
        if self.selected:
            border, width = QColor(theme.SELECTED), 2.0
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(border, width))
        painter.drawRoundedRect(rect, radius, radius)
        painter.restore()

    def _set_simple(self, simple: bool) -> None:
        """At low zoom the header text and port names hide: the name is painted large over the whole node."""
        if simple == self._simple:
            return
        self._simple = simple
        self._text_item.setVisible(not simple and not self._proxy_mode)
        for port, text in (*self._input_items.items(), *self._output_items.items()):
            text.setVisible(bool(port.display_name) and not simple)

    def _paint_name(self, painter: QPainter, rect: QRectF) -> None:
        """The node's name, as big as the node allows (about 11 pt on screen at the zoom it is seen at)."""
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform()) or 1.0
        room = rect.width() - 2 * BODY_PAD
        size = min(11.0 / lod, rect.height() * 0.45)
        while size > 6.0 / lod and QFontMetricsF(_font(size, bold=True)).horizontalAdvance(self.name) > room:
            size *= 0.9  # a long name gets smaller before it gets cut
        font = _font(size, bold=True)
        painter.setFont(font)
        painter.setPen(QColor(theme.TEXT))
        metrics = QFontMetricsF(font)
        painter.drawText(rect.adjusted(BODY_PAD, 0, -BODY_PAD, 0), Qt.AlignmentFlag.AlignCenter,
                         metrics.elidedText(self.name, Qt.TextElideMode.ElideRight, rect.width() - 2 * BODY_PAD))

    LOADED_TEXT = LOADED_TEXT

    def _marks_width(self) -> float:
        return marks_width(self._look)

    def _paint_marks(self, painter: QPainter, rect: QRectF) -> None:
        """The lock of a frozen node and the pill of a node with loaded weights, right of the name."""
        right = rect.right() - 5.0
        if self._look.badge:
            right -= QFontMetricsF(self._small).horizontalAdvance(self._look.badge) + 14.0
        mid = self._header_height() / 2
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if self._look.loaded:
            metrics = QFontMetricsF(LiveBadgeItem.FONT)
            w, h = metrics.horizontalAdvance(self.LOADED_TEXT) + 10.0, metrics.height() + 2.0
            pill = QRectF(right - w, mid - h / 2, w, h)
            colour = QColor(theme.OK_COLOR)
            fill = QColor(colour)
            fill.setAlpha(60)
            painter.setBrush(fill)
            painter.setPen(QPen(colour, 1.0))
            painter.drawRoundedRect(pill, h / 2, h / 2)
            painter.setFont(LiveBadgeItem.FONT)
            painter.setPen(QColor(theme.NODE_TITLE))
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, self.LOADED_TEXT)
            right = pill.left() - 6.0
        if self._look.frozen:
            colour = QColor(theme.NODE_TITLE)
            body = QRectF(right - LOCK_W, mid - 1.0, LOCK_W, 7.0)
            painter.setPen(QPen(colour, 1.6))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawArc(QRectF(body.left() + 2.0, body.top() - 6.0, LOCK_W - 4.0, 10.0), 0, 180 * 16)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(body, 1.5, 1.5)

    def _paint_far(self, painter: QPainter) -> None:
        rect = QRectF(0.0, 0.0, self._width, self._height)
        painter.fillRect(rect, QColor(theme.header_color(self._category.name())))
        colour = {"error": theme.ERROR_COLOR, "warning": theme.WARNING_COLOR}.get(self._look.severity)
        if self.selected:
            colour = theme.SELECTED
        if colour:
            lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
            painter.setPen(QPen(QColor(colour), max(4.0, 2.0 / lod) if lod else 4.0))  # at least 2 px on screen
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)

    def _paint_badge(self, painter: QPainter, rect: QRectF) -> None:
        metrics = QFontMetricsF(self._small)
        w = metrics.horizontalAdvance(self._look.badge) + 10
        h = metrics.height() + 2
        badge = QRectF(rect.right() - w - 5, (self._header_height() - h) / 2, w, h)
        painter.setBrush(QColor(theme.ACCENT).darker(130))
        painter.setPen(QPen(QColor(theme.ACCENT), 1.0, Qt.PenStyle.DashLine))
        painter.drawRoundedRect(badge, h / 2, h / 2)
        painter.setFont(self._small)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, self._look.badge)


class LayerNode(BaseNode):
    """The one generic node class; subclasses made by `node_class` only name their LayerSpec."""

    __identifier__ = "deepwire"
    NODE_NAME = "Layer"
    TYPE_ID = ""

    def __init__(self):
        super().__init__(qgraphics_item=LayerNodeItem)
        spec = get_spec(self.TYPE_ID)
        self.view.set_category_color(theme.category_color(spec.category))
        for port in spec.inputs:  # names only where they tell ports apart (query/key_value, a/b)
            self.add_input(port.name, multi_input=port.multi, display_name=len(spec.inputs) > 1)
        if not spec.multi_output:  # a Split's ports follow its params: the canvas adds them (add_outputs)
            self.add_outputs(spec.outputs)

    def add_outputs(self, ports) -> None:
        """One output port per spec port; names shown where there are several (a Split's out0, out1, ...)."""
        for port in ports:
            self.add_output(port.name, multi_output=True, display_name=len(ports) > 1)


_CLASSES: dict[str, type[LayerNode]] = {}


def node_class(spec: LayerSpec) -> type[LayerNode]:
    """The canvas node class of a spec, generated once: `type()` over the generic LayerNode."""
    cls = _CLASSES.get(spec.type_id)
    if cls is None:
        cls = type(f"{spec.type_id}Node", (LayerNode,), {
            "__identifier__": spec.category, "NODE_NAME": spec.title, "TYPE_ID": spec.type_id})
        _CLASSES[spec.type_id] = cls
    return cls
