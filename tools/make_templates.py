"""Build the example projects in resources/templates/ with the engine's Graph API.

    python tools/make_templates.py          # (re)write every template
    python tools/make_templates.py --check  # exit 1 if a committed file differs from what this builds
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.data.builtin import builtin_info  # noqa: E402
from engine.data.load import load_data  # noqa: E402
from engine.data.prepared import PreparedData  # noqa: E402
from engine.graph import Graph, Group  # noqa: E402
from engine.layout import layered_layout, node_widths  # noqa: E402
from engine.validate import validate  # noqa: E402

TEMPLATE_DIR = ROOT / "resources" / "templates"


class Sketch:
    """A small helper that adds nodes and wires them as it goes; `finish` lays them out."""

    def __init__(self, name: str, description: str, tags: list[str]):
        self.graph = Graph(name=name, description=description, tags=tags)

    def add(self, type_id: str, name: str, src: str | list[str] | None = None, port: str = "in",
            shares: str | None = None, **params) -> str:
        """Add a node, wire `src` (one id or several) into `port`, return its id."""
        node = self.graph.add_node(type_id, name, params)
        node.shares = shares
        for s in [src] if isinstance(src, str) else (src or []):
            self.graph.connect(s, node.id, dst_port=port)
        return node.id

    def chain(self, src: str, *layers: tuple) -> str:
        """Add `layers` ((type, name, params), ...) each wired to the one before; return the last id."""
        for type_id, name, params in layers:
            src = self.add(type_id, name, src, **params)
        return src

    def group(self, name: str, *node_ids: str) -> None:
        self.graph.groups.append(Group(f"g{len(self.graph.groups) + 1}", name, list(node_ids)))

    def finish(self, data: dict, training: dict) -> Graph:
        """Attach the data and training sections and place the nodes with the editor's auto-layout,
        sized by the shapes and parameter counts the editor will print on them."""
        self.graph.data, self.graph.training = data, training
        widths = node_widths(self.graph, validate(self.graph))
        for nid, pos in layered_layout(self.graph, widths=widths).items():
            self.graph.nodes[nid].pos = pos
        return self.graph


def training(lr: float, epochs: int, batch_size: int, **extra) -> dict:
    """The training section: loss from the Output's task unless `extra` names one."""
    return {"loss": "auto", "optimizer": "adam", "lr": lr, "epochs": epochs, "batch_size": batch_size,
            "seed": 0, **extra}


def builtin(name: str, **extra) -> dict:
    """A data section that reads one of DeepWire's built-in datasets."""
    return {"source": "builtin", "name": name, **extra}


def mlp() -> Graph:
    s = Sketch(
        "MLP classifier (iris)",
        "A multilayer perceptron: two hidden Dense layers with ReLU between them turn four flower "
        "measurements into scores for three iris species. It is the simplest deep network, one input to "
        "one output (one-to-one, unlike the sequence templates), and shows how stacked linear layers plus "
        "a non-linearity learn a decision boundary from tabular data.",
        ["tabular"])
    x = s.add("Input", "measurements", kind="features", features=4)
    x = s.chain(x,
                ("Dense", "fc1", {"units": 16}), ("ReLU", "relu1", {}),
                ("Dense", "fc2", {"units": 16}), ("ReLU", "relu2", {}),
                ("Dense", "fc3", {"units": 3}))
    s.add("Output", "species", src=x, task="multiclass")
    return s.finish(builtin("iris"), training(lr=0.01, epochs=100, batch_size=16))


