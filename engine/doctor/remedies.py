"""Remedies: the changes the doctor offers, each a declaration whose `apply` edits a Graph (its nodes,
wires and data/training sections) without Qt, so the CLI, the tests and the editor share them.

`apply_remedy(graph, remedy_id, diagnosis)` returns a changed copy and a sentence saying what changed;
the editor applies that copy as one undoable edit.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from engine.doctor.checks import BOUNDS, RELU_TYPES, WIDE_TYPES
from engine.doctor.records import Diagnosis
from engine.errors import GraphError
from engine.graph import Graph, Node
from engine.layers.registry import get_spec
from engine.topology import topology

INSERT_DX = 230.0
"""How far downstream nodes move to the right to make room for an inserted node."""
DROPOUT_P = 0.5
ADAMW_DECAY = 0.05
SGD_DECAY = 5e-4
WIDEN_FACTOR = 4
CLIP_NORM = 1.0
EARLY_PATIENCE = 3
FIND_LR_REPEATS, FIND_LR_STEPS = 2, 60
"""The range test the find_lr remedy runs (the editor opens the Find LR dialog instead, which runs in the background)."""

Apply = Callable[[Graph, Diagnosis], str]
Applies = Callable[[Graph, Diagnosis], bool]


@dataclass(frozen=True)
class Remedy:
    """One change to try: `title` is the button text, `explain` says what it does and why it helps."""

    id: str
    title: str
    explain: str
    apply: Apply
    applies: Applies


REMEDIES: dict[str, Remedy] = {}


def remedy(remedy_id: str, title: str, explain: str, applies: Applies | None = None) -> Callable[[Apply], Apply]:
    def register(fn: Apply) -> Apply:
        REMEDIES[remedy_id] = Remedy(remedy_id, title, explain, fn, applies or (lambda g, d: True))
        return fn
    return register


def offered(graph: Graph, diagnosis: Diagnosis) -> list[Remedy]:
    """The diagnosis's remedies that fit this graph, in the diagnosis's order."""
    return [REMEDIES[r] for r in diagnosis.remedies if r in REMEDIES and REMEDIES[r].applies(graph, diagnosis)]


def apply_remedy(graph: Graph, remedy_id: str, diagnosis: Diagnosis) -> tuple[Graph, str]:
    """A copy of `graph` with the remedy applied, and what changed in words; GraphError if it does not apply."""
    if remedy_id not in REMEDIES:
        raise GraphError(f"no remedy '{remedy_id}'; known: {', '.join(REMEDIES)}")
    chosen = REMEDIES[remedy_id]
    if not chosen.applies(graph, diagnosis):
        raise GraphError(f"'{chosen.title}' does not apply to this graph")
    fresh = graph.copy()
    return fresh, chosen.apply(fresh, diagnosis)


# ---- graph helpers -----------------------------------------------------------------------------
def _order(g: Graph) -> list[str]:
    return [n for n in topology(g).order if n in g.nodes]


def _downstream(g: Graph, start: str) -> set[str]:
    seen, frontier = set(), [start]
    while frontier:
        for e in g.outgoing(frontier.pop()):
            if e.dst not in seen:
                seen.add(e.dst)
                frontier.append(e.dst)
    return seen


def _shift_after(g: Graph, node_id: str) -> None:
    for nid in _downstream(g, node_id):
        x, y = g.nodes[nid].pos
        g.nodes[nid].pos = (x + INSERT_DX, y)


def insert_after(g: Graph, node_id: str, type_id: str, params: dict | None = None) -> Node:
    """A new `type_id` node fed by `node_id`'s first output, taking over every wire that left from it."""
    src = g.node(node_id)
    port = get_spec(src.type).outputs[0].name
    spec = get_spec(type_id)
    leaving = [e for e in g.outgoing(node_id) if e.src_port == port]
    _shift_after(g, node_id)
    new = g.add_node(type_id, params=params, pos=(src.pos[0] + INSERT_DX, src.pos[1]))
    for e in leaving:
        g.disconnect(e)
        g.connect(new.id, e.dst, spec.outputs[0].name, e.dst_port)
    g.connect(node_id, new.id, port, spec.inputs[0].name)
    return new


