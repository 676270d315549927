"""CLI: `deepwire lr-find PROJECT`, the learning-rate range test with its curve, spread and suggestion."""

from __future__ import annotations

import argparse
import json
import math

from rich.console import Console
from rich.table import Table

from engine.lr_find import find_lr
from engine.templates import load_project

CURVE_ROWS = 16
"""LRs shown in the printed curve (the whole curve is in --json)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lr-find", help="learning-rate range test: loss vs LR over several seeds and a suggested LR")
    p.add_argument("project", help="project file or template name")
    p.add_argument("--repeats", type=int, default=3, help="range tests with different seeds (default 3)")
    p.add_argument("--steps", type=int, default=100, help="batches per range test (default 100)")
    p.add_argument("--min-lr", type=float, default=1e-6, help="first LR (default 1e-6)")
    p.add_argument("--max-lr", type=float, default=1.0, help="last LR (default 1)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N or mps (default: the project's)")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p.set_defaults(run=run_lr_find)


def run_lr_find(args: argparse.Namespace) -> int:
    graph = load_project(args.project)
    console = Console(stderr=args.json)
    with console.status("range test...") as status:
        result = find_lr(graph, repeats=args.repeats, steps=args.steps, min_lr=args.min_lr, max_lr=args.max_lr,
                         device=args.device, progress=lambda text, _f: status.update(text))
    if args.json:
        print(json.dumps(_finite(result.to_dict())))
        return 0
    table = Table(title=f"{graph.name}: loss vs learning rate ({args.repeats} repeats, median and range)")
    for col in ("LR", "loss (median)", "range over repeats"):
        table.add_column(col, justify="right")
    step = max(1, len(result.lrs) // CURVE_ROWS)
    for i in range(0, len(result.lrs), step):
        if math.isfinite(result.median[i]):
            table.add_row(f"{result.lrs[i]:.2g}", f"{result.median[i]:.4g}",
                          f"{result.low[i]:.4g} .. {result.high[i]:.4g}")
    console.print(table)
    verdict = "keep" if result.keep_default else "use"
    console.print(f"[bold]Suggested LR: {result.suggested_lr:.3g}[/bold] ({verdict}); {result.reason}")
    return 0


def _finite(value):
    """NaN (after a repeat diverged) as JSON null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value
