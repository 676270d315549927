"""The main window's panels driven like a user would: palette, properties, problems, code view, gallery."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QTabBar

from editor.panels.gallery import GalleryDialog
from editor.panels.param_widgets import IntEditor, IntsEditor
from engine.graph import Graph
from engine.templates import list_templates


def chain(*types: str, **params) -> Graph:
    """Input -> types... -> Output, wired in a line; `params` maps a type id to its param overrides."""
    g = Graph(name="chain")
    ids = [g.add_node("Input", pos=(0, 0)).id]
    for i, type_id in enumerate(types, 1):
        ids.append(g.add_node(type_id, params=params.get(type_id), pos=(220 * i, 0)).id)
    ids.append(g.add_node("Output", pos=(220 * (len(types) + 1), 0)).id)
    for a, b in zip(ids, ids[1:], strict=False):
        g.connect(a, b)
    return g


def test_palette_search_filters_by_title_summary_and_type_id(window, qtbot):
    palette = window.palette
    everything = palette.visible_type_ids()
    qtbot.keyClicks(palette.search, "conv")
    shown = palette.visible_type_ids()
    assert "Conv2d" in shown and "Conv1d" in shown
    assert "Dense" not in shown and len(shown) < len(everything)
    palette.search.clear()
    qtbot.keyClicks(palette.search, "every output is a weighted sum")  # words of Dense's summary
    assert palette.visible_type_ids() == ["Dense"]
    palette.search.clear()
    assert palette.visible_type_ids() == everything


def test_double_click_in_palette_adds_that_layer_and_selects_it(window, qtbot):
    tree = window.palette.tree
    item = window.palette.item_for("Dense")
    tree.scrollToItem(item)
    rect = tree.visualItemRect(item)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # views need the press first
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    nodes = list(window.controller.graph.nodes.values())
    assert [n.type for n in nodes] == ["Dense"]
    assert window.controller.selected_ids() == [nodes[0].id]
    assert window.properties.node_id == nodes[0].id


def test_palette_items_drag_out_as_layer_mime(window):
    tree = window.palette.tree
    data = tree.mimeData([window.palette.item_for("Conv2d")])
    assert bytes(data.data("application/x-deepwire-layer")).decode() == "Conv2d"


def test_editing_a_param_in_the_properties_panel_changes_the_graph_and_undo_reverts_it(window, qtbot):
    window.document.new(chain("Flatten", "Dense", Dense={"units": 16}))
    dense = window.controller.graph.by_name("dense1")
    window.controller.select_node(dense.id)
    editor = window.properties.editors["units"]
    assert isinstance(editor, IntEditor) and editor.spin.value() == 16
    assert editor.spin.maximum() == 1_000_000 and editor.spin.minimum() == 1
    assert editor.toolTip()  # the Param's doc
    editor.spin.setValue(64)
    assert window.controller.graph.nodes[dense.id].params["units"] == 64
    assert window.controller.validation.param_counts[dense.id] == 784 * 64 + 64
    assert f"{784 * 64 + 64:,} parameters" in window.properties.status_label.text()
    assert window.params_label.text() == f"{window.controller.validation.total_params:,} parameters"
    window.actions_["undo"].trigger()
    assert window.controller.graph.nodes[dense.id].params["units"] == 16
    assert editor.spin.value() == 16
    window.actions_["redo"].trigger()
    assert window.controller.graph.nodes[dense.id].params["units"] == 64


def test_typing_a_bad_tuple_shows_an_inline_error_and_leaves_the_graph(window, qtbot):
    window.document.new(chain("Reshape", Reshape={"shape": [784]}))
    node = window.controller.graph.by_name("reshape1")
    window.controller.select_node(node.id)
    editor = window.properties.editors["shape"]
    assert isinstance(editor, IntsEditor) and editor.edit.text() == "784"
    editor.edit.selectAll()
    qtbot.keyClicks(editor.edit, "4, -7, 7")
    qtbot.keyClick(editor.edit, Qt.Key.Key_Return)
    assert window.controller.graph.nodes[node.id].params["shape"] == [784]
    assert window.properties.error_label.isVisible()
    assert "below the minimum" in window.properties.error_label.text()
    editor.edit.selectAll()
    qtbot.keyClicks(editor.edit, "16, 7, 7")
    qtbot.keyClick(editor.edit, Qt.Key.Key_Return)
    assert window.controller.graph.nodes[node.id].params["shape"] == [16, 7, 7]
    assert not window.properties.error_label.isVisible()


def test_choice_and_bool_params_edit_through_their_widgets(window):
    window.document.new(chain("Flatten", "Dense"))
    inp = window.controller.graph.input_nodes()[0]
    window.controller.select_node(inp.id)
    combo = window.properties.editors["kind"].combo
    combo.activated.emit(combo.findText("features"))
    assert window.controller.graph.nodes[inp.id].params["kind"] == "features"
    dense = window.controller.graph.by_name("dense1")
    window.controller.select_node(dense.id)
    window.properties.editors["bias"].check.click()
    assert window.controller.graph.nodes[dense.id].params["bias"] is False


def test_shape_error_is_listed_clicking_it_selects_the_node_and_fix_clears_it(window, qtbot):
    graph = chain("Dense", Dense={"units": 10})
    graph.input_nodes()[0].params.update(height=8, width=8)  # the default data's digits: no data problem
    window.document.new(graph)
    dense = window.controller.graph.by_name("dense1")
    problems = window.problems
    assert problems.topLevelItemCount() == 1
    row = problems.topLevelItem(0)
    assert row.text(0) == "dense1" and "(N, 1, 8, 8)" in row.text(1) and "Flatten" in row.text(2)
    assert "1 error" in window.valid_label.text()
    problems.scrollToItem(row)
    qtbot.mouseClick(problems.viewport(), Qt.MouseButton.LeftButton, pos=problems.visualItemRect(row).center())
    assert window.controller.selected_ids() == [dense.id]
    viewer = window.controller.widget  # the canvas now shows that node in its middle
    shown = viewer.mapToScene(viewer.viewport().rect()).boundingRect()
    assert shown.contains(window.controller.view.node_rect(dense.id).center())
    button = problems.fix_button(0)
    assert button is not None and "Flatten" in button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.validation.ok)
    assert problems.topLevelItemCount() == 0
    assert "valid" in window.valid_label.text()
    assert [n.type for n in window.controller.graph.nodes.values()].count("Flatten") == 1


def test_window_fills_most_of_the_screen_and_bottom_panels_are_tabs_without_a_title_bar(window):
    area = window.screen().availableGeometry()
    assert window.width() == max(int(area.width() * 0.9), window.minimumSizeHint().width())
    assert window.height() == max(int(area.height() * 0.9), window.minimumSizeHint().height())
    bars = [b for b in window.findChildren(QTabBar) if b.isVisible()]
    titles = [[b.tabText(i) for i in range(b.count())] for b in bars]
    assert any(t[0].startswith("Problems") and t[1] == "Code" for t in titles), titles
    for dock, panel in ((window.problems_dock, window.problems), (window.code_dock, window.code_view)):
        assert panel.mapTo(dock, QPoint(0, 0)).y() <= 2  # the panel starts at the dock's top edge


def test_zoom_actions_zoom_the_canvas(window):
    window.resize(1280, 800)  # fit-to-view fits the whole graph: in a tiny window that is the least zoom already
    window.document.new(chain("Dense", "ReLU"))
    window.controller.fit_view()
    before = window.controller.zoom()
    window.actions_["zoom_in"].trigger()
    assert window.controller.zoom() > before * 1.1
    window.actions_["zoom_out"].trigger()
    window.actions_["zoom_out"].trigger()
    assert window.controller.zoom() < before * 0.9


def test_code_view_shows_the_model_class_with_node_names(window):
    window.document.new(chain("Flatten", "Dense", Dense={"units": 10}))
    window.controller.rename_node(window.controller.graph.by_name("dense1").id, "classifier")
    window.code_view.refresh()
    text = window.code_view.toPlainText()
    assert "class Chain(nn.Module):" in text
    assert "self.classifier = nn.Linear(in_features=784, out_features=10, bias=True)" in text
    assert "def forward(self" in text and "self.classifier(" in text


def test_code_view_explains_an_invalid_graph_instead_of_code(window):
    window.document.new(chain("Dense"))
    window.code_view.refresh()
    text = window.code_view.toPlainText()
    assert "class " not in text and "Flatten" in text


def test_gallery_lists_every_template_and_hands_out_a_copy(qtbot):
    dialog = GalleryDialog()
    qtbot.addWidget(dialog)
    gallery = dialog.gallery
    stems = {gallery.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(gallery.list.count())}
    assert stems == set(list_templates()) and "lenet" in stems
    gallery.select("lenet")
    assert gallery.title.text() == gallery.current().graph.name
    assert gallery.current().graph.description[:20] in gallery.description.text()
    assert not gallery.preview.pixmap().isNull()
    chosen = dialog.chosen()
    assert chosen.to_dict() == gallery.current().graph.to_dict() and chosen is not gallery.current().graph
    tasks = [gallery.tasks.item(i).data(Qt.ItemDataRole.UserRole) for i in range(gallery.tasks.count())]
    assert "Image classification" in tasks
    gallery.tasks.setCurrentRow(tasks.index("Image classification"))
    shown = {gallery.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(gallery.list.count())}
    assert "lenet" in shown and shown < stems


def test_status_bar_and_title_follow_the_document(window):
    window.document.new(chain("Flatten", "Dense", Dense={"units": 10}))
    assert window.params_label.text() == "7,850 parameters"
    assert window.windowTitle() == "Untitled — DeepWire"
    window.palette.layer_activated.emit("ReLU")
    assert window.windowTitle() == "Untitled* — DeepWire"


def test_shares_weights_combo_lists_same_type_nodes_and_sets_sharing(window):
    g = chain("Flatten", "Dense", "Dense", Dense={"units": 784})
    window.document.new(g)
    first, second = (n for n in window.controller.graph.nodes.values() if n.type == "Dense")
    window.controller.select_node(second.id)
    combo = window.properties.shares_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["(own weights)", first.name]
    combo.activated.emit(1)
    assert window.controller.graph.nodes[second.id].shares == first.id
    window.controller.undo()
    assert window.controller.graph.nodes[second.id].shares is None


def test_self_test_flag_starts_and_exits_cleanly(qapp):
    from editor.app import main

    assert main(["--self-test"]) == 0


def test_screenshot_tool_writes_a_png_of_the_whole_window(tmp_path):
    import importlib.util
    from pathlib import Path

    from PySide6.QtGui import QImage

    path = Path(__file__).resolve().parents[2] / "tools" / "screenshot.py"
    spec = importlib.util.spec_from_file_location("screenshot_tool", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tool.screenshot("mlp", str(tmp_path / "mlp.png"), width=1440, height=900)
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1440, 900)


def test_project_description_shows_quotes_and_angle_brackets_as_typed(window):
    from PySide6.QtGui import QTextDocument
    from PySide6.QtWidgets import QLabel

    graph = chain("Flatten", "Dense", Dense={"units": 16})
    graph.description = "Don't read <b>this</b> as markup & \"keep\" it"
    window.document.new(graph)
    label = next(lb for lb in window.properties.findChildren(QLabel) if "Don" in lb.text())
    shown = QTextDocument()
    shown.setHtml(label.text())
    assert label.textFormat() == Qt.TextFormat.RichText and shown.toPlainText() == graph.description
