"""Detection layers as torch modules. Each returns (N, K, 8 + C): per reference box (anchor or proposal) its
coordinates, the predicted box and C class logits, all in input pixels (see engine/detection/losses.py)."""

from __future__ import annotations

import torch
from torch import nn

from engine.detection.anchors import anchor_grid
from engine.detection.boxes import clip, decode
from engine.detection.roi import roi_align, roi_pool


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


class ProposalNetwork(DenseHead):
    """A region proposal network (Ren et al., Faster R-CNN): a dense head with one objectness logit per anchor."""

    def __init__(self, in_channels: int, height: int, width: int, stride: float, sizes: tuple[float, ...],
                 ratios: tuple[float, ...], hidden: int) -> None:
        super().__init__(in_channels, height, width, 1, stride, sizes, ratios, hidden, 1)
        self.config = (in_channels, height, width, stride, tuple(sizes), tuple(ratios), hidden)


def select_proposals(proposals: torch.Tensor, count: int, pre_nms: int, iou_threshold: float) -> torch.Tensor:
    """(N, count, 4) boxes per image: the best-scored `pre_nms`, thinned by a vectorised NMS (a box goes when a
    better one overlaps it by more than iou_threshold, whether or not that one stays), then the best `count`.
    Fixed sizes and no data-dependent loops, so it traces and exports like any layer."""
    scores, boxes = proposals[..., 8].detach(), proposals[..., 4:8].detach()
    top = scores.topk(min(pre_nms, scores.shape[1]), dim=1).indices
    boxes = boxes.gather(1, top[..., None].expand(-1, -1, 4))
    scores = scores.gather(1, top)
    lo = torch.maximum(boxes[:, :, None, :2], boxes[:, None, :, :2])
    hi = torch.minimum(boxes[:, :, None, 2:], boxes[:, None, :, 2:])
    inter = (hi - lo).clamp(min=0).prod(-1)
    area = (boxes[..., 2:] - boxes[..., :2]).clamp(min=0).prod(-1)
    iou = inter / (area[:, :, None] + area[:, None, :] - inter).clamp(min=1e-6)
    suppressed = (torch.triu(iou, diagonal=1) > iou_threshold).any(1)
    scores = scores.masked_fill(suppressed, -1e9)
    keep = scores.topk(min(count, scores.shape[1]), dim=1).indices
    return boxes.gather(1, keep[..., None].expand(-1, -1, 4))


class RoIAlign(nn.Module):
    """Cuts each image's proposals out of the feature map as fixed-size grids (RoI Align or RoI Pool) and hands
    them on flattened, each followed by its proposal box: (N, count, C * size * size + 4)."""

    def __init__(self, count: int, size: int, stride: float, pre_nms: int, iou_threshold: float,
                 pool: bool) -> None:
        super().__init__()
        self.config = (count, size, stride, pre_nms, iou_threshold, pool)
        self.count, self.size, self.scale = count, size, 1.0 / stride
        self.pre_nms, self.iou_threshold, self.pool = pre_nms, iou_threshold, pool

    def forward(self, features: torch.Tensor, proposals: torch.Tensor) -> torch.Tensor:
        boxes = select_proposals(proposals, self.count, self.pre_nms, self.iou_threshold)
        index = torch.ones_like(boxes[..., :1]).cumsum(0) - 1  # each region's image, without a traced batch size
        rois = torch.cat((index, boxes), -1).reshape(-1, 5)
        if self.pool:
            cut = roi_pool(features, rois, (self.size, self.size), self.scale)
        else:
            cut = roi_align(features, rois, (self.size, self.size), self.scale, 2, True)
        return torch.cat((cut.reshape(-1, boxes.shape[1], cut.shape[1] * self.size * self.size), boxes.to(cut.dtype)), -1)


class BoxHead(nn.Module):
    """Fast R-CNN's head: two fully connected layers per proposal, then class logits and box deltas that refine
    the proposal (scaled by 10, 10, 5, 5 as in Faster R-CNN)."""

    def __init__(self, in_features: int, num_classes: int, hidden: int) -> None:
        super().__init__()
        self.config = (in_features, num_classes, hidden)
        self.fc = nn.Sequential(nn.Linear(in_features - 4, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.cls = nn.Linear(hidden, num_classes)
        self.box = nn.Linear(hidden, 4)
        nn.init.constant_(self.cls.bias, -4.59511985)  # 1 % object probability at the start, as in DenseHead
        nn.init.normal_(self.box.weight, std=0.001)
        nn.init.zeros_(self.box.bias)

    def forward(self, rois: torch.Tensor) -> torch.Tensor:
        features, proposals = rois[..., :-4], rois[..., -4:]
        hidden = self.fc(features)
        boxes = decode(self.box(hidden), proposals, (10.0, 10.0, 5.0, 5.0))
        return torch.cat((proposals, boxes, self.cls(hidden)), -1)
