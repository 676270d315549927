"""`deepwire` command line: subcommands come from the modules in COMMAND_MODULES.

The console script (`deepwire.py`, outside the engine) opens the editor when no subcommand is given;
this module never imports the editor.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from engine.errors import DataWarning, DeepWireError

COMMAND_MODULES = ("engine.cli_project", "engine.train.cli", "engine.sweep.cli", "engine.export.cli",
                   "engine.weights_cli", "engine.doctor.cli", "engine.cli_lr_find", "engine.sections_cli")
"""Each module defines `register(subparsers)` adding its subcommands with `set_defaults(run=fn)`."""


COMMAND_INDEX: dict[str, dict[str, str]] = {
    "engine.cli_project": {
        "validate": "check a project; exit 1 if it has errors",
        "summary": "table of nodes: output shapes, parameters, FLOPs, activation memory, latency; totals and the "
                   "training-memory estimate",
        "layers": "the layer catalogue",
        "templates": "list the built-in example projects",
        "datasets": "list the built-in offline datasets (data.source 'builtin')",
    },
    "engine.train.cli": {
        "train": "train a project (its data and training sections) and save a run folder",
        "runs": "list training runs with their best metrics",
        "resume": "continue a stopped or finished run in its folder",
    },
    "engine.sweep.cli": {
        "sweep": "search params and training settings (the project's sweep section) with Optuna",
        "sweep-report": "trials table and Pareto front (objective vs parameter count)",
    },
    "engine.export.cli": {
        "evaluate": "confusion matrix, per-class scores, ROC/PR, regression errors of a run",
        "export": "export a run's model: safetensors, torchscript, onnx, python",
        "predict": "run a trained model (run or export folder) on a csv/image/npy/npz file (or .txt for a text model)",
        "generate": "continue a text with a run trained to predict the next word",
        "import": "turn a torch.nn.Module into a DeepWire project (torch.fx)",
    },
    "engine.weights_cli": {
        "weights": "what a weights file, run or export folder gives each node of a project",
    },
    "engine.doctor.cli": {
        "doctor": "diagnose a run: what went wrong in training and which change to try",
        "diff": "compare two runs (or a run and a project file): graph, settings, metrics",
    },
    "engine.cli_lr_find": {
        "lr-find": "learning-rate range test: loss vs LR over several seeds and a suggested LR",
    },
    "engine.sections_cli": {
        "settings": "every setting of the training, data, sweep and finetune sections",
    },
}
"""The commands (name: help) each module of COMMAND_MODULES registers, so that `deepwire --help` and choosing a
command import no command module (they import torch): only the one that runs. A module missing here still works,
imported to find its commands; tests/engine/test_cli_index.py keeps the index equal to what the modules register."""


def _new_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(
        prog="deepwire", description="Design, train and export neural networks. "
        "Without a command, opens the editor (on PROJECT if given).")
    return parser, parser.add_subparsers(dest="command", metavar="COMMAND")


def build_parser(modules: tuple[str, ...] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The parser with the full arguments of every command of `modules` (imports them)."""
    parser, sub = _new_parser()
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def _choices(parser: argparse.ArgumentParser) -> dict:
    return parser._subparsers._group_actions[0].choices  # noqa: SLF001  argparse keeps them here


def commands() -> dict[str, str]:
    """Every command name and the module that registers it (imports only modules missing from COMMAND_INDEX)."""
    found = {}
    for module in COMMAND_MODULES:
        names = COMMAND_INDEX.get(module) or _choices(build_parser((module,)))
        found.update({name: module for name in names})
    return found


def help_parser() -> argparse.ArgumentParser:
    """A parser for `deepwire --help`: each command with its one-line help, no command module imported."""
    parser, sub = _new_parser()
    for module in COMMAND_MODULES:
        if module in COMMAND_INDEX:
            for name, text in COMMAND_INDEX[module].items():
                sub.add_parser(name, help=text)
        else:
            importlib.import_module(module).register(sub)
    return parser


def is_command(argv: list[str]) -> bool:
    """True when `argv` asks for a subcommand (or for help) rather than for the editor."""
    return bool(argv) and (argv[0] in ("-h", "--help") or argv[0] in commands())


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand (`python -m engine.cli COMMAND ...`); without one, print the help."""
    argv = sys.argv[1:] if argv is None else argv
    module = commands().get(argv[0]) if argv else None
    if module is None:  # no command, help, or an unknown one: argparse says which exist
        parser = help_parser()
        if not argv:
            parser.print_help()
            return 0
        parser.parse_args(argv)
        return 2
    args = build_parser((module,)).parse_args(argv)
    shown, warnings.showwarning = warnings.showwarning, _show_warning
    try:
        return int(args.run(args) or 0)
    except DeepWireError as exc:
        print(f"deepwire: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deepwire: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = shown


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """DeepWire's own warnings as one plain line; others as Python prints them."""
    if issubclass(category, DataWarning):
        print(f"deepwire: warning: {message}", file=sys.stderr)
    else:
        warnings._showwarning_orig(message, category, filename, lineno, file, line)  # noqa: SLF001


if __name__ == "__main__":
    sys.exit(main())
