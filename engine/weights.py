"""Weights onto a project: read a safetensors file, a saved state_dict, a run or an export folder; match the
tensors to the graph's nodes by name (or an explicit mapping) and report, node by node, what was loaded.

Nothing is unpickled: state_dicts are read with `torch.load(weights_only=True)` and safetensors only
read their header until a tensor is needed. Keys are matched, for a node whose compiled submodule is
`T` and one of its tensors `T.k`, against (in turn) the mapping, `T.k` (DeepWire runs and exports),
`<node name>.k` (a plain PyTorch state_dict of the model an import came from, or `deepwire import`'s
weights), then the same with `k` shortened from the left (a DeepWire layer that wraps the torch module).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import WeightsError
from engine.graph import Graph
from engine.lazy import LazyModule

torch = LazyModule("torch")
nn = LazyModule("torch.nn")

STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")
"""Where checkpoints saved by common training scripts keep the weights, tried when the top level is not one."""
OPTIONAL = ("num_batches_tracked",)
"""Buffers a source may lack without the node counting as partly loaded."""
Shape = tuple[int, ...]


# ---- sources ---------------------------------------------------------------------------------
@dataclass
class WeightsSource:
    """Tensors by key from one file, read lazily; `run` is the run folder they came from (for lineage)."""

    path: Path
    kind: str
    """'safetensors', 'state_dict', 'run' or 'export'."""
    shapes: dict[str, Shape]
    read: Callable[[str], torch.Tensor]
    run: Path | None = None
    which: str | None = None

    def describe(self) -> str:
        if self.run is not None:
            return f"run {self.run.name} ({self.which} weights)"
        return f"{self.path.name} ({self.kind})"


def open_weights(path: str | os.PathLike, which: str = "best") -> WeightsSource:
    """The weights at `path`: a .safetensors file, a torch.save'd state_dict, a run folder (its `which`
    checkpoint: 'best' or 'last') or an export folder. WeightsError says what is wrong with anything else."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"{path}: no such file or folder")
    if path.is_dir():
        return _folder(path, which)
    if path.suffix == ".safetensors" or _looks_like_safetensors(path):
        return _safetensors(path, "safetensors")
    return _state_dict(path)


def _folder(path: Path, which: str) -> WeightsSource:
    from engine.runs import PROJECT, open_run

    export = path / "model.safetensors"
    if export.is_file():
        return _safetensors(export, "export")
    if (path / PROJECT).is_file():
        run = open_run(path)
        try:
            weights = run.weights_path(which)
        except Exception as exc:  # noqa: BLE001  a TrainingError here: say it as a weights problem
            raise WeightsError(f"{path}: {exc}") from None
        source = _safetensors(weights, "run")
        source.run, source.which = path.resolve(), "best" if weights.name == "best.safetensors" else "last"
        return source
    raise WeightsError(f"{path}: a folder, but neither a DeepWire run (project.json and its weights) nor an export "
                       "(model.safetensors); choose a weights file, a run folder or an export folder")


def _looks_like_safetensors(path: Path) -> bool:
    """A safetensors file starts with an 8-byte header length and then '{'."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{"


def _safetensors(path: Path, kind: str) -> WeightsSource:
    from safetensors import safe_open

    try:
        handle = safe_open(str(path), framework="pt", device="cpu")
        shapes = {k: tuple(handle.get_slice(k).get_shape()) for k in handle.keys()}  # noqa: SIM118  not a dict
    except Exception as exc:  # noqa: BLE001  safetensors raises its own error types (header, truncation)
        raise WeightsError(f"{path}: not a readable safetensors file ({str(exc).splitlines()[0][:200]}); the file "
                           "may be cut off or of another kind") from None
    if not shapes:
        raise WeightsError(f"{path}: the safetensors file holds no tensors")
    return WeightsSource(path, kind, shapes, lambda key: handle.get_tensor(key))


def _state_dict(path: Path) -> WeightsSource:
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols it then refuses anyway
            warnings.simplefilter("ignore")
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  unpickling, zip and I/O errors all mean: not a plain state_dict
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise WeightsError(
            f"{path}: cannot be read as weights ({first}). DeepWire reads .safetensors files and state_dicts saved "
            "with torch.save(model.state_dict(), path) (opened with weights_only=True, so files that need Python "
            "code to unpickle are refused)") from None
    tensors = _tensors_of(loaded)
    if tensors is None:
        kinds = type(loaded).__name__
        keys = ", ".join(list(map(str, loaded))[:8]) if isinstance(loaded, dict) else ""
        raise WeightsError(f"{path}: holds a {kinds}{f' with keys {keys}' if keys else ''}, not a state_dict of "
                           "tensors; save model.state_dict() instead")
    prefix = "module."  # saved from nn.DataParallel / DDP
    if tensors and all(k.startswith(prefix) for k in tensors):
        tensors = {k[len(prefix):]: v for k, v in tensors.items()}
    return WeightsSource(path, "state_dict", {k: tuple(v.shape) for k, v in tensors.items()}, tensors.__getitem__)


def _tensors_of(loaded: object) -> dict[str, torch.Tensor] | None:
    """The dict of tensors in what torch.load returned: itself, or under a usual checkpoint key."""
    if not isinstance(loaded, dict):
        return None
    tensors = {str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
    if tensors and len(tensors) == len(loaded):
        return tensors
    for key in STATE_DICT_KEYS:
        inner = loaded.get(key)
        if isinstance(inner, dict):
            found = _tensors_of(inner)
            if found:
                return found
    return tensors or None


# ---- the report --------------------------------------------------------------------------------
@dataclass
class ParamMatch:
    """One tensor of a node: where it came from and whether it fit."""

    key: str
    """The model's key (`<submodule>.<tensor>`)."""
    status: str
    """'loaded', 'missing' or 'mismatch'."""
    shape: Shape
    source_key: str | None = None
    source_shape: Shape | None = None


