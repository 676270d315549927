"""The welcome view: what DeepWire is, a one-click example to train, the template gallery and recent projects."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from editor import theme
from editor.panels.diagram import render_diagram
from editor.panels.gallery import Gallery
from engine.templates import load_project

EXAMPLE = "lenet"
"""The default example: the LeNet CNN on the built-in 8x8 digits, which trains on a CPU in seconds."""
EXAMPLE_PREVIEW = QSize(380, 180)
PATH_ROLE = Qt.ItemDataRole.UserRole


def _style() -> str:
    t = theme
    return f"""
        #Welcome {{ background: {t.WINDOW}; }}
        #WelcomeTitle {{ font-size: 26pt; font-weight: 700; color: {t.TEXT}; }}
        #WelcomeTagline {{ font-size: 12pt; color: {t.MUTED}; }}
        #WelcomeCard {{ background: {t.PANEL}; border: 1px solid {t.BORDER}; border-radius: 10px; }}
        #WelcomeCard QLabel {{ background: transparent; }}
        #CardKicker {{ color: {t.ACCENT}; font-weight: 700; font-size: 9pt; letter-spacing: 1px; }}
        #CardTitle {{ font-size: 15pt; font-weight: 700; color: {t.TEXT}; }}
        #SectionTitle {{ font-size: 12pt; font-weight: 700; color: {t.TEXT}; }}
        #Muted {{ color: {t.MUTED}; }}
        #Diagram {{ background: {t.BASE}; border: 1px solid {t.BORDER}; border-radius: 6px; }}
        QPushButton#TrainThis {{ background: {t.ACCENT}; border: 1px solid {t.ACCENT}; color: white;
                                 font-size: 13pt; font-weight: 700; padding: 11px 26px; border-radius: 7px; }}
        QPushButton#TrainThis:hover {{ background: {QColor(t.ACCENT).lighter(112).name()}; }}
        QPushButton#TrainThis:pressed {{ background: {QColor(t.ACCENT).darker(115).name()}; }}
        QPushButton#StartButton {{ text-align: left; padding: 9px 14px; font-size: 10.5pt; }}
        QPushButton#LinkButton {{ background: transparent; border: none; color: {t.ACCENT}; padding: 4px 2px; }}
        QPushButton#LinkButton:hover {{ text-decoration: underline; }}
        QListWidget#Recent {{ background: transparent; border: none; }}
        QListWidget#Recent::item {{ padding: 6px 8px; }}
    """


def _label(text: str, name: str, wrap: bool = False) -> QLabel:
    label = QLabel(text, objectName=name, wordWrap=wrap)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


class WelcomeView(QWidget):
    """Shown on the first start and from Help > Welcome; it only emits what the user asked for."""

    train_requested = Signal()
    """"Train this": open the example and train it."""
    template_chosen = Signal(str)
    """A template stem to open."""
    recent_chosen = Signal(str)
    """A recent project's path to open."""
    open_requested = Signal()
    blank_requested = Signal()
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._drawn_in = theme.CURRENT
        self.setStyleSheet(_style())
        self.gallery = Gallery(detail=False)
        self.gallery.activated.connect(self.template_chosen.emit)

        page = QWidget(objectName="Welcome")
        page.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        scroll = QScrollArea()  # a small screen scrolls the page instead of growing the window past it
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(page)
        QVBoxLayout(self).setContentsMargins(0, 0, 0, 0)
        self.layout().addWidget(scroll)
        outer = QVBoxLayout(page)
        outer.setContentsMargins(40, 28, 40, 24)
        outer.setSpacing(22)
        outer.addLayout(self._header())
        body = QHBoxLayout()
        body.setSpacing(32)
        left = QVBoxLayout()
        left.setSpacing(18)
        left.addWidget(self._example_card())
        left.addLayout(self._start_section())
        left.addStretch(1)
        left_box = QWidget()
        left_box.setLayout(left)
        left_box.setFixedWidth(EXAMPLE_PREVIEW.width() + 48)
        body.addWidget(left_box)
        body.addLayout(self._templates_section(), 1)
        outer.addLayout(body, 1)

    def changeEvent(self, event) -> None:
        """After a theme switch (the new stylesheet sends StyleChange) restyle and redraw the example diagram."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.StyleChange and self._drawn_in != theme.CURRENT:
            self._drawn_in = theme.CURRENT
            self.setStyleSheet(_style())
            self.diagram.setPixmap(render_diagram(load_project(EXAMPLE), EXAMPLE_PREVIEW))

    # ---- construction ----------------------------------------------------------------------
    def _header(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(16)
        logo = QLabel()
        logo.setPixmap(theme.app_icon().pixmap(64, 64))
        row.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        words = QVBoxLayout()
        words.setSpacing(2)
        words.addWidget(_label("DeepWire", "WelcomeTitle"))
        words.addWidget(_label("Design neural networks by wiring layers together, train them with live plots, "
                               "then evaluate and export them.", "WelcomeTagline", wrap=True))
        row.addLayout(words, 1)
        self.skip_button = QPushButton("Go to the editor  →", objectName="LinkButton")
        self.skip_button.setToolTip("Close the welcome view (Help > Welcome shows it again)")
        self.skip_button.clicked.connect(self.dismissed.emit)
        row.addWidget(self.skip_button, 0, Qt.AlignmentFlag.AlignTop)
        return row

    def _example_card(self) -> QFrame:
        card = QFrame(objectName="WelcomeCard")
        layout = QVBoxLayout(card)
        layout.setContentsMargins(20, 18, 20, 20)
        layout.setSpacing(10)
        graph = load_project(EXAMPLE)
        layout.addWidget(_label("TRY IT IN ONE CLICK", "CardKicker"))
        layout.addWidget(_label("A CNN that reads handwritten digits", "CardTitle", wrap=True))
        self.diagram = QLabel(objectName="Diagram", alignment=Qt.AlignmentFlag.AlignCenter)
        self.diagram.setPixmap(render_diagram(graph, EXAMPLE_PREVIEW))
        self.diagram.setToolTip(html.escape(graph.description))
        layout.addWidget(self.diagram)
        epochs = graph.training.get("epochs", 1)
        layout.addWidget(_label(
            f"{html.escape(graph.name)}: two convolution + pooling stages and three Dense layers learn to "
            f"classify 1,797 built-in 8×8 digit images. {epochs} epochs train on your CPU in well under a "
            "minute while loss and accuracy plot live; then it is evaluated on held-out digits.",
            "Muted", wrap=True))
        self.train_button = QPushButton("▶  Train this", objectName="TrainThis")
        self.train_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.train_button.setToolTip(f"Open the {graph.name} example and start training it")
        self.train_button.clicked.connect(self.train_requested.emit)
        layout.addWidget(self.train_button, 0, Qt.AlignmentFlag.AlignLeft)
        return card

    def _start_section(self) -> QVBoxLayout:
        column = QVBoxLayout()
        column.setSpacing(8)
        column.addWidget(_label("Start", "SectionTitle"))
        buttons = QGridLayout()
        buttons.setHorizontalSpacing(8)
        self.blank_button = QPushButton(theme.icon("new"), "  New blank project", objectName="StartButton")
        self.open_button = QPushButton(theme.icon("open"), "  Open project…", objectName="StartButton")
        for i, (button, signal) in enumerate(((self.blank_button, self.blank_requested),
                                              (self.open_button, self.open_requested))):
            button.setIconSize(QSize(18, 18))
            button.clicked.connect(signal.emit)
            buttons.addWidget(button, 0, i)
        column.addLayout(buttons)
        column.addSpacing(8)
        column.addWidget(_label("Recent projects", "SectionTitle"))
        self.recent = QListWidget(objectName="Recent")
        self.recent.setFixedHeight(150)
        self.recent.itemClicked.connect(self._recent_activated)
        self.no_recent = _label("Projects you open or save show up here.", "Muted")
        column.addWidget(self.recent)
        column.addWidget(self.no_recent)
        return column

    def _templates_section(self) -> QVBoxLayout:
        column = QVBoxLayout()
        column.setSpacing(8)
        column.addWidget(_label("Start from a template", "SectionTitle"))
        column.addWidget(_label("Working networks grouped by the task they suit. Pick a task on the left; "
                                "double-click a network to open it.", "Muted", wrap=True))
        column.addWidget(self.gallery, 1)
        self.gallery.fit_tasks(180)  # narrow, but never clipping a task's name or count
        row = QHBoxLayout()
        self.template_info = _label("", "Muted", wrap=True)
        row.addWidget(self.template_info, 1)
        self.open_template_button = QPushButton("Open template")
        self.open_template_button.setDefault(True)
        self.open_template_button.clicked.connect(self._open_current_template)
        row.addWidget(self.open_template_button)
        column.addLayout(row)
        self.gallery.current_changed.connect(self._show_template_info)
        self.gallery.select(EXAMPLE)
        self._show_template_info()
        return column

    # ---- state -----------------------------------------------------------------------------
    def set_recent(self, paths: list[Path]) -> None:
        """Show `paths` (newest first) under Recent projects."""
        self.recent.clear()
        for path in paths:
            item = QListWidgetItem(theme.icon("open"), f"{path.name}   —   {path.parent}")
            item.setData(PATH_ROLE, str(path))
            item.setToolTip(str(path))
            self.recent.addItem(item)
        self.recent.setVisible(bool(paths))
        self.no_recent.setVisible(not paths)

    def _recent_activated(self, item: QListWidgetItem) -> None:
        self.recent_chosen.emit(item.data(PATH_ROLE))

    def _open_current_template(self) -> None:
        template = self.gallery.current()
        if template is not None:
            self.template_chosen.emit(template.stem)

    def _show_template_info(self) -> None:
        template = self.gallery.current()
        self.open_template_button.setEnabled(template is not None)
        if template is None:
            self.template_info.setText("")
            return
        summary = template.graph.description.split(". ")[0].rstrip(".")
        self.template_info.setText(f"<b style='color:{theme.TEXT}'>{html.escape(template.title)}</b> — "
                                   f"{html.escape(summary)}.")