def lenet() -> Graph:
    s = Sketch(
        "LeNet (digits)",
        "A LeNet-5 style convolutional network: two convolution + pooling stages find strokes and "
        "shapes in 8x8 handwritten digits, then three Dense layers classify them into 0-9. It shows "
        "how convolutions share weights across the image and how pooling shrinks it step by step.",
        ["image classification"])
    x = s.add("Input", "image", kind="image", channels=1, height=8, width=8)
    x = s.chain(x,
                ("Conv2d", "conv1", {"out_channels": 6, "kernel_size": 3}), ("ReLU", "relu1", {}),
                ("MaxPool2d", "pool1", {"kernel_size": 2}),
                ("Conv2d", "conv2", {"out_channels": 16, "kernel_size": 3}), ("ReLU", "relu2", {}),
                ("MaxPool2d", "pool2", {"kernel_size": 2}),
                ("Flatten", "flatten", {}),
                ("Dense", "fc1", {"units": 120}), ("ReLU", "relu3", {}),
                ("Dense", "fc2", {"units": 84}), ("ReLU", "relu4", {}),
                ("Dense", "fc3", {"units": 10}))
    s.add("Output", "digit", src=x, task="multiclass")
    return s.finish(builtin("digits"), training(lr=0.005, epochs=20, batch_size=32, schedule="cosine"))


def _res_block(s: Sketch, src: str, prefix: str, channels: int, stride: int) -> tuple[str, list[str]]:
    """conv-bn-relu-conv-bn plus a skip wire (a 1x1 conv when the shape changes), Add, ReLU."""
    main = s.chain(src,
                   ("Conv2d", f"{prefix}_conv1", {"out_channels": channels, "kernel_size": 3, "stride": stride,
                                                  "bias": False}),
                   ("BatchNorm2d", f"{prefix}_bn1", {}), ("ReLU", f"{prefix}_relu1", {}),
                   ("Conv2d", f"{prefix}_conv2", {"out_channels": channels, "kernel_size": 3, "bias": False}),
                   ("BatchNorm2d", f"{prefix}_bn2", {}))
    skip = src
    if stride != 1:
        skip = s.chain(src,
                       ("Conv2d", f"{prefix}_skip_conv", {"out_channels": channels, "kernel_size": 1,
                                                         "stride": stride, "bias": False}),
                       ("BatchNorm2d", f"{prefix}_skip_bn", {}))
    add = s.add("Add", f"{prefix}_add", src=[main, skip])
    out = s.add("ReLU", f"{prefix}_relu2", src=add)
    members = [n.id for n in s.graph.nodes.values() if n.name.startswith(f"{prefix}_")]
    return out, members


def resnet() -> Graph:
    s = Sketch(
        "Small ResNet (digits)",
        "A small residual network: after a stem convolution, two residual blocks each add their input "
        "back onto the output of two convolutions (the skip connection, an Add node), the second block "
        "halving the image with a 1x1 projection on its skip path. Skip connections let gradients flow "
        "straight through, which is what makes very deep networks trainable.",
        ["image classification"])
    x = s.add("Input", "image", kind="image", channels=1, height=8, width=8)
    x = s.chain(x,
                ("Conv2d", "stem_conv", {"out_channels": 16, "kernel_size": 3, "bias": False}),
                ("BatchNorm2d", "stem_bn", {}), ("ReLU", "stem_relu", {}))
    x, block1 = _res_block(s, x, "block1", 16, 1)
    x, block2 = _res_block(s, x, "block2", 32, 2)
    x = s.chain(x, ("GlobalAvgPool", "pool", {}), ("Dense", "fc", {"units": 10}))
    s.add("Output", "digit", src=x, task="multiclass")
    s.group("residual block 1", *block1)
    s.group("residual block 2 (downsampling)", *block2)
    return s.finish(builtin("digits"), training(lr=0.003, epochs=20, batch_size=64, schedule="cosine"))


def lstm_classifier() -> Graph:
    s = Sketch(
        "LSTM sequence classifier",
        "A many-to-one recurrent classifier: an Embedding turns each token id into a vector, an LSTM "
        "reads the sentence step by step and its last hidden state feeds one output logit. The task is "
        "to spot token 1 directly followed by token 2, which needs word order: the LSTM's memory "
        "cell carries what it saw from one step to the next.",
        ["sequence modelling"])
    x = s.add("Input", "tokens", kind="tokens", seq_len=20)
    x = s.chain(x,
                ("Embedding", "embedding", {"num_embeddings": 20, "embedding_dim": 16, "padding_idx": 0}),
                ("LSTM", "lstm", {"hidden_size": 32}),
                ("Dense", "fc", {"units": 1}))
    s.add("Output", "pattern_present", src=x, task="binary")
    return s.finish(builtin("toy_text"), training(lr=0.005, epochs=30, batch_size=64))


