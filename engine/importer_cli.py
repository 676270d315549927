"""`deepwire import`: a PyTorch module -> a project file plus a safetensors file of its original weights."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import GraphError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", metavar="KEY",
                   help="for a model returning a dict or tuple: the entry to keep (a key, or an index from 0)")
    p.add_argument("--no-weights", action="store_true",
                   help="do not write PROJECT.safetensors with the module's weights next to the project")


def parse_input_shape(text: str) -> tuple[tuple[int, ...], int]:
    """'1,28,28' -> ((1, 28, 28), 0); '35,N' (the letter N at the batch position) -> ((35,), 1)."""
    items = [d.strip() for d in text.split(",") if d.strip()]
    marks = [i for i, d in enumerate(items) if d.upper() == "N"]
    if len(marks) > 1 or (marks and marks[0] > 1):
        raise GraphError(f"--input-shape {text}: the batch (N) can only be the first or second dim, once")
    try:
        shape = tuple(int(d) for i, d in enumerate(items) if i not in marks)
    except ValueError:
        raise GraphError(f"--input-shape takes whole numbers separated by commas (and N for the batch), "
                         f"got {text}") from None
    return shape, marks[0] if marks else 0


def run_import(args: argparse.Namespace) -> int:
    from engine.importer import import_model
    from engine.importer_load import create_model, load_model_class
    from engine.importer_weights import save_weights

    shapes, axes = zip(*[parse_input_shape(s) for s in args.input_shape], strict=True)
    cls = load_model_class(args.ref)
    module = create_model(cls, args.ref)
    output = getattr(args, "output", None)
    if output is not None and output.lstrip("-").isdigit():
        output = int(output)
    imported = import_model(module, shapes, args.name or cls.__name__, args.task, output, batch_axes=axes)
    out = Path(args.out)
    if not getattr(args, "no_weights", False):
        weights = save_weights(imported, out.with_suffix(".safetensors"))
        imported.graph.finetune = {**imported.graph.finetune, "weights": weights.name}
        print(f"wrote {weights}: the module's weights, keyed like the compiled project's state dict; "
              "training starts from them (finetune.weights)")
    imported.graph.save(out)
    print(f"wrote {out}: {len(imported.graph.nodes)} nodes, {len(imported.graph.groups)} groups")
    if imported.problems or imported.warnings:
        print(imported.report(), file=sys.stderr)
    return 0
