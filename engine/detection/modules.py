"""Detection layers as torch modules. Each returns (N, K, 8 + C): per reference box (anchor or proposal) its
coordinates, the predicted box and C class logits, all in input pixels (see engine/detection/losses.py)."""

from __future__ import annotations

import torch
from torch import nn

from engine.detection.anchors import anchor_grid
from engine.detection.boxes import clip, decode


def _tower(channels: int, hidden: int, depth: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Conv2d(channels if i == 0 else hidden, hidden, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers)


class DenseHead(nn.Module):
    """A one-stage head (SSD/RetinaNet-like): at every cell of the feature map, for each of its anchors,
    class logits and box deltas from small conv towers; boxes decoded against the anchors."""

    def __init__(self, in_channels: int, height: int, width: int, num_classes: int, stride: float,
                 sizes: tuple[float, ...], ratios: tuple[float, ...], hidden: int, depth: int) -> None:
        super().__init__()
        self.config = (in_channels, height, width, num_classes, stride, tuple(sizes), tuple(ratios), hidden, depth)
        self.num_classes, self.per_cell = num_classes, len(sizes) * len(ratios)
        self.image_size = (int(height * stride), int(width * stride))
        width_in = hidden if depth else in_channels
        self.cls_tower, self.box_tower = _tower(in_channels, hidden, depth), _tower(in_channels, hidden, depth)
        self.cls = nn.Conv2d(width_in, self.per_cell * num_classes, 3, padding=1)
        self.box = nn.Conv2d(width_in, self.per_cell * 4, 3, padding=1)
        # every box starts at 1 % object probability (bias = -log(0.99 / 0.01)), so the loss of thousands of
        # background boxes does not swamp early training (RetinaNet's prior)
        nn.init.constant_(self.cls.bias, -4.59511985)
        nn.init.zeros_(self.box.bias)
        nn.init.normal_(self.box.weight, std=0.01)
        self.register_buffer("anchors", anchor_grid(height, width, stride, sizes, ratios), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        logits = self.cls(self.cls_tower(x)).permute(0, 2, 3, 1).reshape(n, -1, self.num_classes)
        deltas = self.box(self.box_tower(x)).permute(0, 2, 3, 1).reshape(n, -1, 4)
        anchors = self.anchors.to(deltas.dtype).expand(n, -1, -1)
        boxes = clip(decode(deltas, anchors), self.image_size[0], self.image_size[1])
        return torch.cat((anchors, boxes, logits), -1)
