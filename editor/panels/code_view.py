"""The code view: the PyTorch source the engine compiles the current graph into, kept up to date."""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QRegularExpression, QTimer
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from editor import theme
from engine.compile import compile_graph
from engine.errors import DeepWireError
from engine.graph import Graph
from engine.lazy import LazyModule

fx = LazyModule("torch.fx")

REFRESH_DELAY_MS = 400
KEYWORDS = ("class", "def", "return", "import", "from", "self", "super", "None", "True", "False", "for", "in",
            "if", "else", "and", "or", "not", "lambda", "as")


def model_source(module: fx.GraphModule) -> str:
    """Readable Python for a compiled model: its submodules in __init__ and the generated forward."""
    lines = ["import torch", "from torch import nn", "", "", f"class {type(module).__name__}(nn.Module):",
             "    def __init__(self):", "        super().__init__()"]
    for name, child in module.named_children():
        prefix = "nn." if type(child).__module__.startswith("torch.nn") else ""
        body = repr(child).replace("\n", "\n        ")
        lines.append(f"        self.{name} = {prefix}{body}")
    forward = re.sub(r"\n{2,}", "\n", module.code.strip("\n"))
    lines += [""] + ["    " + line if line.strip() else "" for line in forward.splitlines()]
    return "\n".join(lines) + "\n"


def _format(colour: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(colour))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setFontItalic(italic)
    return fmt


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, class/def names, strings, numbers and comments, in the current theme's code colours."""

    PATTERNS = (
        (r"\b(" + "|".join(KEYWORDS) + r")\b", "CODE_KEYWORD", True, False),
        (r"\b(torch|nn)\b", "CODE_MODULE", False, False),
        (r"(?<=\bclass )\w+|(?<=\bdef )\w+", "CODE_NAME", True, False),
        (r"\b[A-Z]\w*(?=\()", "CODE_CLASS", False, False),
        (r"\b\d+(\.\d+)?([eE][-+]?\d+)?\b", "CODE_NUMBER", False, False),
        (r"'[^']*'|\"[^\"]*\"", "CODE_STRING", False, False),
        (r"#[^\n]*", "MUTED", False, True),
    )

    def __init__(self, document):
        super().__init__(document)
        self.follow_theme()

    def follow_theme(self) -> None:
        """Take the current theme's colours and highlight the text again."""
        self.theme = theme.CURRENT
        self._rules = [(QRegularExpression(p), _format(getattr(theme, colour), bold, italic))
                       for p, colour, bold, italic in self.PATTERNS]
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        for regex, fmt in self._rules:
            it = regex.globalMatch(text)
            while it.hasNext():
                match = it.next()
                self.setFormat(match.capturedStart(), match.capturedLength(), fmt)


class CodeView(QPlainTextEdit):
    """Read-only, highlighted model source; shows the validation message while the graph is invalid."""

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.setReadOnly(True)
        self.setFont(theme.mono_font(10))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.highlighter = PythonHighlighter(self.document())
        self._stale = True
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        controller.graph_changed.connect(self._schedule)

    def _schedule(self) -> None:
        self._stale = True
        if self._on_screen():
            self._timer.start()

    def _on_screen(self) -> bool:
        """Visible and not a tab behind another dock (Qt keeps those 'visible', parked off-screen)."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def changeEvent(self, event) -> None:
        """A new application stylesheet (theme.apply_theme) sends StyleChange: recolour the code."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.StyleChange and self.highlighter.theme != theme.CURRENT:
            self.highlighter.follow_theme()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self._stale and not self._timer.isActive():  # shown again (e.g. its tab raised): catch up
            self._timer.start()

    def refresh(self) -> None:
        """Compile the graph now and show its source (or why it cannot be compiled)."""
        self._stale = False
        graph: Graph = self.controller.graph
        try:
            text = model_source(compile_graph(graph, validation=self.controller.validation))
        except DeepWireError as exc:
            text = "# The model cannot be built yet; fix these and the code appears here.\n#\n" + \
                   "\n".join(f"# {line}" for line in str(exc).splitlines())
        bar = self.verticalScrollBar().value()
        self.setPlainText(text)
        self.verticalScrollBar().setValue(bar)
