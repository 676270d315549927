"""Start-up times: the first painted window of `deepwire` (the splash, then the editor's main window) and
`deepwire --help`, each in a fresh process, best of `--repeat`. Targets: first paint under 2 s, --help under 0.3 s.

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
import sys, time
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

def finish(self, window):
    QApplication.processEvents()
    window.repaint()
    marks["window"] = time.time() - t0
    print(f"{marks['splash']:.3f} {marks['window']:.3f}", flush=True)
    QTimer.singleShot(0, QApplication.quit)
StartupSplash.finish = finish
app_module.start = lambda window, project: None
app_module.main(["lenet"])
"""


def first_paint() -> tuple[float, float]:
    """Seconds from process start to the painted splash and to the painted main window."""
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "DEEPWIRE_DATA_DIR": data, "PYTHONPATH": str(ROOT)}
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        out = subprocess.run([sys.executable, "-c", PROBE, repr(time.time())], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    return float(out[-2]), float(out[-1])


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
    splash, window = min(p[0] for p in paints), min(p[1] for p in paints)
    print(f"first paint (splash):      {splash:6.2f} s   target < 2 s")
    print(f"main window painted:       {window:6.2f} s")
    print(f"deepwire --help:           {min(helps):6.2f} s   target < 0.3 s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
