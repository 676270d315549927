"""Compiled templates equal hand-written PyTorch modules: same parameter count, same outputs, same gradients."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine.compile import compile_graph
from engine.templates import load_project


class HandLeNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 2 * 2, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class BasicBlock(nn.Module):
    """The classic ResNet basic block: two 3x3 convs with batch norm, plus the input added back."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class HandResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.block1 = BasicBlock(16, 16, 1)
        self.block2 = BasicBlock(16, 32, 2)
        self.fc = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.block2(self.block1(self.stem(x))).mean(dim=(2, 3)))


class HandLSTMClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(20, 16, padding_idx=0)
        self.lstm = nn.LSTM(16, 32, batch_first=True)
        self.fc = nn.Linear(32, 1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embedding(tokens))
        return self.fc(out[:, -1])


class HandSiamese(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                     nn.Linear(16 * 4 * 4, 32))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.linalg.vector_norm(self.encoder(a) - self.encoder(b), dim=1, keepdim=True)


def renamer(prefixes: dict[str, str]) -> Callable[[str], str]:
    """Map a compiled state-dict key to the hand-written one by replacing its leading module path."""
    def rename(key: str) -> str:
        for old, new in prefixes.items():
            if key.startswith(old + "."):
                return new + key[len(old):]
        return key
    return rename


RESNET_NAMES = {"stem_conv": "stem.0", "stem_bn": "stem.1", "block2_skip_conv": "block2.shortcut.0",
                "block2_skip_bn": "block2.shortcut.1",
                **{f"block{b}_{layer}": f"block{b}.{layer}" for b in (1, 2)
                   for layer in ("conv1", "bn1", "conv2", "bn2")}}

CASES = {
    "lenet": (HandLeNet, renamer({}), lambda: (torch.randn(16, 1, 8, 8),)),
    "resnet": (HandResNet, renamer(RESNET_NAMES), lambda: (torch.randn(16, 1, 8, 8),)),
    "lstm_classifier": (HandLSTMClassifier, renamer({"lstm.rnn": "lstm"}),
                        lambda: (torch.randint(0, 20, (16, 20)),)),
    "siamese": (HandSiamese, renamer({"conv_a": "encoder.0", "embed_a": "encoder.4"}),
                lambda: (torch.randn(16, 1, 8, 8), torch.randn(16, 1, 8, 8))),
}


def paired(stem: str) -> tuple[nn.Module, nn.Module, Callable[[str], str], tuple[torch.Tensor, ...]]:
    """The compiled template and its hand-written twin holding the same weights."""
    hand_cls, rename, make_inputs = CASES[stem]
    torch.manual_seed(0)
    model, hand = compile_graph(load_project(stem)), hand_cls()
    state = {rename(k): v for k, v in model.state_dict().items()}
    hand.load_state_dict(state, strict=True)
    return model, hand, rename, make_inputs()


@pytest.mark.parametrize("stem", list(CASES))
def test_compiled_template_has_the_parameter_count_of_the_handwritten_module(stem: str):
    model, hand, rename, _ = paired(stem)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in hand.parameters())
    assert len(list(model.parameters())) == len(list(hand.parameters()))
    assert sorted(map(rename, model.state_dict())) == sorted(hand.state_dict())


@pytest.mark.parametrize("stem", list(CASES))
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_compiled_template_computes_what_the_handwritten_module_computes(stem: str, mode: str):
    model, hand, rename, inputs = paired(stem)
    model.train(mode == "train")
    hand.train(mode == "train")
    out, expected = model(*inputs), hand(*inputs)
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)
    out.pow(2).mean().backward()
    expected.pow(2).mean().backward()
    grads = dict(hand.named_parameters())
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, grads[rename(name)].grad, atol=1e-6, rtol=1e-5)


def test_resnet_skip_wire_matters():
    """Without block 1's Add (bn2 wired straight to relu2) the output changes: the skip really adds."""
    graph = load_project("resnet")
    torch.manual_seed(0)
    with_skip = compile_graph(graph).eval()
    graph.remove_node(graph.by_name("block1_add").id)
    graph.connect(graph.by_name("block1_bn2").id, graph.by_name("block1_relu2").id)
    without_skip = compile_graph(graph).eval()
    without_skip.load_state_dict(with_skip.state_dict())
    x = torch.randn(4, 1, 8, 8)
    assert not torch.allclose(with_skip(x), without_skip(x), atol=1e-3)


def test_siamese_shared_weights_appear_once_and_sum_both_branches_gradients():
    graph = load_project("siamese")
    model, hand, _, (a, b) = paired("siamese")
    targets = model.deepwire_targets
    assert targets[graph.by_name("conv_b").id] == targets[graph.by_name("conv_a").id]
    assert targets[graph.by_name("embed_b").id] == targets[graph.by_name("embed_a").id]
    assert len(list(model.parameters())) == len(list(hand.parameters())) == 4
    model(a, b).sum().backward()
    hand(a, b).sum().backward()
    conv = getattr(model, targets[graph.by_name("conv_a").id])
    torch.testing.assert_close(conv.weight.grad, hand.encoder[0].weight.grad, atol=1e-6, rtol=1e-5)
