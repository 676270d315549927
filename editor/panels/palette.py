"""The layer palette: layer types by category, a search box, drag onto the canvas or double-click to add."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal, Slot
from PySide6.QtGui import QColor, QDrag, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from editor import theme
from editor.canvas import blocks
from engine.layers.registry import all_specs, categories

LAYER_MIME = "application/x-deepwire-layer"
BLOCK_MIME = "application/x-deepwire-block"
BLOCKS_CATEGORY = "My blocks"
KIND_ROLE = Qt.ItemDataRole.UserRole
KEY_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2


def _swatch(colour: QColor) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawRoundedRect(1, 1, 12, 12, 3, 3)
    painter.end()
    return QIcon(pixmap)


class _LayerTree(QTreeWidget):
    """A tree whose layer and block items drag out as DeepWire mime data."""

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        data = QMimeData()
        for item in items:
            kind, key = item.data(0, KIND_ROLE), item.data(0, KEY_ROLE)
            if kind == "layer":
                data.setData(LAYER_MIME, key.encode("utf-8"))
            elif kind == "block":
                data.setData(BLOCK_MIME, key.encode("utf-8"))
            data.setText(key or "")
        return data

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME, BLOCK_MIME]

    def startDrag(self, actions) -> None:
        item = self.currentItem()
        if item is None or item.data(0, KIND_ROLE) not in ("layer", "block"):
            return
        drag = QDrag(self)
        drag.setMimeData(self.mimeData([item]))
        drag.setPixmap(item.icon(0).pixmap(14, 14))
        drag.exec(Qt.DropAction.CopyAction)


class Palette(QWidget):
    """Every registered layer type grouped by category, plus the user's saved blocks."""

    layer_activated = Signal(str)
    """A layer type id the user double-clicked (add it at the view centre)."""
    block_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.search = QLineEdit(placeholderText="Search layers…")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(theme.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.tree = _LayerTree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QTreeWidget.DragDropMode.DragOnly)
        self.tree.setIndentation(14)
        self.tree.setAnimated(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(8)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self._categories: dict[str, QTreeWidgetItem] = {}
        self._populate()
        self.search.textChanged.connect(self.set_filter)
        self.tree.itemDoubleClicked.connect(self._activate)

    def _category(self, name: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self.tree, [name])
        item.setData(0, KIND_ROLE, "category")
        item.setFont(0, theme.ui_font(10, bold=True))
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        item.setExpanded(True)
        self._categories[name] = item
        return item

    def _populate(self) -> None:
        for category in categories():
            self._category(category)
        for spec in all_specs():
            if spec.role == "placeholder":  # only the importer makes these
                continue
            item = QTreeWidgetItem(self._categories[spec.category], [spec.title])
            item.setIcon(0, _swatch(theme.category_color(spec.category)))
            item.setToolTip(0, f"<b>{spec.title}</b> <span style='color:{theme.MUTED}'>({spec.type_id})</span>"
                               f"<br>{spec.summary}")
            item.setData(0, KIND_ROLE, "layer")
            item.setData(0, KEY_ROLE, spec.type_id)
            item.setData(0, SEARCH_ROLE, f"{spec.title} {spec.summary} {spec.type_id}".lower())
        self._category(BLOCKS_CATEGORY).setHidden(True)

    @Slot()
    def refresh_blocks(self) -> None:
        """Re-read the user's block library (connected to its `changed` signal)."""
        self.set_blocks(blocks.list_blocks())

    def set_blocks(self, names: list[str]) -> None:
        """Show the user's saved blocks under "My blocks"."""
        parent = self._categories[BLOCKS_CATEGORY]
        parent.takeChildren()
        for name in names:
            item = QTreeWidgetItem(parent, [name])
            item.setIcon(0, theme.icon("block"))
            item.setToolTip(0, f"<b>{name}</b><br>Your saved block: drag it onto the canvas or double-click.")
            item.setData(0, KIND_ROLE, "block")
            item.setData(0, KEY_ROLE, name)
            item.setData(0, SEARCH_ROLE, f"{name} block".lower())
        self.set_filter(self.search.text())

    def set_filter(self, text: str) -> None:
        """Show only items whose title, summary or type id contains `text` (case-insensitive)."""
        needle = text.strip().lower()
        for category in self._categories.values():
            shown = 0
            for i in range(category.childCount()):
                child = category.child(i)
                hide = bool(needle) and needle not in child.data(0, SEARCH_ROLE)
                child.setHidden(hide)
                shown += not hide
            category.setHidden(shown == 0)
            if needle:
                category.setExpanded(True)

    def visible_type_ids(self) -> list[str]:
        """Type ids of the layer items the filter currently shows."""
        return [child.data(0, KEY_ROLE) for category in self._categories.values() if not category.isHidden()
                for child in (category.child(i) for i in range(category.childCount()))
                if not child.isHidden() and child.data(0, KIND_ROLE) == "layer"]

    def item_for(self, type_id: str) -> QTreeWidgetItem:
        for category in self._categories.values():
            for i in range(category.childCount()):
                if category.child(i).data(0, KEY_ROLE) == type_id:
                    return category.child(i)
        raise KeyError(type_id)

    def _activate(self, item: QTreeWidgetItem) -> None:
        kind = item.data(0, KIND_ROLE)
        if kind == "layer":
            self.layer_activated.emit(item.data(0, KEY_ROLE))
        elif kind == "block":
            self.block_activated.emit(item.data(0, KEY_ROLE))
