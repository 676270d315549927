"""A training process killed mid-run: the editor says so, keeps the project, and the run continues from its
last checkpoint."""

from __future__ import annotations

import json
import os
import signal

from PySide6.QtCore import Qt

from engine.graph import Graph
from engine.runs import open_run
from engine.train.events import CheckpointSaved, EpochEnded, RunFailed

TIMEOUT_MS = 120_000


def digits_cnn(epochs: int) -> Graph:
    """A small digits CNN that checkpoints after every epoch (and never by time) so the kill point is known."""
    graph = Graph(name="crash digits", data={"source": "builtin", "name": "digits"},
                  training={"epochs": epochs, "batch_size": 64, "schedule": "none", "checkpoint_every": 1,
                            "checkpoint_every_s": 0, "events": {"summaries": False}})
    prev = graph.add_node("Input", "input", {"kind": "image", "channels": 1, "height": 8, "width": 8}).id
    for i, (type_id, params) in enumerate([("Conv2d", {"out_channels": 8}), ("ReLU", {}), ("Flatten", {}),
                                           ("Dense", {"units": 10})]):
        node = graph.add_node(type_id, f"{type_id.lower()}{i}", params)
        graph.connect(prev, node.id)
        prev = node.id
    graph.connect(prev, graph.add_node("Output", "output", {"task": "multiclass"}).id)
    return graph


def test_a_killed_training_process_is_reported_and_the_run_continues_from_its_checkpoint(window, qtbot, answers):
    ws = window.training
    ws.runner.backend = "process"
    window.controller.load_graph(digits_cnn(epochs=500))
    project, modified = window.controller.graph.to_dict(), window.document.modified
    seen: list = []
    ws.runner.events.connect(seen.extend)

    qtbot.mouseClick(ws.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(isinstance(e, CheckpointSaved) and e.which == "last" for e in seen),
                    timeout=TIMEOUT_MS)
    assert any(isinstance(e, EpochEnded) for e in seen)
    with qtbot.waitSignal(ws.runner.failed, timeout=TIMEOUT_MS) as failed:
        os.kill(ws.runner._worker.process.pid, signal.SIGKILL)

    # what the user sees: a clear failure, in the dialog and the status line, and an idle editor
    event = failed.args[0]
    assert isinstance(event, RunFailed) and event is ws.runner.last_outcome
    assert "training process ended unexpectedly" in event.message and "SIGKILL" in event.message
    assert "Resume continues the run from its last checkpoint" in event.hint
    assert any(s.startswith("Training failed: The training process ended unexpectedly") for s in answers.shown)
    assert "training process ended unexpectedly" in ws.training_panel.status.text()
    assert ws.runner.state == "idle" and not ws.runner.busy and ws.runner.worker_lost
    assert ws.training_panel.start_button.isEnabled() and ws.training_panel.resume_button.isEnabled()
    assert ws.runner.can_continue
    assert window.controller.graph.to_dict() == project, "the editor's project is untouched"
    assert window.document.modified == modified

    # the run folder holds a checkpoint; continuing one more epoch finishes the run in the same folder
    run_path = ws.runner.run_path
    saved = json.loads((run_path / "checkpoints" / "last.json").read_text())["epoch"]
    assert saved >= 1
    with qtbot.waitSignal(ws.runner.finished, timeout=TIMEOUT_MS) as finished:
        ws.runner.continue_run(run_path, epochs=saved + 1)
    done = finished.args[0]
    assert done.reason == "completed" and done.epochs_done == saved + 1
    assert ws.runner.run_path == run_path and not ws.runner.worker_lost
    metrics = open_run(run_path).metrics()
    assert [h["epoch"] for h in metrics["history"]] == list(range(1, saved + 2))
    qtbot.waitUntil(lambda: ws.evaluation_result is not None, timeout=TIMEOUT_MS)  # a finished run is evaluated