@dataclass
class NodeMatch:
    """What happened to one node's weights."""

    node_id: str
    name: str
    params: list[ParamMatch] = field(default_factory=list)
    skipped: bool = False
    """The mapping said to leave this node's weights as initialised (null)."""

    @property
    def status(self) -> str:
        """'loaded', 'partial', 'mismatch', 'missing' or 'skipped'."""
        if self.skipped:
            return "skipped"
        needed = [p for p in self.params if p.status != "missing" or p.key.rsplit(".", 1)[-1] not in OPTIONAL]
        states = {p.status for p in needed}
        if states <= {"loaded"}:
            return "loaded"
        if "loaded" in states:
            return "partial"
        return "mismatch" if "mismatch" in states else "missing"

    def explain(self) -> str:
        """One line: what is wrong with this node's weights ('' when all loaded)."""
        bad = [p for p in self.params if p.status == "mismatch"]
        if bad:
            return "; ".join(f"{p.key.rsplit('.', 1)[-1]}: the file has {list(p.source_shape)} "
                             f"({p.source_key}), the layer needs {list(p.shape)}" for p in bad)
        missing = [p.key.rsplit(".", 1)[-1] for p in self.params if p.status == "missing"]
        if self.skipped:
            return "left as initialised (mapping: null)"
        return f"not in the file: {', '.join(missing)}" if missing else ""


@dataclass
class LoadReport:
    """Node by node, what a weights source gave the project; `unexpected` are source tensors nobody used."""

    source: str
    kind: str
    nodes: list[NodeMatch] = field(default_factory=list)
    unexpected: dict[str, Shape] = field(default_factory=dict)
    parent_run: str | None = None
    """The run folder the weights came from (a branched run's parent), else None."""
    which: str | None = None

    def by_status(self, status: str) -> list[NodeMatch]:
        return [n for n in self.nodes if n.status == status]

    @property
    def loaded_ids(self) -> list[str]:
        """Nodes that carry loaded weights (all of them, or some: 'partial')."""
        return [n.node_id for n in self.nodes if n.status in ("loaded", "partial")]

    @property
    def complete(self) -> bool:
        return all(n.status == "loaded" for n in self.nodes) and not self.unexpected

    def summary(self) -> str:
        """One line: 'loaded 5 of 6 nodes; 1 shape mismatch (head); 2 unexpected tensors'."""
        parts = [f"loaded {len(self.by_status('loaded'))} of {len(self.nodes)} node(s) with weights"]
        for status, word in (("partial", "partly loaded"), ("mismatch", "shape mismatch"), ("missing", "missing"),
                             ("skipped", "skipped")):
            nodes = self.by_status(status)
            if nodes:
                names = ", ".join(n.name for n in nodes[:6]) + (", …" if len(nodes) > 6 else "")
                parts.append(f"{len(nodes)} {word} ({names})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} tensor(s) in the file unused")
        return "; ".join(parts)

    def lines(self) -> list[str]:
        """A readable report: one line per node that did not load fully, then the unused tensors."""
        out = [f"{self.source}: {self.summary()}"]
        for n in self.nodes:
            if n.status != "loaded":
                out.append(f"  {n.name} ({n.node_id}): {n.status}: {n.explain()}")
        for key, shape in list(self.unexpected.items())[:20]:
            out.append(f"  unused in the file: {key} {list(shape)}")
        if len(self.unexpected) > 20:
            out.append(f"  … and {len(self.unexpected) - 20} more unused tensors")
        return out

    def to_dict(self) -> dict:
        return {"source": self.source, "kind": self.kind, "parent_run": self.parent_run, "which": self.which,
                "summary": self.summary(),
                "nodes": [{"node_id": n.node_id, "name": n.name, "status": n.status, "detail": n.explain(),
                           "params": [{"key": p.key, "status": p.status, "shape": list(p.shape),
                                       "source_key": p.source_key,
                                       "source_shape": list(p.source_shape) if p.source_shape is not None else None}
                                      for p in n.params]} for n in self.nodes],
                "unexpected": {k: list(v) for k, v in self.unexpected.items()}}


