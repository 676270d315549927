"""`deepwire` command line: subcommands come from the modules in COMMAND_MODULES; no subcommand opens the editor."""

from __future__ import annotations

import argparse
import importlib
import sys

from engine.errors import DeepWireError

COMMAND_MODULES = ("engine.cli_project", "engine.train.cli", "engine.sweep.cli", "engine.export.cli",
                   "engine.cli_lr_find")
"""Each module defines `register(subparsers)` adding its subcommands with `set_defaults(run=fn)`."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepwire", description="Design, train and export neural networks. "
        "Without a command, opens the editor (on PROJECT if given).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `deepwire` console script."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # noqa: SLF001  argparse keeps them here
    if not argv or (argv[0] not in commands and argv[0] not in ("-h", "--help")):
        from editor.app import main as editor_main

        return editor_main(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except DeepWireError as exc:
        print(f"deepwire: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deepwire: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
