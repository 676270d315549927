"""The project: a graph of layer nodes and wires plus data/training sections, as versioned JSON."""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import engine.layers  # noqa: F401  (registers every layer type)
from engine.errors import GraphError, ProjectFileError
from engine.layers.registry import get_spec, has_spec

FORMAT = "deepwire-project"
VERSION = 1


@dataclass
class Node:
    """One layer instance: a stable id, a layer type, a display name, param values, a canvas position."""

    id: str
    type: str
    name: str
    params: dict[str, Any]
    pos: tuple[float, float] = (0.0, 0.0)
    shares: str | None = None
    """Id of the node whose weights this node reuses (Siamese branches)."""
    trainable: bool = True
    """False freezes the node's weights (no gradient, no optimizer state, normalization statistics kept)."""
    lr_mult: float = 1.0
    """This node's learning rate is the training lr times this (and times its groups' multipliers)."""

    def to_dict(self) -> dict:
        out = {"id": self.id, "type": self.type, "name": self.name, "params": copy.deepcopy(self.params),
               "pos": [float(self.pos[0]), float(self.pos[1])]}
        if self.shares:
            out["shares"] = self.shares
        _finetune_flags(self, out)
        return out


@dataclass(frozen=True)
class Edge:
    """A wire from an output port of one node to an input port of another."""

    src: str
    src_port: str
    dst: str
    dst_port: str

    def to_dict(self) -> dict:
        return {"src": self.src, "src_port": self.src_port, "dst": self.dst, "dst_port": self.dst_port}


@dataclass
class Group:
    """A named set of nodes the editor can collapse into one block (e.g. "residual block")."""

    id: str
    name: str
    node_ids: list[str]
    collapsed: bool = False
    trainable: bool = True
    """False freezes every node of the group."""
    lr_mult: float = 1.0
    """Multiplies the learning rate of every node of the group."""

    def to_dict(self) -> dict:
        out = {"id": self.id, "name": self.name, "node_ids": list(self.node_ids), "collapsed": self.collapsed}
        _finetune_flags(self, out)
        return out


def _finetune_flags(item: Node | Group, out: dict) -> None:
    """Write `trainable` and `lr_mult` only when they differ from the defaults (older files stay unchanged)."""
    if not item.trainable:
        out["trainable"] = False
    if item.lr_mult != 1.0:
        out["lr_mult"] = float(item.lr_mult)


