"""Small projects the training tests share (built in code so they do not depend on the templates)."""

from __future__ import annotations

from engine.graph import Graph


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
