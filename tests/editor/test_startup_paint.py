"""Issue 16 item 11: the editor paints its window (palette, canvas with the example's nodes) before PyTorch is
imported; PyTorch then loads on a background thread and the graph is validated (shapes on the nodes).

Each check runs in a fresh interpreter, where nothing has imported torch yet (this test process has)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, tmp_path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "DEEPWIRE_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_the_first_paint_modules_import_without_torch(tmp_path):
    code = ("import sys\n"
            "import editor.app, editor.main_window, engine.graph, engine.layers, engine.validate, engine.document\n"
            "from engine.layers import all_specs\n"
            "assert len(list(all_specs())) > 50\n"
            "print(sorted(m for m in ('torch', 'sklearn', 'scipy', 'pandas', 'optuna', 'onnx') if m in sys.modules))\n")
    assert _run(code, tmp_path) == "[]"


def test_a_layer_still_builds_and_infers_shapes_once_torch_is_used(tmp_path):
    code = ("import sys\n"
            "from engine.layers import get_spec, Params\n"
            "assert 'torch' not in sys.modules\n"
            "spec = get_spec('Dense')\n"
            "module = spec.build(Params(spec.defaults()), [(None, 8)])\n"
            "print(type(module).__name__, 'torch' in sys.modules)\n")
    assert _run(code, tmp_path) == "Linear True"


@pytest.mark.slow
def test_the_window_paints_the_example_before_torch_then_validates_it(tmp_path):
    code = """
import sys
from editor import qtcompat  # noqa: F401
from PySide6.QtCore import QElapsedTimer
from PySide6.QtWidgets import QApplication
from editor import app as app_module, warmup
from editor.main_window import MainWindow

app = app_module.application()
warmup.begin()
window = MainWindow()
window.show()
app_module.open_project(window, None)
app.processEvents()
window.repaint()
controller = window.controller
drawn = len(controller.view.ngraph.all_nodes())
assert 'torch' not in sys.modules, 'torch imported before the first paint'
assert drawn == len(controller.graph.nodes) > 5, drawn
assert controller.validation.pending and 'checking' in window.valid_label.text()
ws = window.training
ws.runner.backend = 'thread'
ws.train()  # pressed before the graph could be checked: it starts once it is
assert not ws.runner.busy and 'as soon as' in ws.training_panel.status.text()
thread = warmup.load_in_background(window)
clock = QElapsedTimer()
clock.start()
while controller.validation.pending and clock.elapsed() < 90_000:
    app.processEvents()
thread.join(10)
validation = controller.validation
assert not validation.pending and all(validation.shapes[n] for n in controller.graph.nodes)
assert 'valid' in window.valid_label.text() and 'checking' not in window.valid_label.text()
assert ws.runner.busy, 'the Train pressed while PyTorch loaded started the run'
assert ws.stop_and_wait()
window.document.close_cleanly()
controller.undo_stack.setClean()
window.close()
print('ok', drawn)
"""
    assert _run(code, tmp_path).startswith("ok")
