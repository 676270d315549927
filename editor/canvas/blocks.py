"""The user's block library: reusable sub-graphs saved as JSON files under the data folder's blocks/."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from editor.files import data_dir
from engine.errors import GraphError
from engine.subgraph import FORMAT


class BlockLibrary(QObject):
    """Announces changes to the block library (the palette lists blocks and refreshes on `changed`)."""

    changed = Signal()


_library: BlockLibrary | None = None


def library() -> BlockLibrary:
    """The process-wide change notifier."""
    global _library
    if _library is None:
        _library = BlockLibrary()
    return _library


def blocks_dir() -> Path:
    path = data_dir() / "blocks"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _path(name: str) -> Path:
    stem = re.sub(r"[^\w\- ]+", "_", name.strip()).strip()
    if not stem:
        raise GraphError("a block needs a name")
    return blocks_dir() / f"{stem}.json"


def list_blocks() -> list[str]:
    """Names of the saved blocks, alphabetically."""
    names = []
    for path in sorted(blocks_dir().glob("*.json")):
        try:
            names.append(json.loads(path.read_text(encoding="utf-8")).get("name", path.stem))
        except (OSError, ValueError, AttributeError):
            continue
    return sorted(names, key=str.lower)


def load_block(name: str) -> dict:
    """The sub-graph saved as `name` (raises GraphError when there is none or it is unreadable)."""
    path = _path(name)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GraphError(f"no saved block named '{name}'") from None
    except (OSError, ValueError) as exc:
        raise GraphError(f"block '{name}' cannot be read ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not doc.get("nodes"):
        raise GraphError(f"block '{name}' is not a DeepWire block file")
    return doc


def save_block(name: str, subgraph: dict) -> None:
    """Save (or replace) a block atomically and tell listeners."""
    if not subgraph.get("nodes"):
        raise GraphError("select the layers to save as a block first")
    path = _path(name)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({**subgraph, "name": name.strip()}, fh, indent=2)
    os.replace(tmp, path)
    library().changed.emit()