def _out_rank(g: Graph, node_id: str) -> int | None:
    from engine.validate import validate

    shape = validate(g).shapes.get(node_id)
    return len(shape) if shape else None


def _norm_type(g: Graph, node_id: str) -> str:
    """BatchNorm for vectors, 1-D signals (per channel) and images; LayerNorm for sequences (each step's features)."""
    rank = _out_rank(g, node_id)
    if rank == 3 and g.nodes[node_id].type == "Conv1d":
        return "BatchNorm1d"
    return {2: "BatchNorm1d", 4: "BatchNorm2d"}.get(rank or 0, "LayerNorm")


def _next(g: Graph, node_id: str) -> Node | None:
    out = g.outgoing(node_id)
    return g.nodes[out[0].dst] if len(out) == 1 else None


def _head(g: Graph) -> str | None:
    """The last layer with a width (the one that produces the output scores)."""
    wide = [n for n in _order(g) if g.nodes[n].type in WIDE_TYPES]
    return wide[-1] if wide else None


def _hidden(g: Graph) -> list[str]:
    """Layers with a width, the head excluded, input to output."""
    wide = [n for n in _order(g) if g.nodes[n].type in WIDE_TYPES]
    return wide[:-1]


def _pinned(g: Graph, d: Diagnosis) -> list[str]:
    return [n for n in d.node_ids if n in g.nodes]


def _set(section: dict, path: str, value) -> None:
    *parents, leaf = path.split(".")
    for name in parents:
        section = section.setdefault(name, {})
    section[leaf] = value


# ---- activations -------------------------------------------------------------------------------
SWAPPABLE = (*RELU_TYPES, *BOUNDS)


def _swap_targets(g: Graph, d: Diagnosis) -> list[str]:
    """The activations to swap: the pinned ones, or (gradients) every ReLU/saturating one from the first
    pinned layer on, the one feeding an Output excluded."""
    pinned = _pinned(g, d)
    direct = [n for n in pinned if g.nodes[n].type in SWAPPABLE]
    if direct:
        return direct
    order = _order(g)
    start = min((order.index(n) for n in pinned if n in order), default=0)
    outputs = {n.id for n in g.output_nodes()}
    kinds = BOUNDS if d.id in ("vanishing_gradients", "plateau") else SWAPPABLE
    return [n for n in order[start:] if g.nodes[n].type in kinds
            and not any(e.dst in outputs for e in g.outgoing(n))]


def _swap(g: Graph, node_id: str, type_id: str) -> None:
    old = g.node(node_id)
    spec = get_spec(type_id)
    name = g.unique_name(type_id) if old.name.lower().startswith(old.type.lower()) else old.name
    g.nodes[node_id] = Node(node_id, type_id, name, spec.defaults(), old.pos, trainable=old.trainable,
                            lr_mult=old.lr_mult)
    g.touch()


def _swapper(type_id: str) -> Apply:
    def apply(g: Graph, d: Diagnosis) -> str:
        targets = [n for n in _swap_targets(g, d) if g.nodes[n].type != type_id]
        names = [g.nodes[n].name for n in targets]
        for nid in targets:
            _swap(g, nid, type_id)
        return f"{', '.join(names)} now use{'s' if len(names) == 1 else ''} {type_id}"
    return apply


def _can_swap(type_id: str) -> Applies:
    return lambda g, d: any(g.nodes[n].type != type_id for n in _swap_targets(g, d))


remedy("swap_to_leakyrelu", "Swap to LeakyReLU",
       "Replace the activation with LeakyReLU, which lets a small gradient through for negative inputs, so a "
       "unit that went quiet can come back.", _can_swap("LeakyReLU"))(_swapper("LeakyReLU"))
remedy("swap_to_gelu", "Swap to GELU",
       "Replace the activation with GELU: smooth, no flat end on the positive side and a little gradient below "
       "zero, the default of modern networks.", _can_swap("GELU"))(_swapper("GELU"))


