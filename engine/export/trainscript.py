"""`train.py` beside an exported `model.py`: the project's training configuration in plain PyTorch (torchrun-ready)."""

from __future__ import annotations

from engine import finetune
from engine.export.constructors import literal
from engine.graph import Graph
from engine.train.config import TrainingConfig
from engine.train.losses import default_loss
from engine.validate import validate

KEYS = ("optimizer", "lr", "momentum", "nesterov", "betas", "weight_decay", "schedule", "step_size", "gamma",
        "min_lr", "warmup_epochs", "epochs", "batch_size", "clip", "clip_value", "seed", "label_smoothing",
        "huber_delta", "margin")

TEMPLATE = '''"""Train {cls} with the training configuration of its DeepWire project, in plain PyTorch.

    python train.py --data data.npz [--epochs N] [--out trained.safetensors]
    torchrun --nproc_per_node=2 train.py --data data.npz

data.npz holds raw (un-normalized) arrays: x (or x0, x1, ... for a model with several inputs) and y,
the targets (class ids, 0/1 labels or values; an autoencoder needs no y). The inputs are normalized
with the statistics in model.PREPROCESSING, exactly as DeepWire did while training.
"""

import argparse
import math
import os

import numpy as np
import torch
import torch.distributed as dist
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from model import PREPROCESSING, {cls}, normalize, preprocess

CONFIG = {config}
LOSS = {loss}
DATA_TASK = {data_task}
FROZEN_STAGES = {stages}
"""Submodules frozen in the DeepWire project (their weights do not train, their normalization keeps its
statistics): the first list, then one list per step of progressive unfreezing."""
UNFREEZE_EVERY = {unfreeze_every}
"""Progressive unfreezing as in DeepWire: every N epochs the next list of FROZEN_STAGES applies (0 = off)."""
LR_MULT = {lr_mult}
"""Submodules whose learning rate is CONFIG["lr"] times this (the project's per-node multipliers)."""
START = {start}
"""Weights to start from (beside this file) unless --init says otherwise; None = fresh weights."""


def loss_fn(out, y):
    """The project's loss ({loss_doc})."""
    if LOSS == "cross_entropy":
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1).long(),
                               label_smoothing=CONFIG["label_smoothing"])
    y = y.reshape(out.shape).to(out.dtype) if LOSS != "contrastive" else y.reshape(-1).to(out.dtype)
    if LOSS == "bce":
        return F.binary_cross_entropy_with_logits(out, y)
    if LOSS == "contrastive":
        d = out.reshape(-1)
        return (y * d.square() + (1 - y) * F.relu(CONFIG["margin"] - d).square()).mean()
    if LOSS == "mae":
        return F.l1_loss(out, y)
    if LOSS == "huber":
        return F.huber_loss(out, y, delta=CONFIG["huber_delta"])
    return F.mse_loss(out, y)


def frozen_at(epoch):
    """The submodules frozen during epoch `epoch` (counted from 0)."""
    stage = min(epoch // UNFREEZE_EVERY, len(FROZEN_STAGES) - 1) if UNFREEZE_EVERY else 0
    return FROZEN_STAGES[stage]


def set_frozen(model, frozen):
    """requires_grad off for the weights of the submodules `frozen`, on for all others."""
    for name, module in model.named_children():
        for p in module.parameters():
            p.requires_grad_(name not in frozen)


def param_groups(model):
    """The weights grouped by learning-rate multiplier: the trainable ones, plus the frozen ones a later
    unfreezing step thaws (they get no gradient, so no optimizer state, while frozen)."""
    groups = {{}}
    for name, module in model.named_children():
        for p in module.parameters():
            if p.requires_grad or len(FROZEN_STAGES) > 1:
                groups.setdefault(LR_MULT.get(name, 1.0), []).append(p)
    return [{{"params": ps, "lr_mult": mult}} for mult, ps in groups.items()]


def hold_frozen_norms(model, frozen):
    """Normalization layers in frozen submodules normalize with their stored statistics while training."""
    for name in frozen:
        for m in getattr(model, name).modules():
            if isinstance(m, torch.nn.modules.batchnorm._NormBase):
                m.eval()


def make_optimizer(params):
    c = CONFIG
    if c["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=c["lr"], momentum=c["momentum"], nesterov=c["nesterov"],
                               weight_decay=c["weight_decay"])
    if c["optimizer"] == "rmsprop":
        return torch.optim.RMSprop(params, lr=c["lr"], momentum=c["momentum"], weight_decay=c["weight_decay"])
    cls = torch.optim.AdamW if c["optimizer"] == "adamw" else torch.optim.Adam
    return cls(params, lr=c["lr"], betas=tuple(c["betas"]), weight_decay=c["weight_decay"])


def learning_rate(step, steps_per_epoch):
    """Linear warm-up, then the schedule (reduce-on-plateau keeps the base rate here)."""
    c = CONFIG
    warmup = c["warmup_epochs"] * steps_per_epoch
    if step < warmup:
        return c["lr"] * (step + 1) / warmup
    progress = min((step - warmup) / max(c["epochs"] * steps_per_epoch - warmup, 1), 1.0)
    if c["schedule"] == "step":
        return c["lr"] * c["gamma"] ** ((step // steps_per_epoch - c["warmup_epochs"]) // c["step_size"])
    if c["schedule"] == "cosine":
        return c["min_lr"] + (c["lr"] - c["min_lr"]) * 0.5 * (1 + math.cos(math.pi * progress))
    if c["schedule"] == "one_cycle":
        start, end = c["lr"] / 25, c["lr"] / 1e4
        if progress < 0.3:
            return start + (c["lr"] - start) * (1 - math.cos(math.pi * progress / 0.3)) / 2
        return end + (c["lr"] - end) * (1 + math.cos(math.pi * (progress - 0.3) / 0.7)) / 2
    return c["lr"]


def load_data(path):
    """(inputs..., target) tensors from a .npz of raw arrays, preprocessed as the model expects."""
    arrays = np.load(path)
    count = len(PREPROCESSING["inputs"])
    names = ["x"] if count == 1 and "x" in arrays else [f"x{{i}}" for i in range(count)]
    inputs = [preprocess(arrays[name], i) for i, name in enumerate(names)]
    if DATA_TASK == "autoencoder":
        return (*inputs, inputs[0])
    y = torch.as_tensor(arrays["y"])
    y = y.long() if LOSS == "cross_entropy" else y.float()
    if "target" in PREPROCESSING["normalization"]:
        y = normalize(PREPROCESSING["normalization"]["target"], y)
    return (*inputs, y)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help=".npz file with x (or x0, x1, ...) and y")
    parser.add_argument("--epochs", type=int, default=CONFIG["epochs"])
    parser.add_argument("--out", default="trained.safetensors", help="where to save the trained weights")
    parser.add_argument("--init", default=START and os.path.join(os.path.dirname(os.path.abspath(__file__)), START),
                        help="weights to start from (default: %(default)s)")
    args = parser.parse_args()
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if distributed else 0
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    torch.manual_seed(CONFIG["seed"])
    model = {cls}()
    if args.init:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(args.init))
    model = model.to(device)
    frozen = frozen_at(0)
    set_frozen(model, frozen)
    groups = param_groups(model)
    net = DistributedDataParallel(model) if distributed else model
    dataset = TensorDataset(*load_data(args.data))
    sampler = DistributedSampler(dataset, shuffle=True, seed=CONFIG["seed"]) if distributed else None
    loader = DataLoader(dataset, batch_size=CONFIG["batch_size"], shuffle=sampler is None, sampler=sampler)
    optimizer = make_optimizer(groups)
    step = 0
    for epoch in range(args.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        if frozen_at(epoch) != frozen:
            thawed = sorted(set(frozen) - set(frozen_at(epoch)))
            frozen = frozen_at(epoch)
            set_frozen(model, frozen)
            if distributed:  # DDP registers the trainable weights when it is built
                net = DistributedDataParallel(model)
            if rank == 0:
                print(f"epoch {{epoch + 1}}: unfroze {{', '.join(thawed)}}", flush=True)
        net.train()
        hold_frozen_norms(model, frozen)
        total, seen = 0.0, 0
        for *inputs, y in loader:
            inputs, y = [x.to(device) for x in inputs], y.to(device)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, len(loader)) * group["lr_mult"]
            out = net(*inputs)
            loss = loss_fn(out[0] if isinstance(out, tuple) else out, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if CONFIG["clip"] == "norm":
                torch.nn.utils.clip_grad_norm_(model.parameters(), CONFIG["clip_value"])
            elif CONFIG["clip"] == "value":
                torch.nn.utils.clip_grad_value_(model.parameters(), CONFIG["clip_value"])
            optimizer.step()
            total, seen, step = total + loss.item() * len(y), seen + len(y), step + 1
        if rank == 0:
            print(f"epoch {{epoch + 1}}/{{args.epochs}}  loss {{total / max(seen, 1):.4f}}", flush=True)
    if rank == 0:
        from safetensors.torch import save_file

        save_file({{k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}}, args.out)
        print(f"saved {{args.out}}")
    if distributed:
        del net  # the DDP reducer must go before its process group
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''


def train_source(graph: Graph, cls: str, targets: dict[str, str] | None = None) -> str:
    """The text of `train.py` for the exported class `cls` (defined in `model.py` beside it); `targets` (node
    id: submodule) carries the project's frozen nodes and learning-rate multipliers over."""
    config = TrainingConfig.from_dict(graph.training)
    data_task = graph.data.get("task") or "supervised"
    outputs = graph.output_nodes()
    detection = data_task == "detection" or any(o.params.get("task") == "detection" for o in outputs)
    if detection or data_task == "multitask" or (len(outputs) > 1 and data_task != "gan"):
        return _unsupported(cls, "detection" if detection else "multi-output")
    loss = config.loss
    if loss == "auto":
        head = graph.incoming(outputs[0].id)
        head_type = graph.nodes[head[0].src].type if head else ""
        loss = default_loss(outputs[0].params["task"], data_task, head_type)
    if data_task == "gan":
        return _unsupported(cls, data_task)
    values = config.to_dict()
    body = "{\n" + "".join(f"    {literal(k)}: {literal(values[k])},\n" for k in KEYS) + "}"
    targets = targets or {}
    stages = [sorted({targets[n] for n in ids if n in targets})
              for ids in finetune.unfreeze_stages(graph, validate(graph).param_counts)]
    every = finetune.config(graph).unfreeze_every if len(stages) > 1 else 0
    mults = {targets[n]: m for n, m in finetune.lr_mults(graph).items() if n in targets and m != 1.0}
    start = "model.safetensors" if stages[0] or finetune.config(graph).weights else None
    lr_mult = "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in sorted(mults.items())) + "}"
    return TEMPLATE.format(cls=cls, config=body, loss=literal(loss), loss_doc=loss, data_task=literal(data_task),
                           stages=literal(stages), unfreeze_every=every, lr_mult=lr_mult, start=literal(start))


def _unsupported(cls: str, data_task: str) -> str:
    return (f'"""Training of {cls}: DeepWire trains {data_task} projects with its own loop; '
            'this export does not reproduce it."""\n\nraise SystemExit("train this project with `deepwire train`")\n')
