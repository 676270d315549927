"""The open document: its file, the unsaved mark, open/save, recent files and the crash autosave."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import platformdirs
from PySide6.QtCore import QObject, QTimer, Signal

from editor.settings import Settings
from engine.errors import ProjectFileError
from engine.graph import Graph

AUTOSAVE_FORMAT = "deepwire-autosave"


def data_dir() -> Path:
    """The user's DeepWire data folder (env DEEPWIRE_DATA_DIR overrides), created on demand."""
    path = Path(os.environ.get("DEEPWIRE_DATA_DIR") or platformdirs.user_data_dir("DeepWire"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def autosave_path() -> Path:
    return data_dir() / "autosave.json"


def read_autosave() -> tuple[Graph, Path | None] | None:
    """The graph left behind by a session that did not exit cleanly, and the file it came from."""
    path = autosave_path()
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != AUTOSAVE_FORMAT:
            return None
        graph = Graph.from_dict(doc.get("project"), source=str(path))
    except (OSError, json.JSONDecodeError, ProjectFileError):
        return None
    source = doc.get("path")
    return graph, Path(source) if isinstance(source, str) else None


def discard_autosave() -> None:
    autosave_path().unlink(missing_ok=True)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Document(QObject):
    """File state of the graph a CanvasController edits; the undo stack's clean state is 'saved'."""

    changed = Signal()
    """The title, path or unsaved mark changed."""
    recent_changed = Signal()
    replaced = Signal()
    """Another project took the canvas: new, opened or restored (views drop what belonged to the previous one)."""

    def __init__(self, controller, parent: QObject | None = None):
        super().__init__(parent)
        self.controller = controller
        self.path: Path | None = None
        self._restored = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self.set_autosave_interval(Settings().autosave_interval_s)
        self._timer.timeout.connect(self.autosave)
        controller.undo_stack.cleanChanged.connect(lambda _clean: self.changed.emit())
        controller.graph_changed.connect(self._timer.start)

    # ---- state ---------------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        return self._restored or not self.controller.undo_stack.isClean()

    @property
    def display_name(self) -> str:
        return self.path.name if self.path else "Untitled"

    def window_title(self) -> str:
        """"name.json — DeepWire", with "*" after the name while there are unsaved changes."""
        return f"{self.display_name}{'*' if self.modified else ''} — DeepWire"

    # ---- open / save ---------------------------------------------------------------------
    def new(self, graph: Graph) -> None:
        """Start an unsaved document from `graph` (blank or a template)."""
        self._replace(graph, None)

    def open(self, path: str | os.PathLike) -> None:
        """Open a project file; raises ProjectFileError and keeps the current work if it cannot be read."""
        path = Path(path).resolve()
        graph = Graph.load(path)
        self._replace(graph, path)
        self.add_recent(path)

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the project to `path` (default: its current file) and mark it saved."""
        target = Path(path).resolve() if path is not None else self.path
        if target is None:
            raise ProjectFileError("the project has no file yet; choose where to save it")
        try:
            self.controller.graph.save(target)
        except OSError as exc:
            raise ProjectFileError(f"{target}: cannot be written ({exc.strerror or exc})") from None
        self.path = target
        self._restored = False
        self.controller.undo_stack.setClean()
        self.add_recent(target)
        discard_autosave()
        self.changed.emit()
        return target

    def restore(self, graph: Graph, path: Path | None) -> None:
        """Take over work recovered from the autosave; it stays unsaved until the user saves."""
        self._replace(graph, path)
        self._restored = True
        self.changed.emit()

    def _replace(self, graph: Graph, path: Path | None) -> None:
        self.controller.load_graph(graph)
        self.controller.undo_stack.setClean()
        self.path = path
        self._restored = False
        self._timer.stop()
        self.replaced.emit()
        self.changed.emit()

    # ---- autosave ------------------------------------------------------------------------
    def autosave(self) -> None:
        """Write unsaved work to the data folder so a crash loses at most a few seconds."""
        self._timer.stop()
        if not self.modified:
            return
        doc = {"format": AUTOSAVE_FORMAT, "path": str(self.path) if self.path else None,
               "project": self.controller.graph.to_dict()}
        _write_atomic(autosave_path(), json.dumps(doc))

    def set_autosave_interval(self, seconds: int) -> None:
        """Autosave `seconds` after the last change (the Preferences' autosave interval)."""
        self._timer.setInterval(seconds * 1000)

    @property
    def autosave_interval_s(self) -> int:
        return self._timer.interval() // 1000

    def close_cleanly(self) -> None:
        """A clean exit: nothing left to recover."""
        self._timer.stop()
        discard_autosave()

    # ---- recent files --------------------------------------------------------------------
    def recent_files(self) -> list[Path]:
        """The user's recent projects (editor.settings), newest first."""
        return Settings().recent_files()

    def add_recent(self, path: Path) -> None:
        Settings().add_recent(path)
        self.recent_changed.emit()