# ---- normalisation and skips -------------------------------------------------------------------
def _norm_sites(g: Graph, d: Diagnosis) -> list[str]:
    """Where to put normalization: after pinned inputs; in front of pinned activations; otherwise after
    every hidden layer with a width (gradient and plateau problems concern the whole stack)."""
    pinned = _pinned(g, d)
    sites = []
    for nid in pinned:
        node = g.nodes[nid]
        if get_spec(node.type).role == "input":
            sites.append(nid)
        elif node.type in SWAPPABLE and g.incoming(nid):
            sites.append(g.incoming(nid)[0].src)
    if not sites:
        sites = _hidden(g)
    norms = ("BatchNorm1d", "BatchNorm2d", "LayerNorm")
    return [s for s in dict.fromkeys(sites) if not ((nxt := _next(g, s)) and nxt.type in norms)]


@remedy("insert_batchnorm", "Insert BatchNorm",
        "Add a normalization layer that rescales values to mean 0 and spread 1 on their way through, which keeps "
        "activations out of their flat ends and gradients in a healthy range.",
        lambda g, d: bool(_norm_sites(g, d)))
def insert_batchnorm(g: Graph, d: Diagnosis) -> str:
    added = []
    for site in _norm_sites(g, d):
        node = insert_after(g, site, _norm_type(g, site))
        added.append(f"{node.type} after '{g.nodes[site].name}'")
    return "inserted " + ", ".join(added)


def _residual_span(g: Graph, d: Diagnosis) -> tuple[str, str] | None:
    """(from, to): two nodes on a single-wire chain from the first pinned layer with the same output shape,
    at least two layers apart; the block between them gets a skip."""
    from engine.validate import validate

    shapes = validate(g).shapes
    pinned = _pinned(g, d)
    order = _order(g)
    start = min((order.index(n) for n in pinned if n in order), default=0)
    for a in order[start:]:
        if not shapes.get(a) or get_spec(g.nodes[a].type).role == "output":
            continue
        chain, cur = [], a
        while (nxt := _next(g, cur)) is not None and get_spec(nxt.type).role != "output" and len(chain) < 6:
            chain.append(nxt.id)
            cur = nxt.id
        ends = [b for b in chain[1:] if shapes.get(b) == shapes[a]]
        if ends:
            return a, ends[-1]
    return None


@remedy("add_residual", "Add a residual connection",
        "Add the input of a block to its output (x + f(x)), so the gradient has a short path back around the "
        "block's layers.", lambda g, d: _residual_span(g, d) is not None)
def add_residual(g: Graph, d: Diagnosis) -> str:
    a, b = _residual_span(g, d)
    leaving = list(g.outgoing(b))
    _shift_after(g, b)
    add = g.add_node("Add", pos=(g.nodes[b].pos[0] + INSERT_DX, g.nodes[b].pos[1]))
    for e in leaving:
        g.disconnect(e)
        g.connect(add.id, e.dst, "out", e.dst_port)
    g.connect(b, add.id)
    g.connect(a, add.id)
    return f"'{add.name}' adds the output of '{g.nodes[a].name}' to that of '{g.nodes[b].name}'"


# ---- regularisation ----------------------------------------------------------------------------
def _dropout_site(g: Graph, d: Diagnosis) -> str | None:
    """After the pinned (largest) layer's activation; a pinned head gets its Dropout in front instead."""
    pinned = _pinned(g, d) or _hidden(g)[-1:]
    if not pinned:
        return None
    site = pinned[0]
    if site == _head(g):
        incoming = g.incoming(site)
        return incoming[0].src if incoming else None
    nxt = _next(g, site)
    return nxt.id if nxt is not None and nxt.type in (*SWAPPABLE, "LeakyReLU", "GELU", "ELU", "SiLU") else site


@remedy("add_dropout", "Add Dropout",
        f"Put a Dropout layer (p = {DROPOUT_P}) after the largest layer: each step it silences a random half of "
        "the units, so no unit can rely on memorised partners.",
        lambda g, d: _dropout_site(g, d) is not None and (_next(g, _dropout_site(g, d)) is None
                                                           or _next(g, _dropout_site(g, d)).type != "Dropout"))
def add_dropout(g: Graph, d: Diagnosis) -> str:
    site = _dropout_site(g, d)
    node = insert_after(g, site, "Dropout", {"p": DROPOUT_P})
    return f"inserted '{node.name}' (p = {DROPOUT_P}) after '{g.nodes[site].name}'"


