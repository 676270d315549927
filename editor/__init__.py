"""DeepWire's desktop editor (PySide6 + NodeGraphQt) over the engine."""

from editor import qtcompat  # noqa: F401  (must run before PySide6 is imported anywhere)
