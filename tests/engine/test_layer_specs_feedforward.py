"""Feed-forward layer specs (convolution, pooling, normalization, regularization, activation, reshape): shapes, numbers vs PyTorch, checks."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

import engine.layers  # noqa: F401  (registers every family)
from engine.graph import Graph
from engine.layers import modules
from engine.layers.registry import get_spec
from engine.layers.spec import LayerSpec, Params, Shape

TYPE_IDS = [
    "Conv1d", "Conv2d", "ConvTranspose2d",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "MinPool2d", "GlobalAvgPool", "GlobalMaxPool",
    "UpSampling",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Dropout", "Dropout2d",
    "ReLU", "LeakyReLU", "PReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softmax",
    "Reshape", "Permute", "RepeatVector",
    "ReLU6", "Hardswish", "Hardsigmoid", "Mish", "LogSoftmax",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "Reduce", "ScaleShift", "Interpolate", "Chunk", "Select", "Slice", "Squeeze", "Unsqueeze", "ChannelShuffle",
    "LearnedTensor", "DropPath",
]
CATEGORIES = {"Core", "Convolution", "Pooling", "Normalization", "Regularization", "Activation", "Reshape"}


def params(type_id: str, /, **overrides) -> Params:
    spec = get_spec(type_id)
    values = spec.defaults()
    values.update(overrides)
    return Params({p.name: p.coerce(values[p.name]) for p in spec.params})


def concrete(shape: Shape) -> list[int]:
    return [2 if d is None else d for d in shape]


def build_and_run(type_id: str, shape: Shape, /, **overrides) -> tuple[torch.nn.Module, torch.Tensor]:
    spec, p = get_spec(type_id), params(type_id, **overrides)
    assert spec.check is None or spec.check(p, [shape]) is None
    module = spec.build(p, [shape])
    return module, module(torch.randn(concrete(shape)))


def check_message(type_id: str, shape: Shape, /, **overrides) -> tuple[str, str] | None:
    spec = get_spec(type_id)
    return spec.check(params(type_id, **overrides), [shape])


@pytest.fixture(params=TYPE_IDS)
def spec(request) -> LayerSpec:
    return get_spec(request.param)


def test_spec_is_documented_and_defaults_validate(spec: LayerSpec):
    assert spec.category in CATEGORIES
    assert len(spec.explanation) > 150 and spec.advantages and spec.disadvantages and spec.when_to_use
    for p in spec.params:
        assert p.doc, f"{spec.type_id}.{p.name} has no doc"
        default = list(p.default) if isinstance(p.default, tuple) else p.default
        assert p.coerce(default) == default
    assert sum(p.key for p in spec.params) <= 2
    assert not {"in_channels", "in_features", "num_features", "normalized_shape"} & {p.name for p in spec.params}


def test_forward_matches_meta_and_backward_is_finite(spec: LayerSpec):
    torch.manual_seed(0)
    p, shapes = params(spec.type_id), list(spec.example)
    assert spec.check is None or spec.check(p, shapes) is None
    module = spec.build(p, shapes)
    x = torch.randn(concrete(shapes[0]), requires_grad=True)
    out = module(x)
    with torch.device("meta"):
        meta_module = spec.build(p, shapes)
    meta_out = meta_module(torch.empty(concrete(shapes[0]), device="meta"))
    assert out.shape == meta_out.shape
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad is None if spec.type_id == "LearnedTensor" else torch.isfinite(x.grad).all()
    for name, weight in module.named_parameters():
        assert weight.grad is not None and torch.isfinite(weight.grad).all(), name


def test_params_survive_a_json_round_trip(spec: LayerSpec):
    graph = Graph()
    node = graph.add_node(spec.type_id, params=spec.defaults())
    again = Graph.from_dict(json.loads(json.dumps(graph.to_dict())))
    assert again.nodes[node.id].params == graph.nodes[node.id].params


def _input_params(shape: Shape) -> dict:
    sample = shape[1:]
    if len(sample) == 3:
        return {"kind": "image", "channels": sample[0], "height": sample[1], "width": sample[2]}
    if len(sample) == 2:
        return {"kind": "sequence", "seq_len": sample[0], "features": sample[1]}
    return {"kind": "features", "features": sample[0]}


def test_compiled_single_layer_graph_matches_the_built_module(spec: LayerSpec):
    from engine.compile import compile_graph

    torch.manual_seed(0)
    graph = Graph()
    inp = graph.add_node("Input", params=_input_params(spec.example[0]))
    layer = graph.add_node(spec.type_id)
    out = graph.add_node("Output", params={"task": "regression"})
    graph.connect(inp.id, layer.id)
    graph.connect(layer.id, out.id)
    gm = compile_graph(graph).eval()
    reference = spec.build(params(spec.type_id), list(spec.example)).eval()
    reference.load_state_dict(getattr(gm, gm.deepwire_targets[layer.id]).state_dict())
    x = torch.randn(concrete(spec.example[0]))
    torch.testing.assert_close(gm(x), reference(x))


# ---- checks: each wrong shape a student makes gives a clear message ------------------------

CHECK_CASES = [
    ("Conv2d", (None, 64), {}, "Conv 2D expects (N, C, H, W) but gets (N, 64)", "Reshape"),
    ("Conv1d", (None, 64), {}, "Conv 1D expects (N, C, L) but gets (N, 64)", "Reshape"),
    ("ConvTranspose2d", (None, 3, 8), {}, "ConvTranspose 2D expects (N, C, H, W) but gets (N, 3, 8)", "Reshape"),
    ("Conv2d", (None, 6, 8, 8), {"groups": 4}, "groups = 4 must divide both the input channels (6)", None),
    ("Conv2d", (None, 3, 8, 8), {"kernel_size": 4, "stride": 2},
     "padding 'same' with stride 2 needs an odd kernel span", None),
    ("Conv2d", (None, 3, 4, 4), {"kernel_size": 7, "padding": "valid"}, "window of 7 does not fit", None),
    ("ConvTranspose2d", (None, 3, 4, 4), {"kernel_size": 1, "stride": 2}, "padding 'same' cannot make", None),
    ("ConvTranspose2d", (None, 3, 4, 4), {"padding": 1, "output_padding": 2},
     "output_padding = 2 must be smaller than the stride (2)", None),
    ("MaxPool2d", (None, 64), {}, "MaxPool 2D expects (N, C, H, W) but gets (N, 64)", "Reshape"),
    ("AvgPool1d", (None, 3, 4, 4), {}, "AvgPool 1D expects (N, C, L) but gets (N, 3, 4, 4)", "Reshape"),
    ("MinPool2d", (None, 3, 8, 8), {"kernel_size": 2, "padding": 2}, "more than half the kernel size", None),
    ("MaxPool2d", (None, 3, 1, 1), {}, "window of 2 does not fit the input (N, 3, 1, 1)", None),
    ("GlobalAvgPool", (None, 64), {}, "Global AvgPool expects (N, C, L) or (N, C, H, W) but gets (N, 64)", None),
    ("UpSampling", (None, 3, 8), {"mode": "bilinear"}, "Bilinear UpSampling expects (N, C, H, W)", "Reshape"),
    ("BatchNorm1d", (None, 3, 8, 8), {}, "BatchNorm 1D expects (N, F) or (N, C, L)", None),
    ("BatchNorm2d", (None, 16), {}, "BatchNorm 2D expects (N, C, H, W) but gets (N, 16)", "Reshape"),
    ("Dropout2d", (None, 16), {}, "Dropout 2D expects (N, C, H, W)", None),
    ("LayerNorm", (None,), {}, "LayerNorm expects (N, F) or (N, T, F) but gets (N,)", None),
    ("PReLU", (None,), {"num_parameters": "per channel"}, "PReLU per channel needs a channel dim", None),
    ("Softmax", (None, 10), {"dim": 0}, "Softmax over dim 0 mixes the samples", None),
    ("Softmax", (None, 10), {"dim": 3}, "Softmax dim 3 does not exist in (N, 10)", None),
    ("Reshape", (None, 64), {}, "Reshape to (N, 1, 28, 28) needs 784 values per sample but the input (N, 64) has 64",
     None),
    ("Reshape", (None, 64), {"shape": [-1, 5]}, "64 is not a multiple of 5", None),
    ("Reshape", (None, 64), {"shape": [-1, -1]}, "uses -1 more than once", None),
    ("Reshape", (None, 64), {"shape": [0, 64]}, "has a size 0", None),
    ("Permute", (None, 4, 5, 6), {"dims": [1, 0]}, "must reorder all 3 dims of each sample (N, 4, 5, 6)", None),
    ("Permute", (None, 4, 5), {"dims": [1, 1]}, "a permutation of 0, 1", None),
    ("AdaptiveAvgPool2d", (None, 8), {}, "Adaptive AvgPool 2D expects (N, C, H, W) but gets (N, 8)", "Reshape"),
    ("LogSoftmax", (None, 10), {"dim": 0}, "LogSoftmax over dim 0 mixes the samples", None),
    ("Reduce", (None, 4, 5), {"axes": [2]}, "Reduce axis 2 does not exist for samples of shape (4, 5)", None),
    ("Reduce", (None, 4, 5), {"axes": [1, -1]}, "lists an axis twice", None),
    ("Squeeze", (None, 4, 3), {"axis": 1}, "which has size 3 in (N, 4, 3) (it must be 1)", None),
    ("Select", (None, 4, 3), {"axis": 0, "index": 4}, "index 4 is outside axis 0 of (N, 4, 3) (size 4)", None),
    ("Chunk", (None, 5, 3), {"chunks": 4, "index": 3}, "splits into 3 piece(s)", None),
    ("Slice", (None, 5, 3), {"start": 4, "end": 2}, "is empty or outside axis 0", None),
    ("Interpolate", (None, 3, 8, 8), {"size": [4]}, "needs 2 number(s) for (N, 3, 8, 8)", None),
    ("Interpolate", (None, 3, 8), {"mode": "bilinear"}, "Interpolate expects (N, C, H, W)", "Reshape"),
    ("ChannelShuffle", (None, 6, 4, 4), {"groups": 4}, "groups = 4 must divide the 6 channels", None),
    ("Unsqueeze", (None, 4), {"axis": 3}, "Unsqueeze axis 3 cannot be inserted into (N, 4)", None),
    ("Placeholder", (None, 4), {"op": "torch.erf"}, "placeholder for 'torch.erf'", None),
    ("RepeatVector", (None, 4, 5), {}, "RepeatVector expects (N, F) but gets (N, 4, 5)", "Flatten"),
]


@pytest.mark.parametrize(("type_id", "shape", "overrides", "message", "fix"), CHECK_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CHECK_CASES)])
def test_check_explains_a_wrong_input(type_id, shape, overrides, message, fix):
    failed = check_message(type_id, shape, **overrides)
    assert failed is not None and message in failed[0] and failed[1]
    if fix is not None:
        assert get_spec(type_id).fix == fix


def test_compile_reports_the_check_message_on_the_node():
    from engine.errors import GraphError
    from engine.validate import validate

    graph = Graph()
    inp = graph.add_node("Input", params={"kind": "features", "features": 64})
    conv = graph.add_node("Conv2d")
    out = graph.add_node("Output", params={"task": "regression"})
    graph.connect(inp.id, conv.id)
    graph.connect(conv.id, out.id)
    problems = validate(graph).problems_for(conv.id)
    assert any("Conv 2D expects (N, C, H, W) but gets (N, 64)" in p.message for p in problems)
    from engine.compile import compile_graph
    with pytest.raises(GraphError, match="Reshape"):
        compile_graph(graph)


# ---- padding 'same' ----------------------------------------------------------------------

@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("dilation", [1, 2])
def test_same_padding_keeps_the_size_at_stride_1(kernel, dilation):
    _, out1 = build_and_run("Conv1d", (None, 2, 11), kernel_size=kernel, dilation=dilation)
    _, out2 = build_and_run("Conv2d", (None, 2, 9, 10), kernel_size=kernel, dilation=dilation)
    assert out1.shape == (2, 16, 11) and out2.shape == (2, 16, 9, 10)


@pytest.mark.parametrize(("kernel", "dilation"), [(1, 1), (3, 1), (5, 1), (2, 2), (3, 2)])
@pytest.mark.parametrize("stride", [2, 3])
def test_same_padding_divides_the_size_by_the_stride(kernel, dilation, stride):
    _, out = build_and_run("Conv2d", (None, 2, 9, 10), kernel_size=kernel, dilation=dilation, stride=stride)
    assert out.shape[2:] == (math.ceil(9 / stride), math.ceil(10 / stride))


@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_transposed_same_padding_multiplies_by_the_stride(kernel, stride):
    failed = check_message("ConvTranspose2d", (None, 2, 5, 6), kernel_size=kernel, stride=stride)
    possible = kernel >= stride and (stride > 1 or kernel % 2 == 1)
    assert (failed is None) == possible
    if possible:
        _, out = build_and_run("ConvTranspose2d", (None, 2, 5, 6), kernel_size=kernel, stride=stride)
        assert out.shape == (2, 16, 5 * stride, 6 * stride)


def test_numeric_padding_and_valid_follow_the_conv_formula():
    _, out = build_and_run("Conv2d", (None, 3, 12, 12), kernel_size=5, padding="valid", stride=2)
    assert out.shape == (2, 16, 4, 4)
    _, out = build_and_run("Conv1d", (None, 3, 12), kernel_size=3, padding=2)
    assert out.shape == (2, 16, 14)
    _, out = build_and_run("ConvTranspose2d", (None, 3, 4, 4), kernel_size=3, stride=2, padding=1, output_padding=1)
    assert out.shape == (2, 16, 8, 8)


def test_groups_and_in_channels_come_from_the_input():
    module, _ = build_and_run("Conv2d", (None, 6, 8, 8), groups=3, out_channels=9, bias=False)
    assert module.weight.shape == (9, 2, 3, 3) and module.bias is None
    module, _ = build_and_run("BatchNorm1d", (None, 5, 7))
    assert module.num_features == 5
    module, _ = build_and_run("LayerNorm", (None, 5, 7))
    assert module.normalized_shape == (7,)
    module, _ = build_and_run("PReLU", (None, 5, 7), num_parameters="per channel")
    assert module.weight.shape == (5,)


# ---- pooling -----------------------------------------------------------------------------

def test_minpool_equals_negated_maxpool_of_negated_input():
    x = torch.randn(2, 3, 9, 9)
    module, out = build_and_run("MinPool2d", (None, 3, 9, 9), kernel_size=3, stride=2, padding=1)
    torch.testing.assert_close(module(x), -F.max_pool2d(-x, 3, 2, 1))
    assert out.shape == (2, 3, 5, 5)


def test_pool_stride_0_means_kernel_size():
    _, out = build_and_run("MaxPool2d", (None, 3, 12, 12), kernel_size=3)
    assert out.shape == (2, 3, 4, 4)
    module, _ = build_and_run("AvgPool1d", (None, 3, 12), kernel_size=2, stride=1)
    x = torch.randn(2, 3, 12)
    torch.testing.assert_close(module(x), (x[..., 1:] + x[..., :-1]) / 2)


@pytest.mark.parametrize("shape", [(2, 4, 7), (2, 4, 5, 6)])
def test_global_pools_match_mean_and_max(shape):
    x = torch.randn(shape)
    dims = tuple(range(2, len(shape)))
    torch.testing.assert_close(get_spec("GlobalAvgPool").build(params("GlobalAvgPool"), [shape])(x), x.mean(dims))
    torch.testing.assert_close(get_spec("GlobalMaxPool").build(params("GlobalMaxPool"), [shape])(x), x.amax(dims))


def test_upsampling_nearest_1d_and_bilinear_2d():
    module, out = build_and_run("UpSampling", (None, 2, 5), scale_factor=3)
    assert out.shape == (2, 2, 15)
    x = torch.randn(2, 2, 5)
    torch.testing.assert_close(module(x), x.repeat_interleave(3, dim=-1))
    module, out = build_and_run("UpSampling", (None, 2, 4, 5), mode="bilinear")
    x = torch.randn(2, 2, 4, 5)
    torch.testing.assert_close(module(x), F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))


# ---- activations, reshaping ----------------------------------------------------------------

def test_activations_match_torch_functional():
    x = torch.randn(3, 7)
    cases = {
        "ReLU": ({}, F.relu(x)), "LeakyReLU": ({"negative_slope": 0.2}, F.leaky_relu(x, 0.2)),
        "ELU": ({"alpha": 0.5}, F.elu(x, 0.5)), "GELU": ({"approximate": "tanh"}, F.gelu(x, approximate="tanh")),
        "SiLU": ({}, F.silu(x)), "Sigmoid": ({}, torch.sigmoid(x)), "Tanh": ({}, torch.tanh(x)),
        "Softmax": ({}, torch.softmax(x, -1)), "PReLU": ({"init": 0.1}, F.leaky_relu(x, 0.1)),
    }
    for type_id, (overrides, expected) in cases.items():
        module = get_spec(type_id).build(params(type_id, **overrides), [(None, 7)])
        torch.testing.assert_close(module(x), expected, msg=type_id)


def test_dropout_zeroes_in_training_and_passes_in_eval():
    module = get_spec("Dropout2d").build(params("Dropout2d", p=0.5), [(None, 64, 3, 3)])
    x = torch.ones(4, 64, 3, 3)
    flat = module(x).reshape(4, 64, 9)
    assert ((flat == 0).all(-1) | (flat == 2).all(-1)).all() and (flat == 0).any()
    torch.testing.assert_close(module.eval()(x), x)


def test_reshape_permute_repeat_match_torch():
    x = torch.arange(2 * 24, dtype=torch.float32).reshape(2, 24)
    module, out = build_and_run("Reshape", (None, 24), shape=[2, -1, 3])
    torch.testing.assert_close(module(x), x.reshape(2, 2, 4, 3))
    y = torch.randn(2, 3, 4, 5)
    module, _ = build_and_run("Permute", (None, 3, 4, 5), dims=[2, 0, 1])
    torch.testing.assert_close(module(y), y.permute(0, 3, 1, 2))
    module, out = build_and_run("RepeatVector", (None, 24), times=4)
    assert out.shape == (2, 4, 24)
    torch.testing.assert_close(module(x), x[:, None, :].expand(2, 4, 24))


@pytest.mark.parametrize(("module", "shape"), [
    (modules.MinPool2d(2, 2), (2, 3, 6, 6)), (modules.GlobalAvgPool(), (2, 3, 4, 4)),
    (modules.GlobalMaxPool(), (2, 3, 5)), (modules.Reshape([-1, 2]), (2, 3, 4)),
    (modules.Permute([1, 0]), (2, 3, 4)), (modules.RepeatVector(3), (2, 5)),
], ids=lambda v: type(v).__name__ if isinstance(v, torch.nn.Module) else "")
def test_helper_modules_script_and_trace(module, shape):
    x = torch.randn(shape)
    torch.testing.assert_close(torch.jit.script(module)(x), module(x))
    torch.testing.assert_close(torch.fx.symbolic_trace(module)(x), module(x))
