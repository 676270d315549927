"""Fine-tuning in the editor: File > Load weights… (with its report), Freeze / Unfreeze and learning-rate
multipliers on nodes and groups (menus and right-click, undoable), Adapt head to the data, and the
'loaded' mark on nodes that start from the project's initial weights."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor.canvas.nodes import LayerNodeItem
from editor.canvas.overlays import GroupItem
from editor.training.background import run_job
from editor.training.sections import set_section
from engine import finetune
from engine.errors import DeepWireError, GraphError
from engine.head import adapt_head, head_target
from engine.weights import LoadReport, WeightsSource, open_weights, preview

WEIGHTS_FILTER = "Weights (*.safetensors *.pt *.pth *.bin *.ckpt);;All files (*)"
STATUS_WORDS = {"loaded": "loaded", "partial": "partly loaded", "mismatch": "shape mismatch", "missing": "missing",
                "skipped": "skipped (mapping)"}


class WeightsDialog(QDialog):
    """Choose a weights file, run or export folder; see node by node what it gives the project before using it."""

    def __init__(self, graph, base: Path | None, parent: QWidget | None = None, path: str = "",
                 which: str = "best") -> None:
        super().__init__(parent)
        self.setWindowTitle("Load weights")
        self.graph, self.base = graph, base
        self.report: LoadReport | None = None
        layout = QVBoxLayout(self)
        intro = QLabel("Start training from trained weights: a .safetensors file, a PyTorch state_dict saved with "
                       "torch.save, a DeepWire run folder or an export folder. Tensors are matched by node name; "
                       "what does not fit keeps fresh weights and is listed below.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.path_edit = QLineEdit(path)
        self.path_edit.setPlaceholderText("weights file, run folder or export folder")
        self.path_edit.editingFinished.connect(self.refresh)
        file_button, folder_button = QPushButton("File…"), QPushButton("Folder…")
        file_button.clicked.connect(self._choose_file)
        folder_button.clicked.connect(self._choose_folder)
        self.which = QComboBox()
        self.which.addItems(list(finetune.WHICH))
        self.which.setCurrentText(which)
        self.which.setToolTip("For a run folder: its best or its last weights")
        self.which.currentTextChanged.connect(lambda _t: self.refresh())
        for widget in (self.path_edit, file_button, folder_button, self.which):
            row.addWidget(widget, 1 if widget is self.path_edit else 0)
        layout.addLayout(row)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(("node", "weights", "detail"))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.use_button = self.buttons.addButton("Use these weights", QDialogButtonBox.ButtonRole.AcceptRole)
        self.fresh_button = self.buttons.addButton("Start from fresh weights", QDialogButtonBox.ButtonRole.ResetRole)
        self.fresh_button.setToolTip("Forget the project's initial weights: training starts from random weights again")
        self.fresh_button.setVisible(bool(finetune.config(graph).weights))
        self.fresh_button.clicked.connect(self._fresh)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(720, 460)
        self.refresh()

    fresh = False
    """True when the dialog ended with 'Start from fresh weights'."""

    def _fresh(self) -> None:
        self.fresh = True
        self.done(QDialog.DialogCode.Rejected)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Weights file", str(self.base or ""), WEIGHTS_FILTER)
        if path:
            self.path_edit.setText(path)
            self.refresh()

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Run or export folder", str(self.base or ""))
        if path:
            self.path_edit.setText(path)
            self.refresh()

    def chosen_path(self) -> Path | None:
        text = self.path_edit.text().strip()
        if not text:
            return None
        path = Path(text).expanduser()
        return path if path.is_absolute() or self.base is None else self.base / path

    def refresh(self) -> None:
        """Read the chosen weights and show what they give each node (nothing is changed yet)."""
        self.report = None
        self.table.setRowCount(0)
        path = self.chosen_path()
        self.use_button.setEnabled(False)
        if path is None:
            self.summary.setText("Choose weights to see what they give each node.")
            return
        try:
            source = open_weights(path, self.which.currentText())
            self.report = preview(self.graph, source, finetune.config(self.graph).mapping)
        except DeepWireError as exc:
            self.summary.setText(f"<b>These weights cannot be used:</b> {exc}")
            return
        self.summary.setText(f"<b>{source.describe()}</b>: {self.report.summary()}.")
        rows = [(n.name, STATUS_WORDS[n.status], n.explain()) for n in self.report.nodes]
        rows += [(key, "not in the project", f"{list(shape)}") for key, shape in self.report.unexpected.items()]
        self.table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.use_button.setEnabled(bool(self.report.loaded_ids))


class FineTuneTools(QObject):
    """The fine-tuning actions of one main window around its canvas controller."""

    def __init__(self, window: QMainWindow, controller) -> None:
        super().__init__(window)
        self.window, self.controller = window, controller
        self.report: LoadReport | None = None
        self._source: tuple[tuple, WeightsSource] | None = None
        self._key: str | None = None
        self.actions: dict[str, QAction] = {}
        self._build_actions()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(120)
        self._timer.timeout.connect(self.refresh_loaded)
        controller.graph_changed.connect(self._timer.start)
        controller.selection_changed.connect(lambda _ids: self._update_enabled())
        controller.widget.scene().installEventFilter(self)
        self._update_enabled()
        self.refresh_loaded()

    # ---- menus -------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        specs = (("load_weights", "Load &weights…", self.load_weights,
                  "Start training from trained weights (a file, a run or an export), with a report per node"),
                 ("freeze", "&Freeze", lambda: self.freeze(True), "Keep the selected layers' weights fixed in training"),
                 ("unfreeze", "U&nfreeze", lambda: self.freeze(False), "Let the selected layers' weights train again"),
                 ("lr_mult", "Learning-rate &multiplier…", self.ask_lr_mult,
                  "Train the selected layers with the learning rate times a factor"),
                 ("adapt_head", "Adapt &head to the data", self.adapt_head,
                  "Resize the last layer for the data's classes or targets (or add one), keeping the rest"))
        for key, text, slot, tip in specs:
            action = QAction(text, self.window)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _checked=False, s=slot: s())
            self.actions[key] = action
        menus = {m.title().replace("&", ""): m for m in self.window.menuBar().findChildren(QMenu)}
        file_menu, edit_menu = menus.get("File"), menus.get("Edit")
        if file_menu is not None:
            quit_action = next((a for a in file_menu.actions() if a.text().replace("&", "") == "Quit"), None)
            file_menu.insertAction(quit_action, self.actions["load_weights"])
            file_menu.insertSeparator(quit_action)
        if edit_menu is not None:
            edit_menu.addSeparator()
            for key in ("freeze", "unfreeze", "lr_mult", "adapt_head"):
                edit_menu.addAction(self.actions[key])

    def _update_enabled(self) -> None:
        chosen = self.controller.selected_ids()
        frozen = finetune.frozen_ids(self.controller.graph)
        self.actions["freeze"].setEnabled(any(n not in frozen for n in chosen))
        self.actions["unfreeze"].setEnabled(any(n in frozen for n in chosen))
        self.actions["lr_mult"].setEnabled(bool(chosen))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802  Qt's name
        if event.type() == QEvent.Type.GraphicsSceneContextMenu:
            menu = self.context_menu(event.scenePos())
            if menu is not None:
                menu.exec(event.screenPos())
                return True
        return False

    def context_menu(self, scene_pos) -> QMenu | None:
        """The right-click menu of the node or group under `scene_pos` (None over empty canvas)."""
        items = self.controller.widget.scene().items(scene_pos)
        node = next((i for i in items if isinstance(i, LayerNodeItem)), None)
        group = next((i for i in items if isinstance(i, GroupItem)), None)
        menu = QMenu(self.controller.widget)
        graph = self.controller.graph
        if node is not None and node.id in graph.nodes:
            ids = self.controller.selected_ids()
            ids = ids if node.id in ids else [node.id]
            frozen = node.id in finetune.frozen_ids(graph)
            label = f"{len(ids)} layers" if len(ids) > 1 else f"'{graph.nodes[node.id].name}'"
            menu.addAction(f"Unfreeze {label}" if frozen else f"Freeze {label}",
                           lambda: self.set_trainable(ids, frozen))
            menu.addAction("Learning-rate multiplier…", lambda: self.ask_lr_mult(ids))
            return menu
        if group is not None:
            found = next((g for g in graph.groups if g.id == group.group_id), None)
            if found is None:
                return None
            menu.addAction(f"Unfreeze group '{found.name}'" if not found.trainable else f"Freeze group '{found.name}'",
                           lambda: self.set_group_trainable(found.id, not found.trainable))
            menu.addAction("Learning-rate multiplier of the group…", lambda: self.ask_group_lr_mult(found.id))
            return menu
        return None

    # ---- edits (one undo step each) ----------------------------------------------------------------
    def set_trainable(self, ids: list[str], trainable: bool) -> None:
        word = "unfreeze" if trainable else "freeze"
        self.controller._edit(f"{word} {len(ids)} layer(s)", lambda g: finetune.set_trainable(g, ids, trainable))
        self._update_enabled()

    def freeze(self, frozen: bool) -> None:
        ids = self.controller.selected_ids()
        if ids:
            self.set_trainable(ids, not frozen)

    def set_group_trainable(self, group_id: str, trainable: bool) -> None:
        self.controller._edit("unfreeze group" if trainable else "freeze group",
                              lambda g: finetune.set_group_trainable(g, group_id, trainable))
        self._update_enabled()

    def set_lr_mult(self, ids: list[str], mult: float) -> None:
        self.controller._edit(f"lr x{mult:g}", lambda g: finetune.set_lr_mult(g, ids, mult))

    def _ask_mult(self, current: float) -> float | None:
        value, ok = QInputDialog.getDouble(self.window, "Learning-rate multiplier",
                                           "Train with the learning rate times (0 stops learning, like freezing):",
                                           current, 0.0, 1000.0, 4)
        return value if ok else None

    def ask_lr_mult(self, ids: list[str] | None = None) -> None:
        ids = ids or self.controller.selected_ids()
        if ids:
            mult = self._ask_mult(self.controller.graph.nodes[ids[0]].lr_mult)
            if mult is not None:
                self.set_lr_mult(ids, mult)

    def ask_group_lr_mult(self, group_id: str) -> None:
        group = next(g for g in self.controller.graph.groups if g.id == group_id)
        mult = self._ask_mult(group.lr_mult)
        if mult is None:
            return

        def mutate(g) -> None:
            next(o for o in g.groups if o.id == group_id).lr_mult = float(mult)
            g.touch()
        self.controller._edit(f"group lr x{mult:g}", mutate)

    def adapt_head(self) -> None:
        """Read the data (off the GUI thread), then resize or add the head as one undoable edit."""
        graph = self.controller.graph
        self.window.statusBar().showMessage("Reading the data to adapt the head…", 3000)
        run_job(self, lambda: head_target(graph), self._adapt_to, self._failed)

    def _adapt_to(self, target) -> list[str]:
        changes: list[str] = []

        def mutate(g) -> None:
            changes.extend(adapt_head(g, target))
        try:
            self.controller._edit("adapt head to the data", mutate)
        except DeepWireError as exc:
            self._failed(exc)
            return []
        text = "; ".join(changes) if changes else "the head already fits the data"
        self.window.statusBar().showMessage(f"Adapt head: {text}", 8000)
        return changes

    def _failed(self, exc: Exception) -> None:
        show = getattr(self.window, "show_error", None)
        if show is not None:
            show("Cannot do this", "The change was not made.", str(exc))

    # ---- initial weights ---------------------------------------------------------------------------
    def base(self) -> Path | None:
        """The project's folder (relative weight paths are read from there), None while it is unsaved."""
        path = getattr(getattr(self.window, "document", None), "path", None)
        return Path(path).resolve().parent if path else None

    def load_weights(self, path: str | os.PathLike | None = None, which: str = "best") -> WeightsDialog:
        """File > Load weights…: the dialog; accepted, the project's `finetune.weights` points at the choice."""
        config = finetune.config(self.controller.graph)
        dialog = WeightsDialog(self.controller.graph, self.base(), self.window,
                               str(path or config.weights or ""), which if path else config.which)
        dialog.accepted.connect(lambda: self.use_weights(dialog.chosen_path(), dialog.which.currentText()))
        dialog.rejected.connect(lambda: self.forget_weights() if dialog.fresh else None)
        dialog.open()
        return dialog

    def use_weights(self, path: Path | None, which: str) -> None:
        """Make `path` the project's initial weights (one undo step), stored relative to the project when inside."""
        if path is None:
            return
        path, base = Path(path).resolve(), self.base()
        shown = str(path.relative_to(base)) if base is not None and path.is_relative_to(base) else str(path)
        section = {**self.controller.graph.finetune, "weights": shown, "which": which}
        set_section(self.controller, "finetune", section, "weights")
        self.refresh_loaded()

    def forget_weights(self) -> None:
        """Drop the project's initial weights (one undo step): training starts from fresh weights."""
        section = {k: v for k, v in self.controller.graph.finetune.items() if k not in ("weights", "which")}
        set_section(self.controller, "finetune", section, "weights")
        self.refresh_loaded()

    def refresh_loaded(self) -> None:
        """Mark the nodes that start from the project's initial weights (re-read when the layers, their wires or
        the finetune section change; moves cost nothing). While the graph does not compile the marks stay."""
        graph, view = self.controller.graph, self.controller.view
        key = _structure_key(graph, self.base())
        if key == self._key:
            return
        self._key = key
        loaded: set[str] = set()
        self.report = None
        try:
            config = finetune.config(graph)
            if config.weights:
                weights = Path(config.weights)
                path = weights if weights.is_absolute() or self.base() is None else self.base() / weights
                source = self._open(path, config.which)
                self.report = preview(graph, source, config.mapping)
                loaded = set(self.report.loaded_ids)
        except GraphError:
            loaded = {nid for nid in view.loaded if nid in graph.nodes}
        except Exception as exc:  # noqa: BLE001  a weights problem is shown, never raised into the event loop
            self.window.statusBar().showMessage(f"Initial weights: {exc}", 8000)
        if loaded != view.loaded:
            view.loaded = loaded
            view.paint(graph, self.controller.validation)

    def _open(self, path: Path, which: str) -> WeightsSource:
        """The source at `path`, kept while the file is unchanged (the marks follow every edit)."""
        try:
            key = (str(path), which, path.stat().st_mtime_ns)
        except OSError:
            key = (str(path), which, None)
        if self._source is None or self._source[0] != key:
            self._source = (key, open_weights(path, which))
        return self._source[1]


def _structure_key(graph, base: Path | None) -> str:
    """What the 'loaded' marks depend on: layers (type, name, params, sharing), wires, the finetune section and
    the weights file's modification time."""
    nodes = [(n.id, n.type, n.name, n.params, n.shares) for n in graph.nodes.values()]
    weights = graph.finetune.get("weights") if isinstance(graph.finetune, dict) else None
    stamp = None
    if isinstance(weights, str) and weights:
        path = Path(weights) if Path(weights).is_absolute() or base is None else base / weights
        with contextlib.suppress(OSError):
            stamp = path.stat().st_mtime_ns
    return json.dumps([nodes, [e.to_dict() for e in graph.edges], graph.finetune, str(base), stamp],
                      sort_keys=True, default=str)


def install_finetune(window: QMainWindow, controller) -> FineTuneTools:
    """Add Load weights…, Freeze/Unfreeze, LR multipliers and Adapt head to a main window."""
    return FineTuneTools(window, controller)
