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

    open_s, _ = timed(open_and_draw)
    middle = [n.id for n in graph.nodes.values() if n.type == "Dense"][len(graph.nodes) // 4]
    window.controller.select_node(middle)
    edit_s, _ = timed(lambda: window.controller.set_param(middle, "units", 48))
    validator = Validator()
    validator.validate(graph)
    graph.set_param(middle, "units", 40)
    validate_s, result = timed(lambda: validator.validate(graph))
    assert result.ok, result.report()

    print(f"start-up: first project (LeNet) shown in   {warm_s * 1000:8.1f} ms   (torch's lazy imports, once)")
    print(f"{nodes}-node project")
    print(f"  open and draw:                          {open_s * 1000:8.1f} ms   (target < 1000 ms)")
    print(f"  one param edit, whole editor refreshed: {edit_s * 1000:8.1f} ms")
    print(f"  re-validate after one param edit:       {validate_s * 1000:8.1f} ms   (target < 50 ms)")
    window.document.close_cleanly()
    window.controller.undo_stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