def gru_tagger() -> Graph:
    s = Sketch(
        "GRU sequence tagger",
        "A many-to-many recurrent tagger: a bidirectional GRU reads the token sequence both ways and "
        "returns a hidden state for every step, and a Dense layer turns each one into scores for the "
        "tags O, B and I. It shows return_sequences: one prediction per time step instead of one per sequence.",
        ["sequence modelling"])
    x = s.add("Input", "tokens", kind="tokens", seq_len=20)
    x = s.chain(x,
                ("Embedding", "embedding", {"num_embeddings": 30, "embedding_dim": 16}),
                ("GRU", "gru", {"hidden_size": 32, "bidirectional": True, "return_sequences": True}),
                ("Dense", "tag_scores", {"units": 3}))
    s.add("Output", "tags", src=x, task="multiclass")
    return s.finish(builtin("tagging"), training(lr=0.005, epochs=20, batch_size=64))


def reviews_data(**section) -> tuple[dict, PreparedData]:
    """The toy_reviews data section with its text length pinned (so the Input's seq_len stays right), and its data."""
    reviews = {**builtin("toy_reviews"), **section}
    data = load_data(reviews, seed=0)
    return {**reviews, "text_length": data.text["seq_len"]}, data


def sentiment() -> Graph:
    reviews, data = reviews_data()
    s = Sketch(
        "Sentiment analysis (movie reviews)",
        "Raw review text becomes tokens (words and punctuation), each token an id from a vocabulary of the "
        "training texts (0 pads, 1 is an unknown word), and every review is padded or cut to the same "
        "number of tokens so reviews of any length fit one fixed-size input. An Embedding turns the ids "
        "into vectors and a bidirectional GRU reads them in order, so it learns that “not” flips the "
        "opinion word right after it (“not good” is negative), which a bag of words cannot tell.",
        ["sequence modelling", "text"])
    x = s.add("Input", "review_tokens", kind="tokens", seq_len=data.text["seq_len"])
    x = s.chain(x,
                ("Embedding", "embedding", {"num_embeddings": data.vocab_size, "embedding_dim": 16,
                                            "padding_idx": 0}),
                ("GRU", "bidirectional_gru", {"hidden_size": 32, "bidirectional": True}),
                ("Dense", "fc", {"units": 1}))
    s.add("Output", "sentiment", src=x, task="binary")
    return s.finish(reviews, training(lr=0.005, epochs=10, batch_size=32))


def next_word() -> Graph:
    reviews, data = reviews_data(task="next_step")
    s = Sketch(
        "Next-word prediction (language model)",
        "A tiny language model: at every position of a review it predicts the word that comes next, a "
        "softmax over the whole vocabulary, so one review gives as many training examples as it has "
        "words. An LSTM reads left to right only, so each guess depends on the words before it, never "
        "after; padding past a review's end is left out of the loss and the metrics. Once trained, "
        "`deepwire generate RUN \"the plot was\"` writes on by feeding each predicted word back in.",
        ["sequence modelling", "text"])
    x = s.add("Input", "words_so_far", kind="tokens", seq_len=data.text["seq_len"])
    x = s.chain(x,
                ("Embedding", "embedding", {"num_embeddings": data.vocab_size, "embedding_dim": 32,
                                            "padding_idx": 0}),
                ("LSTM", "lstm", {"hidden_size": 64, "return_sequences": True}),
                ("Dense", "word_scores", {"units": data.num_classes}))
    s.add("Output", "next_word", src=x, task="multiclass")
    return s.finish(reviews, training(lr=0.01, epochs=15, batch_size=64))


