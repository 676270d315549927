"""Model definitions written the way pytorch/examples and the PyTorch tutorials write them, plus the timm
models the import zoo tries; shared by tests/engine/test_import_zoo.py and benchmarks/import_zoo.py."""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


class RNNModel(nn.Module):
    """pytorch/examples word_language_model: embedding, LSTM with a hidden state, tied decoder."""

    def __init__(self, ntoken: int = 200, ninp: int = 32, nhid: int = 32, nlayers: int = 2, dropout: float = 0.5,
                 tie_weights: bool = True, batch_first: bool = True):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout, batch_first=batch_first)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError("When using the tied flag, nhid must be equal to emsize")
            self.decoder.weight = self.encoder.weight
        self.nlayers, self.nhid = nlayers, nhid

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        return F.log_softmax(decoded, dim=-1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid), weight.new_zeros(self.nlayers, bsz, self.nhid))


class Generator(nn.Module):
    """pytorch/examples dcgan generator, with its multi-GPU branch."""

    def __init__(self, ngpu: int = 1, nz: int = 16, ngf: int = 8, nc: int = 3):
        super().__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)
        return output


class Discriminator(nn.Module):
    """pytorch/examples dcgan discriminator: strided convs, LeakyReLU, a sigmoid, view(-1, 1).squeeze(1)."""

    def __init__(self, ngpu: int = 1, ndf: int = 8, nc: int = 3):
        super().__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)
        return output.view(-1, 1).squeeze(1)


class MnistNet(nn.Module):
    """pytorch/examples mnist: two convs, max pooling, dropout, flatten, log_softmax."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


class PositionalEncoding(nn.Module):
    """The PyTorch tutorial's sinusoidal table for sequence-first input (same name as DeepWire's helper)."""

    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 64):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        x = x + self.pe[:x.size(0)]
        return self.dropout(x)


class TransformerClassifier(nn.Module):
    """A text classifier in the tutorial's idiom: embedding * sqrt(d), sequence-first encoder, mean over time."""

    def __init__(self, ntoken: int = 100, d_model: int = 16, nhead: int = 2, d_hid: int = 32, nlayers: int = 2,
                 nclass: int = 4, dropout: float = 0.1):
        super().__init__()
        self.embedding = nn.Embedding(ntoken, d_model)
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        layer = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
        self.transformer_encoder = nn.TransformerEncoder(layer, nlayers, enable_nested_tensor=False)
        self.d_model = d_model
        self.classifier = nn.Linear(d_model, nclass)

    def forward(self, src, src_mask=None):
        src = self.embedding(src) * math.sqrt(self.d_model)
        src = src.transpose(0, 1)
        src = self.pos_encoder(src)
        output = self.transformer_encoder(src, src_mask)
        return self.classifier(output.mean(dim=0))


class SqueezeExcitation(nn.Module):
    """A squeeze-and-excitation block as model code writes it: mean over H, W with keepdim, a gate, a product."""

    def __init__(self, channels: int = 16, reduced: int = 4):
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3, padding=1)
        self.fc1 = nn.Conv2d(channels, reduced, 1)
        self.fc2 = nn.Conv2d(reduced, channels, 1)
        self.head = nn.Linear(channels, 5)

    def forward(self, x):
        x = F.relu6(self.conv(x))
        scale = x.mean((2, 3), keepdim=True)
        scale = F.hardsigmoid(self.fc2(F.relu(self.fc1(scale))))
        x = x * scale
        x = F.adaptive_avg_pool2d(x, 1)
        return self.head(torch.flatten(x, 1))


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    batchsize, num_channels, height, width = x.size()
    channels_per_group = num_channels // groups
    x = x.view(batchsize, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batchsize, -1, height, width)


class ShuffleUnit(nn.Module):
    """A ShuffleNetV2 unit as torchvision writes it: chunk the channels, a branch, concat, channel shuffle."""

    def __init__(self, channels: int = 16):
        super().__init__()
        half = channels // 2
        self.stem = nn.Conv2d(3, channels, 3, padding=1, bias=False)
        self.branch2 = nn.Sequential(
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, 1, 1, groups=half, bias=False), nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True))
        self.pool = nn.MaxPool2d(3, 2, 1, ceil_mode=True)
        self.fc = nn.Linear(channels, 3)

    def forward(self, x):
        x = self.stem(x)
        x1, x2 = x.chunk(2, dim=1)
        out = torch.cat((x1, self.branch2(x2)), dim=1)
        out = channel_shuffle(out, 2)
        out = self.pool(out)
        return self.fc(out.mean([2, 3]))


