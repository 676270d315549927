"""Small torch modules for layer types that torch.nn lacks.

Plain torch only (no DeepWire imports) so exported source can reuse them; no data-dependent Python
control flow, so they script, trace and export to ONNX.
"""

import torch
import torch.nn.functional as F
from torch import nn


class MinPool2d(nn.Module):
    """Minimum over each window: -max_pool2d(-x)."""

    def __init__(self, kernel_size: int, stride: int, padding: int = 0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -F.max_pool2d(-x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class GlobalAvgPool(nn.Module):
    """Mean over every dim after the channels: (N, C, ...) -> (N, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).mean(-1)


class GlobalMaxPool(nn.Module):
    """Maximum over every dim after the channels: (N, C, ...) -> (N, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).amax(-1)


class Reshape(nn.Module):
    """Reshape each sample to `shape` (may hold one -1); the batch dim is kept."""

    shape: list[int]

    def __init__(self, shape: list[int]):
        super().__init__()
        self.shape = [int(d) for d in shape]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape([x.shape[0]] + self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Permute(nn.Module):
    """Reorder the dims of each sample; `dims` counts from 0 after the batch."""

    dims: list[int]

    def __init__(self, dims: list[int]):
        super().__init__()
        self.dims = [0] + [int(d) + 1 for d in dims]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.dims)

    def extra_repr(self) -> str:
        return f"dims={[d - 1 for d in self.dims[1:]]}"


class RepeatVector(nn.Module):
    """Repeat a vector `times` times along a new time axis: (N, F) -> (N, times, F)."""

    def __init__(self, times: int):
        super().__init__()
        self.times = int(times)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1).repeat(1, self.times, 1)

    def extra_repr(self) -> str:
        return f"times={self.times}"
