"""The localizer and U-Net templates really learn their task: judged on the test split with plain torch."""

from __future__ import annotations

import torch
from train_helpers import single_thread

from engine.templates import load_project
from engine.train.config import TrainingConfig
from engine.train.trainer import Trainer


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Intersection over union of matching [x_center, y_center, width, height] boxes, one value per row."""
    a_lo, a_hi = a[:, :2] - a[:, 2:] / 2, a[:, :2] + a[:, 2:] / 2
    b_lo, b_hi = b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2
    inter = (torch.minimum(a_hi, b_hi) - torch.maximum(a_lo, b_lo)).clamp(min=0).prod(1)
    return inter / (a[:, 2:].prod(1) + b[:, 2:].prod(1) - inter)


def trained(stem: str, epochs: int) -> tuple[torch.nn.Module, Trainer]:
    graph = load_project(stem)
    trainer = Trainer(graph, TrainingConfig.from_dict(graph.training).replace(epochs=epochs))
    with single_thread():
        trainer.fit()
    return trainer.model.eval(), trainer


def test_box_iou_of_known_boxes():
    a = torch.tensor([[0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2], [0.2, 0.2, 0.1, 0.1]])
    b = torch.tensor([[0.5, 0.5, 0.2, 0.2], [0.6, 0.5, 0.2, 0.2], [0.8, 0.8, 0.1, 0.1]])
    assert torch.allclose(box_iou(a, b), torch.tensor([1.0, 1 / 3, 0.0]))


def test_localizer_boxes_overlap_the_digits_far_better_than_the_mean_box():
    model, trainer = trained("localizer", epochs=5)
    test = trainer.data.test
    with torch.no_grad():
        pred = model(test.inputs[0]).float()
    assert ((pred >= 0) & (pred <= 1)).all()  # the Sigmoid head keeps boxes in the normalised range
    mean_box = trainer.data.train.target.mean(0, keepdim=True).expand_as(test.target)
    baseline = box_iou(mean_box, test.target).mean()
    iou = box_iou(pred, test.target).mean()
    assert baseline < 0.4 and iou > 0.6 and iou > baseline + 0.3, (iou, baseline)


def test_unet_segments_squares_and_discs_beyond_the_background_only_guess():
    model, trainer = trained("unet", epochs=5)
    test = trainer.data.test
    with torch.no_grad():
        pred = model(test.inputs[0]).argmax(-1)
    truth = test.target
    assert pred.shape == truth.shape == (len(test), 16, 16)
    background_only = (truth == 0).float().mean()
    assert (pred == truth).float().mean() > background_only + 0.1
    for c in (1, 2):  # square, disc: intersection over union of the class's pixels
        iou = ((pred == c) & (truth == c)).sum() / ((pred == c) | (truth == c)).sum()
        assert iou > 0.4, (c, iou)
