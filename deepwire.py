"""The `deepwire` console script: a subcommand runs in the engine's CLI; no subcommand opens the editor.

It lives outside both packages so that the engine never imports the editor, and a command such as
`deepwire train` never loads Qt.
"""

from __future__ import annotations

import importlib
import sys

from engine import cli

EDITOR = "editor.app"
"""The module whose `main(argv)` opens the editor."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if cli.is_command(argv):
        return cli.main(argv)
    return importlib.import_module(EDITOR).main(argv)


if __name__ == "__main__":
    sys.exit(main())
