"""DeepWire's own error types and the problem record the validator reports per node."""

from __future__ import annotations

from dataclasses import asdict, dataclass


class DeepWireError(Exception):
    """Any error DeepWire reports to a user: the message names the place and says what to do."""


class ProjectFileError(DeepWireError):
    """A project file that cannot be read: not JSON, wrong format or version, bad content."""


class GraphError(DeepWireError):
    """An edit that would break the graph (unknown node, port or layer type)."""


class DataError(DeepWireError):
    """A dataset that cannot be loaded or does not fit the task."""


class TrainingError(DeepWireError):
    """A training run that cannot start or had to stop."""


class BadFileError(DeepWireError):
    """A file DeepWire reads (run folder, checkpoint, weights, export) that is cut off, damaged or not DeepWire's."""


class ExportError(DeepWireError):
    """An export that failed or whose check did not pass."""


class DataWarning(UserWarning):
    """Data that loads but may not mean what the user thinks (a CSV first row of numbers read as data)."""


class WeightsError(DeepWireError):
    """A weights file (safetensors, saved state_dict, run or export folder) that cannot be read or used."""


@dataclass(frozen=True)
class Problem:
    """One validation finding, pinned to a node so the canvas can colour it."""

    node_id: str | None
    kind: str
    message: str
    hint: str = ""
    severity: str = "error"
    fix: str | None = None
    """A layer type whose insertion before the node mends the problem (one-click fix)."""

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = f"[{self.node_id}] " if self.node_id else ""
        hint = f" Hint: {self.hint}" if self.hint else ""
        return f"{where}{self.message}.{hint}" if not self.message.endswith(".") else f"{where}{self.message}{hint}"
