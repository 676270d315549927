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
                   "engine.weights_cli", "engine.doctor.cli", "engine.sections_cli")
"""Each module defines `register(subparsers)` adding its subcommands with `set_defaults(run=fn)`."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepwire", description="Design, train and export neural networks. "
        "Without a command, opens the editor (on PROJECT if given).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def is_command(argv: list[str]) -> bool:
    """True when `argv` asks for a subcommand (or for help) rather than for the editor."""
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # noqa: SLF001  argparse keeps them here
    return bool(argv) and (argv[0] in commands or argv[0] in ("-h", "--help"))


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand (`python -m engine.cli COMMAND ...`); without one, print the help."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv:
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
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
