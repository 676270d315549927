"""Load what `export` wrote back into PyTorch: a safetensors export becomes the identical compiled model."""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load_file
from torch import fx

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
    try:
        model.load_state_dict(load_file(str(weights)))
    except (RuntimeError, OSError) as exc:
        raise ExportError(f"{weights}: the weights do not fit the project beside them ({exc})") from None
    return graph, model.eval()