def wave_generator() -> Graph:
    steps = builtin_info("sine_from_params").options["steps"]
    s = Sketch(
        "One-to-many wave generator",
        "A one-to-many network: one input, three numbers (amplitude, frequency, phase), becomes a whole "
        f"sequence, the {steps} steps of the sine wave they describe. A Dense layer encodes the numbers, "
        "RepeatVector hands that vector to every time step, a GRU with return_sequences unrolls it into a "
        "sequence of states and a Dense layer turns each state into one value. Image captioning (one image, "
        "a sentence out) and music generation follow the same one-in, sequence-out pattern.",
        ["sequence modelling"])
    x = s.add("Input", "wave_params", kind="features", features=3)
    x = s.chain(x,
                ("Dense", "encode", {"units": 32}), ("ReLU", "relu", {}),
                ("RepeatVector", "repeat", {"times": steps}),
                ("GRU", "gru", {"hidden_size": 64, "return_sequences": True}),
                ("Dense", "value_per_step", {"units": 1}))
    s.add("Output", "wave", src=x, task="regression")
    return s.finish(builtin("sine_from_params"), training(lr=0.005, epochs=20, batch_size=64))


def transformer_classifier() -> Graph:
    s = Sketch(
        "Transformer encoder classifier",
        "A small Transformer: token embeddings plus a positional encoding go through two self-attention "
        "encoder blocks, the result is averaged over the sequence and a Dense layer gives one logit. "
        "Attention lets every token look at every other token at once, and the positional encoding "
        "tells it the word order that the task depends on.",
        ["sequence modelling"])
    x = s.add("Input", "tokens", kind="tokens", seq_len=20)
    x = s.chain(x,
                ("Embedding", "embedding", {"num_embeddings": 20, "embedding_dim": 32}),
                ("PositionalEncoding", "positions", {"max_len": 64, "dropout": 0.1}),
                ("TransformerEncoder", "encoder", {"num_heads": 4, "ff_dim": 64, "num_layers": 2,
                                                   "dropout": 0.1}),
                ("Permute", "features_first", {"dims": [1, 0]}),
                ("GlobalAvgPool", "average_over_time", {}),
                ("Dense", "fc", {"units": 1}))
    s.add("Output", "pattern_present", src=x, task="binary")
    return s.finish(builtin("toy_text"), training(lr=0.001, epochs=30, batch_size=64))


def conv_autoencoder() -> Graph:
    s = Sketch(
        "Convolutional autoencoder (digits)",
        "An autoencoder squeezes each 8x8 digit through a small bottleneck (8 maps of 2x2) and rebuilds "
        "it: the encoder uses convolutions and pooling, the decoder UpSampling and a transposed "
        "convolution. The target is the input itself, so it learns a compressed code without labels.",
        ["generative"])
    x = s.add("Input", "image", kind="image", channels=1, height=8, width=8)
    x = s.chain(x,
                ("Conv2d", "enc_conv1", {"out_channels": 16, "kernel_size": 3}), ("ReLU", "enc_relu1", {}),
                ("MaxPool2d", "enc_pool1", {"kernel_size": 2}),
                ("Conv2d", "enc_conv2", {"out_channels": 8, "kernel_size": 3}), ("ReLU", "enc_relu2", {}),
                ("MaxPool2d", "bottleneck", {"kernel_size": 2}))
    x = s.chain(x,
                ("UpSampling", "dec_up", {"scale_factor": 2}),
                ("Conv2d", "dec_conv1", {"out_channels": 16, "kernel_size": 3}), ("ReLU", "dec_relu1", {}),
                ("ConvTranspose2d", "dec_deconv", {"out_channels": 16, "kernel_size": 3, "stride": 2}),
                ("ReLU", "dec_relu2", {}),
                ("Conv2d", "dec_out", {"out_channels": 1, "kernel_size": 3}))
    s.add("Output", "reconstruction", src=x, task="regression")
    return s.finish(builtin("digits", task="autoencoder"), training(lr=0.003, epochs=30, batch_size=64))


