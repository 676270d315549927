"""The built wheel works when installed outside the source tree: CLI, training and the editor's offscreen start.

The wheel is installed with --no-deps into a fresh venv; a .pth line makes the already-installed third-party
packages of the running environment importable (a plain path entry, so the source tree's editable-install
hook there is not run). Every command runs from an empty working directory.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "deepwire.py", "engine", "editor", "resources")


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


class Installed:
    """A venv with the deepwire wheel installed, and an environment that keeps the source tree out of reach."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.venv = base / "venv"
        self.python = self.venv / "bin" / "python"
        self.deepwire = self.venv / "bin" / "deepwire"
        self.cwd = base / "work"
        self.cwd.mkdir()
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        self.env.update(QT_QPA_PLATFORM="offscreen", DEEPWIRE_DATA_DIR=str(base / "data"),
                        XDG_CONFIG_HOME=str(base / "config"), PYTHONNOUSERSITE="1")

    def site_packages(self) -> Path:
        return next((self.venv / "lib").glob("python3*/site-packages"))


def cli_commands() -> set[str]:
    """The `deepwire` subcommands registered by the source the wheel is built from."""
    from engine.cli import build_parser

    return set(build_parser()._subparsers._group_actions[0].choices)  # noqa: SLF001


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("installed")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:  # build from a clean copy: no stale build/ folder, no stray files of the tree
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    inst = Installed(base)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(base / "wheels"), str(src)], base, inst.env)
    wheel = next((base / "wheels").glob("deepwire-*.whl"))
    venv.EnvBuilder(with_pip=False).create(inst.venv)
    _run([sys.executable, "-m", "pip", "--python", str(inst.python), "install", "--no-deps", "--no-index", "-q",
          str(wheel)], base, inst.env)
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (inst.site_packages() / "_deepwire_test_deps.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    return inst


def test_packages_and_resources_load_from_the_installed_wheel(installed):
    code = ("import editor, engine, resources\n"
            "from engine.templates import list_templates, template_dir\n"
            "print(engine.__file__, editor.__file__, resources.__file__, template_dir(), sep='\\n')\n"
            "print(*list_templates())")
    *paths, templates = _run([str(installed.python), "-c", code], installed.cwd, installed.env).stdout.splitlines()
    for path in map(Path, paths):
        assert path.is_relative_to(installed.site_packages()), path
        assert not path.is_relative_to(ROOT), path
    assert templates.split() == sorted(p.stem for p in (ROOT / "resources" / "templates").glob("*.json"))
    shipped = installed.site_packages() / "resources"
    assert (shipped / "icons" / "app" / "deepwire.svg").is_file()
    assert (shipped / "icons" / "app" / "deepwire-256.png").is_file()
    assert (shipped / "styles" / "editor.qss").is_file()


def test_validate_a_template(installed):
    out = _run([str(installed.deepwire), "validate", "lenet"], installed.cwd, installed.env).stdout
    assert "valid" in out and "error" not in out


def test_train_a_template_for_one_epoch(installed):
    if "train" not in cli_commands():
        pytest.skip("`deepwire train` is not registered in engine.cli yet")
    run_dir = installed.base / "runs"
    _run([str(installed.deepwire), "train", "lenet", "--epochs", "1", "--no-progress", "--run-dir", str(run_dir)],
         installed.cwd, installed.env)
    (run,) = run_dir.iterdir()
    assert "RunFinished" in (run / "events.jsonl").read_text(encoding="utf-8")
    assert list(run.rglob("*.safetensors")), "training wrote no weights"


def test_editor_starts_offscreen_and_exits_cleanly(installed):
    result = _run([str(installed.deepwire), "--self-test"], installed.cwd, installed.env, timeout=120)
    assert "Traceback" not in result.stderr
