"""Optimizers by name: torch's fastest kernel for the device, with the same updates as torch's defaults."""

from __future__ import annotations

import pytest
import torch

from engine.train.config import TrainingConfig
from engine.train.optim import make_optimizer

PLAIN = {
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda ps: torch.optim.Adam(ps, lr=0.05, weight_decay=1e-3),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=1e-3),
    "rmsprop": lambda ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0.9, weight_decay=1e-3),
}


def _train(model: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int = 25) -> None:
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(16, 4, generator=gen)
        loss = (model(x) - x.sum(1, keepdim=True)).square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_each_optimizer_updates_like_torchs_default_implementation(name):
    lr = 0.01 if name == "rmsprop" else 0.05
    cfg = TrainingConfig.from_dict({"optimizer": name, "lr": lr, "momentum": 0.9, "nesterov": name == "sgd",
                                    "weight_decay": 1e-3})
    torch.manual_seed(0)
    ours = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    plain = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    plain.load_state_dict(ours.state_dict())
    start = ours[0].weight.detach().clone()
    optimizer = make_optimizer(ours.parameters(), cfg)
    fast = optimizer.defaults.get("fused") or optimizer.defaults.get("foreach")
    assert fast, f"{name} should use a fused or multi-tensor kernel, got {optimizer.defaults}"
    _train(ours, optimizer)
    _train(plain, PLAIN[name](list(plain.parameters())))
    for a, b in zip(ours.parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert (ours[0].weight - start).abs().max() > 1e-3


def test_adam_is_fused_on_cpu_and_frozen_parameters_are_left_out():
    model = torch.nn.Linear(3, 2)
    model.bias.requires_grad_(False)
    optimizer = make_optimizer(model.parameters(), TrainingConfig.from_dict({"optimizer": "adam"}))
    assert optimizer.defaults["fused"] is True
    assert optimizer.param_groups[0]["params"] == [model.weight]