def gan() -> Graph:
    s = Sketch(
        "GAN (digits)",
        "A generative adversarial network: the generator (top) turns random noise into an 8x8 "
        "image, the discriminator (bottom) scores whether an image is real or generated. Trained "
        "against each other, the generator learns to draw digits that the discriminator cannot tell "
        "from real ones.",
        ["generative"])
    z = s.add("Input", "noise", kind="features", features=16)
    g = s.chain(z,
                ("Dense", "gen_fc", {"units": 256}), ("ReLU", "gen_relu1", {}),
                ("Reshape", "gen_reshape", {"shape": [16, 4, 4]}),
                ("ConvTranspose2d", "gen_deconv", {"out_channels": 16, "kernel_size": 4, "stride": 2,
                                                   "padding": 1}),
                ("ReLU", "gen_relu2", {}),
                ("Conv2d", "gen_out", {"out_channels": 1, "kernel_size": 3}), ("Sigmoid", "gen_sigmoid", {}))
    s.add("Output", "fake_image", src=g, task="regression")
    x = s.add("Input", "image", kind="image", channels=1, height=8, width=8)
    d = s.chain(x,
                ("Conv2d", "disc_conv1", {"out_channels": 16, "kernel_size": 3, "stride": 2}),
                ("LeakyReLU", "disc_relu1", {"negative_slope": 0.2}),
                ("Conv2d", "disc_conv2", {"out_channels": 32, "kernel_size": 3, "stride": 2}),
                ("LeakyReLU", "disc_relu2", {"negative_slope": 0.2}),
                ("Flatten", "disc_flatten", {}), ("Dense", "disc_fc", {"units": 1}))
    s.add("Output", "real_or_fake", src=d, task="binary")
    return s.finish(builtin("digits", task="gan", normalize="minmax"),
                    training(lr=0.0005, epochs=50, batch_size=64, betas=[0.5, 0.999],
                             gan={"generator": "fake_image", "discriminator": "real_or_fake", "d_steps": 1}))


def siamese() -> Graph:
    s = Sketch(
        "Siamese network (digit pairs)",
        "A Siamese network: two images go through the same small CNN (the lower branch shares every "
        "weight with the upper one) and a Distance node measures how far apart their embeddings are. "
        "Trained with a contrastive loss, images of the same digit end up close and different digits far apart.",
        ["similarity"])
    branch = (("Conv2d", "conv", {"out_channels": 16, "kernel_size": 3}), ("ReLU", "relu", {}),
              ("MaxPool2d", "pool", {"kernel_size": 2}), ("Flatten", "flatten", {}),
              ("Dense", "embed", {"units": 32}))
    a = s.add("Input", "image_a", kind="image", channels=1, height=8, width=8)
    b = s.add("Input", "image_b", kind="image", channels=1, height=8, width=8)
    owners: dict[str, str] = {}
    for type_id, name, params in branch:
        a = s.add(type_id, f"{name}_a", a, **params)
        owners[name] = a
    for type_id, name, params in branch:
        weighted = type_id in ("Conv2d", "Dense")
        b = s.add(type_id, f"{name}_b", b, shares=owners[name] if weighted else None, **params)
    dist = s.add("Distance", "distance", metric="l2")
    s.graph.connect(a, dist, dst_port="a")
    s.graph.connect(b, dist, dst_port="b")
    s.add("Output", "pair_distance", src=dist, task="regression")
    return s.finish(builtin("digit_pairs"), training(lr=0.002, epochs=20, batch_size=64, loss="contrastive"))


def recommender() -> Graph:
    s = Sketch(
        "Embedding recommender (ratings)",
        "A neural recommender: a user id and an item id each look up a learned vector in their own "
        "Embedding, the two vectors are joined and a small Dense head predicts the rating. The "
        "embeddings learn hidden tastes and item traits from nothing but past ratings.",
        ["recommender"])
    u = s.add("Input", "user_id", kind="tokens", seq_len=1)
    i = s.add("Input", "item_id", kind="tokens", seq_len=1)
    u = s.add("Embedding", "user_embedding", u, num_embeddings=200, embedding_dim=16)
    i = s.add("Embedding", "item_embedding", i, num_embeddings=100, embedding_dim=16)
    x = s.add("Concat", "join", [u, i], axis=-1)
    x = s.chain(x,
                ("Flatten", "flatten", {}),
                ("Dense", "fc1", {"units": 32}), ("ReLU", "relu1", {}),
                ("Dense", "fc2", {"units": 1}))
    s.add("Output", "rating", src=x, task="regression")
    return s.finish(builtin("ratings"), training(lr=0.005, epochs=30, batch_size=128))


