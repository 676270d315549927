"""NodeGraphQt's viewer with DeepWire's wires, layer/block drops and editing keys."""

from __future__ import annotations

from NodeGraphQt.constants import ViewerEnum
from NodeGraphQt.qgraphics.node_base import NodeItem
from NodeGraphQt.widgets.viewer import NodeViewer
from PySide6.QtCore import QEvent, QLineF, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import QGraphicsView

from editor import theme
from editor.canvas.wires import ShapePipeItem

LAYER_MIME = "application/x-deepwire-layer"
BLOCK_MIME = "application/x-deepwire-block"

_KEYS = {
    QKeySequence.StandardKey.Undo: "undo", QKeySequence.StandardKey.Redo: "redo",
    QKeySequence.StandardKey.Copy: "copy", QKeySequence.StandardKey.Cut: "cut",
    QKeySequence.StandardKey.Paste: "paste", QKeySequence.StandardKey.Delete: "delete_selected",
    QKeySequence.StandardKey.SelectAll: "select_all",
}


def _grid(painter: QPainter, rect: QRectF, colour: str, step: int) -> None:
    """Lines `step` apart across `rect`, on multiples of `step`."""
    left, top = int(rect.left()) - int(rect.left()) % step, int(rect.top()) - int(rect.top()) % step
    lines = [QLineF(x, rect.top(), x, rect.bottom()) for x in range(left, int(rect.right()) + 1, step)]
    lines += [QLineF(rect.left(), y, rect.right(), y) for y in range(top, int(rect.bottom()) + 1, step)]
    painter.setPen(QPen(QColor(colour), 0.65))
    painter.drawLines(lines)


