"""The import report: every operation that did not map, grouped by operation with counts and source lines."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ImportProblem:
    """One operation that became a Placeholder (or could not be placed at all)."""

    op: str
    reason: str
    fx_name: str
    source: str = ""
    """'file.py:LINE' of the model code, when known."""
    node_id: str = ""


@dataclass
class ImportWarning:
    """Something the import kept, changed or could not see that the user should know (never silently lost)."""

    kind: str
    """A short name: 'training-only branch', 'sequence-first input'."""
    message: str
    source: str = ""
    """'file.py:LINE' of the model code, when known."""

    def __str__(self) -> str:
        return f"warning ({self.kind}): {self.message}" + (f" ({self.source})" if self.source else "")


def format_report(name: str, problems: list[ImportProblem], warnings: list[ImportWarning] | None = None) -> str:
    """The warnings, one a line, then 'imported exactly' or one block per kind of operation that did not map."""
    notes = [str(w) for w in warnings or ()]
    return "\n".join([*notes, _problems(name, problems)])


def _problems(name: str, problems: list[ImportProblem]) -> str:
    """'cannot import X exactly: N operation(s) have no DeepWire layer', then one block per kind of operation."""
    if not problems:
        return f"{name} imported exactly"
    groups: dict[str, list[ImportProblem]] = {}
    for problem in problems:
        groups.setdefault(problem.op, []).append(problem)
    lines = [f"cannot import {name} exactly: {len(problems)} operation(s) in {len(groups)} kind(s) have no "
             "DeepWire layer; each is a Placeholder node to replace:"]
    for op, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        reasons = sorted({p.reason for p in items})
        lines.append(f"  {op} x{len(items)}: {'; '.join(reasons)}")
        shown = [f"{p.fx_name}" + (f" ({p.source})" if p.source else "") for p in items]
        if len(shown) > 8:
            shown = shown[:8] + [f"... and {len(shown) - 8} more"]
        lines.append("    at " + ", ".join(shown))
    return "\n".join(lines)
