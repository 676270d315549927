"""`deepwire sweep PROJECT` and `deepwire sweep-report PROJECT`."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine.sweep.config import SweepError
from engine.sweep.report import TrialRow
from engine.sweep.runner import SweepResult, load_result, resolve, run_sweep
from engine.templates import load_project
from engine.train.history import format_value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="search params and training settings (the project's sweep section) with Optuna")
    p.add_argument("project", help="project file or template name")
    p.add_argument("--trials", type=int, help="total trials in the sweep (default: sweep.budget.trials)")
    p.add_argument("--timeout", type=float, metavar="MIN", help="stop starting trials after MIN minutes")
    p.add_argument("--storage", metavar="URL", help="Optuna storage URL shared by workers "
                   "(default: sqlite file runs/sweeps.db next to the project)")
    p.add_argument("--workers", type=int, default=1, metavar="K", help="worker processes (default 1)")
    p.set_defaults(run=run_sweep_command)
    p = sub.add_parser("sweep-report", help="trials table and Pareto front (objective vs parameter count)")
    p.add_argument("project", help="project file or template name")
    p.add_argument("--storage", metavar="URL", help="Optuna storage URL (default: runs/sweeps.db)")
    p.set_defaults(run=run_report_command)


def project_dir(ref: str) -> Path:
    """The folder whose `runs/` holds the sweep: the project file's folder, else the current one."""
    path = Path(ref)
    return path.resolve().parent if path.is_file() else Path.cwd()


def run_sweep_command(args: argparse.Namespace) -> int:
    if args.workers < 1 or (args.trials is not None and args.trials < 1):
        raise SweepError("--workers and --trials must be at least 1")
    graph = load_project(args.project)
    folder = project_dir(args.project)
    config, url, name, _ = resolve(graph, folder, args.storage, trials=args.trials, minutes=args.timeout)
    total = config.trials if config.sampler != "grid" else min(config.trials or 10**9, _grid_size(config))
    console = Console()
    console.print(f"Sweep '{name}': {config.sampler}, objective {config.metric} ({config.direction}), storage {url}")
    stop = threading.Event()
    with Progress(TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[best]}"), console=console) as progress:
        task = progress.add_task("sweep", total=total, best="")
        best: list[float] = []
        ran: list[int] = []

        def on_trial(row: TrialRow) -> None:
            ran.append(row.number)
            if row.state == "COMPLETE" and row.value is not None:
                best.append(row.value)
            shown = (max(best) if config.direction == "maximize" else min(best)) if best else None
            progress.update(task, advance=1, best=f"best {config.metric} {shown:.4g}" if shown is not None else "")

        interrupted = False
        try:
            result = run_sweep(graph, folder, on_trial=on_trial, stop=stop, workers=args.workers,
                               trials=args.trials, minutes=args.timeout, storage=args.storage)
        except KeyboardInterrupt:
            interrupted = True
            stop.set()
            console.print("[yellow]stopped; finished trials are kept[/yellow]")
            result = load_result(config, url, name)
    if not ran and not interrupted and result.rows:
        console.print(f"[yellow]Nothing left to run: the sweep '{name}' has used its budget of {config.trials} trials "
                      "or finished its grid; raise --trials (or sweep.budget.trials) to run more.[/yellow]")
    print_report(result, console)
    return 0


def run_report_command(args: argparse.Namespace) -> int:
    graph = load_project(args.project)
    config, url, name, _ = resolve(graph, project_dir(args.project), args.storage)
    result = load_result(config, url, name)
    if not result.rows:
        raise SweepError(f"no trials recorded yet for the sweep '{name}' in {url}; run `deepwire sweep` first")
    print_report(result, Console())
    return 0


def print_report(result: SweepResult, console: Console) -> None:
    """The trials table, then the Pareto front of objective vs parameter count."""
    pareto = {r.number for r in result.pareto}
    best = result.best
    table = Table(title=f"Sweep '{result.name}': {len(result.rows)} trials")
    names = sorted({k for r in result.rows for k in r.params})
    for col in ("#", "state", *names, result.metric, "params", "time", "note"):
        table.add_column(col, justify="right" if col in ("#", result.metric, "params", "time") else "left")
    for r in result.rows:
        mark = " *" if best is not None and r.number == best.number else ""
        table.add_row(str(r.number), r.state + (" (pareto)" if r.number in pareto else ""),
                      *[format_value(r.params.get(n)) for n in names], format_value(r.value) + mark,
                      f"{r.params_count:,}" if r.params_count is not None else "-",
                      f"{r.duration:.1f}s" if r.duration is not None else "-", r.error or "")
    console.print(table)
    front = Table(title=f"Pareto front: {result.metric} ({result.direction}) vs parameter count")
    for col in ("#", "params", result.metric, *names):
        front.add_column(col, justify="right")
    for r in result.pareto:
        front.add_row(str(r.number), f"{r.params_count:,}", format_value(r.value), *[format_value(r.params.get(n)) for n in names])
    console.print(front)
    if best is not None:
        console.print(f"Best: trial {best.number}, {result.metric} = {best.value:.4g} ({best.run_dir})")


def _grid_size(config) -> int:
    size = 1
    for values in config.grid().values():
        size *= len(values)
    return size
