"""The frozen lower part: embeddings + lower K layers + masked mean pooling."""

from __future__ import annotations

import torch
from torch import nn

from .checkpoint import Checkpoint
from .layers import additive_mask, bert_layer, masked_mean


class LowerEncoder(nn.Module):
    """token ids [B, L] + mask [B, L] -> pooled vector [B, H] from the last lower layer."""

    def __init__(self, ckpt: Checkpoint, lower_layers: int) -> None:
        super().__init__()
        self.heads = ckpt.num_heads
        self.eps = ckpt.layer_norm_eps
        self.word = nn.Parameter(ckpt.embedding("word_embeddings.weight").clone(), requires_grad=False)
        # Behavior texts are single segments, so token type 0 is folded into the position table.
        token_type0 = ckpt.embedding("token_type_embeddings.weight")[0]
        self.position = nn.Parameter(ckpt.embedding("position_embeddings.weight") + token_type0, requires_grad=False)
        self.norm_weight = nn.Parameter(ckpt.embedding("LayerNorm.weight").clone(), requires_grad=False)
        self.norm_bias = nn.Parameter(ckpt.embedding("LayerNorm.bias").clone(), requires_grad=False)
        self.layers = nn.ParameterList()
        self.layer_names: list[list[str]] = []
        for index in range(lower_layers):
            names = []
            for name, tensor in ckpt.layer(index).items():
                self.layers.append(nn.Parameter(tensor.clone(), requires_grad=False))
                names.append(name)
            self.layer_names.append(names)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        length = input_ids.shape[1]
        x = self.word[input_ids] + self.position[:length].unsqueeze(0)
        x = torch.nn.functional.layer_norm(x, (x.shape[-1],), self.norm_weight, self.norm_bias, self.eps)
        mask = attention_mask.to(torch.float32)
        bias = additive_mask(mask)
        flat = iter(self.layers)
        for names in self.layer_names:
            params = {name: next(flat) for name in names}
            x = bert_layer(x, bias, params, self.heads, self.eps)
        # Same clamp as sentence-transformers' mean pooling.
        return masked_mean(x, mask, 1, 1e-9)
