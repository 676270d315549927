"""Plain-torch modules behind the recurrent, attention and merge layers.

No DeepWire imports, so exported standalone code can reuse this file as is. Every module is
stateless between calls (no carried hidden state), so one instance can serve shared-weight nodes.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class Recurrent(nn.Module):
    """Runs a batch-first nn.RNN/LSTM/GRU and returns only its outputs, never the (h, c) states.

    return_sequences=True gives every step (N, T, H*dirs). False gives the last step (N, H*dirs);
    when bidirectional, that is the forward direction at t=T-1 joined with the backward direction at
    t=0, i.e. both final hidden states.
    """

    def __init__(self, rnn: nn.RNNBase, return_sequences: bool):
        super().__init__()
        self.rnn = rnn
        self.return_sequences = return_sequences
        self.hidden_size = rnn.hidden_size
        self.bidirectional = rnn.bidirectional

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.rnn(x)[0]
        if self.return_sequences:
            return out
        if self.bidirectional:
            h = self.hidden_size
            return torch.cat([out[:, -1, :h], out[:, 0, h:]], dim=-1)
        return out[:, -1]


class Attention(nn.Module):
    """Batch-first multi-head attention returning only the attended output (N, T, E).

    Without `key_value` the query attends to itself (self-attention); with it, to the other sequence
    (cross-attention). `causal` hides later positions from each query (self-attention only).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, causal: bool = False,
                 kv_dim: int | None = None):
        super().__init__()
        self.attn = nn.MultiheadAttention(embed_dim, num_heads, dropout=dropout, batch_first=True,
                                          kdim=kv_dim, vdim=kv_dim)
        self.causal = causal

    def forward(self, query: torch.Tensor, key_value: torch.Tensor | None = None) -> torch.Tensor:
        kv = query if key_value is None else key_value
        mask: torch.Tensor | None = None
        if self.causal:
            t = query.shape[1]
            mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=query.device), diagonal=1)
        return self.attn(query, kv, kv, need_weights=False, attn_mask=mask)[0]


class PositionalEncoding(nn.Module):
    """Adds a position signal to a (N, T, D) sequence: fixed sinusoids (a buffer) or learned (a parameter)."""

    def __init__(self, d_model: int, max_len: int, learned: bool = False, dropout: float = 0.0):
        super().__init__()
        if learned:
            self.pe = nn.Parameter(torch.randn(1, max_len, d_model) * 0.02)
        else:
            self.register_buffer("pe", sinusoids(max_len, d_model))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.pe[:, : x.shape[1]])


def sinusoids(max_len: int, d_model: int) -> torch.Tensor:
    """The (1, max_len, d_model) table of "Attention is all you need": sin on even, cos on odd features."""
    pos = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: d_model // 2])
    return pe.unsqueeze(0)


class TokenEmbedding(nn.Embedding):
    """nn.Embedding (same weights and state dict) that names the mistake when it is fed real numbers."""

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.is_floating_point():
            raise TypeError("Embedding needs whole-number token ids (an Input of kind 'tokens'), not real numbers")
        return F.embedding(ids, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)


class Add(nn.Module):
    """Elementwise sum of every input (with broadcasting)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Multiply(nn.Module):
    """Elementwise product of every input (with broadcasting)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Concat(nn.Module):
    """Joins every input along tensor dimension `dim` (batch included in the count)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)


class Distance(nn.Module):
    """Per-pair distance (N, 1) between two batches, each sample flattened: l1, l2 or cosine (1 - cos)."""

    def __init__(self, metric: str):
        super().__init__()
        self.metric = metric

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = a.flatten(1), b.flatten(1)
        if self.metric == "cosine":
            return (1.0 - F.cosine_similarity(a, b, dim=1)).unsqueeze(1)
        order = 1.0 if self.metric == "l1" else 2.0
        return torch.linalg.vector_norm(a - b, ord=order, dim=1, keepdim=True)
