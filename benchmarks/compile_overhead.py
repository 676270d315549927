"""How much DeepWire's compiled models and its validator cost.

    python benchmarks/compile_overhead.py [--rounds 21] [--iters 20] [--threads 1]

1. Forward + backward time of the compiled LeNet, ResNet and LSTM templates divided by hand-written
   PyTorch modules holding the same weights, on the same batch, timed interleaved in one run
   (median of rounds; target <= 1.02).
2. Validate + infer shapes of a generated 1,000-node residual network with a fresh `Validator`
   (target < 150 ms), and re-validate after one param edit with a warm one (target < 20 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.graph import Graph  # noqa: E402
from engine.validate import Validator  # noqa: E402
from tests.engine.test_equivalence import paired  # noqa: E402  (the hand-written twins)

BATCH = 64
TARGETS = {"ratio": 1.02, "cold_ms": 150.0, "edit_ms": 20.0}


def clock(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of one call; on a busy shared machine CPU time leaves out the waiting."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def fwd_bwd(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...], iters: int) -> None:
    for _ in range(iters):
        model.zero_grad(set_to_none=True)
        model(*inputs).float().pow(2).mean().backward()


def overhead(stem: str, rounds: int, iters: int) -> dict[str, float]:
    """Compiled and hand-written ms per forward+backward and their ratios (wall, CPU): interleaved
    rounds, the ratio taken per round, medians over rounds; `best` compares the fastest rounds."""
    model, hand, _, inputs = paired(stem)
    inputs = tuple(torch.cat([x] * (BATCH // len(x))) for x in inputs)
    model.train()
    hand.train()
    fwd_bwd(model, inputs, iters)
    fwd_bwd(hand, inputs, iters)
    ours, theirs = [], []
    for r in range(rounds):
        pair = [(model, ours), (hand, theirs)]
        for m, times in pair if r % 2 == 0 else pair[::-1]:
            times.append(clock(lambda m=m: fwd_bwd(m, inputs, iters)))
    med = statistics.median
    return {"ours": 1e3 * med(w for w, _ in ours) / iters, "theirs": 1e3 * med(w for w, _ in theirs) / iters,
            "wall": med(a[0] / b[0] for a, b in zip(ours, theirs, strict=True)),
            "cpu": med(a[1] / b[1] for a, b in zip(ours, theirs, strict=True)),
            "best": min(w for w, _ in ours) / min(w for w, _ in theirs)}


def big_graph(target_nodes: int = 1000) -> Graph:
    """A ResNet-style graph of about `target_nodes` nodes: three stages of residual blocks with
    projection shortcuts, and every eighth block an extra two-branch (Inception-like) Concat path."""
    g = Graph(name="generated resnet")
    x = g.add_node("Input", "image", {"kind": "image", "channels": 3, "height": 32, "width": 32}).id

    def layer(type_id: str, src: str | list[str], **params) -> str:
        node = g.add_node(type_id, params=params).id
        for s in [src] if isinstance(src, str) else src:
            g.connect(s, node)
        return node

    x = layer("ReLU", layer("BatchNorm2d", layer("Conv2d", x, out_channels=16, bias=False)))
    stages, channels, block = [16, 32, 64], 16, 0
    blocks = int((target_nodes - 8) / 7.5)  # 7 nodes a block, 4 more every eighth block
    while len(g.nodes) < target_nodes - 3:
        stage = min(3 * block // blocks, 2)
        out_ch, stride = stages[stage], 2 if stages[stage] != channels else 1
        h = layer("ReLU", layer("BatchNorm2d", layer("Conv2d", x, out_channels=out_ch, stride=stride, bias=False)))
        h = layer("BatchNorm2d", layer("Conv2d", h, out_channels=out_ch, bias=False))
        skip = x if stride == 1 else layer("BatchNorm2d", layer("Conv2d", x, out_channels=out_ch, kernel_size=1,
                                                                 stride=2, bias=False))
        x = layer("ReLU", layer("Add", [h, skip]))
        if block % 8 == 7:
            a = layer("Conv2d", x, out_channels=out_ch // 2, kernel_size=1)
            b = layer("Conv2d", x, out_channels=out_ch // 2, kernel_size=3)
            x = layer("ReLU", layer("Concat", [a, b], axis=0))
        channels, block = out_ch, block + 1
    x = layer("Dense", layer("GlobalAvgPool", x), units=10)
    layer("Output", x)
    return g


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median (wall, CPU) milliseconds of `fn` over `repeats` calls."""
    times = [clock(fn) for _ in range(repeats)]
    return 1e3 * statistics.median(w for w, _ in times), 1e3 * statistics.median(c for _, c in times)


