"""Weights onto a project: plain PyTorch state_dicts, safetensors, runs and exports load by node name, and the
report names exactly what did not fit; bad files are DeepWire errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from engine.compile import compile_graph
from engine.errors import WeightsError
from engine.export import export_model
from engine.importer import import_module
from engine.weights import load_into, open_weights, preview


class SmallNet(nn.Module):
    """Nested names (features.0) and a BatchNorm, as real models have."""

    def __init__(self, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Linear(6 * 4 * 4, 32)
        self.head = nn.Linear(32, classes)

    def forward(self, x):
        x = self.features(x).flatten(1)
        return self.head(torch.relu(self.fc(x)))


def _trained_like(module: nn.Module) -> nn.Module:
    """Random weights and BatchNorm statistics far from their defaults, so a wrong mapping shows."""
    torch.manual_seed(3)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_()
        bn = module.features[1]
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    return module.eval()


def _imported(classes: int = 10):
    torch.manual_seed(0)
    graph = import_module(SmallNet(classes), [(1, 8, 8)], name="small")
    return graph, compile_graph(graph).eval()


def test_state_dict_saved_by_plain_pytorch_gives_identical_outputs(tmp_path: Path):
    original = _trained_like(SmallNet())
    torch.save(original.state_dict(), tmp_path / "small.pt")
    graph, model = _imported()
    report = load_into(model, graph, open_weights(tmp_path / "small.pt"))
    assert report.complete, report.lines()
    x = torch.randn(5, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(x), original(x))


def test_importer_style_safetensors_keyed_by_node_name_loads(tmp_path: Path):
    original = _trained_like(SmallNet())
    graph, model = _imported()
    keys = {f"{n.name}." for n in graph.nodes.values()}
    state = {k: v.contiguous() for k, v in original.state_dict().items()}
    assert all(any(k.startswith(p) for p in keys) for k in state)  # '<node name>.<param>', as deepwire import saves
    save_file(state, tmp_path / "small.safetensors")
    report = load_into(model, graph, open_weights(tmp_path / "small.safetensors"))
    assert report.complete
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(x), original(x))


def test_partial_load_reports_exactly_the_mismatched_nodes(tmp_path: Path):
    original = _trained_like(SmallNet(classes=10))
    torch.save(original.state_dict(), tmp_path / "ten.pt")
    graph, model = _imported(classes=4)
    fresh_head = model.get_submodule(model.deepwire_targets[graph.by_name("head").id]).weight.detach().clone()
    report = load_into(model, graph, open_weights(tmp_path / "ten.pt"))
    assert [n.name for n in report.by_status("mismatch")] == ["head"]
    assert {n.name for n in report.by_status("loaded")} == {"features.0", "features.1", "fc"}
    weight = next(p for p in report.by_status("mismatch")[0].params if p.key.endswith("weight"))
    assert (weight.shape, weight.source_shape) == ((4, 32), (10, 32))
    assert "1 shape mismatch (head)" in report.summary()
    assert "10, 32" in "\n".join(report.lines()) and "4, 32" in "\n".join(report.lines())
    head = model.get_submodule(model.deepwire_targets[graph.by_name("head").id])
    assert torch.equal(head.weight, fresh_head)  # left as initialised
    fc = model.get_submodule(model.deepwire_targets[graph.by_name("fc").id])
    assert torch.equal(fc.weight, original.fc.weight)


def test_missing_and_unexpected_tensors_are_reported(tmp_path: Path):
    original = _trained_like(SmallNet())
    state = {k: v for k, v in original.state_dict().items() if not k.startswith("fc.")}
    state["extra.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "partial.pt")
    graph, _ = _imported()
    report = preview(graph, open_weights(tmp_path / "partial.pt"))
    assert [n.name for n in report.by_status("missing")] == ["fc"]
    assert list(report.unexpected) == ["extra.weight"]
    assert not report.complete


def test_mapping_renames_and_skips(tmp_path: Path):
    original = _trained_like(SmallNet())
    state = {k.replace("fc.", "classifier.0."): v for k, v in original.state_dict().items()}
    torch.save(state, tmp_path / "renamed.pt")
    graph, model = _imported()
    report = load_into(model, graph, open_weights(tmp_path / "renamed.pt"),
                       {"fc": "classifier.0", "head": None})
    assert report.by_status("loaded") and [n.name for n in report.by_status("skipped")] == ["head"]
    assert torch.equal(model.get_submodule(model.deepwire_targets[graph.by_name("fc").id]).weight, original.fc.weight)
    with pytest.raises(WeightsError, match="no node named 'nope'"):
        load_into(model, graph, open_weights(tmp_path / "renamed.pt"), {"nope": "x"})


def test_checkpoint_dicts_and_data_parallel_prefixes_are_unwrapped(tmp_path: Path):
    original = _trained_like(SmallNet())
    wrapped = {"epoch": 3, "model_state_dict": {f"module.{k}": v for k, v in original.state_dict().items()}}
    torch.save(wrapped, tmp_path / "ckpt.pth")
    graph, model = _imported()
    assert load_into(model, graph, open_weights(tmp_path / "ckpt.pth")).complete


class _Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize("content", [b"", b"not weights at all" * 10, b"\x00" * 64,
                                     b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1", pickle.dumps(_Payload())])
def test_garbage_and_pickled_code_are_deepwire_errors(tmp_path: Path, content: bytes, capsys):
    path = tmp_path / "weights.bin"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match="weights.bin"):
        open_weights(path)
    assert "must never run" not in capsys.readouterr().out


def test_truncated_safetensors_and_non_tensor_pickles_are_refused(tmp_path: Path):
    save_file({"w": torch.ones(100)}, tmp_path / "w.safetensors")
    data = (tmp_path / "w.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:40])
    with pytest.raises(WeightsError, match="cut.safetensors"):
        open_weights(tmp_path / "cut.safetensors")
    torch.save({"lr": 0.1, "names": ["a"]}, tmp_path / "config.pt")
    with pytest.raises(WeightsError, match="not a state_dict"):
        open_weights(tmp_path / "config.pt")
    with pytest.raises(WeightsError, match="no such file"):
        open_weights(tmp_path / "absent.pt")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(WeightsError, match="neither a DeepWire run"):
        open_weights(tmp_path / "empty_dir")


def test_export_folder_loads_back(tmp_path: Path):
    graph, model = _imported()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    export_model(graph, model, None, "safetensors", tmp_path / "export")
    _, fresh = _imported()
    source = open_weights(tmp_path / "export")
    assert source.kind == "export"
    assert load_into(fresh, graph, source).complete
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value)


def test_cli_weights_reports_and_use_writes_the_project(tmp_path: Path, capsys):
    from engine.cli import main as cli_main
    from engine.graph import Graph

    graph, _ = _imported(classes=4)
    graph.save(tmp_path / "small.json")
    torch.save(_trained_like(SmallNet(classes=10)).state_dict(), tmp_path / "ten.pt")
    assert cli_main(["weights", str(tmp_path / "small.json"), str(tmp_path / "ten.pt"), "--use"]) == 0
    out = capsys.readouterr().out
    assert "1 shape mismatch (head)" in out and "head (" in out and "[10, 32]" in out
    assert Graph.load(tmp_path / "small.json").finetune == {"which": "best", "weights": "ten.pt"}
    (tmp_path / "junk.pt").write_bytes(b"junk")
    assert cli_main(["weights", str(tmp_path / "small.json"), str(tmp_path / "junk.pt")]) == 2
    assert "cannot be read as weights" in capsys.readouterr().err


def test_deepwire_import_carries_the_weights_into_training(tmp_path: Path, capsys):
    from engine import finetune
    from engine.cli import main as cli_main
    from engine.graph import Graph
    from engine.train.trainer import Trainer

    source = tmp_path / "net.py"
    source.write_text("import torch\nfrom torch import nn\n\n\nclass Net(nn.Module):\n"
                      "    def __init__(self):\n        super().__init__()\n        torch.manual_seed(7)\n"
                      "        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU())\n        self.fc = nn.Linear(8, 3)\n\n"
                      "    def forward(self, x):\n        return self.fc(self.body(x))\n")
    out = tmp_path / "net.json"
    assert cli_main(["import", str(source), "--input-shape", "4", "--task", "multiclass", "--out", str(out)]) == 0
    graph = Graph.load(out)
    assert graph.finetune == {"weights": "net.safetensors"}
    graph.data = {"source": "builtin", "name": "iris"}
    trainer = Trainer(finetune.resolved(graph, tmp_path))
    assert trainer.finetuning.report.complete
    torch.manual_seed(7)
    original = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
    head = nn.Linear(8, 3)
    x = torch.randn(6, 4)
    with torch.no_grad():
        assert torch.equal(trainer.model(x), head(original(x)))
