"""Training overhead of DeepWire's Trainer against plain PyTorch and Lightning, measured in one process.

`python benchmarks/train_overhead.py [--epochs N] [--rounds R] [--threads T] [--device D]`

For the LeNet template (digits CNN) and the LSTM-classifier template, every peer trains the same
compiled model (same initial weights) on the same prepared data with the same batch size, optimizer
and epochs, and evaluates the validation split after each epoch:
  * dataloader: a hand-written loop over torch DataLoaders (shuffled TensorDataset);
  * resident:   a hand-written loop over device-resident tensors (randperm + index_select);
  * lightning:  a LightningModule + pl.Trainer (skipped with a note when pytorch-lightning is missing);
  * deepwire:   engine.train.Trainer with a run folder, events.jsonl, checkpoints, gradient and
                activation summaries ON (the defaults).
Each peer runs `rounds` times interleaved; the fastest epoch time of each is compared. Prints the
seconds per epoch and DeepWire's ratios (targets: <= 1.0x dataloader, <= 1.05x resident, <= 0.75x lightning).
`--clock cpu` measures process CPU time instead of wall time: steadier on a machine shared with other
jobs (CPU device only; it counts DeepWire's writer and listener threads too). DeepWire's time covers
all of `fit()`: its final test evaluation and last checkpoint included.
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
clock = time.perf_counter


def loss_fn(task: str):
    if task == "binary":
        return lambda out, y: F.binary_cross_entropy_with_logits(out, y.reshape(out.shape))
    return lambda out, y: F.cross_entropy(out, y)


def model_and_optimizer(graph: Graph, cfg: TrainingConfig, device: torch.device):
    torch.manual_seed(cfg.seed)
    model = compile_graph(graph).to(device)
    return model, torch.optim.Adam(model.parameters(), lr=cfg.lr)


def dataloader_loop(graph, cfg, data: PreparedData, device, epochs: int) -> float:
    model, opt = model_and_optimizer(graph, cfg, device)
    loss = loss_fn(data.task)
    train = DataLoader(TensorDataset(*data.train.inputs, data.train.target), batch_size=cfg.batch_size, shuffle=True)
    val = DataLoader(TensorDataset(*data.val.inputs, data.val.target), batch_size=cfg.batch_size)
    start = clock()
    for _ in range(epochs):
        model.train()
        total = torch.zeros((), device=device)
        for x, y in train:
            x, y = x.to(device), y.to(device)
            batch_loss = loss(model(x), y)
            opt.zero_grad(set_to_none=True)
            batch_loss.backward()
            opt.step()
            total += batch_loss.detach()
        model.eval()
        with torch.no_grad():
            val_loss = sum(loss(model(x.to(device)), y.to(device)) for x, y in val)
        float(total), float(val_loss)
    return (clock() - start) / epochs


def resident_loop(graph, cfg, data: PreparedData, device, epochs: int) -> float:
    model, opt = model_and_optimizer(graph, cfg, device)
    loss = loss_fn(data.task)
    x, y = data.train.inputs[0].to(device), data.train.target.to(device)
    vx, vy = data.val.inputs[0].to(device), data.val.target.to(device)
    bs = cfg.batch_size
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
        model.eval()
        with torch.no_grad():
            val_loss = sum(loss(model(vx[i: i + bs]), vy[i: i + bs]) for i in range(0, len(vy), bs))
        float(total), float(val_loss)
    return (clock() - start) / epochs


def lightning_loop(graph, cfg, data: PreparedData, device, epochs: int) -> float | None:
    try:
        import pytorch_lightning as pl
    except ImportError:
        return None
    import logging

    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    model, _ = model_and_optimizer(graph, cfg, device)
    loss = loss_fn(data.task)

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
            self.log("val_loss", loss(self.net(x), y), on_epoch=True)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=cfg.lr)

    train = DataLoader(TensorDataset(*data.train.inputs, data.train.target), batch_size=cfg.batch_size, shuffle=True)
    val = DataLoader(TensorDataset(*data.val.inputs, data.val.target), batch_size=cfg.batch_size)
    accelerator = {"cuda": "gpu", "mps": "mps"}.get(device.type, "cpu")
    trainer = pl.Trainer(max_epochs=epochs, accelerator=accelerator, devices=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         num_sanity_val_steps=0)
    start = clock()
    trainer.fit(Module(), train, val)
    return (clock() - start) / epochs


def deepwire_loop(graph, cfg, data: PreparedData, device, epochs: int) -> float:
    config = cfg.replace(epochs=epochs, schedule="none", device=str(device))
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(graph, config, data=data, run=create_run(graph, tmp))
        trainer.bus.subscribe(lambda event: None)  # a live listener, as in the editor
        start = clock()
        trainer.fit()
        return (clock() - start) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
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
    for title, stem in CASES:
        graph = load_project(stem)
        cfg = TrainingConfig.from_dict(graph.training)
        data = load_data(graph.data, seed=cfg.seed)
        peers = {"dataloader": dataloader_loop, "resident": resident_loop, "lightning": lightning_loop,
                 "deepwire": deepwire_loop}
        best: dict[str, float | None] = {}
        deepwire_loop(graph, cfg, data, device, 1)  # warm-up (allocator, lazy imports)
        for _ in range(args.rounds):
            for name, fn in peers.items():
                value = fn(graph, cfg, data, device, args.epochs)
                best[name] = value if value is None or best.get(name) is None else min(best[name], value)
        print(f"\n{title}: {len(data.train)} training samples, batch {cfg.batch_size}")
        for name, value in best.items():
            print(f"  {name:10} " + ("not installed (pip install pytorch-lightning)" if value is None
                                     else f"{value * 1000:8.1f} ms/epoch"))
        dw = best["deepwire"]
        targets = {"dataloader": 1.0, "resident": 1.05, "lightning": 0.75}
        for name, target in targets.items():
            if best[name]:
                ratio = dw / best[name]
                print(f"  deepwire / {name:10} = {ratio:.2f}x  (target <= {target}x: {'ok' if ratio <= target else 'MISSED'})")


if __name__ == "__main__":
    main()
