"""How long the training doctor takes on a long run: reading its events and one diagnosis pass (what the
editor's Doctor tab repeats after each summary of a live run).

`python benchmarks/doctor_speed.py [--layers L] [--epochs E] [--batches B] [--summaries S]`

Builds a Dense/Sigmoid chain of L layers and the events of a run of E epochs with B batch events per epoch
and S gradient + activation summaries per epoch (synthetic numbers, shaped like a real run's), then times
`Doctor.add_all` over all of them and `Doctor.diagnoses()` on the result. Target: one diagnosis pass under
50 ms for 50 layers, 200 epochs, 100 batch events and 4 summaries per epoch, so a live run never waits.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.doctor import Doctor  # noqa: E402
from engine.graph import Graph  # noqa: E402
from engine.train.events import Activations, BatchEnded, EpochEnded, Gradients, RunFinished, RunStarted  # noqa: E402

TARGET_S = 0.05


def chain(layers: int) -> Graph:
    g = Graph(name="bench", data={"source": "builtin", "name": "iris"})
    prev = g.add_node("Input", "input", {"kind": "features", "features": 4}).id
    for i in range(layers):
        for type_id, params in (("Dense", {"units": 32}), ("Sigmoid", {})):
            node = g.add_node(type_id, f"{type_id.lower()}{i}", params)
            g.connect(prev, node.id)
            prev = node.id
    head = g.add_node("Dense", "head", {"units": 3})
    g.connect(prev, head.id)
    g.connect(head.id, g.add_node("Output", "output", {"task": "multiclass"}).id)
    return g


def events(graph: Graph, epochs: int, batches: int, summaries: int) -> list:
    dense = [n.id for n in graph.nodes.values() if n.type == "Dense"]
    sig = [n.id for n in graph.nodes.values() if n.type == "Sigmoid"]
    out = [RunStarted("r", None, "bench", {"lr": 0.01}, "cpu", "cpu", "multiclass", epochs, 0, batches, 1000,
                      ["loss", "accuracy"], {"summary": {"inputs": [{"mean": 0.0, "std": 1.0, "min": -3, "max": 3}],
                                                         "classes": [50, 50, 50]}})]
    step = 0
    for e in range(1, epochs + 1):
        loss = 1.1 * math.exp(-e / epochs)
        for b in range(1, batches + 1):
            step += 1
            out.append(BatchEnded(e, b, batches, step, loss, 0.01))
            if b % (batches // summaries) == 0:
                out.append(Gradients(e, step, {nid: 10.0 ** (-i / 4) for i, nid in enumerate(reversed(dense))}, 1.0))
                out.append(Activations(e, step, {nid: {"mean": 0.5, "std": 0.2, "zeros": 0.0, "dead": 0.0,
                                                       "nonfinite": 0, "min": 0.01, "max": 0.99,
                                                       "hist": [3] * 30} for nid in sig}))
        out.append(EpochEnded(e, epochs, {"loss": loss, "accuracy": 0.9}, {"loss": loss * 1.05, "accuracy": 0.88},
                              0.01, 1000.0, 0.1))
    out.append(RunFinished(epochs, {}, {}, epochs, "completed", 1.0))
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--summaries", type=int, default=4)
    args = parser.parse_args(argv)
    graph = chain(args.layers)
    run = events(graph, args.epochs, args.batches, args.summaries)
    doctor = Doctor(graph)
    t0 = time.perf_counter()
    doctor.add_all(run)
    read = time.perf_counter() - t0
    doctor.diagnoses()  # the first pass also validates the graph once
    passes = []
    for _ in range(5):
        t0 = time.perf_counter()
        found = doctor.diagnoses()
        passes.append(time.perf_counter() - t0)
    best = min(passes)
    print(f"{len(run):,} events, {args.layers * 2 + 3} nodes: read {read * 1000:.0f} ms, one diagnosis pass "
          f"{best * 1000:.1f} ms ({', '.join(d.id for d in found) or 'nothing found'}); target < {TARGET_S * 1000:.0f} ms: "
          f"{'met' if best < TARGET_S else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
