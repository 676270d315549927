"""Object detection layers: a one-stage dense head (anchors, class scores and boxes at every cell)."""

from __future__ import annotations

from engine.detection.modules import DenseHead
from engine.layers.checks import rank_error
from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Shape

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
    build=lambda p, s: DenseHead(s[0][1], s[0][2], s[0][3], p.num_classes, float(p.stride),
                                 tuple(float(v) for v in p.sizes), ANCHOR_SHAPES[p.shapes],
                                 p.hidden, p.depth),
    check=_dense_check,
    example=((None, 8, 6, 6),),
)

register(DENSE_HEAD)
