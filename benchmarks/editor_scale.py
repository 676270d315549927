"""How the editor copes with a big project: `python benchmarks/editor_scale.py [NODES]`.

Prints the time to open and draw a generated NODES-node project (target < 1 s) and the time to
re-validate after one param edit in it (target < 50 ms). Runs offscreen.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from editor.app import application  # noqa: E402
from editor.main_window import MainWindow  # noqa: E402
from engine.graph import Graph  # noqa: E402
from engine.templates import load_project  # noqa: E402
from engine.validate import Validator  # noqa: E402


def big_project(nodes: int) -> Graph:
    """Input -> (Dense, ReLU) x k -> Output with `nodes` nodes in all, laid out in rows of 20."""
    g = Graph(name=f"scale {nodes}")
    ids = [g.add_node("Input", params={"kind": "features", "features": 32}).id]
    for i in range(nodes - 2):
        type_id, params = ("Dense", {"units": 32}) if i % 2 == 0 else ("ReLU", {})
        ids.append(g.add_node(type_id, params=params).id)
    ids.append(g.add_node("Output", params={"task": "regression"}).id)
    for i, nid in enumerate(ids):
        g.nodes[nid].pos = (220.0 * (i % 20), 160.0 * (i // 20))
    for a, b in zip(ids, ids[1:], strict=False):
        g.connect(a, b)
    return g


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def cpu_timed(fn) -> tuple[float, float]:
    """Wall and CPU seconds of `fn()`: on a busy machine the CPU time is the steadier figure."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def best_of(runs: int, fn) -> tuple[float, float]:
    """The fastest of `runs` calls (wall, cpu): the run least disturbed by other processes."""
    return min((cpu_timed(fn) for _ in range(runs)), key=lambda t: t[0])


def main(nodes: int = 500) -> int:
    app = application()
    graph = big_project(nodes)
    window = MainWindow()
    window.resize(1600, 1000)
    window.show()
    # the editor starts on the LeNet example; its first validation pays torch's lazy imports once
    warm_s, _ = timed(lambda: window.document.new(load_project("lenet")))
    app.processEvents()

    def open_and_draw() -> None:
        window.document.new(graph)
        window.controller.fit_view()
        app.processEvents()
        window.grab()  # forces a full paint of every widget, the canvas included

    def reopen() -> None:
        window.document.new(load_project("lenet"))
        app.processEvents()
        open_and_draw()

    open_s = cpu_timed(open_and_draw)
    again_s = best_of(2, reopen)
    middle = [n.id for n in graph.nodes.values() if n.type == "Dense"][len(graph.nodes) // 4]
    window.controller.select_node(middle)
    units = iter(range(40, 4000))
    edit_s = best_of(5, lambda: window.controller.set_param(middle, "units", next(units)))
    validator = Validator()
    validator.validate(graph)

    def edit_and_validate() -> None:
        graph.set_param(middle, "units", next(units))
        assert validator.validate(graph).ok
    validate_s = best_of(5, edit_and_validate)

    def row(label: str, t: tuple[float, float], target: str = "") -> None:
        print(f"  {label:<40}{t[0] * 1000:8.1f} ms wall {t[1] * 1000:8.1f} ms cpu   {target}")

    print(f"start-up: first project (LeNet) shown in   {warm_s * 1000:8.1f} ms   (torch's lazy imports, once)")
    print(f"{nodes}-node project ({graph.name}), {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}")
    row("open and draw (first time):", open_s, "(target < 1000 ms)")
    row("open and draw (best of 2 more):", again_s, "(target < 1000 ms)")
    row("one param edit, whole editor refreshed:", edit_s, "(best of 5)")
    row("re-validate after one param edit:", validate_s, "(best of 5, target < 50 ms)")
    window.document.close_cleanly()
    window.controller.undo_stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
