"""Start-up times, each in a fresh process, best of `--repeat`: the splash painted; the main window painted with
the example's nodes (and whether PyTorch was imported by then: it should not be); the graph validated after
PyTorch loaded in the background (shapes on the nodes); `deepwire --help`.
Targets: first paint of the window under 2 s, --help under 0.3 s. Bytecode caches are written and used (as an
installed DeepWire has them), so the first of the repeats pays for compiling and the best is what users get.

    python benchmarks/startup.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = r"""
import os, sys, time
t0 = float(sys.argv[1])
from editor import qtcompat  # noqa: F401
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import editor.app as app_module
from editor.splash import StartupSplash

marks = {}
show_now = StartupSplash.show_now
def timed_show(self):
    show_now(self)
    marks.setdefault("splash", time.time() - t0)
StartupSplash.show_now = timed_show

start = app_module.start
def timed_start(window, project):
    start(window, project)
    QApplication.processEvents()
    window.repaint()
    marks["window"] = time.time() - t0
    marks["torch"] = int("torch" in sys.modules)
    def checked(validation):
        if not getattr(validation, "pending", False) and "checked" not in marks:
            marks["checked"] = time.time() - t0
            print(f"{marks['splash']:.3f} {marks['window']:.3f} {marks['torch']} {marks['checked']:.3f}", flush=True)
            os._exit(0)  # the numbers are out; background jobs (data, cost) need not finish
    window.controller.validation_changed.connect(checked)
    QTimer.singleShot(120_000, QApplication.quit)
app_module.start = timed_start
app_module.main(["lenet"])
"""


def first_paint() -> tuple[float, float, bool, float]:
    """Seconds from process start to the painted splash and to the painted main window with the example's nodes,
    whether PyTorch was imported by then, and seconds to the graph validated (PyTorch loaded)."""
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "DEEPWIRE_DATA_DIR": data, "PYTHONPATH": str(ROOT)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: modules load from bytecode, not compiled each start
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        out = subprocess.run([sys.executable, "-c", PROBE, repr(time.time())], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    return float(out[-4]), float(out[-3]), out[-2] == "1", float(out[-1])


def help_time() -> float:
    """Seconds for `deepwire --help` (the console script's module) to finish."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "deepwire.py"), "--help"], env=env, cwd=ROOT, capture_output=True,
                   check=True)
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    paints = [first_paint() for _ in range(args.repeat)]
    helps = [help_time() for _ in range(args.repeat)]
    splash, window, checked = (min(p[i] for p in paints) for i in (0, 1, 3))
    torch_first = any(p[2] for p in paints)
    print(f"splash painted:            {splash:6.2f} s")
    print(f"window + example painted:  {window:6.2f} s   target < 2 s   (PyTorch imported by then: "
          f"{'yes' if torch_first else 'no'})")
    print(f"graph validated (shapes):  {checked:6.2f} s   (PyTorch loaded in the background)")
    print(f"deepwire --help:           {min(helps):6.2f} s   target < 0.3 s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
