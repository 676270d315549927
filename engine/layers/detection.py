"""Object detection layers: a one-stage dense head, and the two-stage parts (region proposals, RoI Align/Pool,
a box head)."""

from __future__ import annotations

from engine.layers.checks import rank_error
from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Port, Shape
from engine.lazy import LazyModule

heads = LazyModule("engine.detection.modules")

ANCHOR_SHAPES = {"square": (1.0,), "square, tall, wide": (1.0, 2.0, 0.5)}
"""Anchor height:width ratios by the name the `shapes` param shows."""
OUTPUT_DOC = ("Output (N, K, 8 + C): for each of K reference boxes its x0, y0, x1, y1, the predicted box's "
              "x0, y0, x1, y1 (input pixels) and C class logits; wire it to an Output with task 'detection'.")


def _dense_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    return rank_error("Dense detection head", shapes[0], {4: "(N, C, H, W)"}, "feed it a convolutional feature map")


DENSE_HEAD = LayerSpec(
    type_id="DenseDetectionHead", category="Detection", title="Dense detection head",
    summary="One-stage detector head: class scores and a box for every anchor at every feature-map cell.",
    explanation=(
        "Anchors are reference boxes of a few sizes and shapes centred on every cell of the feature map (a cell "
        "covers `stride` input pixels). For each anchor, one small stack of 3x3 convolutions predicts a score per "
        "class and another four numbers that shift and stretch the anchor into a box (the centre moves by a "
        "fraction of the anchor's size, width and height scale by an exponential). Training matches anchors to "
        "the true boxes by overlap (IoU): an anchor overlapping an object well learns its class and box, the "
        "rest learn 'background'. At prediction time the boxes whose score passes a threshold are kept and "
        "non-maximum suppression removes duplicates. This is the SSD / RetinaNet recipe. " + OUTPUT_DOC),
    advantages=("One pass, no proposal stage: simple and fast.",
                "Focal loss keeps the many easy background anchors from dominating training."),
    disadvantages=("Objects much smaller or larger than every anchor size are found poorly.",
                   "Its box quality is usually a little below a two-stage detector's on hard data."),
    when_to_use=("After a convolutional backbone whose feature map is a few times smaller than the image; set "
                 "`stride` to how many input pixels one cell spans (2 per 2x2 pooling) and the sizes near your "
                 "objects' sizes."),
    params=(
        Param("num_classes", "int", 5, min=1, max=10_000, key=True, doc="How many object classes (no background)."),
        Param("stride", "int", 4, min=1, max=1024, key=True, doc="Input pixels per feature-map cell."),
        Param("sizes", "ints", [12, 18], doc="Anchor sizes in pixels (side of a square of the same area)."),
        Param("shapes", "choice", "square", choices=tuple(ANCHOR_SHAPES),
              doc="Anchor shapes at each size: square only, or also tall (2:1) and wide (1:2) ones."),
        Param("hidden", "int", 64, min=1, max=4096, doc="Channels of the convolutions before the predictions."),
        Param("depth", "int", 1, min=0, max=8, doc="3x3 convolutions before each prediction (0 = none)."),
    ),
    build=lambda p, s: heads.DenseHead(s[0][1], s[0][2], s[0][3], p.num_classes, float(p.stride),
                                 tuple(float(v) for v in p.sizes), ANCHOR_SHAPES[p.shapes],
                                 p.hidden, p.depth),
    check=_dense_check,
    example=((None, 8, 6, 6),),
)



def _roi_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    features, proposals = shapes
    problem = rank_error("RoI Align", features, {4: "(N, C, H, W)"}, "wire a convolutional feature map into 'features'")
    if problem:
        return problem
    if len(proposals) != 3 or proposals[-1] < 9:
        return (f"RoI Align's proposals must be a region proposal network's (N, K, 9) output, not "
                f"{tuple(proposals)}", "wire a Region proposal network into 'proposals'")
    return None


def _box_check(p: Params, shapes: list[Shape]) -> tuple[str, str] | None:
    shape = shapes[0]
    if len(shape) != 3 or shape[-1] < 5:
        return (f"Box head expects RoI Align's (N, K, features + 4) output but gets {tuple(shape)}",
                "wire a RoI Align node into it")
    return None