@dataclass
class ZooCase:
    """One model of the zoo: how to build it and the per-sample input shapes to import it with."""

    name: str
    build: Callable[[], nn.Module]
    shapes: list[tuple[int, ...]]
    output: str | int | None = None
    slow: bool = False
    tags: list[str] = field(default_factory=list)


TUTORIAL_CASES = [
    ZooCase("word_language_model", RNNModel, [(12,)], output=0),
    ZooCase("dcgan_generator", Generator, [(16, 1, 1)]),
    ZooCase("dcgan_discriminator", Discriminator, [(3, 64, 64)]),
    ZooCase("mnist_net", MnistNet, [(1, 28, 28)]),
    ZooCase("transformer_classifier", TransformerClassifier, [(10,)]),
    ZooCase("squeeze_excitation", SqueezeExcitation, [(3, 12, 12)]),
    ZooCase("channel_shuffle", ShuffleUnit, [(3, 12, 12)]),
]

TIMM_MODELS = [
    ("resnet18", {}, (3, 64, 64)),
    ("resnet50", {}, (3, 64, 64)),
    ("mobilenetv2_100", {}, (3, 64, 64)),
    ("mobilenetv3_small_100", {}, (3, 64, 64)),
    ("efficientnet_b0", {}, (3, 64, 64)),
    ("vit_tiny_patch16_224", {"img_size": 32}, (3, 32, 32)),
    ("convnext_atto", {}, (3, 64, 64)),
    ("regnetx_002", {}, (3, 64, 64)),
    ("ghostnet_100", {}, (3, 64, 64)),
    ("densenet121", {}, (3, 64, 64)),
]


def load_timm() -> types.ModuleType:
    """timm, imported without torchvision's compiled ops (its wheel here does not load beside the CPU torch)."""
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import timm

    return timm


def timm_cases() -> list[ZooCase]:
    def builder(name: str, kwargs: dict) -> Callable[[], nn.Module]:
        return lambda: load_timm().create_model(name, pretrained=False, num_classes=10, **kwargs)
    return [ZooCase(name, builder(name, kwargs), [shape], slow=True) for name, kwargs, shape in TIMM_MODELS]


TORCHVISION_MODELS = [
    ("squeezenet1_0", {}, None), ("shufflenet_v2_x0_5", {}, None), ("mobilenet_v3_small", {}, None),
    ("googlenet", {"aux_logits": False, "init_weights": False}, None), ("convnext_tiny", {}, None),
    ("segmentation.lraspp_mobilenet_v3_large", {"weights_backbone": None}, "out"),
    ("segmentation.fcn_resnet50", {"weights_backbone": None}, "out"),
]
"""torchvision definitions (name under torchvision.models, keyword arguments, the output key to keep)."""


def load_torchvision_models() -> types.ModuleType:
    """torchvision.models with the same skip of its compiled ops as `load_timm`."""
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import torchvision.models

    return torchvision.models


def torchvision_cases() -> list[ZooCase]:
    def builder(name: str, kwargs: dict) -> Callable[[], nn.Module]:
        def build() -> nn.Module:
            models = load_torchvision_models()
            if name.startswith("segmentation."):
                return getattr(models.segmentation, name.partition(".")[2])(num_classes=3, **kwargs)
            return getattr(models, name)(num_classes=10, **kwargs)
        return build
    return [ZooCase(f"tv_{name.rpartition('.')[2]}", builder(name, kwargs), [(3, 64, 64)], output=output, slow=True)
            for name, kwargs, output in TORCHVISION_MODELS]


def randomize_batchnorm(module: nn.Module, seed: int = 0) -> None:
    """Give every BatchNorm non-trivial statistics and affine weights, so a wrong mapping shows in the outputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 2 - 1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 1.5 + 0.5)
                if m.weight is not None:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                    m.bias.copy_(torch.rand(m.bias.shape, generator=gen) - 0.5)
