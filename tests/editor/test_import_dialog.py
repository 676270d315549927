"""File > Import PyTorch model…: a model file written here is imported through the dialog (off the GUI thread),
opens on the canvas, and its weights file loads into the compiled project with the original's outputs."""

from __future__ import annotations

import importlib.util
import textwrap

import pytest
import torch
from PySide6.QtWidgets import QDialogButtonBox, QMenu, QMessageBox
from safetensors.torch import load_file

from editor.import_dialog import ImportDialog
from editor.import_job import model_classes
from engine.compile import compile_graph
from engine.importer import split_reference

MODEL = textwrap.dedent('''
    import torch
    from torch import nn
    import torch.nn.functional as F


    class Block(nn.Module):
        def __init__(self, channels=4):
            super().__init__()
            self.conv = nn.Conv2d(channels, channels, 3, padding=1)
            self.bn = nn.BatchNorm2d(channels)

        def forward(self, x):
            return F.relu(self.bn(self.conv(x))) + x


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)  # the test rebuilds the same weights in its own process
            self.stem = nn.Conv2d(3, 4, 3, padding=1)
            self.block = Block()
            self.head = nn.Linear(4, 5)

        def forward(self, x):
            x = self.block(self.stem(x))
            return F.log_softmax(self.head(x.mean((2, 3))), dim=1)


    class Helper:
        pass
''')


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def fill(dialog, source, shapes="3,8,8", project=None):
    dialog.source.setText(str(source))
    dialog.refresh_classes()
    dialog.shapes.setText(shapes)
    dialog.keep_weights.setChecked(project is not None)
    if project is not None:
        dialog.project_path.setText(str(project))


def run(dialog, qtbot):
    assert dialog.start(), dialog.status.text()
    qtbot.waitUntil(lambda: dialog.outcome is not None and not dialog.busy, timeout=120_000)
    return dialog.outcome