PROPOSALS = LayerSpec(
    type_id="RegionProposalNetwork", category="Detection", title="Region proposal network",
    summary="First stage of Faster R-CNN: says for every anchor how likely it holds some object, and where.",
    explanation=(
        "A region proposal network (RPN) looks at every cell of a feature map with a small 3x3 convolution and, "
        "for each anchor box centred there, predicts one objectness score (object or background, whatever the "
        "class) and four numbers that move and stretch the anchor onto the object. It is trained like a detector "
        "with a single class. Its best-scored boxes, after duplicates are removed, are the proposals a second "
        "stage (RoI Align and a box head) classifies and refines. Output (N, K, 9): each anchor, its proposed box "
        "and the objectness logit; wire it both to an Output with task 'detection' (its own loss) and to RoI "
        "Align's 'proposals' input."),
    advantages=("Class-agnostic proposals let the second stage spend its effort on a few likely regions.",),
    disadvantages=("Two stages train and run slower than one dense head.",
                   "Proposals are treated as fixed by the second stage (no gradient flows through the selection)."),
    when_to_use="In a two-stage detector, after the backbone's feature map; set stride and sizes as for a dense head.",
    params=(
        Param("stride", "int", 4, min=1, max=1024, key=True, doc="Input pixels per feature-map cell."),
        Param("sizes", "ints", [12, 18], doc="Anchor sizes in pixels (side of a square of the same area)."),
        Param("shapes", "choice", "square", choices=tuple(ANCHOR_SHAPES),
              doc="Anchor shapes at each size: square only, or also tall (2:1) and wide (1:2) ones."),
        Param("hidden", "int", 32, min=1, max=4096, doc="Channels of the 3x3 convolution before the predictions."),
    ),
    build=lambda p, s: heads.ProposalNetwork(s[0][1], s[0][2], s[0][3], float(p.stride), tuple(float(v) for v in p.sizes),
                                       ANCHOR_SHAPES[p.shapes], p.hidden),
    check=_dense_check,
    example=((None, 8, 6, 6),),
)

ROI_ALIGN = LayerSpec(
    type_id="RoIAlign", category="Detection", title="RoI Align",
    summary="Cuts every proposed region out of the feature map as a small fixed-size grid.",
    explanation=(
        "Takes a feature map and a region proposal network's output. It keeps each image's best proposals "
        "(highest objectness, with overlapping duplicates removed) and cuts every one out of the feature map as "
        "a size x size grid, so regions of any size become equal-sized inputs for the box head. RoI Align "
        "(Mask R-CNN) reads each grid cell as the average of bilinearly interpolated samples, without rounding "
        "the box to whole cells; RoI Pool (Fast R-CNN) rounds the box to cells and takes the maximum of each bin. "
        "Output (N, count, C x size x size + 4): each region's features flattened, then its box in input pixels, "
        "for a Box head."),
    advantages=("Exact sub-cell positions (align mode) keep small boxes accurate.",),
    disadvantages=("A fixed number of regions per image: a few more than the objects you expect.",),
    when_to_use="Between a region proposal network (and the feature map it read) and a box head.",
    params=(
        Param("count", "int", 16, min=1, max=4096, key=True, doc="Regions kept per image."),
        Param("size", "int", 4, min=1, max=64, doc="Each region becomes a size x size grid of features."),
        Param("stride", "int", 4, min=1, max=1024, doc="Input pixels per feature-map cell (as the proposals' layer)."),
        Param("mode", "choice", "align", choices=("align", "pool"), key=True,
              doc="align: bilinear samples averaged (RoI Align); pool: rounded cells, maximum (RoI Pool)."),
        Param("pre_nms", "int", 100, min=1, max=100_000, doc="Best-scored proposals looked at before removing duplicates."),
        Param("nms_iou", "float", 0.7, min=0.0, max=1.0, doc="A proposal overlapping a better one by more is dropped."),
    ),
    inputs=(Port("features", doc="The feature map (N, C, H, W)."),
            Port("proposals", doc="A region proposal network's output (N, K, 9).")),
    build=lambda p, s: heads.RoIAlign(p.count, p.size, float(p.stride), p.pre_nms, p.nms_iou, p.mode == "pool"),
    check=_roi_check,
    example=((None, 8, 6, 6), (None, 36, 9)),
)

BOX_HEAD = LayerSpec(
    type_id="BoxHead", category="Detection", title="Box head",
    summary="Second stage of Faster R-CNN: classifies every region and refines its box.",
    explanation=(
        "For each region cut out by RoI Align, two fully connected layers with ReLU read its features; then one "
        "layer gives a score per class and another four numbers that shift and stretch the region's box onto "
        "the object. Trained like a detector whose reference boxes are the proposals: a region overlapping a true "
        "object learns its class and box, the others learn background. " + OUTPUT_DOC),
    advantages=("Sees each candidate region at a fixed size, so small and large objects get the same attention.",),
    disadvantages=("Only as good as the proposals: an object no proposal covers is missed.",),
    when_to_use="After RoI Align, ending a two-stage detector; wire it to an Output with task 'detection'.",
    params=(
        Param("num_classes", "int", 5, min=1, max=10_000, key=True, doc="How many object classes (no background)."),
        Param("hidden", "int", 128, min=1, max=65_536, doc="Units of the two fully connected layers."),
    ),
    build=lambda p, s: heads.BoxHead(s[0][-1], p.num_classes, p.hidden),
    check=_box_check,
    example=((None, 8, 36),),
)

register(DENSE_HEAD, PROPOSALS, ROI_ALIGN, BOX_HEAD)
