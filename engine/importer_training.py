"""Code that runs only in training (`if self.training:`) or only in evaluation: the import traces in eval mode,
so such branches would be lost or kept silently. A second trace in training mode is compared with the first;
a training-only dropout on a value becomes a Dropout node (it acts only in training, as the branch did), and
every other difference is a named warning with its source line."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import torch
from torch import fx, nn
from torch.nn import functional as F

from engine import importer_map as M
from engine.errors import GraphError
from engine.importer_report import ImportWarning
from engine.importer_trace import source_line, trace

DROPOUT_FUNCTIONS = {F.dropout: "Dropout", F.dropout1d: "Dropout", F.alpha_dropout: "Dropout",
                     F.dropout2d: "Dropout2d", "dropout": "Dropout"}
"""Calls that randomly zero values in training: a training-only one maps to a Dropout node."""
DROPOUT_LAYERS = ("Dropout", "Dropout2d", "DropPath")


def compare_modes(module: nn.Module, gm_eval: fx.GraphModule, names: list[str], fixed: dict[str, Any],
                  examples: list[tuple]) -> tuple[list[fx.Node], list[fx.Node], dict[fx.Node, fx.Node]] | str:
    """(training-only nodes of the training trace, eval-only nodes of `gm_eval` (traced with stack traces),
    training node -> its eval twin), or why the training-mode trace failed. Buffers (BatchNorm statistics) and the random state are
    restored afterwards: conditions are decided by running the model, which in training mode updates them."""
    buffers = {k: v.detach().clone() for k, v in module.named_buffers()}
    module.train()
    try:
        with torch.random.fork_rng(), torch.no_grad():
            gm_train = trace(module, M.is_leaf, names, fixed, examples, stack_traces=True)
    except GraphError as exc:
        return str(exc)
    finally:
        module.eval()
        with torch.no_grad():
            for k, v in module.named_buffers():
                if k in buffers:
                    v.copy_(buffers[k])
    return _diff(gm_train, gm_eval)


def _key(node: fx.Node) -> tuple:
    """What an operation is and where the model code makes it (both traces record stack traces)."""
    target = node.target if isinstance(node.target, str) else getattr(node.target, "__qualname__", str(node.target))
    return node.op, str(target), source_line(node)


def _diff(gm_train: fx.GraphModule, gm_eval: fx.GraphModule):
    """Operations matched by (kind, target, source line) and their order of occurrence."""
    ops = ("call_module", "call_function", "call_method")
    evals: dict[tuple, list[fx.Node]] = defaultdict(list)
    for n in gm_eval.graph.nodes:
        if n.op in ops:
            evals[_key(n)].append(n)
    seen: Counter[tuple] = Counter()
    twins, train_only = {}, []
    for n in gm_train.graph.nodes:
        if n.op == "placeholder":
            twins[n] = next((e for e in gm_eval.graph.nodes if e.op == "placeholder" and e.target == n.target), None)
        if n.op not in ops:
            continue
        key = _key(n)
        if seen[key] < len(evals[key]):
            twins[n] = evals[key][seen[key]]
        else:
            train_only.append(n)
        seen[key] += 1
    matched = set(twins.values())
    eval_only = [n for nodes in evals.values() for n in nodes if n not in matched]
    return train_only, eval_only, twins


def dropout_type(node: fx.Node, root: nn.Module) -> tuple[str, float] | None:
    """(layer type, p) when `node` is a dropout-like call on one tensor, else None."""
    if node.op == "call_module":
        handler = M.module_handler(root.get_submodule(node.target))
        if handler is None:
            return None
        try:
            mapped = handler(root.get_submodule(node.target), ())
        except M.Unmappable:
            return None
        return (mapped.type_id, float(mapped.params["p"])) if mapped.type_id in DROPOUT_LAYERS else None
    type_id = DROPOUT_FUNCTIONS.get(node.target)
    p = M.arg(node.args, node.kwargs, 1, "p", 0.5)
    if type_id is None or not isinstance(p, int | float) or not 0 < p < 1:
        return None
    return type_id, float(p)


def report(train_only: list[fx.Node], eval_only: list[fx.Node], mapped: dict[fx.Node, str]) -> list[ImportWarning]:
    """Named warnings: one per source line of training-only code (mapped or lost), one per eval-only line."""
    warnings = []
    for line, nodes in _by_line(train_only, source_line).items():
        done = [mapped[n] for n in nodes if n in mapped]
        lost = [_what(n) for n in nodes if n not in mapped]
        if done:
            warnings.append(ImportWarning("training-only branch", f"training-only {', '.join(_what(n) for n in nodes if n in mapped)} "
                                          f"became {', '.join(repr(d) for d in done)} (it acts only in training, "
                                          "as the branch did)", line))
        if lost:
            warnings.append(ImportWarning("training-only branch", f"code that runs only in training "
                                          f"({', '.join(sorted(set(lost)))}) is not in the project: the import "
                                          "follows the model in evaluation mode", line))
    if eval_only:
        for line, nodes in _by_line(eval_only, source_line).items():
            warnings.append(ImportWarning("evaluation-only branch", f"code that runs only in evaluation "
                                          f"({', '.join(sorted({_what(n) for n in nodes}))}) is in the project, "
                                          "which runs it in training too", line))
    return warnings


def _by_line(nodes: list[fx.Node], line_of: Callable[[fx.Node], str]) -> dict[str, list[fx.Node]]:
    grouped: dict[str, list[fx.Node]] = {}
    for n in nodes:
        grouped.setdefault(line_of(n), []).append(n)
    return grouped


def _what(node: fx.Node) -> str:
    if node.op == "call_module":
        return f"module '{node.target}'"
    if node.op == "call_method":
        return f".{node.target}()"
    return getattr(node.target, "__name__", str(node.target))
