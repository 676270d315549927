"""Every template exports to every format, reloads (ONNX through onnxruntime, source without DeepWire) and
gives the compiled model's outputs; generated source is immune to hostile names."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.cli import main as cli_main
from engine.compile import compile_graph
from engine.errors import ExportError
from engine.export import FORMATS, ExportResult, export_model
from engine.export.formats import load_standalone, save_weights
from engine.export.preprocessing import example_inputs
from engine.export.reload import load_safetensors_export
from engine.graph import Graph
from engine.templates import list_templates, load_project

TEMPLATES = list_templates()
BATCH = 7


def _outputs(out) -> list[np.ndarray]:
    items = out if isinstance(out, tuple | list) else [out]
    return [o.detach().numpy() if isinstance(o, torch.Tensor) else np.asarray(o) for o in items]


class Exports:
    """Compiled template models and their exports, made once per module and on first use."""

    def __init__(self, root: Path):
        self.root = root
        self.models: dict[str, tuple[Graph, torch.nn.Module]] = {}
        self.results: dict[tuple[str, str], ExportResult] = {}

    def model(self, name: str) -> tuple[Graph, torch.nn.Module]:
        if name not in self.models:
            torch.manual_seed(len(self.models))
            graph = load_project(name)
            self.models[name] = graph, compile_graph(graph).eval()
        return self.models[name]

    def get(self, name: str, fmt: str) -> ExportResult:
        if (name, fmt) not in self.results:
            graph, model = self.model(name)
            data_info = {"class_names": [f"class {i}" for i in range(10)], "task": graph.data.get("task")}
            self.results[name, fmt] = export_model(graph, model, data_info, fmt, self.root / name / fmt)
        return self.results[name, fmt]

    def inputs(self, name: str) -> tuple[torch.Tensor, ...]:
        return example_inputs(self.model(name)[0], BATCH, seed=123)

    def expected(self, name: str) -> list[np.ndarray]:
        with torch.no_grad():
            return _outputs(self.model(name)[1](*self.inputs(name)))


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Exports:
    return Exports(tmp_path_factory.mktemp("exports"))


def _reload(result: ExportResult, inputs: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
    if result.format == "safetensors":
        _, model = load_safetensors_export(result.path)
        with torch.no_grad():
            return _outputs(model(*inputs))
    if result.format == "torchscript":
        with torch.no_grad():
            return _outputs(torch.jit.load(str(result.path))(*inputs))
    if result.format == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
        feed = {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs, strict=True)}
        return session.run(None, feed)
    module = load_standalone(result.path)
    with torch.no_grad():
        return _outputs(module.load_model(result.path.parent / "model.safetensors")(*inputs))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("template", TEMPLATES)
def test_template_export_reloads_with_the_same_outputs(exports, template, fmt):
    result = exports.get(template, fmt)
    assert result.check["passed"] and result.check["max_abs_diff"] <= result.check["atol"] + 1e-3
    assert result.path.exists() and all(f.exists() for f in result.files)
    record = json.loads((result.path.parent / "preprocessing.json").read_text())
    graph = exports.model(template)[0]
    assert [i["name"] for i in record["inputs"]] == [n.name for n in graph.input_nodes()]
    assert record["class_names"][3] == "class 3"
    got = _reload(result, exports.inputs(template))
    want = exports.expected(template)
    assert len(got) == len(want)
    tol = 1e-4 if fmt == "onnx" else 1e-6
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape  # batch 7 differs from the batch the export was traced with
        np.testing.assert_allclose(g, w, atol=tol, rtol=1e-3)


ISOLATED_RUNNER = """
import sys
sys.path.append(sys.argv[1])  # site-packages only: no .pth files, so no editable DeepWire install
for name in ("engine", "editor"):
    try:
        __import__(name)
    except ModuleNotFoundError:
        pass
    else:
        raise SystemExit(f"{name} is importable in the isolated interpreter")
