"""The NodeGraphQt canvas: layer nodes generated from the specs and the controller that edits the Graph."""

from editor.canvas.controller import CanvasController

__all__ = ["CanvasController"]
