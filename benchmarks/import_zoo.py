"""How many real model definitions `deepwire import` brings in exactly, and how fast.

    python benchmarks/import_zoo.py [--no-timm] [--size 224]

For each model of the import zoo (tests/engine/import_zoo.py: pytorch/examples and tutorial idioms,
plus timm and torchvision definitions when installed): import, compile, copy the weights, compare the outputs on a
random batch with randomised BatchNorm statistics (max abs diff <= 1e-5) and the parameter counts.
Prints one line per model, then `imported exactly: K / N` and the import seconds of ResNet-50 at
--size (target < 3 s), timed after one warm-up import.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.compile import compile_graph  # noqa: E402
from engine.export.preprocessing import example_inputs  # noqa: E402
from engine.importer import import_model, transfer_weights  # noqa: E402
from tests.engine.import_zoo import (  # noqa: E402
    TUTORIAL_CASES,
    ZooCase,
    load_timm,
    load_torchvision_models,
    randomize_batchnorm,
    timm_cases,
    torchvision_cases,
)


def try_case(case: ZooCase) -> tuple[bool, str, float]:
    """(exact, what happened, import seconds)."""
    torch.manual_seed(0)
    src = case.build().eval()
    randomize_batchnorm(src)
    start = time.perf_counter()
    try:
        imported = import_model(src, case.shapes, output=case.output)
    except Exception as exc:  # noqa: BLE001  a benchmark reports every failure and goes on
        return False, f"import failed: {str(exc).splitlines()[0]}", time.perf_counter() - start
    seconds = time.perf_counter() - start
    if imported.problems:
        return False, f"{len(imported.problems)} placeholder(s): " + \
            ", ".join(sorted({p.op for p in imported.problems})), seconds
    model = compile_graph(imported.graph).eval()
    transfer_weights(imported, model)
    inputs = example_inputs(imported.graph, 2, seed=1)
    extra = [None if p.default is p.empty else p.default
             for p in list(inspect.signature(src.forward).parameters.values())[len(inputs):]]
    with torch.no_grad():
        want = src(*inputs, *extra)
        want = want[case.output] if case.output is not None else want
        diff = (want - model(*inputs)).abs().max().item()
    same_count = sum(p.numel() for p in src.parameters()) == sum(p.numel() for p in model.parameters())
    exact = diff <= 1e-5 and same_count
    notes = sorted({w.kind for w in imported.warnings})
    warned = f", warnings: {', '.join(notes)}" if notes else ""
    return exact, f"{len(imported.graph.nodes)} nodes, max diff {diff:.1e}, params equal {same_count}{warned}", seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-timm", action="store_true", help="only the tutorial-idiom models (no timm, torchvision)")
    parser.add_argument("--size", type=int, default=224, help="image size for the ResNet-50 timing")
    args = parser.parse_args()
    cases = list(TUTORIAL_CASES)
    if not args.no_timm:
        try:
            cases += timm_cases()
            load_timm()
        except ImportError:
            print("timm is not installed: tutorial-idiom models only")
            cases = list(TUTORIAL_CASES)
    if not args.no_timm:
        try:
            load_torchvision_models()
            cases += torchvision_cases()
        except ImportError:
            print("torchvision is not installed: no torchvision definitions")
    exact = 0
    for case in cases:
        ok, what, seconds = try_case(case)
        exact += ok
        print(f"{'exact ' if ok else 'FAILED'} {case.name:24s} {seconds:6.2f} s  {what}")
    print(f"imported exactly: {exact} / {len(cases)}")
    if not args.no_timm and any(c.name == "resnet50" for c in cases):
        resnet = load_timm().create_model("resnet50", pretrained=False).eval()
        import_model(resnet, [(3, args.size, args.size)])
        start = time.perf_counter()
        imported = import_model(resnet, [(3, args.size, args.size)])
        seconds = time.perf_counter() - start
        print(f"resnet50 at {args.size}x{args.size}: {len(imported.graph.nodes)} nodes, "
              f"{len(imported.graph.groups)} groups, imported in {seconds:.2f} s (target < 3 s)")


if __name__ == "__main__":
    main()
