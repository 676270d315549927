"""Training overhead of DeepWire's Trainer against plain PyTorch and Lightning, measured in one process.

`python benchmarks/train_overhead.py [--epochs N] [--rounds R] [--threads T] [--device D] [--clock wall|cpu]`

For the LeNet template (digits CNN) and the LSTM-classifier template, every peer trains the same
compiled model (same initial weights) on the same prepared data with the same batch size, optimizer
and epochs, and does the same work around the training steps (what a hand-written loop does too):
each epoch the train loss and a validation pass (loss and accuracy); after the last epoch a test pass
(accuracy) and the final weights saved to a file.
  * dataloader: a hand-written loop over torch DataLoaders (shuffled TensorDataset);
  * resident:   a hand-written loop over device-resident tensors (randperm + index_select);
  * lightning:  a LightningModule + pl.Trainer, fit then test, save_checkpoint (skipped with a note when
                pytorch-lightning is missing);
  * resident+fused: the resident loop with torch's fused Adam, the kernel DeepWire picks (shown for
                reference, no target: it tells how much of DeepWire's lead comes from that choice);
  * deepwire:   engine.train.Trainer.fit() with a run folder, events.jsonl, a live listener, gradient and
                activation summaries ON (the defaults): train and validation metrics (loss, accuracy,
                precision, recall, F1 / AUC) every epoch, checkpoints (optimizer and RNG state too) at the
                end and every 30 s, best weights, a test pass and metrics.json.
Each peer runs `rounds` times interleaved, in a rotated order each round; the fastest time of each, divided by the epochs, is compared
(DeepWire's covers all of `fit()`). Prints the seconds per epoch and DeepWire's ratios (targets:
<= 1.0x dataloader, <= 1.05x resident, <= 0.75x lightning). `--clock cpu` measures process CPU time
instead of wall time: steadier on a machine shared with other jobs (CPU device only; it counts
DeepWire's writer and listener threads too).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from engine.compile import compile_graph  # noqa: E402
from engine.data import PreparedData, load_data  # noqa: E402
from engine.device import choose_device  # noqa: E402
from engine.graph import Graph  # noqa: E402
from engine.runs import create_run  # noqa: E402
from engine.templates import load_project  # noqa: E402
from engine.train.config import TrainingConfig  # noqa: E402
from engine.train.trainer import Trainer  # noqa: E402

CASES = (("digits CNN (lenet)", "lenet"), ("LSTM classifier", "lstm_classifier"))
PEERS = {
    "dataloader": "hand-written loop over DataLoaders",
    "resident": "hand-written loop over device-resident tensors",
    "resident+fused": "the resident loop with torch.optim.Adam(fused=True)",
    "lightning": "PyTorch Lightning fit + test + save_checkpoint",
    "deepwire": "Trainer.fit(): events, summaries, full metrics, checkpoints",
}
clock = time.perf_counter


def loss_fn(task: str):
    if task == "binary":
        return lambda out, y: F.binary_cross_entropy_with_logits(out, y.reshape(out.shape))
    return lambda out, y: F.cross_entropy(out, y)


def correct_fn(task: str):
    """Number of right answers in a batch, as a tensor (summed on the device)."""
    if task == "binary":
        return lambda out, y: ((out > 0) == (y.reshape(out.shape) > 0.5)).sum()
    return lambda out, y: (out.argmax(-1) == y).sum()


def model_and_optimizer(graph: Graph, cfg: TrainingConfig, device: torch.device, **adam_options):
    torch.manual_seed(cfg.seed)
    model = compile_graph(graph).to(device)
    return model, torch.optim.Adam(model.parameters(), lr=cfg.lr, **adam_options)


def _evaluate(model, batches, loss, correct, device) -> tuple[float, float]:
    """(summed loss, right answers) over batches of (x, y), without gradients, read back once."""
    model.eval()
    total, right = torch.zeros((), device=device), torch.zeros((), device=device, dtype=torch.long)
    with torch.no_grad():
        for x, y in batches:
            out = model(x)
            total += loss(out, y) * len(y)
            right += correct(out, y)
    model.train()
    return float(total), float(right)


def dataloader_loop(graph, cfg, data: PreparedData, device, epochs: int, folder: Path) -> float:
    model, opt = model_and_optimizer(graph, cfg, device)
    loss, correct = loss_fn(data.task), correct_fn(data.task)
    train = DataLoader(TensorDataset(*data.train.inputs, data.train.target), batch_size=cfg.batch_size, shuffle=True)
    val = DataLoader(TensorDataset(*data.val.inputs, data.val.target), batch_size=cfg.batch_size)
    test = DataLoader(TensorDataset(*data.test.inputs, data.test.target), batch_size=cfg.batch_size)

    def on_device(loader):
        return ((x.to(device), y.to(device)) for x, y in loader)

    start = clock()
    for _ in range(epochs):
        model.train()
        total = torch.zeros((), device=device)
        for x, y in on_device(train):
            batch_loss = loss(model(x), y)
            opt.zero_grad(set_to_none=True)
            batch_loss.backward()
            opt.step()
            total += batch_loss.detach()
        float(total), _evaluate(model, on_device(val), loss, correct, device)
    _evaluate(model, on_device(test), loss, correct, device)
    torch.save(model.state_dict(), folder / "dataloader.pt")
    return (clock() - start) / epochs


def resident_loop(graph, cfg, data: PreparedData, device, epochs: int, folder: Path, **adam_options) -> float:
    model, opt = model_and_optimizer(graph, cfg, device, **adam_options)
    loss, correct = loss_fn(data.task), correct_fn(data.task)
    x, y = data.train.inputs[0].to(device), data.train.target.to(device)
    vx, vy = data.val.inputs[0].to(device), data.val.target.to(device)
    tx, ty = data.test.inputs[0].to(device), data.test.target.to(device)
    bs = cfg.batch_size

    def slices(a, b):
        return ((a[i: i + bs], b[i: i + bs]) for i in range(0, len(b), bs))

    start = clock()
    for _ in range(epochs):
        model.train()
        total = torch.zeros((), device=device)
        order = torch.randperm(len(y), device=device)
        for i in range(0, len(y), bs):
            rows = order[i: i + bs]
            batch_loss = loss(model(x.index_select(0, rows)), y.index_select(0, rows))
            opt.zero_grad(set_to_none=True)
            batch_loss.backward()
            opt.step()
            total += batch_loss.detach()
        float(total), _evaluate(model, slices(vx, vy), loss, correct, device)
    _evaluate(model, slices(tx, ty), loss, correct, device)
    torch.save(model.state_dict(), folder / "resident.pt")
    return (clock() - start) / epochs


def lightning_loop(graph, cfg, data: PreparedData, device, epochs: int, folder: Path) -> float | None:
    try:
        import pytorch_lightning as pl
    except ImportError:
        return None
    import logging

    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    model, _ = model_and_optimizer(graph, cfg, device)
    loss, correct = loss_fn(data.task), correct_fn(data.task)

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = model

        def training_step(self, batch, _index):
            x, y = batch
            value = loss(self.net(x), y)
            self.log("train_loss", value, on_step=False, on_epoch=True)
            return value

        def validation_step(self, batch, _index):
            x, y = batch
            out = self.net(x)
            self.log("val_loss", loss(out, y), on_epoch=True)
            self.log("val_acc", correct(out, y) / len(y), on_epoch=True)

        def test_step(self, batch, _index):
            x, y = batch
            self.log("test_acc", correct(self.net(x), y) / len(y), on_epoch=True)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=cfg.lr)

    train = DataLoader(TensorDataset(*data.train.inputs, data.train.target), batch_size=cfg.batch_size, shuffle=True)
    val = DataLoader(TensorDataset(*data.val.inputs, data.val.target), batch_size=cfg.batch_size)
    test = DataLoader(TensorDataset(*data.test.inputs, data.test.target), batch_size=cfg.batch_size)
    accelerator = {"cuda": "gpu", "mps": "mps"}.get(device.type, "cpu")
    trainer = pl.Trainer(max_epochs=epochs, accelerator=accelerator, devices=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         num_sanity_val_steps=0, default_root_dir=str(folder))
    module = Module()
    start = clock()
    trainer.fit(module, train, val)
    trainer.test(module, test, verbose=False)
    trainer.save_checkpoint(folder / "lightning.ckpt")
    return (clock() - start) / epochs


def deepwire_loop(graph, cfg, data: PreparedData, device, epochs: int, folder: Path) -> float:
    config = cfg.replace(epochs=epochs, schedule="none", device=str(device))
    trainer = Trainer(graph, config, data=data, run=create_run(graph, folder))
    trainer.bus.subscribe(lambda event: None)  # a live listener, as in the editor
    start = clock()
    trainer.fit()
    return (clock() - start) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch's default)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args()
    global clock
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.threads:
        torch.set_num_threads(args.threads)
    device = choose_device(args.device)
    print(f"device {device}, {torch.get_num_threads()} threads, {args.epochs} epochs, best of {args.rounds} rounds, "
          f"{args.clock} clock")
    print("every peer: train loss each epoch, a validation pass (loss, accuracy) each epoch, a test pass and the "
          "final weights saved after the last epoch")
    for name, what in PEERS.items():
        print(f"  {name:14} {what}")
    runners = {"dataloader": dataloader_loop, "resident": resident_loop,
               "resident+fused": lambda *a: resident_loop(*a, fused=True), "lightning": lightning_loop,
               "deepwire": deepwire_loop}
    for title, stem in CASES:
        graph = load_project(stem)
        cfg = TrainingConfig.from_dict(graph.training)
        data = load_data(graph.data, seed=cfg.seed)
        best: dict[str, float | None] = {}
        with tempfile.TemporaryDirectory() as tmp:
            deepwire_loop(graph, cfg, data, device, 1, Path(tmp))  # warm-up (allocator, lazy imports)
            names = list(runners)
            for round_ in range(args.rounds):
                for name in names[round_ % len(names):] + names[: round_ % len(names)]:
                    fn = runners[name]
                    with tempfile.TemporaryDirectory(dir=tmp) as folder:
                        value = fn(graph, cfg, data, device, args.epochs, Path(folder))
                    best[name] = value if value is None or best.get(name) is None else min(best[name], value)
        print(f"\n{title}: {len(data.train)} training samples, batch {cfg.batch_size}")
        for name in runners:
            value = best[name]
            print(f"  {name:14} " + ("not installed (pip install pytorch-lightning)" if value is None
                                     else f"{value * 1000:8.1f} ms/epoch"))
        dw = best["deepwire"]
        targets = {"dataloader": 1.0, "resident": 1.05, "lightning": 0.75, "resident+fused": None}
        for name, target in targets.items():
            if best[name]:
                ratio = dw / best[name]
                verdict = "for reference" if target is None else f"target <= {target}x: {'ok' if ratio <= target else 'MISSED'}"
                print(f"  deepwire / {name:14} = {ratio:.2f}x  ({verdict})")


if __name__ == "__main__":
    main()
