"""Plain PyTorch modules import into projects that compute the same outputs; exported projects round-trip."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from engine.cli import main as cli_main
from engine.compile import compile_graph
from engine.errors import GraphError
from engine.export import export_model
from engine.export.formats import load_standalone
from engine.export.preprocessing import example_inputs
from engine.graph import Graph
from engine.importer import import_model, import_module, load_reference, transfer_weights
from engine.layers.registry import get_spec
from engine.layers.spec import Params
from engine.shapes import infer_shapes
from engine.templates import list_templates, load_project
from engine.validate import validate


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 32)
        self.fc2 = nn.Linear(32, 16)
        self.out = nn.Linear(16, 3)
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        x = self.drop(F.relu(self.fc1(x)))
        x = torch.tanh(self.fc2(x))
        return self.out(x)


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), (2, 2))
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int = 8):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, 5)

    def forward(self, x):
        x = F.relu(self.bn0(self.stem(x)))
        identity = x
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        out = F.relu(out)
        return self.fc(torch.flatten(self.pool(out), 1))


class LSTMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(50, 16, padding_idx=0)
        self.lstm = nn.LSTM(16, 24, num_layers=2, batch_first=True)
        self.head = nn.Linear(24, 4)

    def forward(self, tokens):
        out, (h, c) = self.lstm(self.embedding(tokens))
        return self.head(out[:, -1])


class GRUHidden(nn.Module):
    """Reads the final hidden state h_n[-1] instead of the output sequence."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 12, batch_first=True)
        self.fc = nn.Linear(12, 1)

    def forward(self, x):
        _, h = self.gru(x)
        return self.fc(h[-1])


class TwoInputs(nn.Module):
    """A shared encoder applied to two inputs (shared weights), concatenated, plus a gate."""

    def __init__(self):
        super().__init__()
        self.encode = nn.Linear(6, 8)
        self.gate = nn.Linear(16, 16)
        self.out = nn.Linear(16, 2)

    def forward(self, a, b):
        joined = torch.cat([self.encode(a), self.encode(b)], dim=1)
        return self.out(joined * torch.sigmoid(self.gate(joined)))


CASES = [(MLP, [(4,)]), (LeNet, [(1, 28, 28)]), (ResidualBlock, [(3, 8, 8)]), (LSTMClassifier, [(12,)]),
         (GRUHidden, [(7, 3)]), (TwoInputs, [(6,), (6,)])]


def _inputs(graph: Graph, batch: int = 5) -> tuple[torch.Tensor, ...]:
    return example_inputs(graph, batch, seed=7)


def _randomize_batchnorm(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)


@pytest.mark.parametrize(("cls", "shapes"), CASES, ids=[c[0].__name__ for c in CASES])
def test_imported_module_computes_the_same_outputs(cls, shapes):
    torch.manual_seed(0)
    src = cls().eval()
    _randomize_batchnorm(src)
    imported = import_model(src, shapes)
    graph = imported.graph
    model = compile_graph(graph).eval()
    transfer_weights(imported, model)
    inputs = _inputs(graph)
    with torch.no_grad():
        torch.testing.assert_close(model(*inputs), src(*inputs), atol=1e-6, rtol=1e-5)
    graph2 = Graph.from_dict(graph.to_dict())
    assert [n.type for n in graph2.nodes.values()] == [n.type for n in graph.nodes.values()]


def test_imported_layers_and_params_read_like_the_source():
    graph = import_module(LSTMClassifier(), [(12,)])
    types = [n.type for n in graph.nodes.values()]
    assert types == ["Input", "Embedding", "LSTM", "Dense", "Output"]
    assert graph.input_nodes()[0].params["kind"] == "tokens"
    lstm = graph.by_name("lstm")
    assert lstm.params["hidden_size"] == 24 and lstm.params["num_layers"] == 2
    assert lstm.params["return_sequences"] is False
    assert graph.by_name("embedding").params["padding_idx"] == 0
    assert graph.output_nodes()[0].params["task"] == "multiclass"
    lenet = import_module(LeNet(), [(1, 28, 28)])
    assert lenet.by_name("conv1").params["padding"] == "same"
    assert lenet.by_name("conv2").params["padding"] == "valid"


def test_a_reused_submodule_becomes_shared_weights():
    graph = import_module(TwoInputs(), [(6,), (6,)])
    encoders = [n for n in graph.nodes.values() if n.name.startswith("encode")]
    assert len(encoders) == 2 and encoders[1].shares == encoders[0].id
    model = compile_graph(graph)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in TwoInputs().parameters())


