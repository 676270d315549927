"""Recurrent, attention, embedding and merge layer specs: shapes, numbers vs plain PyTorch, checks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import engine.layers  # noqa: F401  (registers every family)
from engine.graph import Graph
from engine.layers.registry import CATEGORY_ORDER, get_spec
from engine.layers.seq_modules import Attention, Concat, Distance, Recurrent, sinusoids
from engine.layers.spec import Params

MY_TYPES = ("SimpleRNN", "LSTM", "GRU", "MultiHeadAttention", "TransformerEncoder", "PositionalEncoding",
            "Embedding", "Add", "Concat", "Multiply", "Distance")
TOKEN_TYPES = {"Embedding"}

# (type, param overrides, input shapes): defaults on the spec's example plus the variants that matter.
CASES = [(t, {}, get_spec(t).example) for t in MY_TYPES] + [
    ("LSTM", {"return_sequences": True, "bidirectional": True, "num_layers": 2, "dropout": 0.2}, ((None, 7, 3),)),
    ("GRU", {"bidirectional": True}, ((None, 7, 3),)),
    ("SimpleRNN", {"nonlinearity": "relu", "return_sequences": True}, ((None, 7, 3),)),
    ("MultiHeadAttention", {"causal": True, "num_heads": 2}, ((None, 6, 8),)),
    ("MultiHeadAttention", {"num_heads": 2}, ((None, 6, 8), (None, 9, 5))),
    ("TransformerEncoder", {"num_layers": 2, "norm_first": False, "activation": "gelu", "num_heads": 2},
     ((None, 5, 6),)),
    ("PositionalEncoding", {"kind": "learned", "max_len": 12}, ((None, 12, 7),)),
    ("Embedding", {"padding_idx": 0}, ((None,),)),
    ("Add", {}, ((None, 3, 4), (None, 3, 4), (None, 1, 4))),
    ("Concat", {"axis": 0}, ((None, 2, 5, 5), (None, 3, 5, 5))),
    ("Multiply", {}, ((None, 4, 6), (None, 4, 1))),
    ("Distance", {"metric": "cosine"}, ((None, 2, 3), (None, 2, 3))),
]


def _params(type_id: str, **overrides) -> Params:
    values = get_spec(type_id).defaults()
    values.update(overrides)
    return Params({k: get_spec(type_id).param(k).coerce(v) for k, v in values.items()})


def _inputs(type_id: str, p: Params, shapes, device: str = "cpu", grad: bool = False) -> list[torch.Tensor]:
    dims = [[2 if d is None else d for d in s] for s in shapes]
    if type_id in TOKEN_TYPES:
        return [torch.randint(0, p.num_embeddings, d, device=device) for d in dims]
    return [torch.randn(d, device=device, requires_grad=grad) for d in dims]


def _case_id(case) -> str:
    return f"{case[0]}-{'-'.join(f'{k}={v}' for k, v in case[1].items()) or 'defaults'}"


@pytest.mark.parametrize("type_id", MY_TYPES)
def test_spec_documents_itself_for_students(type_id):
    spec = get_spec(type_id)
    assert spec.category in CATEGORY_ORDER
    assert len(spec.explanation) > 250 and spec.advantages and spec.disadvantages and spec.when_to_use
    assert 1 <= sum(p.key for p in spec.params) <= 2 or (type_id in ("Add", "Multiply") and not spec.params)
    for param in spec.params:
        assert param.doc and param.coerce(param.default) == param.default
    assert spec.check(_params(type_id), list(spec.example)) is None


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_build_forward_backward_and_meta_shape_agree(case):
    type_id, overrides, shapes = case
    spec, p = get_spec(type_id), _params(type_id, **overrides)
    assert spec.check(p, list(shapes)) is None
    torch.manual_seed(0)
    module = spec.build(p, list(shapes))
    xs = _inputs(type_id, p, shapes, grad=True)
    out = module(*xs)
    with torch.device("meta"):
        meta_module = spec.build(p, list(shapes))
    meta_out = meta_module.eval()(*_inputs(type_id, p, shapes, device="meta"))
    assert out.shape == meta_out.shape
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    out.square().mean().backward()
    grads = [t.grad for t in xs if t.requires_grad] + [q.grad for q in module.parameters()]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def _plain_rnn(type_id: str, p: Params, features: int) -> nn.RNNBase:
    cls = {"SimpleRNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[type_id]
    extra = {"nonlinearity": p.nonlinearity} if type_id == "SimpleRNN" else {}
    return cls(features, p.hidden_size, num_layers=p.num_layers, bidirectional=p.bidirectional,
               batch_first=True, **extra)


@pytest.mark.parametrize("type_id", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_recurrent_matches_plain_torch(type_id, bidirectional, return_sequences):
    p = _params(type_id, hidden_size=5, num_layers=2, bidirectional=bidirectional,
                return_sequences=return_sequences)
    layer = get_spec(type_id).build(p, [(None, 6, 3)])
    plain = _plain_rnn(type_id, p, 3)
    plain.load_state_dict(layer.rnn.state_dict())
    x = torch.randn(4, 6, 3)
    seq, state = plain(x)
    h_n = state[0] if type_id == "LSTM" else state
    if return_sequences:
        expected = seq
    elif bidirectional:  # the final hidden states of both directions of the top layer
        expected = torch.cat([h_n[-2], h_n[-1]], dim=-1)
    else:
        expected = h_n[-1]
    got = layer(x)
    assert got.shape == expected.shape == ((4, 6, 5 * (1 + bidirectional)) if return_sequences
                                           else (4, 5 * (1 + bidirectional)))
    torch.testing.assert_close(got, expected)


def test_recurrent_dropout_reaches_torch_only_between_layers():
    stacked = get_spec("LSTM").build(_params("LSTM", num_layers=3, dropout=0.3), [(None, 4, 2)])
    assert stacked.rnn.dropout == pytest.approx(0.3)


def _plain_mha(layer: Attention) -> nn.MultiheadAttention:
    a = layer.attn
    plain = nn.MultiheadAttention(a.embed_dim, a.num_heads, batch_first=True, kdim=a.kdim, vdim=a.vdim)
    plain.load_state_dict(a.state_dict())
    return plain


def test_self_attention_matches_torch_multihead_attention():
    layer = get_spec("MultiHeadAttention").build(_params("MultiHeadAttention", num_heads=2), [(None, 5, 8)])
    x = torch.randn(3, 5, 8)
    torch.testing.assert_close(layer(x), _plain_mha(layer)(x, x, x)[0])


def test_cross_attention_matches_torch_and_keeps_query_length():
    layer = get_spec("MultiHeadAttention").build(_params("MultiHeadAttention", num_heads=4),
                                                 [(None, 5, 8), (None, 9, 6)])
    q, kv = torch.randn(3, 5, 8), torch.randn(3, 9, 6)
    out = layer(q, kv)
    assert out.shape == (3, 5, 8)
    torch.testing.assert_close(out, _plain_mha(layer)(q, kv, kv)[0])


def test_causal_attention_ignores_the_future():
    layer = get_spec("MultiHeadAttention").build(_params("MultiHeadAttention", num_heads=2, causal=True),
                                                 [(None, 6, 8)])
    x = torch.randn(2, 6, 8)
    changed = x.clone()
    changed[:, 4:] = torch.randn(2, 2, 8)
    out, out_changed = layer(x), layer(changed)
    torch.testing.assert_close(out[:, :4], out_changed[:, :4])
    assert not torch.allclose(out[:, 4:], out_changed[:, 4:])
    mask = torch.triu(torch.ones(6, 6, dtype=torch.bool), diagonal=1)
    torch.testing.assert_close(out, _plain_mha(layer)(x, x, x, attn_mask=mask)[0])


def test_transformer_encoder_matches_torch_stack():
    p = _params("TransformerEncoder", num_heads=2, ff_dim=12, num_layers=2, activation="gelu")
    layer = get_spec("TransformerEncoder").build(p, [(None, 5, 8)]).eval()
    block = nn.TransformerEncoderLayer(8, 2, 12, activation="gelu", batch_first=True, norm_first=True)
    plain = nn.TransformerEncoder(block, 2, enable_nested_tensor=False).eval()
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(3, 5, 8)
    torch.testing.assert_close(layer(x), plain(x))
    assert sum(q.numel() for q in layer.parameters()) == sum(q.numel() for q in plain.parameters())


@pytest.mark.parametrize("d_model", [6, 7])
def test_sinusoidal_encoding_follows_the_formula(d_model):
    layer = get_spec("PositionalEncoding").build(_params("PositionalEncoding", max_len=20, dropout=0.0),
                                                 [(None, 9, d_model)])
    assert list(layer.parameters()) == []
    x = torch.zeros(1, 9, d_model)
    pe = layer(x)[0]
    for t in (0, 3, 8):
        for i in range(d_model):
            angle = t / 10000 ** ((i - i % 2) / d_model)
            assert pe[t, i].item() == pytest.approx(math.sin(angle) if i % 2 == 0 else math.cos(angle), abs=1e-5)
    assert sinusoids(20, d_model).shape == (1, 20, d_model)


def test_learned_encoding_is_a_trained_table_added_per_position():
    layer = get_spec("PositionalEncoding").build(_params("PositionalEncoding", kind="learned", max_len=10,
                                                         dropout=0.0), [(None, 4, 3)])
    assert [name for name, _ in layer.named_parameters()] == ["pe"]
    x = torch.randn(2, 4, 3)
    torch.testing.assert_close(layer(x), x + layer.pe[:, :4])


def test_embedding_matches_torch_and_keeps_the_padding_row_zero():
    p = _params("Embedding", num_embeddings=11, embedding_dim=4, padding_idx=0)
    layer = get_spec("Embedding").build(p, [(None, 6)])
    plain = nn.Embedding(11, 4, padding_idx=0)
    plain.load_state_dict(layer.state_dict())
    ids = torch.tensor([[0, 3, 10, 0, 1, 2], [5, 5, 0, 9, 8, 7]])
    out = layer(ids)
    torch.testing.assert_close(out, plain(ids))
    assert out.shape == (2, 6, 4) and torch.equal(out[0, 0], torch.zeros(4))
    out.sum().backward()
    assert torch.equal(layer.weight.grad[0], torch.zeros(4)) and layer.weight.grad[3].abs().sum() > 0
    assert layer(torch.tensor([1, 2])).shape == (2, 4)
    no_pad = get_spec("Embedding").build(_params("Embedding"), [(None, 6)])
    assert no_pad.padding_idx is None


@pytest.mark.parametrize("metric", ["l1", "l2", "cosine"])
def test_distance_is_one_number_per_pair(metric):
    a, b = torch.randn(5, 7), torch.randn(5, 7)
    out = get_spec("Distance").build(_params("Distance", metric=metric), [(None, 7), (None, 7)])(a, b)
    assert out.shape == (5, 1)
    if metric == "cosine":
        expected = torch.stack([1 - (a[i] @ b[i]) / (a[i].norm() * b[i].norm()) for i in range(5)])
    else:
        norm = 1.0 if metric == "l1" else 2.0
        expected = torch.stack([torch.cdist(a[i:i + 1], b[i:i + 1], p=norm)[0, 0] for i in range(5)])
    torch.testing.assert_close(out[:, 0], expected)


def test_distance_of_identical_pairs_has_finite_gradients():
    a = torch.randn(3, 4, requires_grad=True)
    for metric in ("l1", "l2", "cosine"):
        out = Distance(metric)(a, a.detach().clone())
        assert torch.allclose(out, torch.zeros(3, 1), atol=1e-6)
        (grad,) = torch.autograd.grad(out.sum(), a)
        assert torch.isfinite(grad).all()


def test_merges_equal_torch_ops():
    x, y, z = torch.randn(2, 3, 4), torch.randn(2, 3, 4), torch.randn(2, 1, 4)
    shapes = [(None, 3, 4), (None, 3, 4), (None, 1, 4)]
    torch.testing.assert_close(get_spec("Add").build(_params("Add"), shapes)(x, y, z), x + y + z)
    torch.testing.assert_close(get_spec("Multiply").build(_params("Multiply"), shapes)(x, y, z), x * y * z)
    cat = get_spec("Concat")
    torch.testing.assert_close(cat.build(_params("Concat"), shapes[:2])(x, y), torch.cat([x, y], dim=2))
    torch.testing.assert_close(cat.build(_params("Concat", axis=0), shapes)(x, y, z), torch.cat([x, y, z], dim=1))
    assert Concat(-2)(x, z).shape == (2, 4, 4)


CHECKS = [
    ("LSTM", {}, [(None, 64)], "LSTM expects a sequence (N, T, F) but gets (N, 64)", "RepeatVector"),
    ("GRU", {}, [(None, 3, 28, 28)], "GRU expects a sequence (N, T, F) but gets (N, 3, 28, 28)", "Reshape"),
    ("SimpleRNN", {"dropout": 0.5}, [(None, 5, 2)], "dropout = 0.5 acts only between stacked layers", "num_layers"),
    ("MultiHeadAttention", {"num_heads": 3}, [(None, 5, 8)], "embedding size 8 is not divisible by num_heads = 3",
     "1, 2, 4, 8"),
    ("MultiHeadAttention", {}, [(None, 16)], "expects a sequence (N, T, E) on 'query' but gets (N, 16)", "Reshape"),
    ("MultiHeadAttention", {}, [(None, 5, 16), (None, 16)], "on 'key_value' but gets (N, 16)", "Reshape"),
    ("MultiHeadAttention", {"causal": True}, [(None, 5, 16), (None, 7, 16)], "self-attention only", "causal off"),
    ("TransformerEncoder", {"num_heads": 5}, [(None, 5, 16)], "16 is not divisible by num_heads = 5", "Dense"),
    ("TransformerEncoder", {}, [(None, 16)], "Transformer encoder expects a sequence (N, T, E)", "Reshape"),
    ("PositionalEncoding", {"max_len": 8}, [(None, 10, 16)], "has 10 steps but max_len is 8", "at least 10"),
    ("PositionalEncoding", {}, [(None, 16)], "expects a sequence (N, T, E) but gets (N, 16)", "Reshape"),
    ("Embedding", {}, [(None, 10, 4)], "Embedding expects token ids (N, T) or (N,) but gets (N, 10, 4)", "tokens"),
    ("Embedding", {"num_embeddings": 5, "padding_idx": 5}, [(None, 10)], "outside the vocabulary of 5 ids", "-1"),
    ("Add", {}, [(None, 16, 8, 8), (None, 32, 8, 8)],
     "Add needs inputs of the same shape but gets (N, 16, 8, 8) and (N, 32, 8, 8)", "1x1 Conv2d"),
    ("Add", {}, [(None, 16), (None, 4, 16)], "gets (N, 16) and (N, 4, 16)", "same shape"),
    ("Multiply", {}, [(None, 3), (None, 3), (None, 4)], "gets (N, 3), (N, 3) and (N, 4)", "same shape"),
    ("Concat", {}, [(None, 8), (None, 2, 4)], "same number of dimensions but gets (N, 8) and (N, 2, 4)", "Flatten"),
    ("Concat", {"axis": 2}, [(None, 8), (None, 4)], "axis = 2 does not exist for samples of shape (8,)", "-1 to 0"),
    ("Concat", {"axis": 0}, [(None, 2, 5), (None, 3, 6)],
     "Concat along axis 0 needs every other dimension equal but gets (N, 2, 5) and (N, 3, 6)", "another axis"),
    ("Distance", {}, [(None, 8), (None, 4)], "same shape but gets (N, 8) and (N, 4)", "shared-weight"),
]


@pytest.mark.parametrize(("type_id", "overrides", "shapes", "message", "hint"), CHECKS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CHECKS)])
def test_check_explains_a_wrong_input(type_id, overrides, shapes, message, hint):
    failed = get_spec(type_id).check(_params(type_id, **overrides), shapes)
    assert failed is not None
    assert message in failed[0] and hint in failed[1]


def test_rank_checks_offer_a_reshape_fix():
    assert {get_spec(t).fix for t in ("SimpleRNN", "LSTM", "GRU", "MultiHeadAttention", "TransformerEncoder",
                                      "PositionalEncoding")} == {"Reshape"}


@pytest.mark.parametrize(("type_id", "shape"), [("LSTM", (None, 6, 3)), ("Dense", (None, 3)),
                                                ("MultiHeadAttention", (None, 6, 8))])
def test_one_module_serves_two_branches_like_shared_weights(type_id, shape):
    p = _params(type_id, **({"num_heads": 2} if type_id == "MultiHeadAttention" else {}))
    module = get_spec(type_id).build(p, [shape]).eval()
    calls = []
    module.register_forward_hook(lambda m, args, out: calls.append(out.shape))
    dims = [2 if d is None else d for d in shape]
    left, right = torch.randn(dims), torch.randn(dims)
    alone = module(right).detach()
    out_left, out_right = module(left), module(right)
    assert len(calls) == 3
    torch.testing.assert_close(out_right, alone)  # nothing carried over from the previous call
    assert not torch.allclose(out_left, out_right)
    (out_left.sum() + out_right.sum()).backward()
    grads = [q.grad.clone() for q in module.parameters()]
    module.zero_grad()
    module(left).sum().backward()
    module(right).sum().backward()
    for g, g2 in zip(grads, [q.grad for q in module.parameters()], strict=True):
        torch.testing.assert_close(g, g2)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_fixed_arity_modules_compile_with_torchscript():
    x, kv = torch.randn(2, 5, 8), torch.randn(2, 3, 8)
    modules = [
        (get_spec("LSTM").build(_params("LSTM", bidirectional=True), [(None, 5, 8)]), (x,)),
        (get_spec("GRU").build(_params("GRU", return_sequences=True), [(None, 5, 8)]), (x,)),
        (get_spec("MultiHeadAttention").build(_params("MultiHeadAttention", causal=True), [(None, 5, 8)]), (x,)),
        (Attention(8, 2, kv_dim=8), (x, kv)),
        (get_spec("PositionalEncoding").build(_params("PositionalEncoding"), [(None, 5, 8)]), (x,)),
        (Distance("l2"), (x, x.flip(0))),
        (get_spec("Embedding").build(_params("Embedding"), [(None, 5)]), (torch.tensor([[1, 2], [3, 999]]),)),
    ]
    for module, args in modules:
        module.eval()
        torch.testing.assert_close(torch.jit.script(module)(*args), module(*args))


def _graph_for(type_id: str, overrides: dict, shapes) -> Graph:
    """Input(s) -> the layer -> a regression Output."""
    g = Graph(name=f"probe {type_id}")
    layer = g.add_node(type_id, params=overrides)
    ports = [port for port in get_spec(type_id).inputs for _ in range(1 if not port.multi else len(shapes))]
    for shape, port in zip(shapes, ports, strict=False):
        if type_id in TOKEN_TYPES:
            params = {"kind": "tokens", "seq_len": shape[1] if len(shape) > 1 else 1}
        elif len(shape) == 3:
            params = {"kind": "sequence", "seq_len": shape[1], "features": shape[2]}
        else:
            params = {"kind": "features", "features": shape[1]}
        source = g.add_node("Input", params=params)
        g.connect(source.id, layer.id, dst_port=port.name)
    out = g.add_node("Output", params={"task": "regression"})
    g.connect(layer.id, out.id)
    return g


GRAPH_CASES = [c for c in CASES if all(len(s) in (2, 3) for s in c[2])]


@pytest.mark.parametrize("case", GRAPH_CASES, ids=_case_id)
def test_layer_compiles_inside_a_graph(case):
    from engine.compile import compile_graph
    from engine.validate import validate

    type_id, overrides, shapes = case
    graph = _graph_for(type_id, overrides, shapes)
    validation = validate(graph)
    assert validation.ok, validation.report()
    torch.manual_seed(0)
    gm = compile_graph(graph, validation=validation).eval()
    layer_id = next(n.id for n in graph.nodes.values() if n.type == type_id)
    inputs = [_inputs(type_id, _params(type_id, **overrides), [(None, *s[1:])])[0] for s in shapes]
    out = gm(*inputs)
    module = gm.get_submodule(gm.deepwire_targets[layer_id])
    torch.testing.assert_close(out, module(*inputs))
    assert (None, *out.shape[1:]) == validation.shapes[layer_id]


def test_graph_reports_a_recurrent_layer_fed_a_flat_vector():
    from engine.validate import validate

    graph = _graph_for("LSTM", {}, [(None, 64)])
    problems = [p for p in validate(graph).errors if p.kind == "shape_mismatch"]
    assert len(problems) == 1
    assert "LSTM expects a sequence (N, T, F) but gets (N, 64)" in problems[0].message
    assert problems[0].fix == "Reshape"


def test_embedding_fed_real_numbers_says_it_needs_token_ids():
    from engine.validate import validate

    with pytest.raises(TypeError, match="whole-number token ids"):
        get_spec("Embedding").build(_params("Embedding"), [(None, 8)])(torch.randn(2, 8))
    graph = Graph()
    source = graph.add_node("Input", params={"kind": "features", "features": 8})
    layer = graph.add_node("Embedding")
    head = graph.add_node("Output", params={"task": "regression"})
    graph.connect(source.id, layer.id)
    graph.connect(layer.id, head.id)
    (problem,) = validate(graph).errors
    assert problem.node_id == layer.id and "needs whole-number token ids" in problem.message


def test_causal_mask_follows_the_sequence_length():
    layer = Attention(4, 1, causal=True).eval()
    for t in (1, 3, 8):
        x = torch.randn(2, t, 4)
        assert layer(x).shape == (2, t, 4)
    torch.testing.assert_close(layer(torch.ones(1, 1, 4)), layer.attn(torch.ones(1, 1, 4), torch.ones(1, 1, 4),
                                                                      torch.ones(1, 1, 4))[0])


def test_recurrent_last_step_concats_final_states_of_both_directions():
    rnn = nn.GRU(2, 3, batch_first=True, bidirectional=True)
    x = torch.randn(1, 4, 2)
    seq = rnn(x)[0]
    last = Recurrent(rnn, return_sequences=False)(x)
    torch.testing.assert_close(last[:, :3], seq[:, -1, :3])
    torch.testing.assert_close(last[:, 3:], seq[:, 0, 3:])
    assert F.mse_loss(last[:, 3:], seq[:, -1, 3:]) > 0
