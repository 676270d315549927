"""`deepwire --help` and the choice of a command import no command module (they import torch); the index that
makes this possible says exactly what the modules register."""

from __future__ import annotations

import subprocess
import sys

from engine import cli


def test_the_index_lists_what_each_command_module_registers_with_its_help():
    for module in cli.COMMAND_MODULES:
        parser = cli.build_parser((module,))
        registered = {action.dest: action.help for action in parser._subparsers._group_actions[0]._choices_actions}  # noqa: SLF001
        assert registered == cli.COMMAND_INDEX.get(module), f"update engine.cli.COMMAND_INDEX[{module!r}]"


def test_help_and_choosing_a_command_do_not_import_torch():
    code = ("import sys, contextlib, io\n"
            "from engine import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    try:\n"
            "        cli.main(['--help'])\n"
            "    except SystemExit:\n"
            "        pass\n"
            "assert cli.is_command(['train', 'x.json']) and not cli.is_command(['project.json'])\n"
            "assert 'validate' in out.getvalue() and 'weights' in out.getvalue()\n"
            "print(sorted(m for m in ('torch', 'numpy', 'engine.graph', 'PySide6') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_a_command_still_runs_through_its_own_module(capsys):
    assert cli.main(["templates"]) == 0
    assert "lenet" in capsys.readouterr().out
