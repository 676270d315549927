"""Small torch modules for the tensor operations imported models use (reductions, slicing, learned tensors).

Plain torch only (no DeepWire imports) so exported source can copy them; no data-dependent Python
control flow, so they script, trace and export to ONNX.
"""

import torch
import torch.nn.functional as F
from torch import nn


class Reduce(nn.Module):
    """Mean, max, min or sum over the tensor dims `dims` (never the batch)."""

    dims: list[int]

    def __init__(self, op: str, dims: list[int], keepdim: bool = False):
        super().__init__()
        self.op = op
        self.dims = [int(d) for d in dims]
        self.keepdim = keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.op == "mean":
            return x.mean(self.dims, keepdim=self.keepdim)
        if self.op == "sum":
            return x.sum(self.dims, keepdim=self.keepdim)
        if self.op == "max":
            return x.amax(self.dims, keepdim=self.keepdim)
        return x.amin(self.dims, keepdim=self.keepdim)

    def extra_repr(self) -> str:
        return f"op={self.op!r}, dims={self.dims}, keepdim={self.keepdim}"


class ScaleShift(nn.Module):
    """x * scale + shift with two fixed numbers."""

    def __init__(self, scale: float = 1.0, shift: float = 0.0):
        super().__init__()
        self.scale = float(scale)
        self.shift = float(shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale != 1.0:
            x = x * self.scale
        if self.shift != 0.0:
            x = x + self.shift
        return x

    def extra_repr(self) -> str:
        return f"scale={self.scale}, shift={self.shift}"


class Interpolate(nn.Module):
    """Resize (N, C, L) or (N, C, H, W) to a fixed `size`, or by `scale`, with nearest or bilinear sampling."""

    size: list[int]

    def __init__(self, size: list[int], scale: float = 0.0, mode: str = "nearest", align_corners: bool = False):
        super().__init__()
        self.size = [int(s) for s in size]
        self.scale = float(scale)
        self.mode = mode
        self.align_corners = align_corners

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        corners = self.align_corners if self.mode != "nearest" else None
        if len(self.size) > 0:
            return F.interpolate(x, size=self.size, mode=self.mode, align_corners=corners)
        return F.interpolate(x, scale_factor=self.scale, mode=self.mode, align_corners=corners)

    def extra_repr(self) -> str:
        return f"size={self.size}, scale={self.scale}, mode={self.mode!r}, align_corners={self.align_corners}"


class Chunk(nn.Module):
    """Piece `index` of `x.chunk(chunks, dim)`."""

    def __init__(self, chunks: int, index: int, dim: int):
        super().__init__()
        self.chunks = int(chunks)
        self.index = int(index)
        self.dim = int(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.chunks, self.dim)[self.index]

    def extra_repr(self) -> str:
        return f"chunks={self.chunks}, index={self.index}, dim={self.dim}"


class Split(nn.Module):
    """x.split(sizes, dim) as a tuple; with `squeeze`, each piece (of length 1) without that dim, as x.unbind(dim)."""

    def __init__(self, sizes: list[int], dim: int, squeeze: bool = False):
        super().__init__()
        self.sizes = [int(s) for s in sizes]
        self.dim = int(dim)
        self.squeeze = bool(squeeze)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        pieces = x.split(self.sizes, self.dim)
        if self.squeeze:
            return tuple(p.squeeze(self.dim) for p in pieces)
        return tuple(pieces)

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, dim={self.dim}, squeeze={self.squeeze}"


class Select(nn.Module):
    """x.select(dim, index): one position along a dim, which disappears."""

    def __init__(self, dim: int, index: int):
        super().__init__()
        self.dim = int(dim)
        self.index = int(index)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.select(self.dim, self.index)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, index={self.index}"


class Slice(nn.Module):
    """Positions start..end-1 along one dim; negative positions count from the end, end 0 means to the end."""

    def __init__(self, dim: int, start: int, end: int):
        super().__init__()
        self.dim = int(dim)
        self.start = int(start)
        self.end = int(end)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[self.dim]
        start = self.start + size if self.start < 0 else self.start
        end = size if self.end == 0 else (self.end + size if self.end < 0 else self.end)
        return x.narrow(self.dim, start, end - start)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, start={self.start}, end={self.end}"


class Squeeze(nn.Module):
    """Remove the size-1 dim `dim`."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = int(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.squeeze(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Unsqueeze(nn.Module):
    """Insert a size-1 dim at `dim`."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = int(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class ChannelShuffle(nn.Module):
    """Interleave the channels of `groups` groups: (N, g*k, ...) -> (N, k*g, ...)."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = int(groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[0], x.shape[1]
        rest = x.shape[2:]
        x = x.reshape([n, self.groups, c // self.groups] + list(rest))
        return x.transpose(1, 2).reshape([n, c] + list(rest))

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class LearnedTensor(nn.Module):
    """A stored tensor of per-sample `shape`, repeated for every sample of the batch of `x` (x is only read
    for its batch size): a class token, a position embedding. `learned=False` keeps it fixed (a buffer)."""

    shape: list[int]

    def __init__(self, shape: list[int], learned: bool = True, init_std: float = 0.02):
        super().__init__()
        self.shape = [int(d) for d in shape]
        self.learned = learned
        value = torch.randn([1] + self.shape) * init_std
        if learned:
            self.value = nn.Parameter(value)
        else:
            self.register_buffer("value", value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.value.expand([x.shape[0]] + self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class DropPath(nn.Module):
    """Stochastic depth: while training, zero a whole sample's branch with probability p (survivors scaled
    by 1 / (1 - p)); the identity in eval mode."""

    def __init__(self, p: float):
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty([x.shape[0]] + [1] * (x.dim() - 1), dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Placeholder(nn.Module):
    """Stands for an imported operation DeepWire cannot compute: returns zeros of per-sample `shape`."""

    shape: list[int]

    def __init__(self, shape: list[int]):
        super().__init__()
        self.shape = [int(d) for d in shape]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros([x.shape[0]] + self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"