import numpy as np
import torch
for folder in sys.argv[2:]:
    sys.path.insert(0, folder + "/python")
    sys.modules.pop("model", None)
    import model
    sys.path.pop(0)
    data = np.load(folder + "/inputs.npz")
    inputs = [torch.from_numpy(data[f"x{i}"]) for i in range(len(data.files))]
    with torch.no_grad():
        out = model.load_model(folder + "/python/model.safetensors")(*inputs)
        traced = torch.jit.load(folder + "/torchscript/model.pt")(*inputs)
    pack = lambda o: o if isinstance(o, tuple) else (o,)
    np.savez(folder + "/standalone.npz", *[o.numpy() for o in pack(out)])
    np.savez(folder + "/traced.npz", *[o.numpy() for o in pack(traced)])
    print("ran", model.__name__, type(model.load_model.__globals__["PROJECT_NAME"]).__name__)
"""


def _isolated(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """`python -I -S` with only site-packages on the path: DeepWire's editable install is not visible."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run([sys.executable, "-I", "-S", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_exported_source_and_torchscript_run_without_deepwire(exports, tmp_path):
    folders = []
    for name in TEMPLATES:
        exports.get(name, "python")
        exports.get(name, "torchscript")
        folder = exports.root / name
        np.savez(folder / "inputs.npz", **{f"x{i}": x.numpy() for i, x in enumerate(exports.inputs(name))})
        folders.append(str(folder))
    runner = tmp_path / "runner.py"
    runner.write_text(ISOLATED_RUNNER)
    proc = _isolated([str(runner), sysconfig.get_paths()["purelib"], *folders], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("ran model") == len(TEMPLATES)
    for name in TEMPLATES:
        want = exports.expected(name)
        for stem in ("standalone", "traced"):
            got = np.load(exports.root / name / f"{stem}.npz")
            assert len(got.files) == len(want)
            for i, w in enumerate(want):
                np.testing.assert_allclose(got[f"arr_{i}"], w, atol=1e-6, rtol=1e-5)


def test_generated_source_is_readable_pytorch(exports):
    source = exports.get("lenet", "python").path.read_text()
    assert "import engine" not in source and "from engine" not in source
    assert "class LeNetDigits(nn.Module):" in source
    assert "nn.Conv2d(1, 6, 3, padding=1)" in source
    assert "def forward(self, image):" in source
    lines = [ln.strip() for ln in source.splitlines() if ln.strip().startswith(("conv", "pool", "fc", "relu"))]
    assert lines[0].startswith("conv1 = self.conv1(image)")


HOSTILE = ["x'); __import__('os').system('echo pwned') #", 'a"""b\n__import__("os")', "class", "def", "",
           "  ", "naïve Ünïcode ☃", "self", "torch", "1st", "__init__", "forward", "nn", "F", "import os",
           "\u2028line", "x\\", "conv1", "conv1"]


def _hostile_graph() -> Graph:
    g = Graph(name="'); import os; os.system('echo pwned') #\n\"\"\"evil\u2028")
    prev = g.add_node("Input", "image\"); import os", {"kind": "features", "features": 5}).id
    for name in HOSTILE:
        node = g.add_node("Dense", name or "x", {"units": 5})
        g.connect(prev, node.id)
        prev = node.id
    out = g.add_node("Output", "out'\n", {"task": "multiclass"})
    g.connect(prev, out.id)
    return g


def test_hostile_names_cannot_inject_code(tmp_path):
    graph = _hostile_graph()
    model = compile_graph(graph).eval()
    names = ["'); __import__('os')", "b\n\"\"\"", "\u2028", "ok", "ok"]
    result = export_model(graph, model, {"class_names": names}, "python", tmp_path / "out")
    source = result.path.read_text()
    tree = ast.parse(source)
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "__import__" not in calls and "exec" not in calls and "eval" not in calls
    imports = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
    assert imports <= {"math", "torch", "nn", "functional", "load_file", "sys"}
    assert source.isascii()
    module = load_standalone(result.path)
    assert module.PROJECT_NAME == graph.name and module.CLASS_NAMES == names
    x = torch.randn(4, 5)
    np.testing.assert_allclose(module.load_model(result.path.parent / "model.safetensors")(x).detach(),
                               model(x).detach(), atol=1e-6)
    train = (result.path.parent / "train.py").read_text()
    ast.parse(train)
    assert "__import__('os')" not in train


@pytest.mark.slow
def test_train_script_trains_standalone_and_under_torchrun(exports, tmp_path):
    from sklearn.datasets import load_iris

    result = exports.get("mlp", "python")
    folder = result.path.parent
    x, y = load_iris(return_X_y=True)
    np.savez(tmp_path / "iris.npz", x=x.astype(np.float32), y=y)
    bootstrap = tmp_path / "boot.py"
    bootstrap.write_text("import runpy, sys\nsys.path.append(sys.argv.pop(1))\nsys.path.insert(0, sys.argv.pop(1))\n"
                         "sys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')\n")
    out = tmp_path / "trained.safetensors"
    proc = _isolated([str(bootstrap), sysconfig.get_paths()["purelib"], str(folder), str(folder / "train.py"),
                      "--data", str(tmp_path / "iris.npz"), "--epochs", "2", "--out", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "epoch 2/2" in proc.stdout and out.exists()
    module = load_standalone(result.path)
    before = module.load_model(folder / "model.safetensors").state_dict()
    after = module.load_model(out).state_dict()
    assert before.keys() == after.keys() and any(not torch.equal(before[k], after[k]) for k in before)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    dist_out = tmp_path / "ddp.safetensors"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533",
                           str(folder / "train.py"), "--data", str(tmp_path / "iris.npz"), "--epochs", "1",
                           "--out", str(dist_out)], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "epoch 1/1" in proc.stdout and dist_out.exists()


def test_unknown_format_is_refused(tmp_path):
    graph = load_project("mlp")
    with pytest.raises(ExportError, match="unknown export format"):
        export_model(graph, compile_graph(graph), None, "pickle", tmp_path)


def test_an_export_file_path_is_used_as_is(tmp_path):
    graph = load_project("mlp")
    result = export_model(graph, compile_graph(graph), None, "onnx", tmp_path / "deploy" / "iris.onnx")
    assert result.path == tmp_path / "deploy" / "iris.onnx"
    assert sorted(p.name for p in (tmp_path / "deploy").iterdir()) == ["iris.onnx", "preprocessing.json"]


def _stand_in_run(tmp_path: Path) -> Path:
    """A run folder as the trainer leaves it, with init weights (training is not under test here)."""
    from engine.data import load_data
    from engine.runs import create_run

    graph = load_project("mlp")
    run = create_run(graph, tmp_path / "runs")
    torch.manual_seed(0)
    save_weights(compile_graph(graph), run.path / "best.safetensors")
    info = load_data(graph.data, seed=0).describe()
    (run.path / "data.json").write_text(json.dumps(info))
    return run.path


def test_cli_export_then_predict_from_the_export_and_from_the_run(tmp_path, capsys):
    run = _stand_in_run(tmp_path)
    csv = tmp_path / "flowers.csv"
    csv.write_text("sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    for fmt in FORMATS:
        assert cli_main(["export", str(run), "--format", fmt, "--out", str(tmp_path / fmt)]) == 0
        assert "check: outputs match" in capsys.readouterr().out
    from engine.predict import predict_file

    expected = predict_file(run, csv)
    assert {c[0] for row in expected for c in row["classes"]} <= {"setosa", "versicolor", "virginica"}
    for fmt in FORMATS:
        got = predict_file(tmp_path / fmt, csv)
        assert [r["classes"][0][0] for r in got] == [r["classes"][0][0] for r in expected]
        assert [r["classes"][0][1] for r in got] == pytest.approx([r["classes"][0][1] for r in expected], abs=1e-5)
    assert cli_main(["predict", str(tmp_path / "onnx"), str(csv)]) == 0
    out = capsys.readouterr().out
    assert expected[0]["classes"][0][0] in out and "%" in out


def test_predict_applies_the_training_normalization(tmp_path):
    from engine.predict import load_predictor

    run = _stand_in_run(tmp_path)
    predictor = load_predictor(run)
    raw = np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32)
    model, _ = __import__("engine.runs", fromlist=["open_run"]).open_run(run).load_model()
    norm = predictor.record["normalization"]
    x = (raw - np.asarray(norm["mean"], dtype=np.float32)) / np.asarray(norm["std"], dtype=np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(predictor([raw]), want, atol=1e-6)


def _single_layer_graph(spec) -> Graph:
    """Input(s) shaped like the spec's example -> the layer -> Output."""
    g = Graph(name=f"one {spec.type_id}")
    layer = g.add_node(spec.type_id, spec.type_id.lower())
    ports = [p.name for p in spec.inputs]
    for i, shape in enumerate(spec.example):
        dims = shape[1:]
        if spec.type_id == "Embedding":
            params = {"kind": "tokens", "seq_len": dims[0]}
        elif len(dims) == 1:
            params = {"kind": "features", "features": dims[0]}
        elif len(dims) == 2:
            params = {"kind": "sequence", "seq_len": dims[0], "features": dims[1]}
        else:
            params = {"kind": "image", "channels": dims[0], "height": dims[1], "width": dims[2]}
        src = g.add_node("Input", f"in{i}", params)
        g.connect(src.id, layer.id, dst_port=ports[min(i, len(ports) - 1)])
    g.connect(layer.id, g.add_node("Output", "out", {"task": "regression"}).id, spec.outputs[0].name)
    return g


def _layer_specs():
    from engine.layers.registry import all_specs

    return [s for s in all_specs() if s.role == "layer" and s.type_id != "Placeholder"]  # it never validates


@pytest.mark.parametrize("spec", _layer_specs(), ids=lambda s: s.type_id)
def test_every_layer_type_exports_as_source_and_torchscript(spec, tmp_path):
    graph = _single_layer_graph(spec)
    torch.manual_seed(0)
    model = compile_graph(graph).eval()
    for fmt in ("python", "torchscript"):
        result = export_model(graph, model, None, fmt, tmp_path / fmt)
        assert result.check["passed"], result.check


def test_attention_exports_to_onnx_with_a_dynamic_batch(tmp_path):
    g = Graph(name="attention")
    query = g.add_node("Input", "query", {"kind": "sequence", "seq_len": 6, "features": 8})
    memory = g.add_node("Input", "memory", {"kind": "sequence", "seq_len": 4, "features": 5})
    causal = g.add_node("MultiHeadAttention", "self_attn", {"num_heads": 2, "causal": True})
    cross = g.add_node("MultiHeadAttention", "cross_attn", {"num_heads": 2})
    g.connect(query.id, causal.id, dst_port="query")
    g.connect(causal.id, cross.id, dst_port="query")
    g.connect(memory.id, cross.id, dst_port="key_value")
    g.connect(cross.id, g.add_node("Output", "out", {"task": "regression"}).id)
    model = compile_graph(g).eval()
    result = export_model(g, model, None, "onnx", tmp_path)
    assert result.check["passed"] and result.check["batch"] == 5
    assert _reload(result, example_inputs(g, 9))[0].shape == (9, 6, 8)


def test_a_new_export_format_is_one_record(tmp_path, capsys, monkeypatch):
    """A format registered in a test (weights in an .npz beside the project) exports through the CLI and
    predicts, with nothing else touched."""
    from engine.export.checks import compare
    from engine.export.formats import EXPORT_FORMATS, ExportFormat, torch_forward
    from engine.predict import predict_file

    def load(main: Path, folder: Path):
        model = compile_graph(Graph.load(folder / "project.json")).eval()
        with np.load(main) as archive:
            model.load_state_dict({k: torch.from_numpy(archive[k]) for k in archive.files})
        return torch_forward(model)

    def write(graph, model, main, inputs, record):
        np.savez(main, **{k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})
        graph.save(main.parent / "project.json")
        with torch.no_grad():
            want, got = model(*inputs), torch.from_numpy(load(main, main.parent)(inputs))
        return [main, main.parent / "project.json"], compare("npz", want, got, len(inputs[0]), 1e-6, 0.0)

    monkeypatch.setitem(EXPORT_FORMATS, "npz", ExportFormat("npz", ".npz", "model.npz", "weights as NumPy arrays",
                                                            write, load))
    run = _stand_in_run(tmp_path)
    assert cli_main(["export", str(run), "--format", "npz", "--out", str(tmp_path / "npz")]) == 0
    assert "check: outputs match" in capsys.readouterr().out
    csv = tmp_path / "flowers.csv"
    csv.write_text("sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    expected, got = predict_file(run, csv), predict_file(tmp_path / "npz", csv)
    assert [r["classes"][0][0] for r in got] == [r["classes"][0][0] for r in expected]
    assert [r["classes"][0][1] for r in got] == pytest.approx([r["classes"][0][1] for r in expected], abs=1e-6)