def validation_times(repeats: int) -> dict[str, tuple[float, float] | int]:
    graph = big_graph()
    result = Validator().validate(graph)
    assert result.ok, result.report()
    out = {"nodes": len(graph.nodes), "cold_ms": timed(lambda: Validator().validate(graph), repeats)}
    warm = Validator()
    warm.validate(graph)
    middle = [n for n in graph.nodes.values() if n.type == "BatchNorm2d"][len(graph.nodes) // 14]
    conv = [n for n in graph.nodes.values() if n.type == "Conv2d" and n.params["kernel_size"] == 3][40]
    values = iter(range(1, 10**6))

    def edit_bn() -> None:
        graph.set_param(middle.id, "momentum", 0.1 + next(values) * 1e-6)  # a new value: never cached
        warm.validate(graph)

    def edit_conv() -> None:
        graph.set_param(conv.id, "dilation", 1 + next(values) % 2)  # same output shape, new weights key
        warm.validate(graph)

    out["edit_ms"] = timed(edit_bn, repeats)
    out["edit_conv_ms"] = timed(edit_conv, repeats)
    out["unchanged_ms"] = timed(lambda: warm.validate(graph), repeats)
    return out


def verdict(value: float, target: float, strict: bool = False) -> str:
    return "ok" if (value < target if strict else value <= target) else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--iters", type=int, default=20, help="forward+backward passes per timed round")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {os.cpu_count()} cores, load {load}; "
          f"batch {BATCH}, {args.rounds} interleaved rounds x {args.iters} passes")
    print("Verdicts use CPU time, which leaves out time spent waiting for a busy shared CPU.\n")
    print(f"{'forward+backward':<18}{'compiled ms':>13}{'hand ms':>10}{'ratio wall':>12}{'ratio cpu':>11}"
          f"{'best':>7}  target <= {TARGETS['ratio']}")
    ok = True
    for stem in ("lenet", "resnet", "lstm_classifier"):
        r = overhead(stem, args.rounds, args.iters)
        ok &= r["cpu"] <= TARGETS["ratio"]
        print(f"{stem:<18}{r['ours']:>13.3f}{r['theirs']:>10.3f}{r['wall']:>12.3f}{r['cpu']:>11.3f}"
              f"{r['best']:>7.3f}  {verdict(r['cpu'], TARGETS['ratio'])}")
    t = validation_times(repeats=max(7, args.rounds // 2))
    rows = [(f"validate {t['nodes']}-node graph (fresh Validator)", t["cold_ms"], TARGETS["cold_ms"]),
            ("re-validate after a BatchNorm param edit", t["edit_ms"], TARGETS["edit_ms"]),
            ("re-validate after a Conv2d param edit", t["edit_conv_ms"], TARGETS["edit_ms"]),
            ("re-validate, nothing changed", t["unchanged_ms"], TARGETS["edit_ms"])]
    print(f"\n{'validation + shape inference':<48}{'wall ms':>9}{'cpu ms':>9}  target")
    for label, (wall, cpu), target in rows:
        ok &= cpu < target
        print(f"{label:<48}{wall:>9.2f}{cpu:>9.2f}  < {target:g} {verdict(cpu, target, strict=True)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
