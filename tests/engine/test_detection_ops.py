"""Detection ops in plain torch against hand-computed values; mAP against pycocotools."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.detection import boxes as B
from engine.detection.anchors import anchor_grid, cell_anchors
from engine.detection.average_precision import Detections, mean_average_precision
from engine.detection.nms import batched_nms, nms
from engine.detection.roi import roi_align, roi_pool


def test_iou_and_giou_of_hand_drawn_boxes():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0], [4.0, 0.0, 6.0, 2.0]])
    # overlap 1, union 7; identical; disjoint
    assert B.box_iou(a, b)[0].tolist() == pytest.approx([1 / 7, 1.0, 0.0])
    # hull of the first pair is 3x3=9: 1/7 - (9-7)/9; the disjoint pair's hull is 6x2=12, union 8
    assert B.generalized_iou(a, b)[0].tolist() == pytest.approx([1 / 7 - 2 / 9, 1.0, -4 / 12])
    assert B.paired_giou(a.expand(3, 4), b).tolist() == pytest.approx([1 / 7 - 2 / 9, 1.0, -4 / 12])


def test_encode_gives_hand_computed_deltas_and_decode_inverts_it():
    anchor = torch.tensor([[0.0, 0.0, 10.0, 20.0]])  # centre (5, 10), 10 x 20
    box = torch.tensor([[2.0, 4.0, 22.0, 14.0]])  # centre (12, 9), 20 x 10
    deltas = B.encode(box, anchor)
    assert deltas[0].tolist() == pytest.approx([0.7, -0.05, math.log(2), math.log(0.5)])
    weighted = B.encode(box, anchor, (10.0, 10.0, 5.0, 5.0))
    assert weighted[0].tolist() == pytest.approx([7.0, -0.5, 5 * math.log(2), 5 * math.log(0.5)])
    assert B.decode(weighted, anchor, (10.0, 10.0, 5.0, 5.0))[0].tolist() == pytest.approx(box[0].tolist())
    g = torch.Generator().manual_seed(0)
    many = torch.rand(50, 4, generator=g) * 5
    anchors = torch.cat([torch.rand(50, 2, generator=g) * 10, torch.rand(50, 2, generator=g) * 10 + 11], 1)
    assert torch.allclose(B.encode(B.decode(many * 0.1, anchors), anchors), many * 0.1, atol=1e-5)


def test_nms_keeps_the_best_of_each_overlapping_cluster():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9.0], [21, 20, 30, 30]],
                         dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95, 0.6])
    # IoU(0,1) = 81/119 = 0.68; IoU(3,0) = 0.9; IoU(2,4) = 0.9
    assert nms(boxes, scores, 0.5).tolist() == [3, 2]
    assert nms(boxes, scores, 0.7).tolist() == [3, 1, 2]  # box 1 overlaps box 3 by 72/119 < 0.7
    assert nms(boxes, scores, 0.95).tolist() == [3, 0, 1, 2, 4]
    assert nms(boxes[:0], scores[:0], 0.5).tolist() == []


def test_batched_nms_never_suppresses_across_classes():
    boxes = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 10], [0, 1, 10, 10.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert sorted(batched_nms(boxes, scores, torch.tensor([0, 1, 0]), 0.5).tolist()) == [0, 1]
    assert batched_nms(boxes, scores, torch.tensor([0, 1, 2]), 0.5).tolist() == [0, 1, 2]


def test_roi_align_of_a_linear_ramp_is_the_ramp_at_each_bin_centre():
    # f(y, x) = x + 10 y at pixel centres (x + 0.5, y + 0.5): bilinear sampling reproduces it exactly inside
    h, w = 6, 8
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    features = torch.stack([xs + 10 * ys, 2 * (xs + 10 * ys)])[None]
    rois = torch.tensor([[0.0, 1.0, 1.0, 5.0, 3.0]])  # a 4 x 2 box, 2 x 2 bins of 2 x 1 pixels
    out = roi_align(features, rois, (2, 2), sampling_ratio=2, aligned=True)
    # aligned: pixel coordinate = box coordinate - 0.5; bin centres at x = 2, 4 and y = 1.5, 2.5 (box coords)
    want = torch.tensor([[2 - 0.5 + 10 * (1.5 - 0.5), 4 - 0.5 + 10 * (1.5 - 0.5)],
                         [2 - 0.5 + 10 * (2.5 - 0.5), 4 - 0.5 + 10 * (2.5 - 0.5)]])
    assert torch.allclose(out[0, 0], want) and torch.allclose(out[0, 1], 2 * want)
    # spatial scale halves the box; the image index picks the second image
    two = torch.cat([torch.zeros_like(features), features])
    scaled = roi_align(two, torch.tensor([[1.0, 2.0, 2.0, 10.0, 6.0]]), (2, 2), spatial_scale=0.5)
    assert torch.allclose(scaled, out)


def test_roi_align_outside_the_map_is_zero_and_at_the_edge_it_clamps():
    features = torch.ones(1, 1, 4, 4)
    far = roi_align(features, torch.tensor([[0.0, 10.0, 10.0, 12.0, 12.0]]), (1, 1), sampling_ratio=1)
    assert far.item() == 0.0
    edge = roi_align(features, torch.tensor([[0.0, 3.0, 3.0, 4.5, 4.5]]), (1, 1), sampling_ratio=1)
    assert edge.item() == pytest.approx(1.0)


def test_roi_pool_takes_the_max_of_each_bin():
    features = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4)
    out = roi_pool(features, torch.tensor([[0.0, 0.0, 0.0, 3.0, 3.0]]), (2, 2))
    assert out[0, 0].tolist() == [[5.0, 7.0], [13.0, 15.0]]
    one = roi_pool(features, torch.tensor([[0.0, 1.0, 1.0, 2.0, 2.0]]), (1, 1))
    assert one.item() == 10.0


def test_anchors_are_centred_on_cells_with_the_asked_sizes_and_ratios():
    base = cell_anchors((4.0,), (1.0, 4.0))
    assert base.tolist() == [[-2, -2, 2, 2], [-1, -4, 1, 4]]
    grid = anchor_grid(2, 3, 8.0, (4.0,), (1.0, 4.0))
    assert grid.shape == (12, 4)
    assert grid[0].tolist() == [2, 2, 6, 6] and grid[1].tolist() == [3, 0, 5, 8]
    assert grid[2].tolist() == [10, 2, 14, 6]  # next cell to the right, stride 8
    assert grid[6].tolist() == [2, 10, 6, 14]  # first cell of the second row


def _random_scene(rng: np.random.Generator, classes: int) -> tuple[Detections, Detections]:
    n = int(rng.integers(0, 6))
    xy = rng.uniform(0, 80, (n, 2))
    gt = np.concatenate([xy, xy + rng.uniform(5, 30, (n, 2))], 1)
    labels = rng.integers(0, classes, n)
    jitter = gt + rng.normal(0, 3, gt.shape)
    jitter = np.concatenate([np.minimum(jitter[:, :2], jitter[:, 2:]), np.maximum(jitter[:, :2], jitter[:, 2:])], 1)
    extra_xy = rng.uniform(0, 80, (3, 2))
    extra = np.concatenate([extra_xy, extra_xy + rng.uniform(5, 30, (3, 2))], 1)
    boxes = np.concatenate([jitter, extra])
    pred_labels = np.concatenate([np.where(rng.random(n) < 0.8, labels, rng.integers(0, classes, n)),
                                  rng.integers(0, classes, 3)])
    return Detections(boxes, pred_labels, rng.random(len(boxes))), Detections(gt, labels)


def _pycocotools_map(predictions: list[Detections], truths: list[Detections], classes: int) -> tuple:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def xywh(b: np.ndarray) -> list[float]:
        return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]

    images, anns, dets = [], [], []
    for i, (pred, truth) in enumerate(zip(predictions, truths, strict=True)):
        images.append({"id": i, "width": 120, "height": 120})
        for box, label in zip(truth.boxes, truth.labels, strict=True):
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": int(label), "bbox": xywh(box),
                         "area": float((box[2] - box[0]) * (box[3] - box[1])), "iscrowd": 0})
        for box, label, score in zip(pred.boxes, pred.labels, pred.scores, strict=True):
            dets.append({"image_id": i, "category_id": int(label), "bbox": xywh(box), "score": float(score)})
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": c} for c in range(classes)]}
    gt.createIndex()
    ev = COCOeval(gt, gt.loadRes(dets), "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    precision = ev.eval["precision"][:, :, :, 0, 2]  # (T, R, K) at area 'all', 100 detections
    per_class = [float(np.mean(precision[:, :, k][precision[:, :, k] > -1])) for k in range(classes)
                 if (precision[:, :, k] > -1).any()]
    return ev.stats[0], ev.stats[1], ev.stats[2], per_class


def test_mean_average_precision_equals_pycocotools(capsys):
    rng = np.random.default_rng(3)
    classes = 4
    scenes = [_random_scene(rng, classes) for _ in range(40)]
    predictions, truths = [s[0] for s in scenes], [s[1] for s in scenes]
    ours = mean_average_precision(predictions, truths, classes)
    coco_map, coco_50, coco_75, coco_per_class = _pycocotools_map(predictions, truths, classes)
    capsys.readouterr()
    assert 0.1 < ours.map50 < 0.95
    assert ours.map == pytest.approx(coco_map, abs=1e-9)
    assert ours.map50 == pytest.approx(coco_50, abs=1e-9)
    assert ours.map75 == pytest.approx(coco_75, abs=1e-9)
    assert [r["ap"] for r in ours.per_class] == pytest.approx(coco_per_class, abs=1e-9)


def test_perfect_predictions_score_one_and_a_class_without_truth_is_left_out():
    truth = Detections(np.array([[0, 0, 10, 10], [20, 20, 40, 30.0]]), np.array([0, 2]))
    perfect = Detections(truth.boxes, truth.labels, np.array([0.9, 0.8]))
    result = mean_average_precision([perfect], [truth], 3)
    assert result.map == pytest.approx(1.0) and [r["class"] for r in result.per_class] == [0, 2]
    nothing = mean_average_precision([Detections(np.zeros((0, 4)), np.zeros(0, int), np.zeros(0))], [truth], 3)
    assert nothing.map == 0.0 and nothing.pr50[0].max() == 0.0
