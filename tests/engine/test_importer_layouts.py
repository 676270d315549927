"""Importer: sequence-first inputs (declared batch position, or a clear message naming the input)."""

from __future__ import annotations

import pytest
import torch

from engine.cli import main as cli_main
from engine.compile import compile_graph
from engine.errors import GraphError
from engine.graph import Graph
from engine.importer import import_model, transfer_weights
from engine.importer_cli import parse_input_shape
from tests.engine.import_zoo import RNNModel, randomize_batchnorm


def _word_lm() -> RNNModel:
    """pytorch/examples' word language model as written there: (T, N) token input, batch_first=False LSTM."""
    torch.manual_seed(0)
    return RNNModel(ntoken=50, ninp=16, nhid=16, batch_first=False).eval()


def test_a_declared_sequence_first_input_imports_exactly_and_the_project_is_batch_first():
    src = _word_lm()
    randomize_batchnorm(src)
    imported = import_model(src, [(12,)], output=0, batch_axes=[1])
    assert not imported.problems, imported.report()
    assert [w.kind for w in imported.warnings] == ["sequence-first input"]
    assert "reads input 'input' as (T, N, ...)" in imported.report()
    graph = imported.graph
    assert graph.input_nodes()[0].params == {**graph.input_nodes()[0].params, "kind": "tokens", "seq_len": 12}
    lstm = next(n for n in graph.nodes.values() if n.type == "LSTM")
    assert lstm.params["return_sequences"] and not any(n.type == "Permute" for n in graph.nodes.values())
    model = compile_graph(graph).eval()
    transfer_weights(imported, model)
    tokens = torch.randint(0, 50, (12, 3))  # (T, N) as the original reads it
    with torch.no_grad():
        want = src(tokens, None)[0].transpose(0, 1)  # (N, T, V): the project's batch-first layout
        got = model(tokens.transpose(0, 1).contiguous())
    assert (want - got).abs().max().item() <= 1e-5
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in src.parameters())


def test_an_undeclared_sequence_first_input_gets_a_message_naming_it_and_what_to_do():
    imported = import_model(_word_lm(), [(12,)], output=0)
    report = imported.report()
    assert "LSTM 'rnn' is sequence-first (batch_first=False) but reads 'input' as batch-first" in report
    assert "--input-shape T,N,... with the letter N at the batch position" in report


def test_input_shape_parses_the_batch_position():
    assert parse_input_shape("1,28,28") == ((1, 28, 28), 0)
    assert parse_input_shape("35,N") == ((35,), 1)
    assert parse_input_shape("n,35") == ((35,), 0)
    with pytest.raises(GraphError, match="first or second dim"):
        parse_input_shape("35,2,N")
    with pytest.raises(GraphError, match="whole numbers"):
        parse_input_shape("35,x")
    with pytest.raises(GraphError, match="batch must be an input's first"):
        import_model(_word_lm(), [(12,)], batch_axes=[2])
    with pytest.raises(GraphError, match="1 batch axes for 2 input"):
        import_model(_word_lm(), [(12,), (3,)], batch_axes=[1])


