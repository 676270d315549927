"""Small projects the training tests share (built in code so they do not depend on the templates)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from engine.graph import Graph


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """One intra-op thread: tiny models train faster and steadier on a busy 2-core CI machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def chain(name: str, input_params: dict, layers: list[tuple[str, dict]], task: str, data: dict,
          training: dict | None = None) -> Graph:
    """Input -> layers... -> Output(task) with the given data and training sections."""
    g = Graph(name=name, data=data, training=training or {})
    prev = g.add_node("Input", "input", input_params).id
    for i, (type_id, params) in enumerate(layers):
        node = g.add_node(type_id, f"{type_id.lower()}{i + 1}", params)
        g.connect(prev, node.id)
        prev = node.id
    g.connect(prev, g.add_node("Output", "output", {"task": task}).id)
    return g


def digits_cnn(training: dict | None = None) -> Graph:
    return chain("digits cnn", {"kind": "image", "channels": 1, "height": 8, "width": 8}, [
        ("Conv2d", {"out_channels": 16}), ("ReLU", {}), ("MaxPool2d", {}),
        ("Conv2d", {"out_channels": 32}), ("ReLU", {}), ("Flatten", {}),
        ("Dense", {"units": 64}), ("ReLU", {}), ("Dense", {"units": 10}),
    ], "multiclass", {"source": "builtin", "name": "digits"}, training)


def iris_mlp(training: dict | None = None) -> Graph:
    return chain("iris mlp", {"kind": "features", "features": 4}, [
        ("Dense", {"units": 16}), ("ReLU", {}), ("Dense", {"units": 3}),
    ], "multiclass", {"source": "builtin", "name": "iris"}, training)


def recurrent(cell: str, hidden: int = 32, training: dict | None = None, seq_len: int = 50,
              n_samples: int = 3000) -> Graph:
    """`cell` (LSTM or SimpleRNN) -> Dense(1) on the adding problem."""
    return chain(f"adding {cell}", {"kind": "sequence", "seq_len": seq_len, "features": 2}, [
        (cell, {"hidden_size": hidden}), ("Dense", {"units": 1}),
    ], "regression", {"source": "builtin", "name": "adding_problem",
                      "options": {"seq_len": seq_len, "n_samples": n_samples}}, training)


def siamese(training: dict | None = None) -> Graph:
    """Two digit inputs through one shared-weight branch, an L2 Distance head (contrastive loss)."""
    g = Graph(name="siamese", data={"source": "builtin", "name": "digit_pairs"}, training=training or {})
    image = {"kind": "image", "channels": 1, "height": 8, "width": 8}
    ends = []
    for side in ("a", "b"):
        prev = g.add_node("Input", f"input_{side}", image).id
        for i, (type_id, params) in enumerate([("Flatten", {}), ("Dense", {"units": 32}), ("ReLU", {}),
                                                ("Dense", {"units": 16})]):
            node = g.add_node(type_id, f"{type_id.lower()}{i}_{side}", params)
            if side == "b":
                node.shares = g.by_name(f"{type_id.lower()}{i}_a").id
            g.connect(prev, node.id)
            prev = node.id
        ends.append(prev)
    dist = g.add_node("Distance", "distance")
    g.connect(ends[0], dist.id, dst_port="a")
    g.connect(ends[1], dist.id, dst_port="b")
    g.connect(dist.id, g.add_node("Output", "output", {"task": "regression"}).id)
    return g


def gan(training: dict | None = None, batchnorm: bool = False) -> Graph:
    """Generator (noise 16 -> 64 pixels, Sigmoid, reshaped to 1x8x8) and discriminator (-> 1 logit) on digits;
    `batchnorm` puts a BatchNorm1d after the generator's first Dense layer."""
    g = Graph(name="gan", data={"source": "builtin", "name": "digits", "task": "gan", "normalize": "minmax"},
              training=training or {"optimizer": "adam", "lr": 0.002, "betas": [0.5, 0.999]})
    prev = g.add_node("Input", "noise", {"kind": "features", "features": 16}).id
    norm = [("BatchNorm1d", {})] if batchnorm else []
    for type_id, params in [("Dense", {"units": 64}), *norm, ("ReLU", {}), ("Dense", {"units": 64}), ("Sigmoid", {}),
                            ("Reshape", {"shape": [1, 8, 8]})]:
        node = g.add_node(type_id, None, params)
        g.connect(prev, node.id)
        prev = node.id
    g.connect(prev, g.add_node("Output", "fake_image", {"task": "regression"}).id)
    prev = g.add_node("Input", "image", {"kind": "image", "channels": 1, "height": 8, "width": 8}).id
    for type_id, params in [("Flatten", {}), ("Dense", {"units": 64}), ("LeakyReLU", {}), ("Dense", {"units": 1})]:
        node = g.add_node(type_id, None, params)
        g.connect(prev, node.id)
        prev = node.id
    g.connect(prev, g.add_node("Output", "real_or_fake", {"task": "binary"}).id)
    return g