# ---- matching ----------------------------------------------------------------------------------
def model_shapes(model: nn.Module) -> dict[str, Shape]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def match(graph: Graph, targets: dict[str, str], shapes: dict[str, Shape], source: WeightsSource,
          mapping: dict | None = None) -> tuple[LoadReport, dict[str, str]]:
    """(report, {model key: source key} of the tensors that fit) for a compiled model whose node submodules
    are `targets` ({node id: submodule name}) and whose state_dict shapes are `shapes`."""
    mapping = _check_mapping(graph, mapping or {})
    report = LoadReport(str(source.path if source.run is None else source.run), source.kind,
                        parent_run=str(source.run) if source.run is not None else None, which=source.which)
    plan: dict[str, str] = {}
    used: set[str] = set()
    owners: dict[str, str] = {}
    for nid, target in targets.items():
        if target in owners.values():
            continue  # a node sharing another's weights: its owner reports them
        owners[nid] = target
        node = graph.nodes[nid]
        keys = [k for k in shapes if k.startswith(target + ".")]
        if not keys:
            continue
        entry = NodeMatch(nid, node.name)
        report.nodes.append(entry)
        if node.name in mapping and mapping[node.name] is None:
            entry.skipped = True
            continue
        prefixes = [mapping[node.name]] if node.name in mapping else [target, node.name]
        for key in keys:
            local = key[len(target) + 1:]
            found = _find(mapping.get(f"{node.name}.{local}"), prefixes, local, source.shapes, used)
            if found is None:
                entry.params.append(ParamMatch(key, "missing", shapes[key]))
                continue
            used.add(found)
            if source.shapes[found] != shapes[key]:
                entry.params.append(ParamMatch(key, "mismatch", shapes[key], found, source.shapes[found]))
                continue
            entry.params.append(ParamMatch(key, "loaded", shapes[key], found, source.shapes[found]))
            plan[key] = found
    report.unexpected = {k: v for k, v in source.shapes.items() if k not in used}
    return report, plan


def _find(explicit: str | None, prefixes: list[str], local: str, available: dict, used: set[str]) -> str | None:
    """The source key for one tensor: the explicit one, else prefix.local, else prefix.<local shortened>."""
    if explicit is not None:
        return explicit if explicit in available else None
    parts = local.split(".")
    for start in range(len(parts)):
        tail = ".".join(parts[start:])
        for prefix in prefixes:
            key = f"{prefix}.{tail}"
            if key in available and key not in used:
                return key
    return None


def _check_mapping(graph: Graph, mapping: object) -> dict[str, str | None]:
    if not isinstance(mapping, dict):
        raise WeightsError(f"finetune.mapping must be an object of node name: source prefix, found {mapping!r}")
    names = {n.name for n in graph.nodes.values()}
    for key, value in mapping.items():
        if key.split(".", 1)[0] not in names and key not in names:
            raise WeightsError(f"finetune.mapping: no node named '{key.split('.', 1)[0]}' in the project "
                               f"(mapping keys are node names, or node name.tensor)")
        if value is not None and not isinstance(value, str):
            raise WeightsError(f"finetune.mapping['{key}']: expected a key prefix of the weights file or null, "
                               f"found {value!r}")
    return mapping


def load_into(model: nn.Module, graph: Graph, source: WeightsSource, mapping: dict | None = None) -> LoadReport:
    """Copy every tensor that fits from `source` into the compiled `model` of `graph` (in place); the report
    says what did not. Loaded tensors take the model's dtype and device."""
    report, plan = match(graph, model.deepwire_targets, model_shapes(model), source, mapping)
    state = model.state_dict()
    with torch.no_grad():
        for key, source_key in plan.items():
            try:
                tensor = source.read(source_key)
            except Exception as exc:  # noqa: BLE001  a file cut off after its header
                raise WeightsError(f"{source.path}: tensor '{source_key}' cannot be read ({exc})") from None
            state[key].copy_(tensor.to(dtype=state[key].dtype))
    return report


def preview(graph: Graph, source: WeightsSource, mapping: dict | None = None) -> LoadReport:
    """The report loading `source` into `graph` would give, computed on the meta device (nothing allocated)."""
    from engine.compile import compile_graph

    with torch.device("meta"):
        model = compile_graph(graph)
    return match(graph, model.deepwire_targets, model_shapes(model), source, mapping)[0]