def load_net(path):
    spec = importlib.util.spec_from_file_location("dialog_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Net().eval()


def test_the_class_list_comes_from_reading_the_file_and_puts_the_model_last(tmp_path):
    path = write(tmp_path, "net.py", MODEL)
    assert model_classes(path) == ["Block", "Net"]
    other = write(tmp_path, "other.py", """
        import torch.nn as nn
        from torch.nn import Module
        class Base(Module):
            pass
        class Top(Base):
            pass
        class Seq(nn.Sequential):
            pass
        class Plain(object):
            pass
    """)
    assert model_classes(other) == ["Base", "Top", "Seq"]


def test_import_through_the_dialog_opens_the_graph_and_writes_weights_that_load(window, qtbot, tmp_path):
    source = write(tmp_path, "net.py", MODEL)
    project = tmp_path / "out" / "net.json"
    project.parent.mkdir()
    menus = [o.title() for o in window.actions_["import_model"].associatedObjects() if isinstance(o, QMenu)]
    assert menus == ["&File"]
    window.actions_["import_model"].trigger()
    dialog = window.findChild(ImportDialog)
    fill(dialog, source, project=project)
    assert [dialog.classes.itemText(i) for i in range(dialog.classes.count())] == ["Block", "Net"]
    assert dialog.classes.currentText() == "Net"
    outcome = run(dialog, qtbot)
    assert outcome["kind"] == "done", outcome
    graph = window.controller.graph
    assert window.document.path == project.resolve() and not window.document.modified
    types = sorted(n.type for n in graph.nodes.values())
    assert types.count("Conv2d") == 2 and "BatchNorm2d" in types and "Dense" in types
    assert set(window.controller.view.nodes) == set(graph.nodes)  # drawn on the canvas
    assert not window.controller.validation.errors
    assert graph.finetune["weights"] == "net.safetensors"
    assert "imported exactly" in dialog.report.toPlainText() and dialog.report.isVisible()
    assert "Imported exactly" in dialog.status.text()

    compiled = compile_graph(graph).eval()
    compiled.load_state_dict(load_file(project.with_suffix(".safetensors")))
    net = load_net(source)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(compiled(x), net(x), atol=1e-5)
    dialog.reject()


@pytest.mark.parametrize(("text", "expected"), [
    ("import torch\nfrom torch import nn\nimport no_such_package_here\n", "No module named 'no_such_package_here'"),
    ("from torch import nn\nclass Net(nn.Module):\n    def __init__(self, width):\n        super().__init__()\n",
     "Net() needs arguments (width)"),
    ("from torch import nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
     "        raise RuntimeError('no GPU here')\n", "RuntimeError: no GPU here at bad.py:5"),
])
def test_a_model_that_does_not_import_is_a_clear_message_and_the_project_is_kept(window, qtbot, tmp_path, text,
                                                                                expected):
    before = window.controller.graph.to_dict()
    dialog = window.import_pytorch()
    dialog.backend = "thread"
    fill(dialog, write(tmp_path, "bad.py", text))
    dialog.classes.setCurrentText("Net")
    outcome = run(dialog, qtbot)
    assert outcome["kind"] == "error"
    assert expected in dialog.status.text() and "Traceback" not in dialog.status.text()
    assert window.controller.graph.to_dict() == before
    assert dialog.import_button.isEnabled()  # the user can fix the file and try again
    dialog.reject()


def test_file_problems_and_bad_shapes_are_shown_before_anything_runs(window, tmp_path, answers):
    dialog = window.import_pytorch()
    fill(dialog, write(tmp_path, "broken.py", "def f(:\n"))
    assert "broken.py, line 1: the file is not valid Python" in dialog.status.text()
    fill(dialog, write(tmp_path, "empty.py", "import torch\nclass A:\n    pass\n"))
    assert "defines no torch.nn.Module class" in dialog.status.text()
    assert dialog.classes.count() == 0
    fill(dialog, write(tmp_path, "net.py", MODEL), shapes="3,x,8")
    assert not dialog.start()
    assert "Input shape takes whole numbers" in dialog.status.text() and not dialog.busy
    dialog.shapes.setText("N,N,3")
    assert not dialog.start() and "batch (N)" in dialog.status.text()
    fill(dialog, tmp_path / "missing.py")
    assert not dialog.start() and "no such file" in dialog.status.text()
    existing = write(tmp_path, "taken.json", "{}")
    fill(dialog, tmp_path / "net.py", project=existing)
    assert not dialog.start() and not dialog.busy  # "Replace the file?" answered No
    assert answers.asked[-1].startswith("Replace the file?") and existing.read_text() == "{}"
    dialog.reject()


def test_cancel_keeps_the_current_project(window, qtbot, tmp_path, answers):
    window.add_layer("Dense")
    before = window.controller.graph.to_dict()
    assert window.document.modified
    dialog = window.import_pytorch()
    fill(dialog, write(tmp_path, "net.py", MODEL))
    answers.queue.append(QMessageBox.StandardButton.Cancel)  # "Save the changes first?" -> Cancel
    assert not dialog.start() and not dialog.busy
    assert answers.asked and answers.asked[-1].startswith("Unsaved changes")
    answers.queue.append(QMessageBox.StandardButton.Discard)
    assert dialog.start()
    process = dialog._job.process
    dialog.reject()  # Cancel while it runs: its process ends, nothing opens
    assert not dialog.busy and not dialog.isVisible() and not process.is_alive()
    qtbot.wait(300)
    assert window.controller.graph.to_dict() == before and window.document.modified


def test_without_weights_the_import_opens_as_an_unsaved_project(window, qtbot, tmp_path):
    dialog = window.import_pytorch()
    dialog.backend = "thread"
    fill(dialog, write(tmp_path, "net.py", MODEL))
    dialog.output_key.setText("")
    dialog.task.setCurrentText("multiclass")
    assert run(dialog, qtbot)["kind"] == "done"
    assert window.document.path is None and window.controller.graph.name == "Net"
    assert not window.controller.graph.finetune.get("weights")
    assert "not saved yet" in dialog.status.text()
    assert list(tmp_path.glob("*.safetensors")) == []
    dialog.reject()


def test_a_model_file_imports_the_files_beside_it_and_the_form_locks_after_an_import(window, qtbot, tmp_path):
    write(tmp_path, "blocks.py", """
        from torch import nn
        class Body(nn.Sequential):
            def __init__(self):
                super().__init__(nn.Linear(6, 4), nn.ReLU())
    """)
    source = write(tmp_path, "model.py", """
        from torch import nn
        from blocks import Body
        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = Body()
                self.out = nn.Linear(4, 1)
            def forward(self, x):
                return self.out(self.body(x))
    """)
    dialog = window.import_pytorch()
    dialog.backend = "thread"
    fill(dialog, source, shapes="6")
    assert dialog.classes.currentText() == "Model"
    assert run(dialog, qtbot)["kind"] == "done", dialog.status.text()
    assert sorted(n.type for n in window.controller.graph.nodes.values()).count("Dense") == 2
    assert not dialog.import_button.isVisible() and not dialog.shapes.isEnabled()
    dialog.buttons.button(QDialogButtonBox.StandardButton.Close).click()
    assert not dialog.isVisible()


def test_the_report_groups_placeholders_with_counts_and_lines_and_lists_warnings(window, qtbot, tmp_path):
    source = write(tmp_path, "odd.py", """
        import torch
        from torch import nn
        class Odd(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(6, 6)
            def forward(self, x):
                x = torch.erf(self.fc(x))
                x = torch.erf(x)
                if self.training:
                    x = x + torch.randn_like(x)
                return x
    """)
    dialog = window.import_pytorch()
    dialog.backend = "thread"
    fill(dialog, source, shapes="6")
    assert dialog.start() and dialog.progress.isVisible() and not dialog.import_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=120_000)
    report = dialog.report.toPlainText()
    assert "torch.erf x2" in report and "(odd.py:9)" in report and "(odd.py:10)" in report
    assert "warning (training-only branch)" in report
    assert "2 placeholder nodes to replace" in dialog.status.text() and "1 warning" in dialog.status.text()
    holders = [n for n in window.controller.graph.nodes.values() if n.type == "Placeholder"]
    assert len(holders) == 2 and all(window.controller.validation.problems_for(n.id) for n in holders)
    dialog.reject()


def test_a_reference_splits_at_the_class_even_when_the_path_holds_a_colon():
    assert split_reference(r"C:\models\net.py:Net") == (r"C:\models\net.py", "Net")
    assert split_reference(r"C:\models\net.py") == (r"C:\models\net.py", "")
    assert split_reference("pkg.models:Net") == ("pkg.models", "Net")
    assert split_reference("pkg.models") == ("pkg.models", "")
