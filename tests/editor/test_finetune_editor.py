"""Fine-tuning in the editor: Load weights… with its report, a frozen group (lock, status-bar counts, undo),
training that keeps it fixed, and a run branched after an edit shown under its parent in the Runs tab."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from editor.canvas.overlays import GroupItem
from engine.compile import compile_graph
from engine.lineage import read_init
from engine.templates import load_project

TIMEOUT_MS = 240_000


def small_lenet(epochs: int = 1):
    graph = load_project("lenet")
    graph.training.update({"epochs": epochs, "batch_size": 64, "schedule": "none", "checkpoint_every_s": 0,
                           "events": {"summaries": False}})
    return graph


def trained_like_weights(graph, path: Path) -> dict[str, torch.Tensor]:
    """A weights file for `graph` keyed like a DeepWire run, with values far from a fresh initialisation."""
    torch.manual_seed(5)
    state = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in compile_graph(graph).state_dict().items()}
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return state


def setup_project(window, tmp_path: Path):
    graph = small_lenet()
    window.controller.load_graph(graph)
    window.document.save(tmp_path / "lenet.json")
    window.training.runner.backend = "thread"
    return window.controller


def test_load_weights_freeze_a_group_train_and_see_the_lock_and_counts(window, qtbot, tmp_path: Path):
    controller = setup_project(window, tmp_path)
    state = trained_like_weights(controller.graph, tmp_path / "pretrained.safetensors")
    dialog = window.finetune.load_weights(tmp_path / "pretrained.safetensors")
    assert dialog.report.complete and "loaded 5 of 5" in dialog.summary.text()
    assert dialog.table.rowCount() == 5 and dialog.use_button.isEnabled()
    dialog.accept()
    assert controller.graph.finetune["weights"] == "pretrained.safetensors"  # relative to the project
    weighted = {n.id for n in controller.graph.nodes.values() if n.name in ("conv1", "conv2", "fc1", "fc2", "fc3")}
    assert controller.view.loaded == weighted
    assert all(controller.view.nodes[nid].view._look.loaded for nid in weighted)

    convs = [controller.graph.by_name(n).id for n in ("conv1", "conv2")]
    controller.select_nodes(convs)
    group_id = controller.group_selected("features")
    item = controller.view.groups[group_id]
    menu = window.finetune.context_menu(item.mapToScene(item.title_rect().center()))
    action = next(a for a in menu.actions() if a.text() == "Freeze group 'features'")
    action.trigger()
    assert all(controller.view.nodes[nid].view._look.frozen for nid in convs)
    assert not controller.view.nodes[controller.graph.by_name("fc1").id].view._look.frozen
    controller.select_node(convs[0])
    assert window.properties.status_label.text().endswith("parameters  ·  frozen")
    frozen_count = sum(controller.validation.param_counts[nid] for nid in convs)
    assert f"{frozen_count:,} frozen" in window.params_label.text()
    controller.undo()
    assert not controller.view.nodes[convs[0]].view._look.frozen and "frozen" not in window.params_label.text()
    controller.redo()
    assert controller.view.nodes[convs[0]].view._look.frozen and isinstance(item, GroupItem)

    again = window.finetune.load_weights()
    assert again.fresh_button.isVisible() and again.path_edit.text() == "pretrained.safetensors"
    again.fresh_button.click()
    assert "weights" not in controller.graph.finetune and controller.view.loaded == set()
    controller.undo()
    assert controller.graph.finetune["weights"] == "pretrained.safetensors"
    qtbot.waitUntil(lambda: controller.view.loaded == weighted)  # the marks follow the undo (debounced)

    window.training.train()
    qtbot.waitUntil(lambda: not window.training.runner.busy, timeout=TIMEOUT_MS)
    run = window.training.runner.run_path
    assert window.training.runner.last_outcome.reason == "completed"
    assert read_init(run)["summary"].startswith("loaded 5 of 5")
    best = load_file(str(run / "best.safetensors"))
    assert torch.equal(best["conv1.weight"], state["conv1.weight"])
    assert not torch.equal(best["fc1.weight"], state["fc1.weight"])


def test_branch_a_run_after_adding_a_node_and_see_the_lineage(window, qtbot, tmp_path: Path):
    controller = setup_project(window, tmp_path)
    ws = window.training
    ws.train()
    qtbot.waitUntil(lambda: not ws.runner.busy, timeout=TIMEOUT_MS)
    parent = ws.runner.run_path
    fc1 = controller.graph.by_name("fc1").id
    edge = controller.graph.outgoing(fc1)[0]
    new = controller.add_node("Dropout")
    controller.insert_on_wire(new, edge)
    ws.show_runs()
    ws.history.select_rows([0])
    assert ws.history.branch_button.isEnabled()
    ws.history.branch_button.click()
    qtbot.waitUntil(lambda: not ws.runner.busy, timeout=TIMEOUT_MS)
    child = ws.runner.run_path
    assert child != parent and ws.runner.last_outcome.reason == "completed"
    assert Path(read_init(child)["parent_run"]) == parent.resolve()
    ws.show_runs()
    rows = [ws.history.table.item(r, 0).text() for r in range(ws.history.table.rowCount())]
    assert rows == [parent.name, f"\u2514\u2500 {child.name}"]
    assert f"branched from {parent.name}" in ws.history.table.item(1, 0).toolTip()
    assert "initial weights: loaded 5 of 5 node(s)" in ws.history.table.item(1, 0).toolTip()
    assert "finetune" not in controller.graph.to_dict()  # a branch is a one-off: the project is unchanged


def test_adapt_head_and_lr_multiplier_are_undoable_edits(window, qtbot, monkeypatch, tmp_path: Path):
    from PySide6.QtWidgets import QInputDialog

    controller = setup_project(window, tmp_path)
    fc3 = controller.graph.by_name("fc3").id
    controller.set_param(fc3, "units", 5)
    window.finetune.actions["adapt_head"].trigger()
    qtbot.waitUntil(lambda: controller.graph.nodes[fc3].params["units"] == 10, timeout=60_000)
    assert "'fc3' units 5 -> 10" in window.statusBar().currentMessage()
    controller.undo()
    assert controller.graph.nodes[fc3].params["units"] == 5

    monkeypatch.setattr(QInputDialog, "getDouble", staticmethod(lambda *a, **k: (0.1, True)))
    fc1 = controller.graph.by_name("fc1").id
    item = controller.view.nodes[fc1].view
    menu = window.finetune.context_menu(item.mapToScene(item.boundingRect().center()))
    assert [a.text() for a in menu.actions()] == ["Freeze 'fc1'", "Learning-rate multiplier…"]
    menu.actions()[1].trigger()
    assert controller.graph.nodes[fc1].lr_mult == 0.1
    controller.undo()
    assert controller.graph.nodes[fc1].lr_mult == 1.0


def test_train_with_a_missing_initial_weights_file_names_it_and_starts_nothing(window, tmp_path, answers):
    graph = small_lenet()
    graph.finetune = {"weights": "gone.safetensors"}
    window.controller.load_graph(graph)
    window.document.save(tmp_path / "lenet.json")
    ws = window.training
    ws.runner.backend = "thread"
    ws.train()
    assert not ws.runner.busy and ws.runner.run_path is None
    assert answers.shown and "gone.safetensors" in answers.shown[-1]
    assert "Not started" in ws.training_panel.status.text()
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir()), "no failed run folder"
