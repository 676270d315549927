"""mAP and time of the detection templates trained with their default settings on the built-in digit scenes.

    python benchmarks/detection.py [--templates detector two_stage_detector] [--threads 2] [--epochs N]

Trains each template as shipped (its data, training section and seed) on the CPU and prints the test
split's mAP@0.5 and mAP@[.5:.95], the mean-box baseline's mAP@0.5, and the wall and process CPU time
(on a shared machine the CPU time divided by the threads is the better estimate of an idle 2-core run).
Target: mAP@0.5 >= 0.5 in under 10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.data import load_data  # noqa: E402
from engine.detection.average_precision import mean_average_precision  # noqa: E402
from engine.detection.baseline import mean_box_baseline  # noqa: E402
from engine.detection.postprocess import truth_detections  # noqa: E402
from engine.templates import list_templates, load_project  # noqa: E402
from engine.train.config import TrainingConfig  # noqa: E402
from engine.train.trainer import Trainer  # noqa: E402

TARGET_MAP50, TARGET_SECONDS = 0.5, 600.0


def baseline(graph) -> float:
    data = load_data(graph.data, seed=TrainingConfig.from_dict(graph.training).seed)
    test = truth_detections(data.test.target)
    classes = len(data.class_names)
    return mean_average_precision(mean_box_baseline(truth_detections(data.train.target), len(test), classes),
                                  test, classes).map50


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    wanted = [t for t in ("detector", "two_stage_detector") if t in list_templates()]
    parser.add_argument("--templates", nargs="+", default=wanted)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=0, help="override the template's epochs (0: as shipped)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'template':<22}{'epochs':>7}{'mAP@0.5':>9}{'mAP':>7}{'baseline':>10}{'wall s':>9}{'cpu s':>8}  target")
    for stem in args.templates:
        graph = load_project(stem)
        config = TrainingConfig.from_dict(graph.training)
        if args.epochs:
            config = config.replace(epochs=args.epochs)
        wall, cpu = time.perf_counter(), time.process_time()
        result = Trainer(graph, config, device="cpu").fit()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        head = graph.output_nodes()[-1].name if len(graph.output_nodes()) > 1 else ""
        prefix = f"test_{head}_" if head else "test_"  # a two-stage detector: its final boxes' head
        map50 = result.final[f"{prefix}map50"]
        ok = map50 >= TARGET_MAP50 and min(wall, cpu / args.threads) < TARGET_SECONDS
        print(f"{stem:<22}{result.epochs_done:>7}{map50:>9.3f}{result.final[f'{prefix}map']:>7.3f}"
              f"{baseline(graph):>10.3f}{wall:>9.1f}{cpu:>8.1f}  {'met' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
