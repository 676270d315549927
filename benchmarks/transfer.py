"""Transfer learning measured: a small CNN pretrained on handwritten digits 0-4, then fine-tuned on digits 5-9
from only a few samples per class with its convolutions frozen, against the same network from scratch.

`python benchmarks/transfer.py [--dataset mnist|digits] [--shots 20] [--epochs 10] [--seeds 0 1 2]
[--threshold 0.8]`

Everything runs through DeepWire: the pretraining is an ordinary run in a temporary run folder; the
fine-tuned network is a project whose `finetune.weights` is that run (a branch: the classifier, `fc` and
`head`, starts afresh through `mapping: {"fc": null, "head": null}`) and whose convolutions are a frozen
group. Both networks see the same `shots` samples of each of the digits 5-9 with the same settings and
are scored every epoch on held-out samples of 5-9. Prints each one's held-out accuracy after the budget
and the epochs it needs to reach `--threshold`. `mnist` is the built-in 28x28 MNIST subset (500 per
class); `digits` is scikit-learn's 8x8 digits, on which 100 samples are enough to learn from scratch.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engine.data.prepared import PreparedData, Split  # noqa: E402
from engine.graph import Graph, Group  # noqa: E402
from engine.runs import create_run  # noqa: E402
from engine.train.trainer import Trainer  # noqa: E402

SETTINGS = {"optimizer": "adam", "lr": 3e-3, "batch_size": 20, "events": {"summaries": False},
            "checkpoint_every_s": 0}


def cnn(name: str, size: int = 8) -> Graph:
    """Conv 16 -> pool -> Conv 32 -> pool -> Dense 64 -> Dense 5 on size x size digits; the convolutions in a group."""
    g = Graph(name=name)
    prev = g.add_node("Input", "image", {"kind": "image", "channels": 1, "height": size, "width": size}).id
    ids = {}
    for type_id, node_name, params in (("Conv2d", "conv1", {"out_channels": 16}), ("ReLU", "relu1", {}),
                                       ("MaxPool2d", "pool1", {}), ("Conv2d", "conv2", {"out_channels": 32}),
                                       ("ReLU", "relu2", {}), ("MaxPool2d", "pool2", {}), ("Flatten", "flat", {}),
                                       ("Dense", "fc", {"units": 64}), ("ReLU", "relu3", {}),
                                       ("Dense", "head", {"units": 5})):
        node = g.add_node(type_id, node_name, params)
        g.connect(prev, node.id)
        prev = ids[node_name] = node.id
    g.connect(prev, g.add_node("Output", "digit", {"task": "multiclass"}).id)
    g.groups.append(Group("g1", "features", [ids[n] for n in ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2")]))
    return g


def images(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """(images scaled to 0..1 as (N, 1, H, W), digit labels) of the built-in `dataset` ('mnist' or 'digits')."""
    from engine.data.builtin import load_builtin

    raw = load_builtin(dataset, {}, "multiclass", 0)
    x = raw.inputs[0].astype(np.float32)
    return x / max(float(x.max()), 1e-6), raw.target.astype(np.int64)


def _data(train: tuple[np.ndarray, np.ndarray], held_out: tuple[np.ndarray, np.ndarray]) -> PreparedData:
    def split(x: np.ndarray, y: np.ndarray) -> Split:
        return Split((torch.from_numpy(x),), torch.from_numpy(y))

    held = split(*held_out)
    return PreparedData(split(*train), held, held, "multiclass", (tuple(train[0].shape[1:]),), ("float32",), (), 5,
                        [str(i) for i in range(5)], {}, (None,), source="digits subset")


def pretrain_data(dataset: str, seed: int, samples: int = 2000) -> PreparedData:
    """Up to `samples` of digits 0-4 to train on, and 200 others to check on."""
    x, y = images(dataset)
    first = np.random.default_rng(seed).permutation(np.flatnonzero(y < 5))
    samples = min(samples, len(first) - 200)  # scikit-learn's digits has about 900 of 0-4
    train, check = first[:samples], first[samples:samples + 200]
    return _data((x[train], y[train]), (x[check], y[check]))


def finetune_data(dataset: str, seed: int, shots: int, held_out: int = 2000) -> PreparedData:
    """`shots` samples of each of the digits 5-9 (as classes 0-4) to train on, and up to `held_out` others."""
    x, y = images(dataset)
    rng = np.random.default_rng(seed + 1000)
    few = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:shots] for c in range(5, 10)])
    rest = rng.permutation(np.setdiff1d(np.flatnonzero(y >= 5), few))[:held_out]
    return _data((x[few], y[few] - 5), (x[rest], y[rest] - 5))


def _train(graph: Graph, data: PreparedData, run_dir: Path | None = None) -> Trainer:
    trainer = Trainer(graph, data=data, run=create_run(graph, run_dir) if run_dir else None)
    trainer.fit()
    return trainer


def pretrain(dataset: str, run_dir: Path, seed: int = 0, epochs: int = 3, samples: int = 2000) -> Trainer:
    """The network trained on digits 0-4, as a run folder under `run_dir` (the parent of the fine-tuned runs)."""
    data = pretrain_data(dataset, seed, samples)
    graph = cnn("digits 0-4", data.input_shapes[0][-1])
    graph.training = {**SETTINGS, "epochs": epochs, "seed": seed, "batch_size": 64}
    return _train(graph, data, run_dir)


def compare(parent: Path, dataset: str, seed: int = 0, shots: int = 20, epochs: int = 10,
            held_out: int = 2000) -> dict:
    """Held-out accuracy per epoch on digits 5-9 of the network branched from the run `parent` (convolutions
    frozen, classifier afresh) and of the same network from scratch: same samples, settings and budget."""
    data = finetune_data(dataset, seed, shots, held_out)
    size = data.input_shapes[0][-1]
    tuned = cnn("digits 5-9 fine-tuned", size)
    tuned.training = {**SETTINGS, "epochs": epochs, "seed": seed}
    tuned.finetune = {"weights": str(parent), "mapping": {"fc": None, "head": None}}
    tuned.groups[0].trainable = False
    fine = _train(tuned, data)
    scratch = cnn("digits 5-9 from scratch", size)
    scratch.training = {**SETTINGS, "epochs": epochs, "seed": seed}
    alone = _train(scratch, data)
    return {"finetuned": [h["val"]["accuracy"] for h in fine.history],
            "scratch": [h["val"]["accuracy"] for h in alone.history],
            "report": fine.finetuning.report.summary(), "frozen": fine.finetuning.counts()[1]}


def epochs_to(curve: list[float], threshold: float) -> int | None:
    return next((i + 1 for i, acc in enumerate(curve) if acc >= threshold), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("mnist", "digits"), default="mnist")
    parser.add_argument("--shots", type=int, default=20, help="training samples per class of digits 5-9")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threshold", type=float, default=0.8, help="held-out accuracy the epoch count is for")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{args.dataset}: digits 5-9 with {args.shots} samples per class, {args.epochs} epochs, held-out accuracy")
    print(f"{'seed':>4}  {'pretrain 0-4':>12}  {'fine-tuned':>10}  {'epochs':>6}  {'scratch':>8}  {'epochs':>6}")
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            parent = pretrain(args.dataset, Path(tmp), seed)
            r = compare(parent.run.path, args.dataset, seed, args.shots, args.epochs)
        r["pretrain"] = parent.history[-1]["val"]["accuracy"]
        need = [epochs_to(r[k], args.threshold) for k in ("finetuned", "scratch")]
        shown = [str(n) if n else f">{args.epochs}" for n in need]
        print(f"{seed:>4}  {r['pretrain']:>12.3f}  {r['finetuned'][-1]:>10.3f}  {shown[0]:>6}  "
              f"{r['scratch'][-1]:>8.3f}  {shown[1]:>6}")
    print(f"(epochs: first epoch at >= {args.threshold:.0%} held-out accuracy; fine-tuned: {r['report']}; "
          f"{r['frozen']:,} frozen parameters)")


if __name__ == "__main__":
    main()