def test_cli_imports_a_sequence_first_model(tmp_path, capsys):
    source = tmp_path / "lm.py"
    source.write_text(
        "from torch import nn\n\n\nclass LM(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.emb = nn.Embedding(30, 8)\n        self.rnn = nn.GRU(8, 8)\n        self.out = nn.Linear(8, 30)\n\n"
        "    def forward(self, src):\n        return self.out(self.rnn(self.emb(src))[0])\n")
    out = tmp_path / "lm.json"
    assert cli_main(["import", str(source), "--input-shape", "10,N", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning (sequence-first input)" in err and "imported exactly" in err
    types = [n.type for n in Graph.load(out).nodes.values()]
    assert types == ["Input", "Embedding", "GRU", "Dense", "Output"]
    assert cli_main(["import", str(source), "--input-shape", "10", "--out", str(out)]) == 0
    assert "GRU 'rnn' is sequence-first (batch_first=False) but reads 'src' as batch-first" in capsys.readouterr().err


class TrainingBranches(torch.nn.Module):
    """Code under `if self.training:` (two dropouts, added noise) and under `if not self.training:`."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(8, 8), torch.nn.Linear(8, 3)
        self.drop = torch.nn.Dropout(0.3)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        if self.training:
            x = self.drop(x)
        h = torch.nn.functional.relu(x)
        if self.training:
            h = torch.nn.functional.dropout(h, 0.2)
        if self.training:
            h = h + torch.randn_like(h) * 0.1
        if not self.training:
            h = h * 2
        return self.fc2(h)


def test_training_only_dropouts_become_dropout_nodes_and_other_branches_are_named_warnings():
    src = TrainingBranches()
    imported = import_model(src, [(8,)])
    assert not imported.problems and src.training  # the module is left in the mode it came in
    graph = imported.graph
    order = [n.id for n in graph.nodes.values()]
    chain, nid = [], graph.input_nodes()[0].id
    while True:
        out = [e.dst for e in graph.edges if e.src == nid]
        if not out:
            break
        nid = out[0]
        node = graph.nodes[nid]
        chain.append((node.type, node.params.get("p")))
    assert chain == [("Dense", None), ("ReLU", None), ("Dropout", 0.3), ("ReLU", None), ("Dropout", 0.2),
                     ("ScaleShift", None), ("Dense", None), ("Output", None)]
    assert len(order) == 9
    kinds = [(w.kind, w.source) for w in imported.warnings]
    assert ("training-only branch", "test_importer_layouts.py:93") in kinds  # self.drop(x)
    assert ("training-only branch", "test_importer_layouts.py:96") in kinds  # F.dropout
    assert ("evaluation-only branch", "test_importer_layouts.py:100") in kinds  # h * 2
    report = imported.report()
    assert "training-only module 'drop' became Dropout node 'drop'" in report
    assert "code that runs only in training (randn_like, mul, add) is not in the project" in report
    assert "test_importer_layouts.py:98" in report
    model = compile_graph(graph).eval()
    transfer_weights(imported, model)
    x = torch.randn(4, 8)
    with torch.no_grad():
        torch.testing.assert_close(model(x), src.eval()(x))
    assert src.drop.p == 0.3 and not any(b is not None and b.numel() for b in src.buffers())


def test_a_model_without_mode_branches_gets_no_warning():
    imported = import_model(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.5), torch.nn.ReLU()), [(3,)])
    assert imported.warnings == [] and imported.report().endswith("imported exactly")


def test_a_model_that_only_traces_in_evaluation_mode_says_training_code_was_not_checked():
    class DataBranchInTraining(torch.nn.Module):
        def forward(self, x):
            if self.training and x.sum() > 0:
                x = x * 2
            return x + 1

    imported = import_model(DataBranchInTraining(), [(3,)])
    assert not imported.problems
    assert [w.kind for w in imported.warnings] == ["training mode"]
    assert "code under `if self.training:` is not checked" in imported.report()


@pytest.mark.parametrize("content, expected", [
    (b"import torch\nclass Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__(\n", "not valid Python"),
    (bytes(range(256)) * 8, "not valid Python"),
    (b"raise RuntimeError('no GPU here')\n", "raised RuntimeError: no GPU here at net.py:1"),
    (b"import torch\nclass Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
     b"        raise ValueError('bad')\n", "raised ValueError: bad at net.py:5"),
])
def test_the_import_command_names_a_broken_model_file_without_a_traceback(tmp_path, capsys, content, expected):
    (tmp_path / "net.py").write_bytes(content)
    code = cli_main(["import", f"{tmp_path / 'net.py'}:Net", "--input-shape", "3,8,8", "--out", str(tmp_path / "p.json")])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and "Traceback" not in err
