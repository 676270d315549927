"""The first hour in the editor (issue 16): what a newcomer meets off the "Train this" path."""

from __future__ import annotations

from PySide6.QtCore import Qt

from engine.datacheck import MATCH_DATA
from engine.graph import Graph

TIMEOUT_MS = 120_000


def wire_blank(controller, types=("Input", "Flatten", "Dense", "Output")) -> list[str]:
    """Add layers the way the palette does (one after another at the view centre) and wire them in a row."""
    ids = [controller.add_node(t) for t in types]
    for a, b in zip(ids, ids[1:], strict=False):
        controller.connect(a, b)
    return ids


def wait_data(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.controller.data_info is not None, timeout=TIMEOUT_MS)


# ---- 1: data and graph checked together --------------------------------------------------------
def test_a_default_input_on_digits_is_not_valid_and_is_fixed_from_the_node(window, qtbot):
    window.controller.load_graph(Graph(name="Untitled"))
    c = window.controller
    ids = [c.graph.add_node(t).id for t in ("Input", "Flatten", "Dense", "Output")]  # added before the data loaded
    for a, b in zip(ids, ids[1:], strict=False):
        c.graph.connect(a, b)
    c.load_graph(c.graph)
    wait_data(qtbot, window)
    assert "✖" in window.valid_label.text(), "a default Input (1×28×28) on 8×8 digits is not '✓ valid'"
    problems = c.validation.problems_for(ids[0])
    assert problems and problems[0].fix == MATCH_DATA
    note = c.view.nodes[ids[0]].view.note_item
    assert note is not None and note.isVisible() and "(N, 1, 8, 8)" in note.text and note.fix == "Match the data"
    note.click_fix()
    qtbot.waitUntil(lambda: c.graph.nodes[ids[0]].params["height"] == 8)
    assert c.graph.nodes[ids[2]].params["units"] == 10, "the last layer gets one unit per class"
    assert c.validation.ok and "valid" in window.valid_label.text()
    assert not c.view.nodes[ids[0]].view.note_item.isVisible()


def test_a_new_input_follows_the_chosen_dataset(window, qtbot):
    window.controller.load_graph(Graph(name="Untitled"))
    wait_data(qtbot, window)
    ids = wire_blank(window.controller)
    inp = window.controller.graph.nodes[ids[0]]
    assert (inp.params["channels"], inp.params["height"], inp.params["width"]) == (1, 8, 8)
    assert window.controller.graph.nodes[ids[-1]].params["task"] == "multiclass"


def test_train_refuses_an_invalid_project_without_a_run_folder(window, qtbot, tmp_path):
    ws = window.training
    ws.runner.backend = "thread"
    window.controller.load_graph(Graph(name="Untitled"))
    c = window.controller
    ids = [c.graph.add_node(t).id for t in ("Input", "Flatten", "Dense", "Output")]
    for a, b in zip(ids, ids[1:], strict=False):
        c.graph.connect(a, b)
    c.load_graph(c.graph)
    wait_data(qtbot, window)
    ws.train()
    assert not ws.runner.busy and "Not started" in ws.training_panel.status.text()
    assert c.selected_ids() == [ids[0]], "the first problem's node is selected"
    assert not list(ws.run_dir().glob("*")), "no failed run folder is left behind"


# ---- 7: problems readable and fixable on the node ----------------------------------------------
def test_a_shape_error_shows_its_message_and_fix_on_the_node(window, qtbot):
    c = window.controller
    c.load_graph(Graph(name="x"))
    conv = c.add_node("Conv2d")
    dense = c.add_node("Dense")
    inp = c.add_node("Input")
    c.connect(inp, conv)
    c.connect(conv, dense)
    note = c.view.nodes[dense].view.note_item
    assert note is not None and note.isVisible() and note.fix.startswith("Insert")
    assert note.text and note.text[0].isupper()
    center = note.mapToScene(note.fix_rect().center())
    viewport_pos = c.widget.mapFromScene(center)
    c.fit_view()
    viewport_pos = c.widget.mapFromScene(center)
    qtbot.mouseClick(c.widget.viewport(), Qt.MouseButton.LeftButton, pos=viewport_pos)
    qtbot.waitUntil(lambda: any(n.type == "Flatten" for n in c.graph.nodes.values()))
    assert c.validation.problems_for(dense) == []
