"""CLI: `deepwire train`, `deepwire runs`, `deepwire resume`, with a rich progress bar fed by events."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from engine import finetune
from engine.errors import DeepWireError
from engine.lineage import read_init
from engine.runs import create_run, default_run_dir, list_runs
from engine.runstate import read_state
from engine.templates import load_project
from engine.train import distributed
from engine.train.config import TrainingConfig
from engine.train.events import (
    BatchEnded,
    EpochEnded,
    Event,
    RunFailed,
    RunFinished,
    RunStarted,
)
from engine.train.trainer import Trainer


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a project (its data and training sections) and save a run folder")
    p.add_argument("project", help="project file or template name (e.g. lenet)")
    _common(p)
    p.add_argument("--run-dir", help="folder for run folders (default: runs/ next to the project, or ./runs)")
    p.add_argument("--batch-size", type=int, help="override training.batch_size")
    p.add_argument("--lr", type=float, help="override training.lr")
    p.add_argument("--init-from", metavar="RUN_OR_WEIGHTS",
                   help="start from these weights: a run folder (a branch of that run), an export folder, a "
                        ".safetensors file or a saved state_dict (overrides finetune.weights)")
    p.add_argument("--init-which", choices=("best", "last"), default="best",
                   help="with a run folder for --init-from: its best (default) or last weights")
    p.set_defaults(run=run_train)
    p = sub.add_parser("runs", help="list training runs with their best metrics")
    p.add_argument("--run-dir", default=None, help="folder holding run folders (default: ./runs)")
    p.set_defaults(run=run_runs)
    p = sub.add_parser("resume", help="continue a stopped or finished run in its folder")
    p.add_argument("run_path", metavar="RUN", help="a run folder (runs/<time>-<name>)")
    _common(p)
    p.set_defaults(run=run_resume)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, help="total epochs (overrides training.epochs)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (overrides training.device)")
    p.add_argument("--no-progress", action="store_true", help="print one line per epoch instead of a progress bar")


def run_train(args: argparse.Namespace) -> int:
    graph = load_project(args.project)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size), ("lr", args.lr),
                                   ("device", args.device)) if v is not None}
    config = TrainingConfig.from_dict({**graph.training, **overrides})
    graph = finetune.resolved(graph, Path(args.project).resolve().parent if Path(args.project).is_file() else None)
    if args.init_from:
        graph = finetune.with_init(graph, args.init_from, args.init_which)
    run = None
    if distributed.from_env().main:
        run = create_run(graph, args.run_dir or default_run_dir(args.project))
    trainer = Trainer(graph, config, run=run)
    return _fit(trainer, args.no_progress)


def run_resume(args: argparse.Namespace) -> int:
    trainer = Trainer.resume(args.run_path, epochs=args.epochs, device=args.device)
    return _fit(trainer, args.no_progress)


def _fit(trainer: Trainer, plain: bool) -> int:
    if trainer.dist.main:
        trainer.bus.subscribe(ProgressPrinter(Console(), plain))
    result = trainer.fit()
    return 0 if result.reason != "stopped" else 1


class ProgressPrinter:
    """Turns events into a progress bar (epoch, batch, loss, ETA) and one line of metrics per epoch."""

    def __init__(self, console: Console, plain: bool = False) -> None:
        self.console, self.plain = console, plain
        self.progress: Progress | None = None
        self.task = None
        self.lock = threading.Lock()
        self.steps = 1
        self.epochs = 1

    def __call__(self, event: Event) -> None:
        with self.lock:
            handler = getattr(self, f"_on_{type(event).__name__}", None)
            if handler is not None:
                handler(event)

    def _on_RunStarted(self, e: RunStarted) -> None:  # noqa: N802
        self.steps, self.epochs = e.steps_per_epoch, e.epochs
        where = f" -> {e.run_dir}" if e.run_dir else ""
        again = f", resuming at epoch {e.start_epoch + 1}" if e.resumed else ""
        frozen = f" ({e.frozen_params:,} frozen)" if e.frozen_params else ""
        self.console.print(f"[bold]{e.project}[/bold]: {e.task}, {e.total_params:,} parameters{frozen}, "
                           f"{e.device_name} ({e.device}){again}{where}")
        if e.init:
            self.console.print(e.init, markup=False, soft_wrap=True)
        if self.plain:
            return
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("batch {task.fields[batch]}/{task.fields[batches]}"), TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[metrics]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=self.console)
        self.task = self.progress.add_task("train", total=self.steps * e.epochs, completed=self.steps * e.start_epoch,
                                           epoch=e.start_epoch + 1, epochs=e.epochs, batch=0, batches=self.steps,
                                           loss="-", metrics="")
        self.progress.start()

    def _on_BatchEnded(self, e: BatchEnded) -> None:  # noqa: N802
        if self.progress is not None:
            self.progress.update(self.task, completed=e.step, epoch=e.epoch, batch=e.batch, loss=f"{e.loss:.4g}")

    def _on_EpochEnded(self, e: EpochEnded) -> None:  # noqa: N802
        shown = _metrics_text(e.train, e.val, 2, 3)
        line = (f"epoch {e.epoch}/{e.epochs}  {shown}  lr {e.lr:.3g}  {e.samples_per_s:,.0f} samples/s"
                f"{'  *best' if e.best else ''}")
        if self.progress is not None:
            self.progress.update(self.task, completed=e.epoch * self.steps, metrics=_metrics_text({}, e.val, 0, 2))
            self.progress.console.print(line)
        else:
            self.console.print(line)

    def _stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def _on_RunFinished(self, e: RunFinished) -> None:  # noqa: N802
        self._stop()
        best = f", best epoch {e.best_epoch}" if e.best_epoch else ""
        self.console.print(f"[green]finished[/green] ({e.reason}) after {e.epochs_done} epochs in "
                           f"{e.duration:.1f} s{best}")
        tests = {k: v for k, v in e.final.items() if k.startswith("test_")}
        if tests:
            self.console.print("test: " + "  ".join(f"{k[5:]} {v:.4g}" for k, v in tests.items()))

    def _on_RunFailed(self, e: RunFailed) -> None:  # noqa: N802
        self._stop()
        where = f" (node {e.node_id})" if e.node_id else ""
        self.console.print(f"[red]failed{where}:[/red] {e.message}" + (f"\n  hint: {e.hint}" if e.hint else ""))


def _metrics_text(train: dict, val: dict, n_train: int, n_val: int) -> str:
    """The first few metrics of each split (loss first), e.g. 'train loss 0.31 val loss 0.4 accuracy 0.9'."""
    parts = []
    for name, values, n in (("train", train, n_train), ("val", val, n_val)):
        shown = list(values.items())[:n]
        if shown:
            parts.append(f"{name} " + " ".join(f"{k} {v:.4g}" for k, v in shown))
    return "  ".join(parts)


def run_runs(args: argparse.Namespace) -> int:
    root = args.run_dir or default_run_dir(None)
    runs = list_runs(root)
    console = Console()
    if not runs:
        console.print(f"no runs in {root}")
        return 0
    table = Table(title=f"runs in {root}")
    for col in ("run", "study", "project", "parent", "epochs", "state", "best epoch", "best metrics"):
        table.add_column(col)
    notes = []
    for run in runs:
        state = read_state(run)
        try:
            metrics = run.metrics() if state.state in ("completed", "stopped") else {}
            project, study = run.graph.name, run.study or "-"
            parent = Path(read_init(run.path).get("parent_run") or "-").name
        except DeepWireError as exc:
            table.add_row(run.id, run.study or "-", "?", "-", "-", "corrupt", "-", "-")
            notes.append(f"{run.id}: corrupt: {exc}")
            continue
        if state.message and state.state in ("failed", "corrupt"):
            notes.append(f"{run.id}: {state.state}: {state.message}")
        if not metrics:
            table.add_row(run.id, study, project, parent, "-", state.label, "-", "-")
            continue
        best = metrics.get("best") or {}
        val = {k: v for k, v in best.items() if k.startswith("val_")} or best
        shown = "  ".join(f"{k} {v:.4g}" for k, v in list(val.items())[:3] if isinstance(v, int | float))
        table.add_row(run.id, study, project, parent, str(metrics.get("epochs_done", "-")), state.label,
                      str(metrics.get("best_epoch") or "-"), shown)
    console.print(table)
    for note in notes:
        console.print(note, markup=False)
    return 0
