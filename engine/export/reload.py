"""Load what `export` wrote back into PyTorch: a safetensors export becomes the identical compiled model."""

from __future__ import annotations

from pathlib import Path

from torch import fx

from engine import safeio
from engine.compile import compile_graph
from engine.errors import ExportError
from engine.graph import Graph


def load_safetensors_export(weights: str | Path) -> tuple[Graph, fx.GraphModule]:
    """The project beside `weights` (project.json) compiled, with the weights loaded, in eval mode."""
    weights = Path(weights)
    if weights.is_dir():
        weights = weights / "model.safetensors"
    graph = Graph.load(weights.parent / "project.json")
    model = compile_graph(graph)
    todo = "Export the run again."
    safeio.load_state_dict(model, safeio.load_safetensors(weights, "exported weights", todo, error=ExportError),
                           weights, todo, error=ExportError)
    return graph, model.eval()
