"""`deepwire doctor RUN` (what went wrong and what to try) and `deepwire diff A B` (what changed between two
runs, or a run and a project), as text or JSON."""

from __future__ import annotations

import argparse
import json
import math

from rich.console import Console
from rich.table import Table

from engine.diff import RunDiff, diff
from engine.doctor import diagnose_run
from engine.doctor.remedies import offered
from engine.runs import open_run
from engine.train.history import format_value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="diagnose a run: what went wrong in training and which change to try")
    p.add_argument("run_path", metavar="RUN", help="a run folder (runs/<time>-<name>)")
    p.add_argument("--json", action="store_true", help="print the diagnoses as JSON (with their evidence series)")
    p.set_defaults(run=run_doctor)
    p = sub.add_parser("diff", help="compare two runs (or a run and a project file): graph, settings, metrics")
    p.add_argument("a", metavar="RUN_A", help="a run folder or a project file (the 'before')")
    p.add_argument("b", metavar="RUN_B", help="a run folder or a project file (the 'after')")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(run=run_diff)


def run_doctor(args: argparse.Namespace) -> int:
    run = open_run(args.run_path)
    found = diagnose_run(run)
    if args.json:
        print(json.dumps(_finite([d.to_dict() for d in found]), indent=2, allow_nan=False))
        return 0
    console = Console()
    if not found:
        console.print(f"{run.id}: no problems found.")
        return 0
    graph = run.graph
    for d in found:
        where = ", ".join(graph.nodes[n].name for n in d.node_ids if n in graph.nodes) or "the whole run"
        colour = {"error": "red", "warning": "yellow"}.get(d.severity, "cyan")
        console.print(f"[bold {colour}]{d.title}[/bold {colour}] ({d.severity}) at {where}")
        console.print(f"  {d.explanation}")
        for r in offered(graph, d):
            console.print(f"  try: [bold]{r.title}[/bold]: {r.explain}")
        console.print()
    return 0


def _finite(value):
    """`value` with every NaN or infinity replaced by null (strict JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def run_diff(args: argparse.Namespace) -> int:
    result = diff(args.a, args.b)
    if args.json:
        print(json.dumps(_finite(result.to_dict()), indent=2, allow_nan=False, default=str))
        return 0
    print_diff(result, Console())
    return 0


def print_diff(result: RunDiff, console: Console) -> None:
    g = result.graph
    console.print(f"[bold]{result.a.label}[/bold] → [bold]{result.b.label}[/bold]")
    if g.empty:
        console.print("Same graph.")
    else:
        table = Table(title=f"Graph ({g.weights_before:,} → {g.weights_after:,} weights)")
        for col in ("", "node", "type", "change", "weights"):
            table.add_column(col)
        marks = {"added": "[green]+[/green]", "removed": "[red]-[/red]", "changed": "[yellow]~[/yellow]"}
        for n in g.nodes:
            what = {"added": _params(n.params_after), "removed": _params(n.params_before),
                    "changed": ", ".join(f"{k} {format_value(a)} → {format_value(b)}" for k, (a, b) in n.changes.items())}[n.kind]
            table.add_row(marks[n.kind], n.name, n.type, what, f"{n.weights_before:,} → {n.weights_after:,}")
        console.print(table)
        if g.wires_added or g.wires_removed:
            console.print(f"wires: {len(g.wires_added)} added, {len(g.wires_removed)} removed")
    if result.settings:
        table = Table(title="Settings")
        for col in ("section", "key", "before", "after"):
            table.add_column(col)
        for s in result.settings:
            table.add_row(s.section, s.key, format_value(s.before), format_value(s.after))
        console.print(table)
    else:
        console.print("Same training and data settings.")
    if result.metrics:
        table = Table(title="Final metrics")
        for col in ("metric", result.a.label, result.b.label, "change"):
            table.add_column(col)
        for name, a, b in result.metrics:
            change = "–" if a is None or b is None else f"{b - a:+.4g}"
            table.add_row(name, format_value(a), format_value(b), change)
        console.print(table)


def _params(params: dict) -> str:
    return ", ".join(f"{k} {format_value(v)}" for k, v in params.items())
