"""CLI: `deepwire weights PROJECT WEIGHTS` reports what a weights file, run or export gives each node (and
`--use` makes it the project's initial weights)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from engine import finetune
from engine.errors import WeightsError
from engine.templates import load_project
from engine.weights import open_weights, preview


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("weights", help="what a weights file, run or export folder gives each node of a project")
    p.add_argument("project", help="project file or template name")
    p.add_argument("weights", help="a .safetensors file, a torch.save'd state_dict, a run folder or an export folder")
    p.add_argument("--which", choices=finetune.WHICH, default="best", help="for a run folder: best or last weights")
    p.add_argument("--use", action="store_true",
                   help="write them into the project file as its initial weights (finetune.weights)")
    p.set_defaults(run=run_weights)


def run_weights(args: argparse.Namespace) -> int:
    """Print the report; exit 1 when no node would get weights."""
    graph = load_project(args.project)
    source = open_weights(args.weights, args.which)
    report = preview(graph, source, finetune.config(graph).mapping)
    print(f"{source.describe()} onto {graph.name}: {report.summary()}")
    for line in report.lines()[1:]:
        print(line)
    if args.use:
        project = Path(args.project)
        if not project.is_file():
            raise WeightsError(f"--use needs a project file to write into; '{args.project}' is a template name")
        base = project.resolve().parent
        chosen = Path(args.weights).resolve()
        graph.finetune = {**graph.finetune, "which": args.which,
                          "weights": os.path.relpath(chosen, base) if chosen.is_relative_to(base) else str(chosen)}
        graph.save(project)
        print(f"{project}: finetune.weights = {graph.finetune['weights']}")
    return 0 if report.loaded_ids else 1