@remedy("weight_decay", "Add weight decay",
        "Pull every weight a little towards zero each step, which keeps the network from building the large "
        "weights that memorising needs (Adam becomes AdamW, whose decay works as intended).")
def weight_decay(g: Graph, d: Diagnosis) -> str:
    training = g.training
    optimizer = training.get("optimizer", "adam")
    if optimizer in ("adam", "adamw"):
        training["optimizer"] = "adamw"
        training["weight_decay"] = max(ADAMW_DECAY, float(training.get("weight_decay", 0.0)) * 10)
    else:
        training["weight_decay"] = max(SGD_DECAY, float(training.get("weight_decay", 0.0)) * 10)
    g.touch()
    return f"optimizer {training['optimizer']} with weight decay {training['weight_decay']:g}"


def _images(g: Graph) -> bool:
    return any(n.params.get("kind") == "image" for n in g.input_nodes())


@remedy("augmentation", "Turn on augmentation",
        "Train on slightly changed copies of the images (small shifts and rotations), so the network sees more "
        "variety than the training set holds.",
        lambda g, d: _images(g) and not any((g.data.get("augment") or {}).values()))
def augmentation(g: Graph, d: Diagnosis) -> str:
    g.data["augment"] = {**(g.data.get("augment") or {}), "crop_pad": 1, "rotate_deg": 10.0}
    g.touch()
    return "augmentation on: shifts of up to 1 pixel and rotations of up to 10°"


@remedy("early_stopping", "Turn on early stopping",
        f"Stop when the validation loss has not improved for {EARLY_PATIENCE} epochs and keep the weights of the "
        "best epoch.", lambda g, d: not (g.training.get("early_stopping") or {}).get("enabled"))
def early_stopping(g: Graph, d: Diagnosis) -> str:
    _set(g.training, "early_stopping.enabled", True)
    g.training["early_stopping"].setdefault("patience", EARLY_PATIENCE)
    _set(g.training, "early_stopping.restore_best", True)
    g.touch()
    return f"early stopping on (patience {g.training['early_stopping']['patience']}, best weights restored)"


# ---- the optimiser -----------------------------------------------------------------------------
def _lr(g: Graph) -> float:
    return float(g.training.get("lr", 1e-3))


def _scale_lr(factor: float) -> Apply:
    def apply(g: Graph, d: Diagnosis) -> str:
        old = _lr(g)
        g.training["lr"] = float(f"{old * factor:.3g}")
        g.touch()
        return f"learning rate {old:g} → {g.training['lr']:g}"
    return apply


remedy("lower_lr", "Lower the learning rate ÷10",
       "Take steps ten times shorter, so each one lands nearer where the gradient pointed.")(_scale_lr(0.1))
remedy("raise_lr", "Raise the learning rate ×10",
       "Take steps ten times longer, so the loss gets somewhere in the same number of epochs.",
       lambda g, d: _lr(g) * 10 <= 1.0)(_scale_lr(10.0))


@remedy("find_lr", "Find the learning rate",
        "Run the learning-rate range test (short trainings while the rate grows, a few seeds) and use the rate "
        "it suggests: a tenth of the rate where the loss was lowest, kept only if it beats the current one.",
        lambda g, d: g.data.get("task") != "gan")
def find_lr_remedy(g: Graph, d: Diagnosis) -> str:
    from engine.lr_find import find_lr

    result = find_lr(g, repeats=FIND_LR_REPEATS, steps=FIND_LR_STEPS)
    if result.keep_default:
        return f"the range test keeps the learning rate {_lr(g):g} ({result.reason})"
    old = _lr(g)
    g.training["lr"] = float(f"{result.suggested_lr:.3g}")
    g.touch()
    return f"learning rate {old:g} → {g.training['lr']:g} (range test: {result.reason})"


@remedy("clip_gradients", "Clip gradients",
        f"Scale each step's gradient down whenever its overall size is above {CLIP_NORM:g}, so one bad batch "
        "cannot throw the weights far away.", lambda g, d: g.training.get("clip", "none") == "none")
