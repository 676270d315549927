"""The engine stands alone: no module of it imports the editor, and CLI commands never load Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("editor."):
            names.add(node.value)  # importlib.import_module("editor....")
    return names


def test_no_engine_module_imports_the_editor_or_qt():
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p)
                                                  if m.split(".")[0] in ("editor", "PySide6", "NodeGraphQt"))
                 for p in (ROOT / "engine").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_console_script_runs_commands_without_loading_qt_and_only_then_opens_the_editor():
    code = ("import sys, deepwire; from engine import cli; assert deepwire.main(['layers']) == 0; "
            "assert not cli.is_command([]) and not cli.is_command(['project.dwproj']) and cli.is_command(['train']); "
            "print('QT' if 'PySide6' in sys.modules else 'NO-QT')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("NO-QT")
