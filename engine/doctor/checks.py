"""The doctor's checks: each a declaration (id, title, function) that reads a RunRecord and a graph and
returns the diagnoses it finds. Thresholds are module constants so docs and tests can name them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from engine.doctor.record import RunRecord
from engine.doctor.records import Diagnosis, Evidence, Series
from engine.graph import Graph, Node
from engine.topology import topology

VANISH_RATIO = 1e-3
"""A layer whose gradient norm is below this fraction of the largest layer's has a vanishing gradient."""
VANISH_MIN_LAYERS = 3
"""Gradients vanish with depth: a network needs this many layers with weights for the check to apply."""
EXPLODE_NORM = 1e3
EXPLODE_GROWTH = 100.0
EXPLODE_MIN = 10.0
"""A layer's gradient norm that grew EXPLODE_GROWTH times its first value and is above EXPLODE_MIN is exploding too
(the trainer's divergence guard may stop a run before any norm reaches EXPLODE_NORM)."""
DEAD_FRACTION = 0.5
"""A ReLU node with at least this fraction of units that output zero for every probe sample is 'dead'."""
SATURATED_FRACTION = 0.5
SATURATION_MARGIN = 0.03
"""A bounded activation's output within this fraction of its range from either bound counts as saturated."""
DIVERGE_FACTOR = 2.0
SPIKE_FACTOR = 3.0
PLATEAU_CHANGE = 0.01
PLATEAU_LEVEL = 0.8
OVERFIT_RISE = 0.1
OVERFIT_ACCURACY_GAP = 0.05
OVERFIT_R2_GAP = 0.1
UNDERFIT_ACCURACY = 0.85
UNDERFIT_R2 = 0.8
IMBALANCE_RATIO = 4.0
UNNORMALISED_STD = 10.0
UNNORMALISED_MEAN = 5.0
LABEL_CLASSES_MAX = 20

RELU_TYPES = ("ReLU",)
BOUNDS = {"Sigmoid": (0.0, 1.0), "Tanh": (-1.0, 1.0)}
WIDE_TYPES = {"Dense": "units", "Conv1d": "out_channels", "Conv2d": "out_channels", "LSTM": "hidden_size",
              "GRU": "hidden_size", "SimpleRNN": "hidden_size"}
"""Layer types whose width the doctor can read and change, with the param that sets it."""


class Context:
    """A run's record with its graph, plus the graph facts several checks need."""

    def __init__(self, record: RunRecord, graph: Graph, param_counts: dict[str, int] | None = None) -> None:
        self.record, self.graph = record, graph
        if param_counts is not None:
            self.__dict__["param_counts"] = param_counts

    @cached_property
    def order(self) -> list[str]:
        try:
            return [nid for nid in topology(self.graph).order if nid in self.graph.nodes]
        except Exception:  # noqa: BLE001  a cycle or a half-built graph: fall back on project order
            return list(self.graph.nodes)

    def name(self, node_id: str) -> str:
        node = self.graph.nodes.get(node_id)
        return node.name if node else node_id

    def names(self, ids: list[str] | tuple[str, ...], limit: int = 4) -> str:
        shown = ", ".join(f"'{self.name(n)}'" for n in ids[:limit])
        return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")

    def of_type(self, types: tuple[str, ...] | dict) -> list[Node]:
        return [self.graph.nodes[n] for n in self.order if self.graph.nodes[n].type in types]

    def outputs(self) -> list[str]:
        return [n.id for n in self.graph.output_nodes()]

    def inputs(self) -> list[str]:
        return [n.id for n in self.graph.input_nodes()]

    @cached_property
    def param_counts(self) -> dict[str, int]:
        from engine.validate import validate

        try:
            return validate(self.graph).param_counts
        except Exception:  # noqa: BLE001  a graph that no longer validates still gets the other checks
            return {}


CheckFn = Callable[[Context], list[Diagnosis]]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    run: CheckFn


CHECKS: list[Check] = []


def check(check_id: str, title: str) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        CHECKS.append(Check(check_id, title, fn))
        return fn
    return register


