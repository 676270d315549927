"""Code that runs only in training (`if self.training:`) or only in evaluation: the import traces in eval mode,
so such branches would be lost or kept silently. A second trace in training mode is compared with the first;
a training-only dropout on a value becomes a Dropout node (it acts only in training, as the branch did), and
every other difference is a named warning with its source line."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn
from torch.nn import functional as F

from engine import importer_map as M
from engine.errors import GraphError
from engine.importer_report import ImportWarning
from engine.importer_trace import source_line, trace, user_frames

DROPOUT_FUNCTIONS = {F.dropout: "Dropout", F.dropout1d: "Dropout", F.alpha_dropout: "Dropout",
                     F.dropout2d: "Dropout2d", "dropout": "Dropout"}
"""Calls that randomly zero values in training: a training-only one maps to a Dropout node."""
DROPOUT_LAYERS = ("Dropout", "Dropout2d", "DropPath")


@dataclass
class ModeDiff:
    """What differs between the training-mode and the eval-mode trace."""

    train_only: list[fx.Node]
    """Operations of the training trace with no twin in the eval trace."""
    eval_only: list[fx.Node]
    twins: dict[fx.Node, fx.Node]
    """Training-trace node -> the same operation in the eval trace."""
    train_calls: set[tuple[str, ...]]
    eval_calls: set[tuple[str, ...]]
    """Every chain of model-code lines (outermost first, and each prefix) that made an operation in each mode."""

    def branch_line(self, node: fx.Node, training: bool) -> str:
        """The model-code line where a mode-only operation's code starts to differ from the other mode's: the
        call of an auxiliary head, rather than each line inside it."""
        other = self.eval_calls if training else self.train_calls
        frames = user_frames(node)
        for k in range(1, len(frames) + 1):
            if tuple(frames[:k]) not in other:
                return frames[k - 1]
        return frames[-1] if frames else ""


def compare_modes(module: nn.Module, gm_eval: fx.GraphModule, names: list[str], fixed: dict[str, Any],
                  examples: list[tuple]) -> ModeDiff | str:
    """How the training-mode trace differs from `gm_eval` (traced with stack traces), or why the training-mode
    trace failed. Buffers (BatchNorm statistics) and the random state are restored afterwards: conditions are
    decided by running the model, which in training mode updates them."""
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


OPS = ("call_module", "call_function", "call_method")


def _key(node: fx.Node) -> tuple:
    """What an operation is, in which module, and the chain of model-code lines that makes it (both traces
    record stack traces), so an auxiliary head's ReLU is not taken for the backbone's."""
    target = node.target if isinstance(node.target, str) else getattr(node.target, "__qualname__", str(node.target))
    stack = node.meta.get("nn_module_stack") or {}
    path = next(reversed(stack.values()))[0] if stack else ""
    return node.op, str(target), path, tuple(user_frames(node))


def _calls(gm: fx.GraphModule) -> set[tuple[str, ...]]:
    found = set()
    for n in gm.graph.nodes:
        if n.op in OPS:
            frames = user_frames(n)
            found.update(tuple(frames[:k]) for k in range(1, len(frames) + 1))
    return found


def _diff(gm_train: fx.GraphModule, gm_eval: fx.GraphModule) -> ModeDiff:
    """Operations matched by their key (`_key`) and order of occurrence."""
    evals: dict[tuple, list[fx.Node]] = defaultdict(list)
    for n in gm_eval.graph.nodes:
        if n.op in OPS:
            evals[_key(n)].append(n)
    seen: Counter[tuple] = Counter()
    twins, train_only = {}, []
    for n in gm_train.graph.nodes:
        if n.op == "placeholder":
            twins[n] = next((e for e in gm_eval.graph.nodes if e.op == "placeholder" and e.target == n.target), None)
        if n.op not in OPS:
            continue
        key = _key(n)
        if seen[key] < len(evals[key]):
            twins[n] = evals[key][seen[key]]
        else:
            train_only.append(n)
        seen[key] += 1
    matched = set(twins.values())
    eval_only = [n for nodes in evals.values() for n in nodes if n not in matched]
    return ModeDiff(train_only, eval_only, twins, _calls(gm_train), _calls(gm_eval))


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


def report(diff: ModeDiff, mapped: dict[fx.Node, str]) -> list[ImportWarning]:
    """Named warnings: each training-only dropout that became a node, then one per branch (the model-code line
    where the modes part) of training-only code that is lost and of evaluation-only code that is kept."""
    warnings = [ImportWarning("training-only branch", f"training-only {_what(n)} became Dropout node '{name}' (it "
                              "acts only in training, as the branch did)", source_line(n)) for n, name in mapped.items()]
    lost = [n for n in diff.train_only if n not in mapped]
    for line, nodes in _by_line(lost, lambda n: diff.branch_line(n, True)).items():
        warnings.append(ImportWarning("training-only branch", f"code that runs only in training ({_list(nodes)}) is "
                                      "not in the project: the import follows the model in evaluation mode", line))
    for line, nodes in _by_line(diff.eval_only, lambda n: diff.branch_line(n, False)).items():
        warnings.append(ImportWarning("evaluation-only branch", f"code that runs only in evaluation ({_list(nodes)}) "
                                      "is in the project, which runs it in training too", line))
    return warnings


def _list(nodes: list[fx.Node], most: int = 6) -> str:
    names = list(dict.fromkeys(_what(n) for n in nodes))
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


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
