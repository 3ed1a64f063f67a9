"""Functional BERT layer and masked mean pooling, shared by the encoder and the aggregator."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# Additive attention mask for padding. Finite on purpose: a sequence with no valid position (a
# behavior type the user has no history for) then gets a uniform softmax instead of NaN.
MASK_NEGATIVE = -1.0e9


def additive_mask(mask: torch.Tensor) -> torch.Tensor:
    """[S, L] 0/1 mask -> [S, 1, 1, L] additive attention bias."""
    return ((1.0 - mask) * MASK_NEGATIVE)[:, None, None, :]


def bert_layer(x: torch.Tensor, bias: torch.Tensor, p: dict[str, torch.Tensor], heads: int, eps: float) -> torch.Tensor:
    """Post-LN BERT layer on [S, L, H] with parameters named `attn.q.weight`, ... (see checkpoint.LAYER_KEYS)."""
    seqs, length, hidden = x.shape
    head_dim = hidden // heads

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(seqs, length, heads, head_dim).transpose(1, 2)

    q = split(F.linear(x, p["attn.q.weight"], p["attn.q.bias"]))
    k = split(F.linear(x, p["attn.k.weight"], p["attn.k.bias"]))
    v = split(F.linear(x, p["attn.v.weight"], p["attn.v.bias"]))
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(head_dim)) + bias
    context = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(seqs, length, hidden)

    attended = F.layer_norm(
        F.linear(context, p["attn.out.weight"], p["attn.out.bias"]) + x,
        (hidden,), p["attn.norm.weight"], p["attn.norm.bias"], eps,
    )
    inner = F.gelu(F.linear(attended, p["ffn.in.weight"], p["ffn.in.bias"]))
    return F.layer_norm(
        F.linear(inner, p["ffn.out.weight"], p["ffn.out.bias"]) + attended,
        (hidden,), p["ffn.norm.weight"], p["ffn.norm.bias"], eps,
    )


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int, min_count: float) -> torch.Tensor:
    """Mean of `x` over `dim` where `mask` is 1; `min_count` keeps an all-padding row at 0 instead of NaN."""
    weights = mask.unsqueeze(-1)
    return (x * weights).sum(dim) / weights.sum(dim).clamp(min=min_count)
