"""CLI commands about a project itself and its building blocks: validate, summary, layers, templates, datasets."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine import finetune
from engine.cost import NodeCost, analyse, format_flops
from engine.data import list_builtin
from engine.layers.registry import all_specs, get_spec
from engine.memory import device_memory, format_bytes
from engine.shapes_format import format_shape
from engine.templates import list_templates, load_project
from engine.validate import validate, validate_project


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a project; exit 1 if it has errors")
    p.add_argument("project", help="project file or template name (e.g. lenet)")
    p.add_argument("--no-data", action="store_true", help="check the graph only, not against its data section")
    p.set_defaults(run=run_validate)
    p = sub.add_parser("summary", help="table of nodes: output shapes, parameters, FLOPs, activation memory, "
                       "latency; totals and the training-memory estimate")
    p.add_argument("project", help="project file or template name")
    p.add_argument("--batch-size", type=int, default=None, help="batch size to cost (default: the project's)")
    p.add_argument("--device", default=None, help="device to time layers on (default: the project's, auto)")
    p.add_argument("--no-latency", action="store_true", help="skip timing the layers")
    p.set_defaults(run=run_summary)
    p = sub.add_parser("layers", help="the layer catalogue")
    p.add_argument("type_id", nargs="?", help="show one layer type in full")
    p.set_defaults(run=run_layers)
    p = sub.add_parser("templates", help="list the built-in example projects")
    p.set_defaults(run=run_templates)
    p = sub.add_parser("datasets", help="list the built-in offline datasets (data.source 'builtin')")
    p.set_defaults(run=run_datasets)


def run_validate(args: argparse.Namespace) -> int:
    graph = load_project(args.project)
    folder = Path(args.project).resolve().parent if Path(args.project).is_file() else None
    result = validate(graph) if args.no_data else validate_project(graph, folder)
    for problem in result.problems:
        node = graph.nodes.get(problem.node_id) if problem.node_id else None
        where = f"{node.name} ({node.id})" if node else "graph"
        hint = f"\n    hint: {problem.hint}" if problem.hint else ""
        print(f"{problem.severity}: {where}: {problem.message}{hint}")
    errors = len(result.errors)
    print(f"{graph.name}: {'valid' if not errors else f'{errors} error(s)'}, "
          f"{len(graph.nodes)} nodes, {result.total_params:,} parameters")
    return 1 if errors else 0


def run_summary(args: argparse.Namespace) -> int:
    graph = load_project(args.project)
    result = validate(graph)
    costs = analyse(graph, args.batch_size, args.device, latency=not args.no_latency, validation=result) \
        if result.ok else None
    batch = f" (batch {costs.batch_size}, {costs.device})" if costs else ""
    table = Table(title=f"{graph.name}{batch}")
    columns = ("node", "type", "output shape", "params", "trains") + (COST_COLUMNS if costs else ())
    for col in columns:
        table.add_column(col, justify="left" if col in ("node", "type", "output shape", "trains") else "right")
    frozen, mults = finetune.frozen_ids(graph), finetune.lr_mults(graph)
    for nid in result.order + sorted(set(graph.nodes) - set(result.order)):
        node = graph.nodes[nid]
        shared = f" (shares {graph.nodes[node.shares].name})" if node.shares in graph.nodes else ""
        count = result.param_counts.get(nid, 0)
        trains = "" if not count else "frozen" if nid in frozen else "yes" if mults[nid] == 1 else f"lr x{mults[nid]:g}"
        row = [node.name, node.type + shared, format_shape(result.shapes.get(nid)), f"{count:,}", trains]
        if costs:
            row += _cost_cells(costs.nodes.get(nid))
        table.add_row(*row)
    console = Console()
    console.print(table)
    trainable, off = finetune.param_split(graph, result.param_counts)
    console.print(f"Total parameters: {result.total_params:,} (trainable {trainable:,}, frozen {off:,})")
    weights = graph.finetune.get("weights") if isinstance(graph.finetune, dict) else None
    if weights:
        console.print(f"Initial weights: {weights} (deepwire weights PROJECT {weights} shows what each node gets)",
                      markup=False, soft_wrap=True)
    if costs:
        mem = costs.memory
        latency = f", latency {costs.total('latency_ms'):.2f} ms" if not args.no_latency else ""
        console.print(f"Total per batch of {costs.batch_size}: {format_flops(costs.total('flops'))}, activations "
                      f"{format_bytes(costs.total('activation_bytes'))}{latency}")
        console.print(f"Training memory estimate: {format_bytes(mem.total)} (weights {format_bytes(mem.weights)}, "
                      f"gradients {format_bytes(mem.gradients)}, optimizer state {format_bytes(mem.optimizer)}, "
                      f"activations {format_bytes(mem.activations)}, inputs {format_bytes(mem.inputs)}); "
                      f"the device has {format_bytes(device_memory(costs.device))}")
    for problem in result.problems:
        if problem.kind == "memory":
            console.print(f"[yellow]warning: {escape(problem.message)}[/yellow]")
    if not result.ok:
        console.print(f"[red]{len(result.errors)} error(s); run `deepwire validate` for details[/red]")
    return 0 if result.ok else 1


COST_COLUMNS = ("FLOPs", "output mem", "ms")


def _cost_cells(cost: NodeCost | None) -> list[str]:
    if cost is None:
        return ["", "", ""]
    latency = "" if cost.latency_ms is None else f"{cost.latency_ms:.3f}"
    return [format_flops(cost.flops), format_bytes(cost.activation_bytes), latency]


def run_layers(args: argparse.Namespace) -> int:
    console = Console()
    if args.type_id:
        spec = get_spec(args.type_id)
        console.print(f"[bold]{spec.title}[/bold] ({spec.type_id}, {spec.category})\n{spec.summary}\n")
        console.print(spec.explanation)
        for title, items in (("Advantages", spec.advantages), ("Disadvantages", spec.disadvantages)):
            if items:
                console.print(f"\n[bold]{title}[/bold]")
                for item in items:
                    console.print(f"  - {item}")
        if spec.when_to_use:
            console.print(f"\n[bold]When to use[/bold]\n{spec.when_to_use}")
        for p in spec.params:
            console.print(f"  {p.name} ({p.kind}, default {p.default!r}): {p.doc}")
        return 0
    table = Table(title="DeepWire layer catalogue")
    for col in ("type id", "category", "summary"):
        table.add_column(col)
    for spec in all_specs():
        table.add_row(spec.type_id, spec.category, spec.summary)
    console.print(table)
    return 0


def run_templates(args: argparse.Namespace) -> int:
    for stem in list_templates():
        graph = load_project(stem)
        print(f"{stem:24} {graph.description.splitlines()[0] if graph.description else graph.name}")
    return 0


def run_datasets(args: argparse.Namespace) -> int:
    table = Table(title="Built-in datasets (\"data\": {\"source\": \"builtin\", \"name\": ...})", show_lines=True)
    for col in ("name", "tasks", "about"):
        table.add_column(col)
    for info in list_builtin():
        table.add_row(info.name, ", ".join(info.tasks or (info.task,)), escape(info.description))
    Console().print(table)
    return 0