def localizer() -> Graph:
    s = Sketch(
        "Digit localizer (bounding box)",
        "Object localization as box regression: two convolution + pooling stages find the digit on a "
        "24x24 canvas and a Dense head predicts its box [x_center, y_center, width, height]. A Sigmoid "
        "squashes the four numbers into [0, 1], the range of the normalised box targets, and the MSE loss "
        "pulls them onto the true box. Full detectors such as YOLO, SSD and Faster R-CNN predict many "
        "boxes per image, each with a class; Faster R-CNN first lets a Region Proposal Network propose "
        "candidate boxes, then classifies and refines them.",
        ["object localization"])
    x = s.add("Input", "image", kind="image", channels=1, height=24, width=24)
    x = s.chain(x,
                ("Conv2d", "conv1", {"out_channels": 16, "kernel_size": 3}), ("ReLU", "relu1", {}),
                ("MaxPool2d", "pool1", {"kernel_size": 2}),
                ("Conv2d", "conv2", {"out_channels": 32, "kernel_size": 3}), ("ReLU", "relu2", {}),
                ("MaxPool2d", "pool2", {"kernel_size": 2}),
                ("Flatten", "flatten", {}),
                ("Dense", "fc1", {"units": 64}), ("ReLU", "relu3", {}),
                ("Dense", "box", {"units": 4}), ("Sigmoid", "box_0_to_1", {}))
    s.add("Output", "bounding_box", src=x, task="regression")
    return s.finish(builtin("digit_boxes"), training(lr=0.002, epochs=15, batch_size=64))


def detector() -> Graph:
    s = Sketch(
        "One-stage detector (digit scenes)",
        "Object detection in one pass, as SSD and RetinaNet do it: three convolution stages turn a 48x48 scene "
        "into a 12x12 feature map, and a dense detection head scores five digit classes and regresses a box for "
        "two anchors at every cell. Anchors that overlap a true digit learn its class and box (focal loss for the "
        "scores, GIoU for the boxes), the rest learn background, and non-maximum suppression keeps the best box "
        "of each object; mAP@0.5 judges the result.",
        ["object detection"])
    x = s.add("Input", "image", kind="image", channels=1, height=48, width=48)
    x = s.chain(x,
                ("Conv2d", "conv1", {"out_channels": 16, "kernel_size": 3}), ("ReLU", "relu1", {}),
                ("MaxPool2d", "pool1", {"kernel_size": 2}),
                ("Conv2d", "conv2", {"out_channels": 32, "kernel_size": 3}), ("ReLU", "relu2", {}),
                ("MaxPool2d", "pool2", {"kernel_size": 2}),
                ("Conv2d", "conv3", {"out_channels": 32, "kernel_size": 3}), ("ReLU", "relu3", {}),
                ("DenseDetectionHead", "detection_head",
                 {"num_classes": 5, "stride": 4, "sizes": [12, 18], "hidden": 32, "depth": 1}))
    s.add("Output", "detections", src=x, task="detection")
    return s.finish(builtin("digit_scenes"), training(lr=0.003, epochs=10, batch_size=32, monitor="val_map50"))


