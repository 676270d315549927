"""The live preview and cost views in the editor: computed off the GUI thread after edits, strips on the nodes,
the Preview panel's large view and sample stepping, cost colouring and cost in the properties panel."""

from __future__ import annotations

import torch

from engine.compile import compile_graph
from engine.templates import load_project

TIMEOUT_MS = 60_000


def settled(insight, qtbot) -> None:
    qtbot.waitUntil(lambda: not insight.preview.busy and not insight.cost.busy, timeout=TIMEOUT_MS)


def open_lenet(window, qtbot):
    insight = window.insight
    insight.dock.raise_()
    qtbot.waitUntil(lambda: insight.preview.enabled)
    window.document.new(load_project("lenet"))
    settled(insight, qtbot)
    return insight


def test_the_preview_runs_only_while_it_can_be_seen(window, qtbot):
    insight = window.insight
    window.properties_dock.raise_()
    qtbot.waitUntil(lambda: not insight.preview.enabled)
    window.document.new(load_project("lenet"))
    settled(insight, qtbot)
    assert insight.preview.result is None
    insight.strips_action.setChecked(True)
    assert insight.preview.enabled
    settled(insight, qtbot)
    assert insight.preview.result is not None


def test_the_preview_follows_edits_and_stops_at_a_broken_node(window, qtbot):
    insight = open_lenet(window, qtbot)
    graph = window.controller.graph
    result = insight.preview.result
    assert result is not None and result.stopped_at is None
    assert set(result.nodes) == set(graph.nodes)
    conv1 = graph.by_name("conv1").id
    window.controller.set_param(conv1, "out_channels", 3)
    settled(insight, qtbot)
    assert insight.preview.result.nodes[conv1].values.shape[0] == 3
    conv2 = graph.by_name("conv2").id
    window.controller.delete_nodes([conv2])
    settled(insight, qtbot)
    stopped = insight.preview.result
    assert stopped.stopped_at is not None
    assert graph.nodes[stopped.stopped_at].name == "relu2"
    assert "Stopped at" in insight.panel.status.text() and "relu2" in insight.panel.status.text()


def test_strips_appear_under_nodes_and_the_panel_draws_the_selected_node(window, qtbot):
    insight = open_lenet(window, qtbot)
    graph = window.controller.graph
    conv1 = graph.by_name("conv1").id
    assert insight.preview.strip(conv1) is None
    insight.strips_action.setChecked(True)
    strip = insight.preview.strip(conv1)
    assert strip is not None and strip.parentItem() is window.controller.view.nodes[conv1].view
    assert strip.preview.kind == "image" and strip.isVisible()
    window.controller.select_node(conv1)
    assert "conv1" in insight.panel.title.text() and "(N, 6, 8, 8)" in insight.panel.title.text()
    assert not insight.panel.picture.pixmap().isNull()
    before = insight.preview.result.nodes[conv1].output
    insight.panel.next_button.click()
    settled(insight, qtbot)
    assert insight.preview.result.sample == 1 and insight.panel.spin.value() == 1
    assert not torch.equal(insight.preview.result.nodes[conv1].output, before)
    insight.strips_action.setChecked(False)
    assert insight.preview.strip(conv1) is None


def test_trained_weights_reach_the_preview(window, qtbot, tmp_path):
    insight = open_lenet(window, qtbot)
    graph = window.controller.graph
    fc3 = graph.by_name("fc3").id
    random_out = insight.preview.result.nodes[fc3].output
    model = compile_graph(graph)
    insight.preview.use_weights(lambda: model, "trained weights of run test")
    settled(insight, qtbot)
    assert torch.allclose(insight.preview.result.nodes[fc3].output, model.eval()(
        insight.preview.previewer.data(graph).val.inputs[0][:1]), atol=1e-5)
    assert not torch.allclose(insight.preview.result.nodes[fc3].output, random_out)
    assert "trained weights of run test" in insight.panel.status.text()


def test_cost_colouring_marks_the_costliest_node_and_properties_show_cost(window, qtbot):
    window.document.new(load_project("resnet"))
    insight = window.insight
    settled(insight, qtbot)
    report = insight.cost.report
    assert report is not None
    insight.cost_action.setChecked(True)
    top = report.biggest("flops", 1)[0]
    item = insight.cost.item(top)
    assert item is not None and item.share == 1.0 and "FLOP" in item.text
    shares = [insight.cost.item(n).share for n in report.nodes]
    assert min(shares) < 0.5
    insight.cost.set_measure("params")
    assert insight.cost.item(report.biggest("params", 1)[0]).share == 1.0
    window.controller.select_node(top)
    label = window.properties.cost_label
    assert label.isVisible() and "FLOP" in label.text() and "ms" in label.text()
    insight.cost_action.setChecked(False)
    assert insight.cost.item(top) is None


def test_zoomed_far_out_nodes_are_drawn_as_blocks_without_ports_or_text(window, qtbot):
    window.document.new(load_project("resnet"))
    controller = window.controller
    nid = controller.graph.by_name("block1_conv1").id
    item = controller.view.nodes[nid].view
    controller.center_on(nid)
    controller.widget.viewport().repaint()
    assert not item._proxy_mode and all(port.isVisible() for port in item.inputs)  # noqa: SLF001  the drawing state
    for _ in range(30):
        controller.zoom_out()
    controller.widget.viewport().repaint()
    assert item._proxy_mode and not item._text_item.isVisible()  # noqa: SLF001
    assert not any(port.isVisible() for port in item.inputs)
    controller.center_on(nid)
    controller.widget.viewport().repaint()
    assert not item._proxy_mode and all(port.isVisible() for port in item.inputs)  # noqa: SLF001
