"""The Preview panel: which sample flows through the graph (step through them), and the selected node's
output drawn large: all its feature maps, its values as bars, its sequence heat map or its top classes."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSpinBox, QToolButton, QVBoxLayout, QWidget

from editor import theme
from editor.canvas.preview_render import render
from editor.live_preview import LivePreview
from engine.preview import PreviewResult
from engine.shapes_format import format_shape

LARGE_MAPS = 16


class PreviewPanel(QWidget):
    """Sample stepper, status (weights, time, where a broken graph stopped) and the large view."""

    def __init__(self, controller, live: LivePreview, strips_action: QAction | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller, self.live = controller, live
        self.node_id: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        row = QHBoxLayout()
        row.addWidget(QLabel("Sample"))
        self.prev_button = QToolButton()
        self.prev_button.setText("\u25c0")
        self.prev_button.setToolTip("Previous sample")
        self.spin = QSpinBox()
        self.spin.setRange(0, 0)
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip("Which validation sample flows through the graph")
        self.next_button = QToolButton()
        self.next_button.setText("\u25b6")
        self.next_button.setToolTip("Next sample")
        self.label = QLabel("")
        for w in (self.prev_button, self.spin, self.next_button, self.label):
            row.addWidget(w)
        row.addStretch(1)
        if strips_action is not None:
            strips = QToolButton()
            strips.setDefaultAction(strips_action)
            row.addWidget(strips)
        layout.addLayout(row)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.status)
        self.title = QLabel("")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setMinimumHeight(120)
        layout.addWidget(self.picture, 1)
        self.prev_button.clicked.connect(lambda: self.live.set_sample(self.live.sample - 1))
        self.next_button.clicked.connect(lambda: self.live.set_sample(self.live.sample + 1))
        self.spin.valueChanged.connect(self.live.set_sample)
        live.updated.connect(self.show_result)
        controller.selection_changed.connect(self._selected)
        self.show_result(live.result)

    def _selected(self, ids: list[str]) -> None:
        self.node_id = ids[0] if ids else None
        self.show_result(self.live.result)

    def shown_node(self) -> str | None:
        """The node drawn large: the selected one, else the last node the preview reached."""
        result = self.live.result
        if result is None:
            return None
        if self.node_id in result.nodes:
            return self.node_id
        return next(reversed(result.nodes), None) if self.node_id is None else None

    def show_result(self, result: PreviewResult | None) -> None:
        if result is None:
            self.status.setText(f"<span style='color:{theme.MUTED}'>No preview: "
                                f"{html.escape(self.live.error or 'choose data in the Data panel')}.</span>")
            self.title.setText("")
            self.picture.clear()
            return
        self.spin.blockSignals(True)
        self.spin.setRange(0, max(result.samples - 1, 0))
        self.spin.setValue(result.sample)
        self.spin.blockSignals(False)
        self.label.setText(f"of {result.samples}, label <b>{html.escape(result.label)}</b>")
        weights = self.live.weights_label
        status = f"{weights}; {self.live.seconds * 1000:.0f} ms"
        if result.stopped_at is not None:
            node = self.controller.graph.nodes.get(result.stopped_at)
            where = html.escape(node.name) if node else result.stopped_at
            status += (f"<br><span style='color:{theme.WARNING_COLOR}'>Stopped at <b>{where}</b>: "
                       f"{html.escape(result.message)}</span>")
        self.status.setText(status)
        self._draw()

    def _draw(self) -> None:
        result, nid = self.live.result, self.shown_node()
        if nid is not None and nid not in self.controller.graph.nodes:
            nid = None  # a result of the graph before (another project was opened meanwhile)
        if result is None or nid is None:
            node = self.controller.graph.nodes.get(self.node_id) if self.node_id else None
            self.title.setText(f"<i>{html.escape(node.name)} is not reached by the preview</i>" if node else "")
            self.picture.clear()
            return
        preview, node = result.nodes[nid], self.controller.graph.nodes[nid]
        detail = f"{format_shape(preview.shape)}, values {preview.low:.3g} .. {preview.high:.3g}"
        if preview.kind == "image" and preview.values.shape[0] < (preview.shape[1] or 0):
            detail += f", first {preview.values.shape[0]} of {preview.shape[1]} maps"
        self.title.setText(f"<b>{html.escape(node.name)}</b> ({node.type}): {detail}")
        size = self.picture.size()
        image = render(preview, max(size.width(), 60), max(size.height(), 60), maps=LARGE_MAPS)
        self.picture.setPixmap(QPixmap.fromImage(image))

    def resizeEvent(self, event) -> None:  # noqa: N802  Qt's name
        super().resizeEvent(event)
        if self.live.result is not None:
            self._draw()
