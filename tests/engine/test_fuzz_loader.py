"""Fuzzing the loader, validator and compiler: bad project documents only ever raise DeepWireError."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compile import compile_graph
from engine.errors import DeepWireError
from engine.graph import Graph
from engine.layers.registry import all_specs, get_spec
from engine.layers.spec import Param
from engine.templates import list_templates, template_dir
from engine.validate import Validator

TEMPLATES = {stem: json.loads((template_dir() / f"{stem}.json").read_text(encoding="utf-8"))
             for stem in list_templates()}
TYPE_IDS = [s.type_id for s in all_specs()]
PARAM_NAMES = sorted({p.name for s in all_specs() for p in s.params})
PORTS = sorted({p.name for s in all_specs() for p in s.inputs})
VALIDATOR = Validator()
"""One validator for every example, as in the editor: unchanged nodes come from its cache."""
COMPILE_LIMIT = 2_000_000
"""Compile (which allocates real weights) only valid graphs up to this many parameters."""

@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors: torch's thread pool only adds waiting, which on a busy 2-core machine is most of the time."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


numbers = st.one_of(
    st.integers(), st.integers(-3, 70),
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63), 10**30, 1e308, -1e-308]),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12),
                    st.sampled_from(TYPE_IDS + PARAM_NAMES + ["n1", "n2", "in", "out", "a", "b", "query", ""]))
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                     st.dictionaries(st.one_of(st.text(max_size=8), st.sampled_from(PARAM_NAMES)),
                                                     inner, max_size=4)),
    max_leaves=12)


def containers(doc) -> list:
    """Every dict and list inside `doc` (itself included)."""
    found, stack = [], [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict | list):
            found.append(item)
            stack.extend(item.values() if isinstance(item, dict) else item)
    return found


@st.composite
def damaged_templates(draw) -> dict:
    """A real template with a few random JSON edits: deleted keys, swapped types, odd values, nesting."""
    doc = copy.deepcopy(TEMPLATES[draw(st.sampled_from(sorted(TEMPLATES)))])
    for _ in range(draw(st.integers(1, 4))):
        target = draw(st.sampled_from(containers(doc)))
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        action = draw(st.sampled_from(["delete", "replace", "number", "nest", "duplicate", "add"]))
        if not keys or action == "add":
            if isinstance(target, dict):
                target[draw(st.sampled_from(PARAM_NAMES + ["shares", "pos", "id", "type", "extra"]))] = \
                    draw(json_values)
            else:
                target.append(draw(json_values))
            continue
        key = draw(st.sampled_from(keys))
        if action == "delete":
            del target[key]
        elif action == "replace":
            target[key] = draw(json_values)
        elif action == "number":
            target[key] = draw(numbers)
        elif action == "nest":
            target[key] = [target[key]] if draw(st.booleans()) else {"value": target[key]}
        elif isinstance(target, list):
            target.append(copy.deepcopy(target[key]))
        else:
            target[key] = copy.deepcopy(target)
    return doc


def param_values(param: Param) -> st.SearchStrategy:
    """Values a user could pick in the properties panel (mostly in range), plus some that are not."""
    low = int(param.min) if param.min is not None else -4
    ints = st.integers(low, low + 40)
    by_kind = {
        "int": ints, "bool": st.booleans(), "str": st.text(max_size=6),
        "float": st.floats(param.min if param.min is not None else -10, param.max if param.max is not None else 10),
        "choice": st.sampled_from(param.choices or (None,)),
        "int_or_choice": st.one_of(ints, st.sampled_from(param.choices or (0,))),
        "ints": st.lists(st.integers(-2, 40), min_size=1, max_size=4),
    }
    return st.one_of(by_kind[param.kind], numbers) if param.kind != "bool" else by_kind["bool"]


@st.composite
def edited_templates(draw) -> dict:
    """A real template after a few edits a user can make on the canvas: params, wires, types, sharing."""
    doc = copy.deepcopy(TEMPLATES[draw(st.sampled_from(sorted(TEMPLATES)))])
    nodes, edges = doc["nodes"], doc["edges"]
    for _ in range(draw(st.integers(1, 4))):
        node = draw(st.sampled_from(nodes))
        action = draw(st.sampled_from(["param", "param", "param", "wire", "unwire", "retype", "delete", "share"]))
        spec = get_spec(node["type"])
        if action == "param" and spec.params:
            param = draw(st.sampled_from(spec.params))
            node["params"][param.name] = draw(param_values(param))
        elif action == "wire":
            dst = draw(st.sampled_from(nodes))
            ports = [p.name for p in get_spec(dst["type"]).inputs]
            if ports and get_spec(node["type"]).outputs:
                edge = {"src": node["id"], "src_port": "out", "dst": dst["id"], "dst_port": draw(st.sampled_from(ports))}
                if edge not in edges:
                    edges.append(edge)
        elif action == "unwire" and edges:
            edges.remove(draw(st.sampled_from(edges)))
        elif action == "retype":
            spec = get_spec(draw(st.sampled_from(TYPE_IDS)))
            node["type"], node["params"] = spec.type_id, {}
            inputs, outputs = {p.name for p in spec.inputs}, {p.name for p in spec.outputs}
            edges[:] = [e for e in edges if not (e["dst"] == node["id"] and e["dst_port"] not in inputs)
                        and not (e["src"] == node["id"] and e["src_port"] not in outputs)]
        elif action == "delete" and len(nodes) > 1:
            nodes.remove(node)
            edges[:] = [e for e in edges if node["id"] not in (e["src"], e["dst"])]
            for other in nodes:
                if other.get("shares") == node["id"]:
                    del other["shares"]
            for group in doc["groups"]:
                group["node_ids"] = [i for i in group["node_ids"] if i != node["id"]]
        elif action == "share":
            node["shares"] = draw(st.sampled_from(nodes))["id"]
    return doc


def exercise(doc) -> None:
    """Load, validate and (when valid and small) compile and run; only DeepWireError may escape."""
    try:
        graph = Graph.from_dict(doc)
        result = VALIDATOR.validate(graph)
        for problem in result.problems:
            assert problem.message and str(problem)
        if result.ok and result.total_params < COMPILE_LIMIT and _small_inputs(result):
            model = compile_graph(graph, validation=result)
            model.eval()
            with torch.no_grad():
                model(*[_sample(result.shapes[n.id], result.dtypes[n.id]) for n in graph.input_nodes()])
    except DeepWireError as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"


def _small_inputs(result) -> bool:
    sizes = [1] + [d for shape in result.shapes.values() if shape for d in shape[1:]]
    return all(d <= 4096 for d in sizes) and max(
        (torch.Size(s[1:]).numel() for s in result.shapes.values() if s), default=0) <= 20_000


def _sample(shape, dtype: str) -> torch.Tensor:
    dims = [2, *shape[1:]]
    if dtype.startswith("int"):
        return torch.zeros(dims, dtype=torch.int64)
    return torch.randn(dims)


FUZZ = settings(deadline=None, max_examples=700, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.data_too_large])


@FUZZ
@given(damaged_templates())
def test_damaged_templates_only_raise_deepwire_errors(doc):
    exercise(doc)


@FUZZ
@given(edited_templates())
def test_edited_templates_only_raise_deepwire_errors(doc):
    exercise(doc)


@settings(deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    json_values,
    st.fixed_dictionaries({"format": st.just("deepwire-project"), "version": st.one_of(st.just(1), scalars)},
                          optional={"nodes": json_values, "edges": json_values, "name": json_values,
                                    "tags": json_values, "data": json_values, "groups": json_values}),
))
def test_random_documents_only_raise_deepwire_errors(doc):
    exercise(doc)


@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(TEMPLATES)), st.integers(0, 10**6), st.binary(min_size=1, max_size=4))
def test_damaged_files_only_raise_deepwire_errors(tmp_path_factory, stem: str, cut: int, junk: bytes):
    text = json.dumps(TEMPLATES[stem], indent=2).encode()
    cut %= len(text)
    path = tmp_path_factory.mktemp("fuzz") / "project.json"
    path.write_bytes(text[:cut] + junk + text[cut + len(junk):])
    try:
        graph = Graph.load(path)
    except DeepWireError as exc:
        assert str(exc).strip()
        return
    exercise(graph.to_dict())
