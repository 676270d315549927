"""Every shipped template trains out of the box: one epoch with its own data and training sections."""

from __future__ import annotations

import math

import pytest
from train_helpers import single_thread

from engine.templates import list_templates, load_project
from engine.train.config import TrainingConfig
from engine.train.trainer import Trainer


@pytest.mark.parametrize("stem", list_templates())
def test_template_trains_one_epoch(stem):
    graph = load_project(stem)
    config = TrainingConfig.from_dict(graph.training).replace(epochs=1)
    with single_thread():
        result = Trainer(graph, config).fit()
    assert result.epochs_done == 1 and result.reason == "completed"
    assert math.isfinite(result.final["train_loss"]) and math.isfinite(result.final["val_loss"])
