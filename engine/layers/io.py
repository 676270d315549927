"""Input and Output nodes: where data enters the graph and which heads the loss reads."""

from __future__ import annotations

from engine.layers.registry import register
from engine.layers.spec import LayerSpec, Param, Params, Shape

INPUT_KINDS = ("image", "features", "sequence", "tokens")
TASKS = ("multiclass", "binary", "multilabel", "regression", "detection")
HEAD_LOSSES = ("auto", "cross_entropy", "bce", "mse", "mae", "huber", "focal_giou", "focal_smooth_l1",
               "sampled_bce_giou")


def _input_shape(p: Params) -> tuple[Shape, str]:
    if p.kind == "image":
        return (p.channels, p.height, p.width), "float32"
    if p.kind == "features":
        return (p.features,), "float32"
    if p.kind == "sequence":
        return (p.seq_len, p.features), "float32"
    return (p.seq_len,), "int64"


INPUT = LayerSpec(
    type_id="Input", category="Input / Output", title="Input",
    summary="Where samples enter the network: an image, a feature vector, a sequence or token ids.",
    explanation=(
        "An Input node declares the shape of one sample; the batch dimension N is added in front. "
        "Images are channels x height x width, feature vectors a flat list of numbers, sequences are "
        "time steps x features per step, and token inputs are whole-number ids that an Embedding turns "
        "into vectors. Every layer after it learns its input size from this shape, so you never type "
        "in_features or in_channels yourself. A network with two inputs (a Siamese pair, user and item "
        "ids) has two Input nodes; the model takes them in the order they appear in the project."),
    advantages=("Fixes the sample shape once, so every wire downstream can be checked before training.",),
    disadvantages=("The shape must match the dataset; the data panel tells you when it does not.",),
    when_to_use="Every network starts with at least one Input node.",
    params=(
        Param("kind", "choice", "image", choices=INPUT_KINDS, key=True,
              doc="What one sample is: image (C x H x W), features (F), sequence (T x F) or tokens (T ids)."),
        Param("channels", "int", 1, min=1, max=4096, doc="Image channels (1 grey, 3 colour)."),
        Param("height", "int", 28, min=1, max=8192, doc="Image height in pixels."),
        Param("width", "int", 28, min=1, max=8192, doc="Image width in pixels."),
        Param("features", "int", 4, min=1, max=1_000_000, doc="Numbers per sample (features) or per time step (sequence)."),
        Param("seq_len", "int", 20, min=1, max=1_000_000, doc="Time steps per sequence or tokens per text."),
    ),
    inputs=(), role="input", input_shape=_input_shape,
)

OUTPUT = LayerSpec(
    type_id="Output", category="Input / Output", title="Output",
    summary="Marks a model output and says what it predicts, which picks the default loss.",
    explanation=(
        "The Output node adds no computation: it marks the tensor the model returns and states the task. "
        "Multiclass means one score (logit) per class and cross-entropy loss, predictions are the "
        "highest score; binary means one logit and binary cross-entropy, predictions are sigmoid > 0.5; "
        "multilabel means one independent logit per label; regression means raw numbers and a squared "
        "error loss; detection means boxes with class scores from a detection head (focal + GIoU loss, judged by "
        "mAP). Keep the last layer linear: the losses apply softmax or sigmoid themselves, which is "
        "more stable than doing it in the network."),
    advantages=("Makes the loss and the way predictions are read explicit.",),
    disadvantages=("A Softmax or Sigmoid right before a multiclass/binary Output double-applies the squashing.",),
    when_to_use=("Every network ends in an Output node. A project with several Outputs trains them together "
                 "(multi-task): each reads its own target field, has its own loss and weight, and reports its own "
                 "metrics named after the node; the total loss is the weighted sum. A GAN's generator and "
                 "discriminator also each end in their own Output."),
    params=(Param("task", "choice", "multiclass", choices=TASKS, key=True,
                  doc="What the output predicts; decides the default loss and how predictions are read."),
            Param("target", "str", "",
                  doc="With several Outputs: the data field(s) this one predicts (a name, or names joined by "
                      "commas); empty = the whole target."),
            Param("loss", "choice", "auto", choices=HEAD_LOSSES,
                  doc="This output's loss; auto = the task's usual one (a single Output: the training section's "
                      "loss). The focal/sampled losses are for detection outputs."),
            Param("loss_weight", "float", 1.0, min=0.0, max=1e6,
                  doc="With several Outputs: this output's weight in the total loss (the weighted sum).")),
    outputs=(), role="output",
)

register(INPUT, OUTPUT)