@dataclass
class Graph:
    """A DeepWire project; `revision` increases on every edit so caches can tell what changed."""

    name: str = "Untitled"
    description: str = ""
    tags: list[str] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    sweep: dict[str, Any] = field(default_factory=dict)
    finetune: dict[str, Any] = field(default_factory=dict)
    """Initial weights, their mapping and progressive unfreezing (engine/finetune.py reads it)."""
    revision: int = 0

    # ---- queries -------------------------------------------------------------------------
    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphError(f"no node with id '{node_id}'") from None

    def by_name(self, name: str) -> Node:
        for n in self.nodes.values():
            if n.name == name:
                return n
        raise GraphError(f"no node named '{name}'")

    def incoming(self, node_id: str, port: str | None = None) -> list[Edge]:
        return [e for e in self.edges if e.dst == node_id and (port is None or e.dst_port == port)]

    def outgoing(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.src == node_id]

    def input_nodes(self) -> list[Node]:
        """Input nodes in project order: the compiled model takes its arguments in this order."""
        return [n for n in self.nodes.values() if get_spec(n.type).role == "input"]

    def output_nodes(self) -> list[Node]:
        """Output nodes in project order: the compiled model returns them in this order."""
        return [n for n in self.nodes.values() if get_spec(n.type).role == "output"]

    # ---- edits ---------------------------------------------------------------------------
    def new_id(self) -> str:
        taken = [int(m.group(1)) for i in self.nodes if (m := re.fullmatch(r"n(\d+)", i))]
        return f"n{max(taken, default=0) + 1}"

    def unique_name(self, base: str) -> str:
        base = re.sub(r"\W+", "_", base.strip().lower()).strip("_") or "node"
        names = {n.name for n in self.nodes.values()}
        i = 1
        while f"{base}{i}" in names:
            i += 1
        return f"{base}{i}"

    def add_node(self, type_id: str, name: str | None = None, params: dict | None = None,
                 pos: tuple[float, float] = (0.0, 0.0), node_id: str | None = None) -> Node:
        """Add a node of `type_id` with default params overridden by `params`; return it."""
        spec = get_spec(type_id)
        node_id = node_id or self.new_id()
        if node_id in self.nodes:
            raise GraphError(f"a node with id '{node_id}' already exists")
        values = spec.defaults()
        for key, value in (params or {}).items():
            values[key] = coerce_param(spec, key, value, f"node '{name or type_id}'")
        name = name.strip() if name else ""  # a blank name could not be saved and read back: give it one
        node = Node(node_id, type_id, name or self.unique_name(spec.type_id), values, tuple(pos))
        self.nodes[node_id] = node
        self.touch()
        return node

    def remove_node(self, node_id: str) -> None:
        self.remove_nodes([node_id])

    def remove_nodes(self, node_ids: list[str]) -> None:
        """Remove nodes with their wires, in one pass over the graph (however many go)."""
        gone = set(node_ids)
        for node_id in node_ids:
            self.node(node_id)
        for node_id in gone:
            del self.nodes[node_id]
        self.edges = [e for e in self.edges if e.src not in gone and e.dst not in gone]
        for n in self.nodes.values():
            if n.shares in gone:
                n.shares = None
        for g in self.groups:
            if gone.intersection(g.node_ids):
                g.node_ids[:] = [nid for nid in g.node_ids if nid not in gone]
        self.groups = [g for g in self.groups if g.node_ids]
        self.touch()

    def connect(self, src: str, dst: str, src_port: str = "out", dst_port: str = "in") -> Edge:
        """Wire src.src_port -> dst.dst_port; a single-wire input port drops its old wire."""
        src_spec, dst_spec = get_spec(self.node(src).type), get_spec(self.node(dst).type)
        if src_port not in {p.name for p in src_spec.output_ports(self.node(src).params)}:
            raise GraphError(f"{src_spec.title} has no output port '{src_port}'")
        ports = {p.name: p for p in dst_spec.inputs}
        if dst_port not in ports:
            raise GraphError(f"{dst_spec.title} has no input port '{dst_port}'")
        edge = Edge(src, src_port, dst, dst_port)
        if edge in self.edges:
            return edge
        if not ports[dst_port].multi:
            self.edges = [e for e in self.edges if not (e.dst == dst and e.dst_port == dst_port)]
        self.edges.append(edge)
        self.touch()
        return edge

    def disconnect(self, edge: Edge) -> None:
        if edge not in self.edges:
            raise GraphError(f"no wire {edge.src}.{edge.src_port} -> {edge.dst}.{edge.dst_port}")
        self.edges.remove(edge)
        self.touch()

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Set one param after checking it against the spec (raises GraphError with the reason)."""
        node = self.node(node_id)
        spec = get_spec(node.type)
        node.params[name] = coerce_param(spec, name, value, f"node '{node.name}'")
        if spec.multi_output:  # fewer pieces: the wires from the ports that went go too
            ports = {p.name for p in spec.output_ports(node.params)}
            self.edges = [e for e in self.edges if e.src != node_id or e.src_port in ports]
        self.touch()

    def touch(self) -> None:
        self.revision += 1

    def copy(self) -> Graph:
        return Graph.from_dict(self.to_dict())

    # ---- JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION, "name": self.name, "description": self.description,
            "tags": list(self.tags),
            "nodes": [n.to_dict() for n in self.nodes.values()],
            "edges": [e.to_dict() for e in self.edges],
            "groups": [g.to_dict() for g in self.groups],
            "data": copy.deepcopy(self.data), "training": copy.deepcopy(self.training),
            "sweep": copy.deepcopy(self.sweep),
            **({"finetune": copy.deepcopy(self.finetune)} if self.finetune else {}),
        }

    @classmethod
    def from_dict(cls, doc: Any, source: str = "project") -> Graph:
        """Build a Graph from a parsed document, raising ProjectFileError that names the bad place."""
        return _Loader(source).load(doc)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Graph:
        """Read a project file; never executes or unpickles anything."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ProjectFileError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ProjectFileError(f"{path}: cannot be read ({exc})") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProjectFileError(
                f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                "the file may be truncated or edited by hand") from None
        except RecursionError:
            raise ProjectFileError(f"{path}: JSON nested too deeply to be a DeepWire project") from None
        return cls.from_dict(doc, source=str(path))

    def save(self, path: str | os.PathLike) -> None:
        """Write the project atomically (temp file in the same folder, then rename)."""
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=2)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def coerce_param(spec, key: str, value: Any, where: str) -> Any:
    try:
        param = spec.param(key)
    except KeyError:
        known = ", ".join(p.name for p in spec.params) or "none"
        raise GraphError(f"{where}: {spec.title} has no param '{key}' (known: {known})") from None
    try:
        return param.coerce(value)
    except ValueError as exc:
        raise GraphError(f"{where}: {exc}") from None