# ---- small numeric helpers --------------------------------------------------------------------
def _finite(values: list[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _rounded(value: float) -> str:
    """A large factor to one significant digit, with thousands separators: 123456 -> '100,000'."""
    return f"{float(f'{value:.1g}'):,.0f}"


def _median(values: list[float]) -> float:
    values = _finite(values)
    return statistics.median(values) if values else math.nan


def _epochs(record: RunRecord) -> list[float]:
    return [float(e) for e in record.epochs]


def _loss_evidence(record: RunRecord, log_y: bool = False) -> Evidence:
    series = []
    if record.batch_loss:
        series.append(Series("train (per batch)", record.batch_x, [_plottable(v) for v in record.batch_loss]))
    for split, label in (("train", "train (epoch)"), ("val", "validation (epoch)")):
        if record.loss(split):
            series.append(Series(label, _epochs(record), [_plottable(v) for v in record.loss(split)]))
    return Evidence("Loss", "epoch", "loss", tuple(series), log_y=log_y)


def _plottable(value: float) -> float:
    return value if math.isfinite(value) else math.nan


def _recent_grads(record: RunRecord, count: int = 5) -> dict[str, float]:
    """Each node's median gradient norm over the last `count` gradient events."""
    recent = record.grads[-count:]
    ids = {nid for g in recent for nid in g}
    return {nid: _median([g[nid] for g in recent if nid in g]) for nid in ids}


# ---- gradients ---------------------------------------------------------------------------------
def _depth_evidence(ctx: Context, norms: dict[str, float]) -> Evidence:
    ids = [nid for nid in ctx.order if nid in norms]
    return Evidence("Gradient norm by depth (input → output)", "layer", "gradient norm",
                    (Series("median of the last summaries", list(range(len(ids))),
                            [max(norms[n], 1e-30) if math.isfinite(norms[n]) else math.nan for n in ids]),),
                    kind="bar", log_y=True, x_ticks=tuple(ctx.name(n) for n in ids))


def _over_time(ctx: Context, ids: list[str], title: str) -> Evidence:
    series = []
    for nid in ids[:6]:
        x, y = ctx.record.grad_series(nid)
        series.append(Series(ctx.name(nid), x, [max(v, 1e-30) if math.isfinite(v) else math.nan for v in y]))
    return Evidence(title, "epoch", "gradient norm", tuple(series), log_y=True)


@check("vanishing_gradients", "Vanishing gradients")
def vanishing_gradients(ctx: Context) -> list[Diagnosis]:
    # An exactly zero gradient is no gradient at all: dead or saturated units cause it, and their checks say so.
    norms = {n: v for n, v in _recent_grads(ctx.record).items() if math.isfinite(v) and v > 0}
    if len(ctx.record.grads) < 2 or len(norms) < VANISH_MIN_LAYERS:
        return []
    ordered = [nid for nid in ctx.order if nid in norms]
    top_id = max(ordered, key=lambda n: norms[n])
    top = norms[top_id]
    if top <= 0:
        return []
    deepest = ordered.index(top_id)
    small = [nid for nid in ordered[:deepest] if norms[nid] < top * VANISH_RATIO]
    if not small:
        return []
    ratio = norms[small[0]] / top
    return [Diagnosis(
        "vanishing_gradients", "Vanishing gradients", "warning", tuple(small),
        f"The layers nearest the input ({ctx.names(small)}) receive "
        + (f"gradients about {_rounded(1 / ratio)} times smaller than" if ratio > 0 else "no gradient at all, unlike")
        + f" '{ctx.name(top_id)}', so they barely change while the last layers learn. Every layer the error "
        "signal passes through on its way back scales it; saturating activations such as Sigmoid and Tanh "
        "scale it by at most 0.25 or 1 each time, and many of them in a row shrink it towards zero. "
        "Normalization between layers, activations that do not saturate, or skip connections that give the "
        "gradient a short path back all keep it alive.",
        (_depth_evidence(ctx, norms), _over_time(ctx, [*small[:3], top_id], "Gradient norm over time")),
        ("insert_batchnorm", "swap_to_gelu", "add_residual"),
        {"ratio": ratio, "node": small[0], "top": top_id})]


def _first_grads(record: RunRecord) -> dict[str, float]:
    """Each node's first finite, non-zero gradient norm of the run."""
    first: dict[str, float] = {}
    for g in record.grads:
        for nid, v in g.items():
            if nid not in first and math.isfinite(v) and v > 0:
                first[nid] = v
    return first


@check("exploding_gradients", "Exploding gradients")
def exploding_gradients(ctx: Context) -> list[Diagnosis]:
    recent = ctx.record.grads[-3:]
    norms = {nid: max((g[nid] for g in recent if nid in g), key=lambda v: v if math.isfinite(v) else math.inf)
             for nid in {n for g in recent for n in g}}
    first = _first_grads(ctx.record)

    def exploding(nid: str) -> bool:
        v = norms[nid]
        grew = v > EXPLODE_MIN and nid in first and v > EXPLODE_GROWTH * first[nid]
        return not math.isfinite(v) or v > EXPLODE_NORM or grew

    big = [nid for nid in ctx.order if nid in norms and exploding(nid)]
    if not big:
        return []
    worst = max((norms[n] for n in big), key=lambda v: v if math.isfinite(v) else math.inf)
    return [Diagnosis(
        "exploding_gradients", "Exploding gradients", "error" if not math.isfinite(worst) else "warning", tuple(big),
        f"The gradients of {ctx.names(big)} are huge or growing fast (norm {worst:.3g}; above {EXPLODE_NORM:g}, or "
        f"{EXPLODE_GROWTH:g} times the first one, is a red flag). A step of that size throws the weights far from "
        "where they were, the loss jumps, and the next gradient is bigger still. Clipping caps the size of each "
        "step, a lower learning rate makes every step shorter, and normalization keeps the values flowing through "
        "the network in a steady range.",
        (_depth_evidence(ctx, norms), _over_time(ctx, big, "Gradient norm over time")),
        ("clip_gradients", "lower_lr", "insert_batchnorm"), {"norm": worst})]


# ---- activations -------------------------------------------------------------------------------
def _last_acts(record: RunRecord, count: int = 2) -> list[dict[str, dict]]:
    return record.acts[-count:]


@check("dead_units", "Dead ReLU units")
def dead_units(ctx: Context) -> list[Diagnosis]:
    recent = _last_acts(ctx.record)
    out = []
    for node in ctx.of_type(RELU_TYPES):
        values = [a[node.id].get("dead", a[node.id]["zeros"] if a[node.id].get("zeros", 0) > 0.99 else 0.0)
                  for a in recent if node.id in a]
        if not values or min(values) < DEAD_FRACTION:
            continue
        x, y = ctx.record.node_series("dead", node.id)
        x2, z = ctx.record.node_series("zeros", node.id)
        out.append(Diagnosis(
            "dead_units", f"Dead units in '{node.name}'", "warning", (node.id,),
            f"{values[-1]:.0%} of the units of '{node.name}' output zero for every sample of the probe batch. A "
            "ReLU passes nothing, and no gradient, for negative inputs; once a unit's input is negative for every "
            "sample it gets no gradient and stays off for good. A too-large step usually pushes them there. "
            "LeakyReLU and GELU let a little gradient through below zero, so such units can recover; a lower "
            "learning rate or BatchNorm in front keeps inputs from drifting negative.",
            (Evidence(f"Units of '{node.name}' never active", "epoch", "fraction",
                      (Series("dead units", x, y), Series("zero outputs", x2, z))),),
            ("swap_to_leakyrelu", "swap_to_gelu", "lower_lr", "insert_batchnorm"), {"dead": values[-1]}))
    return out


def _saturation(summary: dict, low: float, high: float) -> float:
    """Fraction of a bounded activation's outputs within SATURATION_MARGIN of either bound (from its histogram)."""
    hist, lo, hi = summary.get("hist") or [], summary.get("min", 0.0), summary.get("max", 0.0)
    total = sum(hist)
    if not total or not hi > lo:
        return 0.0
    margin = SATURATION_MARGIN * (high - low)
    width = (hi - lo) / len(hist)
    edge = sum(count for i, count in enumerate(hist)
               if lo + (i + 0.5) * width <= low + margin or lo + (i + 0.5) * width >= high - margin)
    return edge / total


@check("saturated_units", "Saturated activations")
def saturated_units(ctx: Context) -> list[Diagnosis]:
    recent = _last_acts(ctx.record)
    out = []
    for node in ctx.of_type(BOUNDS):
        low, high = BOUNDS[node.type]
        values = [_saturation(a[node.id], low, high) for a in recent if node.id in a]
        if not values or min(values) < SATURATED_FRACTION:
            continue
        last = next(a[node.id] for a in reversed(recent) if node.id in a)
        hist = last["hist"]
        width = (last["max"] - last["min"]) / max(len(hist), 1)
        centres = [last["min"] + (i + 0.5) * width for i in range(len(hist))]
        out.append(Diagnosis(
            "saturated_units", f"Saturated {node.type} in '{node.name}'", "warning", (node.id,),
            f"{values[-1]:.0%} of the outputs of '{node.name}' sit at the flat ends of the {node.type} curve "
            f"(near {low:g} or {high:g}). There its slope is almost zero, so almost no gradient flows back "
            "through it and the layers before it stop learning. Inputs that are too large (unnormalised data, "
            "big weights) push it there; normalization in front, or an activation without flat ends, helps.",
            (Evidence(f"Output histogram of '{node.name}' (probe batch)", "value", "count",
                      (Series("outputs", centres, [float(c) for c in hist]),), kind="bar"),),
            ("insert_batchnorm", "swap_to_gelu", "normalize_inputs"), {"saturated": values[-1]}))
    return out


# ---- the loss curve ----------------------------------------------------------------------------
def _failed_nonfinite(record: RunRecord) -> bool:
    """The run stopped because its loss stopped being a number."""
    return record.failed is not None and "NaN or infinite" in record.failed.message


def _stopped_diverging(record: RunRecord) -> bool:
    """The run was stopped by the trainer's divergence guard (the loss grew by orders of magnitude)."""
    return record.failed is not None and "diverged" in record.failed.message


@check("diverging", "Loss diverging")
def diverging(ctx: Context) -> list[Diagnosis]:
    r = ctx.record
    start = r.initial_loss()
    recent = r.batch_loss[-5:] or r.loss()[-2:]
    blew_up = _failed_nonfinite(r) or any(not math.isfinite(v) for v in recent)
    stopped = _stopped_diverging(r)
    rising = (not _adversarial(r) and start is not None and start > 0 and len(r.epochs) >= 2 and recent
              and _median(recent) > DIVERGE_FACTOR * start)
    if not (blew_up or stopped or rising):
        return []
    node = r.failed.node_id if r.failed and r.failed.node_id else None
    where = (f" The first layer whose values stopped being finite is '{ctx.name(node)}'." if node else "")
    return [Diagnosis(
        "diverging", "Loss diverging", "error", (node,) if node else tuple(ctx.outputs()),
        ("The loss grew instead of shrinking" + (" until it was no longer a number (NaN or infinite)" if blew_up
                                                 else ", by orders of magnitude, and the trainer stopped the run"
                                                 if stopped else f", to more than {DIVERGE_FACTOR:g} times where it started")
         + f".{where} Each step overshoots the minimum it aims at and lands somewhere worse, and the next, "
         "larger gradient overshoots further. The learning rate is the usual cause: lower it (ten times is a "
         "good first try) or clip the gradients so a single step can never be huge."),
        (_loss_evidence(r, log_y=True),), ("lower_lr", "clip_gradients", "find_lr"),
        {"start": start, "last": _median(recent) if recent else math.nan})]


def _adversarial(r: RunRecord) -> bool:
    """A GAN's losses rise and fall by design (two networks play against each other): loss-shape checks skip it."""
    return r.task == "gan"


def _relative_change(values: list[float]) -> float:
    values = _finite(values)
    if len(values) < 2 or values[0] == 0:
        return math.inf
    return abs(values[-1] - values[0]) / abs(values[0])


def _plateaued(r: RunRecord) -> bool:
    loss, start = _finite(r.loss()), r.initial_loss()
    if len(loss) < 4 or start is None or start <= 0 or _adversarial(r):
        return False
    half = loss[len(loss) // 2:]
    return _relative_change(half) < PLATEAU_CHANGE and loss[-1] > PLATEAU_LEVEL * start


@check("plateau", "Loss stuck on a plateau")
def plateau(ctx: Context) -> list[Diagnosis]:
    r = ctx.record
    if _failed_nonfinite(r) or not _plateaued(r):
        return []
    return [Diagnosis(
        "plateau", "Loss stuck on a plateau", "warning", tuple(ctx.outputs()),
        f"The training loss has hardly moved (less than {PLATEAU_CHANGE:.0%} over the second half of the run) and "
        f"is still at {r.loss()[-1] / r.initial_loss():.0%} of where it started: the network is not learning. "
        "Either the steps are too small to get anywhere (learning rate too low), or the gradient does not reach "
        "the weights (vanishing gradients, dead or saturated units: see the other diagnoses), or the network "
        "cannot use its input at all.",
        (_loss_evidence(r),), ("insert_batchnorm", "raise_lr", "swap_to_gelu"),
        {"level": r.loss()[-1] / r.initial_loss()})]


@check("lr_too_high", "Learning rate too high")
def lr_too_high(ctx: Context) -> list[Diagnosis]:
    r = ctx.record
    loss = _finite(r.loss())
    if len(loss) < 4 or _adversarial(r) or diverging(ctx):
        return []
    ups = sum(b > a * 1.02 for a, b in zip(loss, loss[1:], strict=False))
    start = r.initial_loss() or math.inf
    bumpy = ups >= max(2, (len(loss) - 1) / 3) and loss[-1] >= 1.3 * min(loss)
    spiked = max(loss) > SPIKE_FACTOR * start
    if not (bumpy or spiked):
        return []
    what = (f"jumped to {max(loss) / start:.0f} times its starting value before coming back down" if spiked else
            f"went up in {ups} of {len(loss) - 1} epochs and ends {loss[-1] / min(loss):.1f} times above its best")
    return [Diagnosis(
        "lr_too_high", "Learning rate too high", "warning", tuple(ctx.outputs()),
        f"The training loss {what}. Steps that are too long jump across the valley of the loss instead of "
        f"walking down into it. Try a learning rate ten times lower than {r.params.get('lr', '?')}.",
        (_loss_evidence(r, log_y=spiked),), ("lower_lr", "clip_gradients", "find_lr"),
        {"ups": ups, "peak": max(loss) / start, "above_best": loss[-1] / min(loss)})]


@check("lr_too_low", "Learning rate too low")
def lr_too_low(ctx: Context) -> list[Diagnosis]:
    r = ctx.record
    loss, start = _finite(r.loss()), r.initial_loss()
    if len(loss) < 4 or start is None or start <= 0 or _adversarial(r) or _plateaued(r):
        return []
    steady = all(b < a for a, b in zip(loss, loss[1:], strict=False))
    half = len(loss) // 2
    early, late = loss[0] - loss[half], loss[half] - loss[-1]
    if not steady or loss[-1] < 0.6 * start or early <= 0 or late < 0.5 * early * (len(loss) - 1 - half) / half:
        return []
    return [Diagnosis(
        "lr_too_low", "Learning rate too low", "info", tuple(ctx.outputs()),
        f"The training loss falls in every epoch but slowly and at an even pace, still {loss[-1] / start:.0%} of "
        "where it started: the run ends long before the loss levels off. The steps are too short; a learning "
        f"rate ten times higher than {r.params.get('lr', '?')} (or more epochs) gets further in the same time.",
        (_loss_evidence(r),), ("raise_lr", "find_lr"), {"level": loss[-1] / start})]


# ---- generalisation ----------------------------------------------------------------------------
def _largest(ctx: Context) -> list[str]:
    counts = ctx.param_counts
    layers = [n.id for n in ctx.of_type(WIDE_TYPES) if counts.get(n.id, 0) > 0]
    return sorted(layers, key=lambda n: -counts[n])[:1] or layers[:1]


@check("overfitting", "Overfitting")
def overfitting(ctx: Context) -> list[Diagnosis]:
    r = ctx.record
    train, val = r.loss("train"), r.loss("val")
    if len(_finite(val)) < 4 or len(_finite(train)) < 4 or _adversarial(r):
        return []
    best = min(range(len(val)), key=lambda i: val[i] if math.isfinite(val[i]) else math.inf)
    if best >= len(val) - 1:
        return []
    rise = (val[-1] - val[best]) / max(abs(val[best]), 1e-12)
    gaps = [v - t for t, v in zip(train, val, strict=True)]
    if rise < OVERFIT_RISE or train[-1] >= train[best] or gaps[-1] <= gaps[best] or not _quality_gap(r):
        return []
    epochs = _epochs(r)
    return [Diagnosis(
        "overfitting", "Overfitting", "warning", tuple(_largest(ctx)),
        f"The validation loss was lowest at epoch {r.epochs[best]} and has since risen {rise:.0%}, while the "
        f"training loss kept falling: the gap between them grew from {gaps[best]:.3g} to {gaps[-1]:.3g}, and "
        f"{_quality_gap(r)}. The network is memorising its training samples instead of learning what they have "
        "in common. Less capacity to memorise (Dropout, weight decay), more varied data (augmentation) or "
        "stopping at the best epoch (early stopping) all help.",
        (_loss_evidence(r), Evidence("Generalisation gap", "epoch", "val loss - train loss",
                                      (Series("gap", epochs, gaps),))),
        ("add_dropout", "weight_decay", "augmentation", "early_stopping"),
        {"rise": rise, "gap": gaps[-1], "best_epoch": r.epochs[best]})]


def _quality_gap(r: RunRecord) -> str:
    """How much better the network does on its training data than on validation data, in words ('' when
    the difference is too small to matter: a run whose validation score holds up is not overfitting yet)."""
    for name, margin in (("accuracy", OVERFIT_ACCURACY_GAP), ("r2", OVERFIT_R2_GAP)):
        train, val = _finite(r.train.get(name, [])), _finite(r.val.get(name, []))
        if train and val:
            gap = train[-1] - val[-1]
            return f"the training {name} is {train[-1]:.3g} against {val[-1]:.3g} on validation" if gap >= margin else ""
    train, val = r.loss("train"), r.loss("val")
    return "the validation loss is more than twice the training loss" if val[-1] >= 2 * train[-1] else ""


def _quality(r: RunRecord) -> tuple[str, float, float] | None:
    """(metric, threshold, final train value) the underfitting check judges the fit by."""
    for name, threshold in (("accuracy", UNDERFIT_ACCURACY), ("r2", UNDERFIT_R2)):
        values = _finite(r.train.get(name, []))
        if values:
            return name, threshold, values[-1]
    return None


def _narrowest(ctx: Context) -> list[str]:
    """The hidden layer with the fewest units (the head, the last wide layer, excluded)."""
    layers = ctx.of_type(WIDE_TYPES)[:-1]
    if not layers:
        return ctx.outputs()
    return [min(layers, key=lambda n: n.params.get(WIDE_TYPES[n.type], 0)).id]


@check("underfitting", "Underfitting")
def underfitting(ctx: Context) -> list[Diagnosis]:
    r = ctx.record
    quality = _quality(r)
    train, val = _finite(r.loss("train")), _finite(r.loss("val"))
    if quality is None or len(train) < 5 or _plateaued(r) or diverging(ctx) or lr_too_low(ctx):
        return []
    name, threshold, value = quality
    third = train[-max(2, len(train) // 3):]
    if value >= threshold or _relative_change(third) > 0.05 or (val and val[-1] > 1.25 * train[-1]):
        return []
    target = _narrowest(ctx)
    return [Diagnosis(
        "underfitting", "Underfitting", "warning", tuple(target),
        f"The training {name} levelled off at {value:.3g} (below {threshold:g}) and validation is no worse: the "
        "network does not fit even the data it trains on. It is too small or too constrained for the task. "
        f"A wider '{ctx.name(target[0])}' or another layer gives it more capacity; less regularisation or "
        "longer training may also help.",
        (Evidence(f"Train {name}", "epoch", name, (Series("train", _epochs(r), r.train.get(name, [])),
                                                    Series("validation", _epochs(r), r.val.get(name, [])))),),
        ("widen_layer", "deepen_layer"), {name: value})]


# ---- data --------------------------------------------------------------------------------------
def _summary(ctx: Context) -> dict:
    return ctx.record.data.get("summary") or {}


@check("class_imbalance", "Class imbalance")
def class_imbalance(ctx: Context) -> list[Diagnosis]:
    counts = _summary(ctx).get("classes") or []
    present = [c for c in counts if c > 0]
    if len(present) < 2 or max(present) < IMBALANCE_RATIO * min(present):
        return []
    names = ctx.record.data.get("class_names") or [str(i) for i in range(len(counts))]
    rare = min(range(len(counts)), key=lambda i: counts[i] if counts[i] else math.inf)
    return [Diagnosis(
        "class_imbalance", "Class imbalance", "warning", tuple(ctx.outputs()),
        f"The training split has {max(present)} samples of its commonest class but only {min(present)} of "
        f"'{names[rare] if rare < len(names) else rare}'. A network rewarded per sample learns that the rare "
        "classes hardly matter; its accuracy looks fine while it misses them. Weighting the loss so each class "
        "counts as much as the others (class weights) gives the rare ones a say.",
        (Evidence("Training samples per class", "class", "samples",
                  (Series("samples", list(range(len(counts))), [float(c) for c in counts]),), kind="bar",
                  x_ticks=tuple(str(n) for n in names[:len(counts)])),),
        ("class_weights",), {"ratio": max(present) / min(present)})]


@check("unnormalised_inputs", "Inputs not normalised")
def unnormalised_inputs(ctx: Context) -> list[Diagnosis]:
    stats = _summary(ctx).get("inputs") or []
    inputs = ctx.inputs()
    out = []
    for i, s in enumerate(stats):
        if s is None or i >= len(inputs):
            continue
        if abs(s["mean"]) < UNNORMALISED_MEAN and s["std"] < UNNORMALISED_STD:
            continue
        nid = inputs[i]
        out.append(Diagnosis(
            "unnormalised_inputs", f"Input '{ctx.name(nid)}' is not normalised", "warning", (nid,),
            f"The values reaching '{ctx.name(nid)}' have mean {s['mean']:.3g} and spread {s['std']:.3g} (range "
            f"{s['min']:.3g} to {s['max']:.3g}). Weights start out sized for inputs near 0 with a spread near 1; "
            "inputs a thousand times larger make the first layer's outputs huge, saturate activations and call "
            "for a learning rate far smaller than for the rest of the network. Standardising the data (mean 0, "
            "spread 1, from the training split's statistics) fixes it at the source.",
            (Evidence(f"Input '{ctx.name(nid)}' (training split)", "statistic", "value",
                      (Series("value", [0, 1, 2, 3], [s["mean"], s["std"], s["min"], s["max"]]),), kind="bar",
                      x_ticks=("mean", "std", "min", "max")),),
            ("normalize_inputs", "insert_batchnorm"), {"mean": s["mean"], "std": s["std"]}))
    return out


@check("label_task_mismatch", "Labels do not fit the task")
def label_task_mismatch(ctx: Context) -> list[Diagnosis]:
    summary, r = _summary(ctx), ctx.record
    target = summary.get("target") or {}
    outputs = ctx.outputs()
    if r.task == "regression" and target.get("integer") and 2 <= target.get("distinct", 0) <= LABEL_CLASSES_MAX:
        return [Diagnosis(
            "label_task_mismatch", "Labels look like classes", "warning", tuple(outputs[:1]),
            f"The network is trained to predict a number (regression), but every target is one of "
            f"{target['distinct']} whole numbers from {target['min']:g} to {target['max']:g}: they look like class "
            "ids. Regression treats class 2 as 'between' 1 and 3 and is rewarded for answering 1.5; as a "
            "classification task the network gets one score per class and learns each class on its own.",
            (_loss_evidence(r),), ("make_classification",), {"distinct": target["distinct"]})]
    counts = summary.get("classes") or []
    train_size = (r.data.get("splits") or {}).get("train", 0)
    if r.task == "multiclass" and counts and train_size and len(counts) > max(LABEL_CLASSES_MAX, train_size / 2):
        return [Diagnosis(
            "label_task_mismatch", "Too many classes for the samples", "warning", tuple(outputs[:1]),
            f"The task is classification with {len(counts)} classes for {train_size} training samples: most classes "
            "have one or two examples, so the targets are probably measurements rather than categories. A "
            "classifier cannot learn a class from one example; predicting the number (regression) can.",
            (Evidence("Training samples per class", "class", "samples",
                      (Series("samples", list(range(len(counts))), [float(c) for c in counts]),), kind="bar"),),
            ("make_regression",), {"classes": len(counts)})]
    return []