class Unmappable(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.scale = nn.Parameter(torch.ones(4))

    def forward(self, x):
        h = self.fc(x)
        return torch.sin(h) + torch.cos(h) * torch.sin(h * 2) + self.scale


def test_unmappable_operations_become_placeholders_reported_at_once_by_op_and_line():
    imported = import_model(Unmappable(), [(4,)])
    text = imported.report()
    assert "3 operation(s) in 2 kind(s)" in text
    assert "torch.sin x2" in text and "torch.cos x1" in text
    assert "test_importer.py:" in text  # the source line of each
    holders = [n for n in imported.graph.nodes.values() if n.type == "Placeholder"]
    assert sorted(n.params["op"] for n in holders) == ["torch.cos", "torch.sin", "torch.sin"]
    assert all(n.params["out_shape"] == [4] and n.params["source"] for n in holders)
    validation = validate(imported.graph)
    assert len(validation.errors) == 3 and all("replace this node" in p.hint for p in validation.errors)
    assert {n.type for n in imported.graph.nodes.values()} >= {"Dense", "ScaleShift", "LearnedTensor", "Add"}
    with pytest.raises(GraphError, match="3 operation"):
        import_module(Unmappable(), [(4,)])


class NameClash(nn.Module):
    """A user class named like a DeepWire helper is traced through, not mapped by its name."""

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(6, 6)

        def forward(self, x):
            return torch.relu(self.proj(x)) * 0.5

    def __init__(self):
        super().__init__()
        self.attn = self.Attention()

    def forward(self, x):
        return self.attn(x)


def test_modules_are_mapped_by_class_identity_never_by_name():
    imported = import_model(NameClash(), [(6,)])
    assert not imported.problems
    assert [n.type for n in imported.graph.nodes.values()] == ["Input", "Dense", "ReLU", "ScaleShift", "Output"]


class Optional(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x, mask=None, scale: float = 2.0):
        assert x.shape[1] == 3, "three features"
        y = self.fc(x) * scale
        if mask is not None:
            y = y * mask
        torch._assert(x.size(1) // 3 == 1, "still three")
        return {"logits": y, "features": x}


def test_optional_arguments_shape_asserts_and_dict_outputs():
    imported = import_model(Optional(), [(3,)], output="logits")
    assert not imported.problems
    assert [n.type for n in imported.graph.nodes.values()] == ["Input", "Dense", "ScaleShift", "Output"]
    both = import_model(Optional(), [(3,)])
    assert [n.name for n in both.graph.output_nodes()] == ["output_logits", "output_features"]


def test_data_dependent_control_flow_is_reported():
    class Branchy(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    with pytest.raises(GraphError, match="torch.fx cannot trace Branchy"):
        import_module(Branchy(), [(3,)])


@pytest.mark.parametrize("template", list_templates())
def test_python_export_imports_back_into_an_equivalent_graph(template, tmp_path):
    graph = load_project(template)
    torch.manual_seed(1)
    model = compile_graph(graph).eval()
    result = export_model(graph, model, None, "python", tmp_path)
    src = load_standalone(result.path).load_model(tmp_path / "model.safetensors")
    shapes = [get_spec(n.type).input_shape(Params(n.params))[0] for n in graph.input_nodes()]
    tasks = {n.params["task"] for n in graph.output_nodes()}
    back_import = import_model(src, shapes, graph.name, task=tasks.pop() if len(tasks) == 1 else None)
    back = back_import.graph

    def layers(g: Graph) -> list:
        return sorted((n.type, sorted(n.params.items(), key=str), bool(n.shares))
                      for n in g.nodes.values() if n.type != "Output")

    assert layers(back) == layers(graph)
    assert len(back.edges) == len(graph.edges)
    again = compile_graph(back).eval()
    transfer_weights(back_import, again)
    inputs = _inputs(graph)
    with torch.no_grad():
        torch.testing.assert_close(again(*inputs), model(*inputs), atol=1e-6, rtol=1e-5)


def test_cli_import_writes_a_project(tmp_path, capsys):
    source = tmp_path / "net.py"
    source.write_text("import torch\nfrom torch import nn\n\n\nclass Net(nn.Module):\n"
                      "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(3, 2)\n\n"
                      "    def forward(self, x):\n        return torch.relu(self.fc(x))\n")
    out = tmp_path / "net.json"
    assert cli_main(["import", str(source), "--input-shape", "3", "--task", "regression", "--out", str(out)]) == 0
    graph = Graph.load(out)
    assert [n.type for n in graph.nodes.values()] == ["Input", "Dense", "ReLU", "Output"]
    assert graph.output_nodes()[0].params["task"] == "regression"
    model = compile_graph(graph)
    state = load_file(tmp_path / "net.safetensors")  # the module's weights, keyed like the compiled project
    assert set(state) == {"fc.weight", "fc.bias"} and graph.finetune["weights"] == "net.safetensors"
    model.load_state_dict(state)
    assert load_reference(f"{source}:Net").__name__ == "Net"
    assert cli_main(["import", f"{source}:Nope", "--input-shape", "3", "--out", str(out)]) == 2
    assert "no nn.Module class 'Nope'" in capsys.readouterr().err


def test_cli_import_reports_placeholders_and_picks_an_output(tmp_path, capsys):
    source = tmp_path / "seg.py"
    source.write_text("import torch\nfrom torch import nn\n\n\nclass Seg(nn.Module):\n"
                      "    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(3, 4, 1)\n\n"
                      "    def forward(self, x):\n        y = self.conv(x)\n"
                      "        return {'out': torch.erf(y), 'aux': y}\n")
    out = tmp_path / "seg.json"
    assert cli_main(["import", str(source), "--input-shape", "3,8,8", "--output", "out", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "torch.erf x1" in captured.err and "seg.py:12" in captured.err
    graph = Graph.load(out)
    assert [n.type for n in graph.nodes.values()] == ["Input", "Conv2d", "Placeholder", "Output"]


def test_an_unmapped_torch_module_keeps_its_weight_count_as_a_placeholder():
    class Grouped(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.norm = nn.GroupNorm(2, 8)
            self.head = nn.Linear(8, 2)

        def forward(self, x):
            return self.head(self.norm(self.conv(x)).mean((2, 3)))

    imported = import_model(Grouped(), [(3, 6, 6)])
    holder = imported.graph.by_name("norm")
    assert holder.type == "Placeholder" and holder.params["param_count"] == 16
    assert holder.params["out_shape"] == [8, 6, 6] and "module GroupNorm x1" in imported.report()
    validation = validate(imported.graph)
    assert [p.node_id for p in validation.errors] == [holder.id]


class SeqFirstGRU(nn.Module):
    """Embeds batch-first tokens, then runs a sequence-first GRU (the tutorials' default layout)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.gru = nn.GRU(8, 12)
        self.out = nn.Linear(12, 3)

    def forward(self, tokens):
        seq = self.embed(tokens).transpose(0, 1)
        steps, _ = self.gru(seq)
        return self.out(steps[-1])


def test_a_sequence_first_recurrent_layer_reads_its_last_step():
    src = SeqFirstGRU().eval()
    imported = import_model(src, [(7,)])
    assert not imported.problems, imported.report()
    gru = imported.graph.by_name("gru")
    assert gru.params["return_sequences"] is False
    model = compile_graph(imported.graph).eval()
    transfer_weights(imported, model)
    tokens = torch.randint(0, 20, (4, 7))
    with torch.no_grad():
        torch.testing.assert_close(model(tokens), src(tokens), atol=1e-6, rtol=1e-5)


class DiffInTheMiddle(nn.Module):
    """A conv, an op DeepWire has no layer for that shrinks the last dim, then a head that needs that shape."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Linear(4 * 8 * 7, 2)

    def forward(self, x):
        return self.head(torch.flatten(torch.diff(self.conv(x), dim=-1), 1))


def test_nodes_after_a_placeholder_get_shapes_from_its_recorded_output_and_only_it_fails_validation():
    imported = import_model(DiffInTheMiddle(), [(3, 8, 8)])
    graph = imported.graph
    (holder,) = [n for n in graph.nodes.values() if n.type == "Placeholder"]
    assert holder.params["out_shape"] == [4, 8, 7]
    shapes = infer_shapes(graph)
    assert shapes.out_shape(holder.id) == (None, 4, 8, 7)
    after = {n.type: shapes.out_shape(n.id) for n in graph.nodes.values() if n.type != "Placeholder"}
    assert after["Flatten"] == (None, 224) and after["Dense"] == (None, 2) and after["Output"] == (None, 2)
    assert shapes.nodes[graph.by_name("head").id].param_count == 224 * 2 + 2
    validation = validate(graph)
    assert [(p.node_id, "replace this node" in p.hint) for p in validation.errors] == [(holder.id, True)]
    with pytest.raises(GraphError, match="placeholder for 'torch.diff'"):
        compile_graph(graph)


def test_the_checks_of_nodes_after_a_placeholder_still_run():
    graph = import_model(DiffInTheMiddle(), [(3, 8, 8)]).graph
    output = next(n for n in graph.nodes.values() if n.type == "Output")
    output.params["task"] = "binary"  # the head gives 2 values per sample, a binary Output wants 1
    holder = next(n for n in graph.nodes.values() if n.type == "Placeholder")
    errors = validate(graph).errors
    assert sorted(p.node_id for p in errors) == sorted([holder.id, output.id])
    assert any("binary Output expects one logit" in p.message for p in errors if p.node_id == output.id)
