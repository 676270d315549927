"""`deepwire validate | summary | layers | templates`: exit codes and what a user reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.layers.registry import all_specs
from engine.templates import list_templates, template_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")


def broken_lenet(tmp_path: Path) -> Path:
    doc = json.loads((template_dir() / "lenet.json").read_text(encoding="utf-8"))
    doc["edges"] = [e for e in doc["edges"] if e["dst"] != "n5"]  # conv2 loses its input
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_validate_a_template_by_name_exits_0(capsys):
    assert main(["validate", "lenet"]) == 0
    out = capsys.readouterr().out
    assert "LeNet (digits): valid, 14 nodes, 19,754 parameters" in out
    assert "error" not in out


def test_validate_a_broken_project_exits_1_naming_the_node(tmp_path: Path, capsys):
    assert main(["validate", str(broken_lenet(tmp_path))]) == 1
    out = capsys.readouterr().out
    assert "error: conv2 (n5): Conv 2D 'conv2': input 'in' is not connected" in out
    assert "hint: drag a wire" in out
    assert "error(s)" in out.splitlines()[-1]


@pytest.mark.parametrize("content", ['{"format": "deepwire-project", "version": 1, "nodes": [', "[]", None])
def test_validate_an_unreadable_file_exits_2_with_one_line(tmp_path: Path, capsys, content: str | None):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("deepwire: error: ") and str(path) in lines[0]


def test_unknown_template_name_lists_the_templates(capsys):
    assert main(["summary", "lenett"]) == 2
    err = capsys.readouterr().err
    assert "not a template name" in err and "lenet" in err and "resnet" in err


def test_console_script_prints_no_traceback(tmp_path: Path):
    path = tmp_path / "truncated.json"
    path.write_text((template_dir() / "lenet.json").read_text(encoding="utf-8")[:300], encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "validate", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "not valid JSON" in proc.stderr


def test_summary_is_a_table_of_nodes_shapes_and_params(capsys):
    assert main(["summary", "lenet"]) == 0
    out = capsys.readouterr().out
    for name in ("image", "conv1", "pool2", "flatten", "fc3", "digit"):
        assert name in out
    assert "(N, 6, 8, 8)" in out and "(N, 64)" in out and "(N, 10)" in out
    conv1_row = next(line for line in out.splitlines() if " conv1 " in line)
    assert "Conv2d" in conv1_row and "60" in conv1_row  # 6 * 1 * 3 * 3 + 6
    assert "Total parameters: 19,754" in out


def test_summary_has_cost_columns_and_the_training_memory_estimate(capsys):
    assert main(["summary", "lenet", "--batch-size", "10", "--no-latency"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "FLOPs" in line)
    assert "output mem" in header
    conv1_row = next(line for line in out.splitlines() if " conv1 " in line)
    assert "69.1 KFLOP" in conv1_row  # 2 * 10 * (6 * 8 * 8) * (1 * 3 * 3)
    assert "15.4 KB" in conv1_row  # 10 * 6 * 8 * 8 float32 values
    assert "Training memory estimate:" in out and "optimizer state" in out


def test_summary_marks_shared_weights(capsys):
    assert main(["summary", "siamese"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if " conv_b " in line)
    cells = [c.strip() for c in row.split("│")]
    assert "(shares conv_a)" in row and cells[4] == "0"  # node, type, shape, params


def test_summary_of_a_broken_project_exits_1(tmp_path: Path, capsys):
    assert main(["summary", str(broken_lenet(tmp_path))]) == 1
    assert "error(s)" in capsys.readouterr().out


def test_layers_lists_the_whole_catalogue(capsys):
    assert main(["layers"]) == 0
    out = capsys.readouterr().out
    for spec in all_specs():
        assert spec.type_id in out


def test_layers_shows_one_type_in_full(capsys):
    assert main(["layers", "Conv2d"]) == 0
    out = capsys.readouterr().out
    assert "Advantages" in out and "When to use" in out and "out_channels" in out and "kernel_size" in out
    assert main(["layers", "Conv2D"]) == 2
    assert "did you mean 'Conv2d'" in capsys.readouterr().err


def test_templates_lists_every_shipped_template(capsys):
    assert main(["templates"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == list_templates()


def test_datasets_lists_every_built_in_set_with_its_tasks(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("digits", "iris", "breast_cancer", "mnist", "adding_problem", "digit_pairs", "ratings"):
        assert name in out
    assert "autoencoder" in out and "next_step" in out
