"""Run under torchrun by test_train_ddp: trains the iris MLP and saves this rank's final weights."""

import os
import sys

import torch
from safetensors.torch import save_file
from train_helpers import iris_mlp

from engine.runs import create_run
from engine.train.trainer import Trainer

torch.set_num_threads(1)
out = sys.argv[1]
rank = int(os.environ["RANK"])
graph = iris_mlp({"epochs": 3, "batch_size": 16, "lr": 0.01})
trainer = Trainer(graph, run=create_run(graph, os.path.join(out, "runs")) if rank == 0 else None)
result = trainer.fit()
save_file({k: v.contiguous() for k, v in trainer.model.state_dict().items()}, os.path.join(out, f"rank{rank}.safetensors"))
print(f"rank {rank} world {trainer.dist.world_size} steps {trainer.step} val_loss {result.final['val_loss']:.6f}")
