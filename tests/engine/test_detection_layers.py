"""Detection layer specs and the built-in detection data: documented, shaped, trained on, exported."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.data.load import load_data
from engine.detection.anchors import anchor_grid
from engine.detection.losses import BACKGROUND, IGNORE, detection_loss, match, sample
from engine.errors import TrainingError
from engine.graph import Graph
from engine.layers.registry import CATEGORY_ORDER, get_spec
from engine.layers.spec import Params
from engine.validate import validate

DETECTION_TYPES = ["DenseDetectionHead", "RegionProposalNetwork", "RoIAlign", "BoxHead"]


def _params(type_id: str, **overrides) -> Params:
    values = {**get_spec(type_id).defaults(), **overrides}
    return Params({k: get_spec(type_id).param(k).coerce(v) for k, v in values.items()})


@pytest.mark.parametrize("type_id", DETECTION_TYPES)
def test_detection_spec_documents_itself(type_id):
    spec = get_spec(type_id)
    assert spec.category == "Detection" and "Detection" in CATEGORY_ORDER
    assert len(spec.explanation) > 250 and spec.advantages and spec.disadvantages and spec.when_to_use
    for param in spec.params:
        assert param.doc and param.coerce(param.default) == param.default


def test_dense_head_outputs_anchors_decoded_boxes_and_logits():
    spec = get_spec("DenseDetectionHead")
    p = _params("DenseDetectionHead", num_classes=3, stride=4, sizes=[8, 16], shapes="square, tall, wide")
    torch.manual_seed(0)
    head = spec.build(p, [(None, 6, 5, 7)])
    out = head(torch.randn(2, 6, 5, 7))
    assert out.shape == (2, 5 * 7 * 6, 8 + 3)
    assert torch.equal(out[0, :, :4], anchor_grid(5, 7, 4.0, (8.0, 16.0), (1.0, 2.0, 0.5)))
    out.sum().backward()
    assert all(q.grad is not None for q in head.parameters())
    torch.nn.init.zeros_(head.box.weight)
    with torch.no_grad():
        zero = head(torch.randn(1, 6, 5, 7))
    inside = (zero[0, :, :4] >= 0).all(1) & (zero[0, :, 2] <= 28) & (zero[0, :, 3] <= 20)
    assert torch.allclose(zero[0, inside, 4:8], zero[0, inside, :4], atol=1e-5)  # zero deltas: the anchor itself
    assert torch.sigmoid(zero[..., 8:]).mean().item() == pytest.approx(0.01, abs=1e-3)  # the focal-loss prior


def test_dense_head_shape_on_the_canvas_and_a_clear_problem_for_a_flat_input():
    g = Graph(name="det")
    x = g.add_node("Input", "image", {"kind": "image", "channels": 1, "height": 16, "width": 16}).id
    head = g.add_node("DenseDetectionHead", "head", {"num_classes": 2, "stride": 1})
    g.connect(x, head.id)
    g.connect(head.id, g.add_node("Output", "boxes", {"task": "detection"}).id)
    v = validate(g)
    assert not v.errors and v.shapes[head.id] == (None, 16 * 16 * 2, 10)
    g2 = Graph(name="bad")
    x2 = g2.add_node("Input", "f", {"kind": "features", "features": 8}).id
    h2 = g2.add_node("DenseDetectionHead", "head", {})
    g2.connect(x2, h2.id)
    g2.connect(h2.id, g2.add_node("Output", "o", {"task": "detection"}).id)
    [problem] = validate(g2).problems_for(h2.id)
    assert "(N, C, H, W)" in problem.message


def test_roi_align_layer_keeps_the_best_distinct_proposals_and_cuts_them_out():
    from engine.detection.roi import roi_align, roi_pool

    features = torch.randn(2, 3, 8, 8)
    boxes = torch.tensor([[4, 4, 16, 16], [5, 4, 16, 16], [20, 20, 28, 30], [0, 0, 8, 8.0]])
    scores = torch.tensor([3.0, 2.0, 1.0, 0.0])  # box 1 overlaps the better box 0 by 0.92: dropped
    proposals = torch.cat([boxes, boxes, scores[:, None]], 1)[None].expand(2, -1, -1).contiguous()
    layer = get_spec("RoIAlign").build(_params("RoIAlign", count=3, size=2, stride=4, nms_iou=0.7),
                                       [(None, 3, 8, 8), (None, 4, 9)])
    out = layer(features, proposals)
    assert out.shape == (2, 3, 3 * 2 * 2 + 4)
    kept = boxes[[0, 2, 3]]
    assert torch.equal(out[1, :, -4:], kept)
    rois = torch.cat([torch.ones(3, 1), kept], 1)
    assert torch.allclose(out[1, :, :-4], roi_align(features, rois, (2, 2), 0.25).reshape(3, -1))
    pool = get_spec("RoIAlign").build(_params("RoIAlign", count=3, size=2, stride=4, mode="pool"),
                                      [(None, 3, 8, 8), (None, 4, 9)])
    assert torch.allclose(pool(features, proposals)[1, :, :-4], roi_pool(features, rois, (2, 2), 0.25).reshape(3, -1))


def test_box_head_refines_its_proposals():
    head = get_spec("BoxHead").build(_params("BoxHead", num_classes=4, hidden=16), [(None, 5, 12 + 4)])
    rois = torch.cat([torch.randn(2, 5, 12), torch.tensor([[10.0, 10, 20, 30]]).expand(2, 5, 4)], -1)
    out = head(rois)
    assert out.shape == (2, 5, 8 + 4) and torch.equal(out[..., :4], rois[..., -4:])
    torch.nn.init.zeros_(head.box.weight)
    assert torch.allclose(head(rois)[..., 4:8], rois[..., -4:], atol=1e-5)


def test_two_stage_parts_validate_together_and_name_a_wrong_wire():
    from engine.templates import load_project

    graph = load_project("two_stage_detector")
    shapes = validate(graph).shapes
    assert shapes[graph.by_name("roi_align").id] == (None, 16, 32 * 4 * 4 + 4)
    assert shapes[graph.by_name("box_head").id] == (None, 16, 8 + 5)
    roi = graph.by_name("roi_align")
    wire = next(e for e in graph.incoming(roi.id) if e.dst_port == "proposals")
    graph.edges.remove(wire)
    graph.connect(graph.by_name("relu3").id, roi.id, dst_port="proposals")
    [problem] = validate(graph).problems_for(roi.id)
    assert "region proposal network" in problem.hint.lower()


def test_matching_labels_positives_negatives_and_claims_small_objects():
    refs = torch.tensor([[[0, 0, 10, 10], [0, 0, 9, 10], [20, 20, 30, 30], [50, 50, 60, 60], [0, 0, 6, 10.0]]])
    truth = torch.tensor([[[2, 0, 0, 10, 10], [1, 52, 52, 53, 53], [-1, 0, 0, 0, 0]]], dtype=torch.float32)
    labels, boxes = match(refs, truth)
    # IoU with the first truth: 1, 0.9, 0, 0, 0.6 -> class 2, 2, bg, (claimed by the tiny box: class 1), 2
    assert labels[0].tolist() == [2, 2, BACKGROUND, 1, 2]
    assert boxes[0, 3].tolist() == [52, 52, 53, 53]
    labels, _ = match(refs, truth, positive_iou=0.7, negative_iou=0.5)
    assert labels[0, 4].item() == IGNORE


def test_sampling_keeps_the_asked_share_of_positives():
    labels = torch.tensor([[0] * 10 + [BACKGROUND] * 90 + [IGNORE] * 5])
    used = sample(labels, 16, 0.25, torch.Generator().manual_seed(0))
    assert used[0, :10].sum() == 4 and used[0, 10:100].sum() == 12 and not used[0, 100:].any()


def test_detection_loss_is_lower_for_the_right_boxes_and_classes():
    anchors = torch.tensor([[0, 0, 10, 10], [20, 20, 30, 30], [40, 0, 50, 10.0]])
    truth = torch.tensor([[[1, 0, 0, 10, 10], [0, 20, 20, 30, 30]]], dtype=torch.float32)
    good_logits = torch.tensor([[-5, 5], [5, -5], [-5, -5.0]])
    good = torch.cat([anchors, anchors, good_logits], 1)[None]
    bad = torch.cat([anchors, anchors + 4, -good_logits], 1)[None]
    for loss in ("focal_giou", "focal_smooth_l1", "sampled_bce_giou"):
        total_good, cls_good, box_good = detection_loss(good, truth, loss)
        total_bad, cls_bad, box_bad = detection_loss(bad, truth, loss)
        assert box_good.item() == pytest.approx(0.0, abs=1e-6) and box_bad > 0.1
        assert cls_good < 0.05 < cls_bad and total_good < total_bad


def test_digit_scenes_has_several_objects_of_several_classes_with_tight_boxes():
    data = load_data({"source": "builtin", "name": "digit_scenes", "options": {"n_samples": 200}})
    assert data.task == "detection" and data.input_shapes == ((1, 48, 48),) and data.target_shape == (4, 5)
    assert data.class_names == ["0", "1", "2", "3", "4"]
    target = data.train.target
    valid = target[..., 0] >= 0
    counts = valid.sum(1)
    assert counts.min() >= 1 and counts.max() == 4 and len(set(counts.tolist())) >= 3
    assert set(target[..., 0][valid].long().tolist()) == {0, 1, 2, 3, 4}
    boxes = target[valid][:, 1:]
    assert (boxes[:, 2:] > boxes[:, :2]).all() and boxes.min() >= 0 and boxes.max() <= 48
    image = data.train.inputs[0][0, 0]
    x0, y0, x1, y1 = (int(v) for v in target[0, 0, 1:])
    assert image[y0:y1, x0:x1].max() > 0.5 and image[y0:y1, x0:x1].mean() > image.mean()


def test_a_detection_project_with_a_plain_output_is_told_what_to_wire(tmp_path):
    from engine.train.trainer import Trainer

    g = Graph(name="det", data={"source": "builtin", "name": "digit_scenes", "options": {"n_samples": 100}},
              training={"epochs": 1, "events": {"summaries": False}})
    x = g.add_node("Input", "image", {"kind": "image", "channels": 1, "height": 48, "width": 48}).id
    flat = g.add_node("Flatten", "flat", {})
    g.connect(x, flat.id)
    dense = g.add_node("Dense", "fc", {"units": 5})
    g.connect(flat.id, dense.id)
    g.connect(dense.id, g.add_node("Output", "out", {"task": "multiclass"}).id)
    with pytest.raises(TrainingError, match="task 'detection'"):
        Trainer(g)
    g.output_nodes()[0].params["task"] = "detection"
    with pytest.raises(TrainingError, match="Dense detection head"):
        Trainer(g)


def test_mean_box_baseline_is_a_weak_detector():
    from engine.detection.average_precision import mean_average_precision
    from engine.detection.baseline import mean_box_baseline
    from engine.detection.postprocess import truth_detections

    data = load_data({"source": "builtin", "name": "digit_scenes", "options": {"n_samples": 300}})
    train, test = truth_detections(data.train.target), truth_detections(data.test.target)
    baseline = mean_average_precision(mean_box_baseline(train, len(test), 5), test, 5)
    assert 0.0 <= baseline.map50 < 0.05
    assert np.isfinite(baseline.map)
