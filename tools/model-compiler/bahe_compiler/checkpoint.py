"""Reads a BERT-like checkpoint folder: config, weights, vocabulary and tokenizer settings."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

# Our layer parameter names against the checkpoint's (Hugging Face BertModel layout).
LAYER_KEYS = {
    "attn.q": "attention.self.query",
    "attn.k": "attention.self.key",
    "attn.v": "attention.self.value",
    "attn.out": "attention.output.dense",
    "attn.norm": "attention.output.LayerNorm",
    "ffn.in": "intermediate.dense",
    "ffn.out": "output.dense",
    "ffn.norm": "output.LayerNorm",
}


@dataclass
class Checkpoint:
    folder: Path
    config: dict
    weights: dict[str, torch.Tensor]
    tokenizer: dict
    safetensors_sha256: str

    @property
    def hidden_size(self) -> int:
        return int(self.config["hidden_size"])

    @property
    def num_layers(self) -> int:
        return int(self.config["num_hidden_layers"])

    @property
    def num_heads(self) -> int:
        return int(self.config["num_attention_heads"])

    @property
    def layer_norm_eps(self) -> float:
        return float(self.config.get("layer_norm_eps", 1e-12))

    def layer(self, index: int) -> dict[str, torch.Tensor]:
        """One transformer layer's weights under our names (`attn.q.weight`, ...)."""
        out = {}
        for ours, theirs in LAYER_KEYS.items():
            for kind in ("weight", "bias"):
                out[f"{ours}.{kind}"] = self.weights[f"encoder.layer.{index}.{theirs}.{kind}"]
        return out

    def embedding(self, name: str) -> torch.Tensor:
        return self.weights[f"embeddings.{name}"]


def _fail(message: str) -> None:
    raise SystemExit(f"model-compiler: {message}")


def load_checkpoint(folder: Path, max_tokens: int) -> Checkpoint:
    """Loads config.json, model.safetensors and vocab.txt; fails naming the file that is missing or unusable."""
    for name in ("config.json", "model.safetensors", "vocab.txt"):
        if not (folder / name).is_file():
            _fail(f"{folder / name} is missing; the checkpoint folder needs config.json, model.safetensors, vocab.txt")
    config = json.loads((folder / "config.json").read_text())
    if config.get("model_type") not in ("bert", None) or config.get("position_embedding_type", "absolute") != "absolute":
        _fail(f"{folder}/config.json: only BERT-like models with absolute position embeddings are supported")
    if config.get("hidden_act", "gelu") != "gelu":
        _fail(f"{folder}/config.json: hidden_act must be 'gelu' (exact erf GELU), got {config.get('hidden_act')}")

    raw = load_file(str(folder / "model.safetensors"))
    # Checkpoints saved from a task model (BertForX) prefix every key with "bert.".
    prefix = "bert." if any(k.startswith("bert.embeddings.") for k in raw) else ""
    weights = {k[len(prefix):]: v.float() for k, v in raw.items() if k.startswith(prefix) and v.is_floating_point()}
    if "embeddings.word_embeddings.weight" not in weights:
        _fail(f"{folder}/model.safetensors has no embeddings.word_embeddings.weight (not a BERT-like checkpoint)")

    digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    return Checkpoint(folder, config, weights, _tokenizer_settings(folder, max_tokens), digest)


def _tokenizer_settings(folder: Path, max_tokens: int) -> dict:
    tok_config_path = folder / "tokenizer_config.json"
    tok_config = json.loads(tok_config_path.read_text()) if tok_config_path.is_file() else {}
    lowercase = bool(tok_config.get("do_lower_case", True))
    strip = tok_config.get("strip_accents")
    # BERT's basic tokenizer strips accents whenever it lowercases, unless told otherwise.
    strip_accents = lowercase if strip is None else bool(strip)
    vocab = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")
    ids = {token: i for i, token in enumerate(vocab)}
    for token in ("[CLS]", "[SEP]", "[PAD]", "[UNK]"):
        if token not in ids:
            _fail(f"{folder}/vocab.txt has no {token} token")
    return {
        "vocab": "tokenizer/vocab.txt",
        "lowercase": lowercase,
        "stripAccents": strip_accents,
        "maxTokens": max_tokens,
        "clsId": ids["[CLS]"],
        "sepId": ids["[SEP]"],
        "padId": ids["[PAD]"],
        "unkId": ids["[UNK]"],
    }
