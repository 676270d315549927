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


def run_import(args: argparse.Namespace) -> int:
    from engine.importer import import_model, load_reference
    from engine.importer_weights import save_weights

    cls = load_reference(args.ref)
    try:
        shapes = [tuple(int(d) for d in s.split(",") if d.strip()) for s in args.input_shape]
    except ValueError:
        raise GraphError(f"--input-shape takes whole numbers separated by commas, got {args.input_shape}") from None
    try:
        module = cls()
    except TypeError as exc:
        raise GraphError(f"{cls.__name__}() needs arguments ({exc}); import a module whose constructor has defaults") from None
    output = getattr(args, "output", None)
    if output is not None and output.lstrip("-").isdigit():
        output = int(output)
    imported = import_model(module, shapes, args.name or cls.__name__, args.task, output)
    out = Path(args.out)
    if not getattr(args, "no_weights", False):
        weights = save_weights(imported, out.with_suffix(".safetensors"))
        imported.graph.finetune = {**imported.graph.finetune, "weights": weights.name}
        print(f"wrote {weights}: the module's weights, keyed like the compiled project's state dict; "
              "training starts from them (finetune.weights)")
    imported.graph.save(out)
    print(f"wrote {out}: {len(imported.graph.nodes)} nodes, {len(imported.graph.groups)} groups")
    if imported.problems:
        print(imported.report(), file=sys.stderr)
    return 0