def clip_gradients(g: Graph, d: Diagnosis) -> str:
    g.training["clip"] = "norm"
    g.training["clip_value"] = CLIP_NORM
    g.touch()
    return f"gradients clipped to norm {CLIP_NORM:g}"


# ---- capacity ----------------------------------------------------------------------------------
def _width_node(g: Graph, d: Diagnosis) -> str | None:
    pinned = [n for n in _pinned(g, d) if g.nodes[n].type in WIDE_TYPES and n != _head(g)]
    return (pinned or _hidden(g)[:1] or [None])[0]


@remedy("widen_layer", f"Widen the layer ×{WIDEN_FACTOR}",
        f"Give the narrowest layer {WIDEN_FACTOR} times as many units, so it can carry more of what the input "
        "says.", lambda g, d: _width_node(g, d) is not None)
def widen_layer(g: Graph, d: Diagnosis) -> str:
    node = g.nodes[_width_node(g, d)]
    key = WIDE_TYPES[node.type]
    old = int(node.params[key])
    g.set_param(node.id, key, old * WIDEN_FACTOR)
    return f"'{node.name}' {key} {old} → {old * WIDEN_FACTOR}"


@remedy("deepen_layer", "Add a layer after it",
        "Put another layer of the same kind and width, with a ReLU, after the layer, so the network can combine "
        "what it finds in one more step.", lambda g, d: _width_node(g, d) is not None)
def deepen_layer(g: Graph, d: Diagnosis) -> str:
    node = g.nodes[_width_node(g, d)]
    nxt = _next(g, node.id)
    site = nxt.id if nxt is not None and nxt.type in (*SWAPPABLE, "LeakyReLU", "GELU") else node.id
    width = max(int(node.params[WIDE_TYPES[node.type]]), 16)
    layer = insert_after(g, site, node.type, {**copy.deepcopy(node.params), WIDE_TYPES[node.type]: width})
    act = insert_after(g, layer.id, "ReLU")
    return f"inserted '{layer.name}' ({width} units) and '{act.name}' after '{g.nodes[site].name}'"


# ---- data --------------------------------------------------------------------------------------
@remedy("class_weights", "Rebalance the class weights",
        "Weight each class's share of the loss by how rare it is in the training split, so every class counts "
        "as much as the others.", lambda g, d: g.training.get("class_weights", "none") != "balanced")
def class_weights(g: Graph, d: Diagnosis) -> str:
    g.training["class_weights"] = "balanced"
    g.touch()
    return "class weights balanced by the training split's class counts"


@remedy("normalize_inputs", "Standardise the inputs",
        "Let the data section rescale every input to mean 0 and spread 1 with the training split's statistics.",
        lambda g, d: g.data.get("normalize") in ("none", "minmax") or "normalize" not in g.data
        and d.id == "unnormalised_inputs")
def normalize_inputs(g: Graph, d: Diagnosis) -> str:
    old = g.data.get("normalize", "the dataset's default")
    g.data["normalize"] = "standardize"
    g.touch()
    return f"data normalization {old} → standardize"


def _retask(g: Graph, task: str, units: int) -> str:
    outputs = g.output_nodes()
    head = _head(g)
    if not outputs or head is None:
        raise GraphError("the graph has no Output node fed by a layer with units")
    g.set_param(outputs[0].id, "task", task)
    g.set_param(head, WIDE_TYPES[g.nodes[head].type], units)
    g.data["task"] = task
    g.touch()
    return (f"data task and Output '{outputs[0].name}' set to {task}; '{g.nodes[head].name}' has {units} "
            f"unit{'s' if units != 1 else ''}")


@remedy("make_classification", "Train as classification",
        "Treat the targets as classes: the data task and the Output become multiclass and the last layer gets one "
        "score per class.", lambda g, d: _head(g) is not None and bool(g.output_nodes()))
def make_classification(g: Graph, d: Diagnosis) -> str:
    return _retask(g, "multiclass", int(d.measure.get("distinct", 2)))


@remedy("make_regression", "Train as regression",
        "Treat the targets as numbers to predict: the data task and the Output become regression with one unit.",
        lambda g, d: _head(g) is not None and bool(g.output_nodes()))
def make_regression(g: Graph, d: Diagnosis) -> str:
    return _retask(g, "regression", 1)