class CanvasViewer(NodeViewer):
    """Emits what the user asked for; the controller turns it into undoable edits."""

    dropped = Signal(str, str, QPointF)  # mime kind ("layer"/"block"), payload, scene position
    command = Signal(str)  # controller method name for an editing key
    search_requested = Signal()
    refit = Signal()  # resized while still showing a fitted view: fit again
    keep_fit = False  # the view shows a fit and the user has not zoomed or panned since
    on_demand = None
    """`on_demand(scene_rect)` builds the node items there before the mouse acts on them (editor.canvas.lazy)."""
    _painted_in: str | None = None  # the theme the scene was last drawn in

    def follow_theme(self) -> None:
        """Draw the background, grid and nodes in the current theme's colours (after a switch: repaint all)."""
        scene = self.scene()
        if scene is None or self._painted_in == theme.CURRENT:
            return
        self._painted_in = theme.CURRENT
        scene.background_color = theme.rgb(theme.CANVAS)
        scene.grid_color = theme.rgb(theme.GRID)
        for item in scene.items():
            if isinstance(item, NodeItem):
                item.draw_node()  # port labels take theme.TEXT when laid out
            item.update()  # NodeGraphQt's items cache their pictures
        self.resetCachedContent()  # and the view caches the background

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        """The canvas colour and NodeGraphQt's grid of fine and every-eighth lines, in the theme's colours
        (NodeGraphQt derives the eighth lines' colour by darkening the canvas: far too dark on a light one)."""
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.fillRect(rect, QColor(theme.CANVAS))
        step = ViewerEnum.GRID_SIZE.value
        if self.get_zoom() > -0.5:
            _grid(painter, rect, theme.GRID, step)
        _grid(painter, rect, theme.GRID_MAJOR, step * 8)
        painter.restore()

    def changeEvent(self, event):
        """A new application stylesheet (theme.apply_theme) sends StyleChange: follow the theme."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.StyleChange:
            self.follow_theme()

    def resizeEvent(self, event):
        """Keep the zoom and the centre (NodeGraphQt zooms by the size change); refit a fitted view."""
        centre, scale = self._scene_range.center(), self.transform().m11() or 1.0
        QGraphicsView.resizeEvent(self, event)
        self._last_size = self.size()
        if self.keep_fit:
            self.refit.emit()
            return
        w, h = max(1, self.viewport().width() - 4) / scale, max(1, self.viewport().height() - 4) / scale
        self.set_scene_rect([centre.x() - w / 2, centre.y() - h / 2, w, h])

    def _demand(self, rect: QRectF) -> None:
        if self.on_demand is not None:
            self.on_demand(rect)

    def _items_near(self, pos, item_type=None, width=20, height=20):
        """NodeGraphQt's look-up of what the mouse is on, leaving out the layer that paints unbuilt nodes (it
        spans the whole graph: a press on empty canvas would never start a selection band)."""
        return [item for item in super()._items_near(pos, item_type, width, height)
                if not getattr(item, "paints_unbuilt", False)]

    def mousePressEvent(self, event):
        pos = self.mapToScene(event.position().toPoint())
        self._demand(QRectF(pos.x() - 20, pos.y() - 20, 40, 40))  # what NodeGraphQt looks for near a press
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        if self.LMB_state and self._rubber_band.isActive:  # the selection band selects only items that exist
            self._demand(self.mapToScene(QRect(self._origin_pos, event.position().toPoint()).normalized()).boundingRect())
        super().mouseMoveEvent(event)

    def wheelEvent(self, event):
        self.keep_fit = False
        super().wheelEvent(event)

    def _set_viewer_pan(self, pos_x, pos_y):
        self.keep_fit = False
        super()._set_viewer_pan(pos_x, pos_y)

    def establish_connection(self, start_port, end_port):
        pipe = ShapePipeItem()
        self.scene().addItem(pipe)
        pipe.set_connections(start_port, end_port)
        pipe.draw_path(pipe.input_port, pipe.output_port)
        if start_port.node.selected or end_port.node.selected:
            pipe.highlight()
        if not start_port.node.visible or not end_port.node.visible:
            pipe.hide()

    # ---- drag and drop from the palette ---------------------------------------------------
    def _ours(self, event) -> bool:
        mime = event.mimeData()
        return mime.hasFormat(LAYER_MIME) or mime.hasFormat(BLOCK_MIME)

    def dragEnterEvent(self, event):
        if self._ours(event):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event):
        if self._ours(event):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event):
        mime = event.mimeData()
        pos = self.mapToScene(event.position().toPoint())
        self._demand(QRectF(pos.x() - 10, pos.y() - 10, 20, 20))  # a layer dropped on a wire goes into it
        for fmt, kind in ((LAYER_MIME, "layer"), (BLOCK_MIME, "block")):
            if mime.hasFormat(fmt):
                event.acceptProposedAction()
                self.dropped.emit(kind, bytes(mime.data(fmt)).decode("utf-8"), pos)
                return
        super().dropEvent(event)

    # ---- keys ---------------------------------------------------------------------------
    def focusNextPrevChild(self, next: bool) -> bool:
        return False  # Tab opens the layer search instead of moving the focus

    def keyPressEvent(self, event: QKeyEvent):
        if event.key() == Qt.Key.Key_Tab and not event.modifiers():
            self.search_requested.emit()
            return
        if event.key() == Qt.Key.Key_Backspace or (
                event.key() == Qt.Key.Key_Y and event.modifiers() == Qt.KeyboardModifier.ControlModifier):
            self.command.emit("delete_selected" if event.key() == Qt.Key.Key_Backspace else "redo")
            return
        if event.key() == Qt.Key.Key_D and event.modifiers() == Qt.KeyboardModifier.ControlModifier:
            self.command.emit("duplicate")
            return
        for key, name in _KEYS.items():
            if event.matches(key):
                self.command.emit(name)
                return
        super().keyPressEvent(event)
        # NodeGraphQt writes a modifier hint ("CTRL: Deselect Nodes") beside the cursor and hides it only on the
        # key's release, which a shortcut that opens a dialog swallows: the hint then stays on the canvas.
        self._cursor_text.setVisible(False)