def two_stage_detector() -> Graph:
    s = Sketch(
        "Two-stage detector (digit scenes)",
        "Faster R-CNN in small: a convolutional backbone turns a 48x48 scene into a 12x12 feature map, a region "
        "proposal network scores every anchor for 'some object here' and proposes boxes, RoI Align cuts the best "
        "proposals out of the feature map as 4x4 grids, and a box head classifies each region into five digit "
        "classes and refines its box. The proposals and the final boxes each have their own Output and loss, "
        "trained together; mAP@0.5 of the final boxes judges the result.",
        ["object detection"])
    x = s.add("Input", "image", kind="image", channels=1, height=48, width=48)
    features = s.chain(x,
                       ("Conv2d", "conv1", {"out_channels": 16, "kernel_size": 3}), ("ReLU", "relu1", {}),
                       ("MaxPool2d", "pool1", {"kernel_size": 2}),
                       ("Conv2d", "conv2", {"out_channels": 32, "kernel_size": 3}), ("ReLU", "relu2", {}),
                       ("MaxPool2d", "pool2", {"kernel_size": 2}),
                       ("Conv2d", "conv3", {"out_channels": 32, "kernel_size": 3}), ("ReLU", "relu3", {}))
    rpn = s.add("RegionProposalNetwork", "rpn", features, stride=4, sizes=[12, 18], hidden=32)
    s.add("Output", "proposals", src=rpn, task="detection")
    rois = s.add("RoIAlign", "roi_align", features, port="features", count=16, size=4, stride=4)
    s.graph.connect(rpn, rois, dst_port="proposals")
    head = s.add("BoxHead", "box_head", rois, num_classes=5, hidden=128)
    s.add("Output", "detections", src=head, task="detection")
    return s.finish(builtin("digit_scenes"), training(lr=0.003, epochs=10, batch_size=32,
                                                      monitor="val_detections_map50"))


def unet() -> Graph:
    s = Sketch(
        "U-Net segmentation (shapes)",
        "A small U-Net labels every pixel as background, square or disc. The encoder convolves and "
        "pools to see more context, the decoder upsamples back to full size, and a skip connection "
        "(Concat) hands it the sharp full-resolution features the pooling lost. A 1x1 convolution "
        "gives three class scores per pixel, moved last by a Permute, and a softmax over them is "
        "trained with cross-entropy pixel by pixel.",
        ["segmentation"])
    x = s.add("Input", "image", kind="image", channels=1, height=16, width=16)
    enc = s.add("Conv2d", "enc_conv", x, out_channels=16, kernel_size=3)
    skip = s.add("ReLU", "enc_relu", enc)
    down = s.add("MaxPool2d", "down", skip, kernel_size=2)
    mid = s.add("Conv2d", "mid_conv", down, out_channels=32, kernel_size=3)
    mid_relu = s.add("ReLU", "mid_relu", mid)
    up = s.add("UpSampling", "up", mid_relu, scale_factor=2)
    join = s.add("Concat", "skip_concat", [up, skip], axis=0)
    dec = s.add("Conv2d", "dec_conv", join, out_channels=16, kernel_size=3)
    dec_relu = s.add("ReLU", "dec_relu", dec)
    x = s.chain(dec_relu,
                ("Conv2d", "class_scores", {"out_channels": 3, "kernel_size": 1}),
                ("Permute", "classes_last", {"dims": [1, 2, 0]}))
    s.add("Output", "pixel_classes", src=x, task="multiclass")
    s.group("encoder (16x16)", enc, skip)
    s.group("bottom of the U (8x8)", down, mid, mid_relu, up)
    s.group("decoder (16x16)", join, dec, dec_relu)
    return s.finish(builtin("shapes_seg"), training(lr=0.005, epochs=20, batch_size=64))


TEMPLATES: dict[str, Callable[[], Graph]] = {
    f.__name__: f for f in (mlp, lenet, resnet, lstm_classifier, gru_tagger, sentiment, next_word, transformer_classifier,
                            wave_generator, conv_autoencoder, gan, siamese, recommender, localizer, unet,
                            detector, two_stage_detector)
}


def render(graph: Graph) -> str:
    """The file text, byte for byte what `Graph.save` writes."""
    return json.dumps(graph.to_dict(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for stem, build in TEMPLATES.items():
        path = TEMPLATE_DIR / f"{stem}.json"
        text = render(build())
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python tools/make_templates.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