UPGRADES: dict[int, Any] = {}
"""version -> function(doc) -> doc of version + 1, applied in turn when an older file is opened."""


class _Loader:
    """Checks a parsed project document piece by piece so every error names its place."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, message: str) -> ProjectFileError:
        return ProjectFileError(f"{self.source}: {where}: {message}")

    def load(self, doc: Any) -> Graph:
        if not isinstance(doc, dict):
            raise self.fail("top level", "expected a JSON object with 'format', 'version', 'nodes' and 'edges'")
        if doc.get("format") != FORMAT:
            raise self.fail("format", f"expected \"{FORMAT}\", found {doc.get('format')!r}; "
                                      "this is not a DeepWire project file")
        doc = self.upgrade(doc)
        graph = Graph(name=self.text(doc, "name", "Untitled"), description=self.text(doc, "description", ""))
        graph.tags = [t for t in self.list(doc, "tags") if isinstance(t, str)]
        for key in ("data", "training", "sweep", "finetune"):
            value = doc.get(key, {})
            if not isinstance(value, dict):
                raise self.fail(key, "expected a JSON object")
            setattr(graph, key, copy.deepcopy(value))
        for i, raw in enumerate(self.list(doc, "nodes")):
            node = self.node(i, raw)
            if node.id in graph.nodes:
                raise self.fail(f"nodes[{i}]", f"duplicate node id '{node.id}'; every node needs its own id")
            graph.nodes[node.id] = node
        seen: set[Edge] = set()  # the duplicate check, without scanning every wire per wire
        for i, raw in enumerate(self.list(doc, "edges")):
            edge = self.edge(i, raw, graph, seen)
            seen.add(edge)
            graph.edges.append(edge)
        for i, raw in enumerate(self.list(doc, "groups")):
            graph.groups.append(self.group(i, raw, graph))
        for node in graph.nodes.values():
            if node.shares is not None and node.shares not in graph.nodes:
                raise self.fail(f"node '{node.id}'", f"shares weights with node '{node.shares}', which does not exist")
        return graph

    def upgrade(self, doc: dict) -> dict:
        version = doc.get("version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise self.fail("version", f"expected a whole number, found {version!r}")
        if version > VERSION:
            raise self.fail("version", f"the file is version {version}, newer than this DeepWire reads "
                                       f"(up to {VERSION}); update DeepWire to open it")
        if version < 1:
            raise self.fail("version", f"unknown version {version}")
        while version < VERSION:
            doc = UPGRADES[version](doc)
            version += 1
        return doc

    def text(self, doc: dict, key: str, default: str) -> str:
        value = doc.get(key, default)
        if not isinstance(value, str):
            raise self.fail(key, f"expected text, found {value!r}")
        return value

    def list(self, doc: dict, key: str) -> list:
        value = doc.get(key, [])
        if not isinstance(value, list):
            raise self.fail(key, f"expected a JSON list, found {type(value).__name__}")
        return value

    def node(self, i: int, raw: Any) -> Node:
        where = f"nodes[{i}]"
        if not isinstance(raw, dict):
            raise self.fail(where, "expected an object with 'id', 'type', 'name' and 'params'")
        node_id = raw.get("id")
        if not isinstance(node_id, str) or not node_id:
            raise self.fail(where, f"'id' must be non-empty text, found {node_id!r}")
        where = f"nodes[{i}] (id '{node_id}')"
        type_id = raw.get("type")
        if not has_spec(type_id):
            try:
                get_spec(type_id)
            except GraphError as exc:
                raise self.fail(where, str(exc)) from None
        spec = get_spec(type_id)
        name = raw.get("name", node_id)
        if not isinstance(name, str) or not name.strip():
            raise self.fail(where, f"'name' must be non-empty text, found {name!r}")
        params_raw = raw.get("params", {})
        if not isinstance(params_raw, dict):
            raise self.fail(where, "'params' must be an object of name: value")
        params = spec.defaults()
        for key, value in params_raw.items():
            try:
                params[key] = coerce_param(spec, key, value, f"node '{name}'")
            except GraphError as exc:
                raise self.fail(where, str(exc)) from None
        pos = raw.get("pos", [0, 0])
        if (not isinstance(pos, list) or len(pos) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos)):
            raise self.fail(where, f"'pos' must be [x, y], found {pos!r}")
        shares = raw.get("shares")
        if shares is not None and not isinstance(shares, str):
            raise self.fail(where, f"'shares' must be a node id, found {shares!r}")
        return Node(node_id, type_id, name, params, (float(pos[0]), float(pos[1])), shares,
                    *self.finetune_flags(raw, where))

    def finetune_flags(self, raw: dict, where: str) -> tuple[bool, float]:
        trainable, mult = raw.get("trainable", True), raw.get("lr_mult", 1.0)
        if not isinstance(trainable, bool):
            raise self.fail(where, f"'trainable' must be true or false, found {trainable!r}")
        if isinstance(mult, bool) or not isinstance(mult, int | float) or not 0 <= mult < float("inf"):
            raise self.fail(where, f"'lr_mult' must be a number of 0 or more, found {mult!r}")
        return trainable, float(mult)

    def edge(self, i: int, raw: Any, graph: Graph, seen: set[Edge]) -> Edge:
        where = f"edges[{i}]"
        if not isinstance(raw, dict):
            raise self.fail(where, "expected an object with 'src', 'src_port', 'dst', 'dst_port'")
        values = {k: raw.get(k, "out" if k == "src_port" else "in" if k == "dst_port" else None)
                  for k in ("src", "src_port", "dst", "dst_port")}
        for key, value in values.items():
            if not isinstance(value, str):
                raise self.fail(where, f"'{key}' must be text, found {value!r}")
        for end, port_key, side in (("src", "src_port", "outputs"), ("dst", "dst_port", "inputs")):
            node = graph.nodes.get(values[end])
            if node is None:
                raise self.fail(where, f"the wire points to node '{values[end]}', which does not exist "
                                       "(dangling edge); remove the wire or restore the node")
            spec = get_spec(node.type)
            ports = [p.name for p in (spec.output_ports(node.params) if side == "outputs" else spec.inputs)]
            if values[port_key] not in ports:
                raise self.fail(where, f"node '{node.name}' has no {side[:-1]} port '{values[port_key]}' "
                                       f"(ports: {', '.join(ports) or 'none'})")
        edge = Edge(**values)
        if edge in seen:
            raise self.fail(where, "the same wire appears twice")
        return edge

    def group(self, i: int, raw: Any, graph: Graph) -> Group:
        where = f"groups[{i}]"
        if not isinstance(raw, dict):
            raise self.fail(where, "expected an object with 'id', 'name', 'node_ids'")
        gid, name, ids = raw.get("id"), raw.get("name"), raw.get("node_ids")
        if not isinstance(gid, str) or not isinstance(name, str) or not isinstance(ids, list):
            raise self.fail(where, "'id' and 'name' must be text and 'node_ids' a list")
        for nid in ids:
            if not isinstance(nid, str) or nid not in graph.nodes:
                raise self.fail(where, f"lists node {nid!r}, which does not exist")
        return Group(gid, name, list(ids), bool(raw.get("collapsed", False)), *self.finetune_flags(raw, where))
