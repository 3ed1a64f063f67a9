"""The trainable BAHE upper part and CTR head as a pure function of named parameters."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .checkpoint import Checkpoint
from .layers import additive_mask, bert_layer, masked_mean


@dataclass(frozen=True)
class AggregatorShape:
    hidden: int
    heads: int
    eps: float
    upper_layers: int
    types: int
    history: int
    side: int
    projection: int = 64
    mlp_hidden: tuple[int, ...] = (256, 64)
    # Index of the side feature that gates the item-text prior (1 for an item never seen, falling
    # towards 0 as the item's own rate takes over); None leaves the prior out.
    prior_feature: int | None = None


def initial_parameters(
    ckpt: Checkpoint,
    lower_layers: int,
    shape: AggregatorShape,
    side_names: list[str],
    wide_init: dict[str, float],
    seed: int = 0,
) -> dict[str, tuple[torch.Tensor, str]]:
    """Name -> (initial tensor, group), in the order of the parameter table and the graph inputs."""
    gen = torch.Generator().manual_seed(seed)
    params: dict[str, tuple[torch.Tensor, str]] = {}
    hidden = shape.hidden

    # Behavior-level positions start from the checkpoint's token positions; types start neutral.
    params["upper.position"] = (ckpt.embedding("position_embeddings.weight")[: shape.history].clone(), "upper")
    params["upper.type"] = (torch.zeros(shape.types, hidden), "upper")
    # A pooled vector is not a token state, so it is normalised again with the norm that fed layer K.
    if lower_layers == 0:
        norm_w, norm_b = ckpt.embedding("LayerNorm.weight"), ckpt.embedding("LayerNorm.bias")
    else:
        previous = ckpt.layer(lower_layers - 1)
        norm_w, norm_b = previous["ffn.norm.weight"], previous["ffn.norm.bias"]
    params["upper.input_norm.weight"] = (norm_w.clone(), "upper")
    params["upper.input_norm.bias"] = (norm_b.clone(), "upper")
    for i in range(shape.upper_layers):
        for name, tensor in ckpt.layer(lower_layers + i).items():
            params[f"upper.{i}.{name}"] = (tensor.clone(), "upper")

    def linear(name: str, fan_in: int, fan_out: int, zero: bool = False) -> None:
        bound = 1.0 / math.sqrt(fan_in)
        if zero:
            weight, bias = torch.zeros(fan_out, fan_in), torch.zeros(fan_out)
        else:
            weight = (torch.rand(fan_out, fan_in, generator=gen) * 2 - 1) * bound
            bias = (torch.rand(fan_out, generator=gen) * 2 - 1) * bound
        params[f"{name}.weight"] = (weight, "head")
        params[f"{name}.bias"] = (bias, "head")

    linear("head.user_proj", hidden, shape.projection)
    linear("head.item_proj", hidden, shape.projection)
    width = shape.types * hidden + shape.projection + shape.types + shape.side
    for index, size in enumerate(shape.mlp_hidden):
        linear(f"head.mlp.{index}", width, size)
        width = size
    # The deep part starts at exactly 0 so the first scores come from the wide part alone.
    linear(f"head.mlp.{len(shape.mlp_hidden)}", width, 1, zero=True)

    # Item-text prior: a linear score of the candidate's text, weighted by how cold the item is, so
    # the title informs an item's rate until the item's own clicks do. Starts at zero.
    if shape.prior_feature is not None:
        params["head.prior.weight"] = (torch.zeros(hidden), "prior")
        params["head.prior.bias"] = (torch.zeros(1), "prior")

    # Wide part: starts as the caller's fixed combination of side features (by default the naive-Bayes
    # combination of the smoothed rates), so the first scores are sound before any training.
    wide = torch.tensor([wide_init.get(n, 0.0) for n in side_names])
    params["head.wide.weight"] = (wide, "head")
    params["head.wide.bias"] = (torch.zeros(1), "head")
    return params


def aggregator_logit(
    p: dict[str, torch.Tensor],
    history: torch.Tensor,
    history_mask: torch.Tensor,
    item: torch.Tensor,
    side: torch.Tensor,
    shape: AggregatorShape,
) -> torch.Tensor:
    """history [B,T,N,H], history_mask [B,T,N], item [B,H], side [B,S] -> logit [B]."""
    length, hidden = shape.history, shape.hidden
    x = history + p["upper.position"][None, None] + p["upper.type"][None, :, None]
    x = F.layer_norm(x, (hidden,), p["upper.input_norm.weight"], p["upper.input_norm.bias"], shape.eps)

    # Feature parallel: every behavior type is its own sequence through the same upper layers.
    x = x.reshape(-1, length, hidden)
    mask = history_mask.reshape(-1, length)
    bias = additive_mask(mask)
    for i in range(shape.upper_layers):
        prefix = f"upper.{i}."
        layer = {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}
        x = bert_layer(x, bias, layer, shape.heads, shape.eps)
    users = masked_mean(x, mask, 1, 1.0).reshape(-1, shape.types, hidden)
    return head_logit(p, users, item, side, shape)


def head_logit(
    p: dict[str, torch.Tensor], users: torch.Tensor, item: torch.Tensor, side: torch.Tensor, shape: AggregatorShape
) -> torch.Tensor:
    """The CTR head: users [B,T,H] (one representation per behavior type), item [B,H], side [B,S] -> logit [B]."""
    types, hidden = shape.types, shape.hidden
    user_proj = F.linear(users, p["head.user_proj.weight"], p["head.user_proj.bias"])
    item_proj = F.linear(item, p["head.item_proj.weight"], p["head.item_proj.bias"])
    interactions = (user_proj * item_proj.unsqueeze(1)).sum(-1) * (1.0 / math.sqrt(shape.projection))
    deep = torch.cat([users.reshape(-1, types * hidden), item_proj, interactions, side], dim=-1)
    last = len(shape.mlp_hidden)
    for index in range(last):
        deep = F.relu(F.linear(deep, p[f"head.mlp.{index}.weight"], p[f"head.mlp.{index}.bias"]))
    deep = F.linear(deep, p[f"head.mlp.{last}.weight"], p[f"head.mlp.{last}.bias"]).squeeze(-1)

    wide = (side * p["head.wide.weight"]).sum(-1) + p["head.wide.bias"]
    if shape.prior_feature is not None:
        # On the unit-length vector, so the prior's step size does not depend on the encoder's scale.
        unit = item / item.norm(dim=-1, keepdim=True).clamp(min=1e-6)
        prior = unit @ p["head.prior.weight"] + p["head.prior.bias"]
        wide = wide + side[:, shape.prior_feature] * prior
    return wide + deep


def weighted_bce(logit: torch.Tensor, label: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """sum(weight * bce) / max(sum(weight), 1e-6); padding rows carry weight 0."""
    bce = F.binary_cross_entropy_with_logits(logit, label, reduction="none")
    return (weight * bce).sum() / weight.sum().clamp(min=1e-6)
