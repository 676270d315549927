"""Run under torchrun by test_train_ddp: trains the iris MLP (with `finetune`, its first layer frozen, then
unfrozen; with `gan`, a GAN with BatchNorm instead) and saves this rank's final weights and buffers."""

import os
import sys

import torch
from safetensors.torch import save_file
from train_helpers import gan, iris_mlp

from engine.runs import create_run
from engine.train.trainer import Trainer

torch.set_num_threads(1)
out = sys.argv[1]
rank = int(os.environ["RANK"])
if sys.argv[2:] == ["gan"]:
    graph = gan({"epochs": 2, "batch_size": 64, "lr": 0.002, "betas": [0.5, 0.999]}, batchnorm=True)
else:
    graph = iris_mlp({"epochs": 3, "batch_size": 16, "lr": 0.01})
    if sys.argv[2:] == ["finetune"]:  # frozen for two epochs, then thawed: DDP must sync its gradients too
        graph.by_name("dense1").trainable = False
        graph.finetune = {"unfreeze_every": 2}
trainer = Trainer(graph, run=create_run(graph, os.path.join(out, "runs")) if rank == 0 else None)
result = trainer.fit()
save_file({k: v.contiguous() for k, v in trainer.model.state_dict().items()}, os.path.join(out, f"rank{rank}.safetensors"))
with open(os.path.join(out, f"rank{rank}.txt"), "w") as f:  # a file each: both ranks share one stdout
    f.write(f"rank {rank} world {trainer.dist.world_size} steps {trainer.step} val_loss {result.final['val_loss']:.6f}")
