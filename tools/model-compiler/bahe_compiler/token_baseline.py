"""Graphs for the benchmark's token-level baseline and for BAHE at shorter histories.

The token-level baseline is the model BAHE is measured against: the whole language model runs over
the concatenated tokens of a user's behaviors (one sequence per behavior type), then the same upper
layers and the same CTR head as BAHE's aggregator. Its lower layers are frozen, so they are a
forward-only graph (`token_states.onnx`: token ids -> the last lower layer's states per token); the
upper layers and the head are a train-step graph with the same inputs, outputs and parameter names
as `train_step.onnx`, whose `history` axis holds token states instead of behavior vectors.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .aggregator import AggregatorShape, head_logit, initial_parameters, weighted_bce
from .build import FP16_MIN_ELEMENTS, BuildOptions, _validate, sha256_file
from .checkpoint import load_checkpoint
from .checks import CheckFailed, session
from .encoder import LowerEncoder
from .export import _export, data_input_names, example_data, export_train_step, store_fp16
from .layers import additive_mask, bert_layer, masked_mean

# Parameters of BAHE's aggregator that have no counterpart at token level: behavior positions and
# types (token positions come from the language model's own embeddings) and the norm that
# re-normalises a pooled vector (token states leave the lower layers already normalised).
BAHE_ONLY = ("upper.position", "upper.type", "upper.input_norm.weight", "upper.input_norm.bias")


class TokenStates(LowerEncoder):
    """token ids [B, L] + mask [B, L] -> the last lower layer's hidden state of every token [B, L, H]."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        length = input_ids.shape[1]
        x = self.word[input_ids] + self.position[:length].unsqueeze(0)
        x = torch.nn.functional.layer_norm(x, (x.shape[-1],), self.norm_weight, self.norm_bias, self.eps)
        bias = additive_mask(attention_mask.to(torch.float32))
        flat = iter(self.layers)
        for names in self.layer_names:
            x = bert_layer(x, bias, {name: next(flat) for name in names}, self.heads, self.eps)
        return x


def token_logit(p: dict[str, torch.Tensor], states, mask, item, side, shape: AggregatorShape) -> torch.Tensor:
    """states [B,T,L,H] (token states per type), mask [B,T,L], item [B,H], side [B,S] -> logit [B]."""
    x = states.reshape(-1, shape.history, shape.hidden)
    flat_mask = mask.reshape(-1, shape.history)
    bias = additive_mask(flat_mask)
    for i in range(shape.upper_layers):
        prefix = f"upper.{i}."
        layer = {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}
        x = bert_layer(x, bias, layer, shape.heads, shape.eps)
    users = masked_mean(x, flat_mask, 1, 1.0).reshape(-1, shape.types, shape.hidden)
    return head_logit(p, users, item, side, shape)


def check_token_step(path: Path, names, values, shape: AggregatorShape, batch: int) -> dict:
    """The token-level train step in onnxruntime against torch autograd at perturbed parameters."""
    gen = torch.Generator().manual_seed(7)
    params = [v + 0.05 * torch.randn(v.shape, generator=gen) * (v.abs().mean() + 0.02) for v in values]
    data = example_data(shape, batch, gen)
    leaves = [p.clone().requires_grad_(True) for p in params]
    logit = token_logit(dict(zip(names, leaves)), *data[:4], shape)
    loss = weighted_bce(logit, data[4], data[5])
    grads = torch.autograd.grad(loss, leaves)
    keys = names + data_input_names() + ["label", "weight"]
    feeds = {k: t.detach().numpy().astype(np.float32) for k, t in zip(keys, params + list(data))}
    outs = session(path).run(None, feeds)
    worst = 0.0
    for name, got, want in zip(names, outs[2:], grads):
        if name.endswith("attn.k.bias"):
            continue
        want = want.numpy()
        err = float(np.abs(got - want).max())
        rel = err / max(float(np.abs(want).max()), 1e-12)
        if rel > 1e-3 and err > 1e-6:
            raise CheckFailed(f"{path.name} grad.{name} abs {err:.3g} rel {rel:.3g} against torch autograd")
        worst = max(worst, rel)
    gap = float(np.abs(outs[1] - logit.detach().numpy()).max())
    if gap > 1e-4:
        raise CheckFailed(f"{path.name} logits differ from torch by {gap:.3g}")
    return {"batch": batch, "tokensPerType": shape.history, "maxRelError": worst, "logitMaxAbsError": gap}


def build_bench_graphs(opts: BuildOptions, histories: list[int], tokens_per_behavior: int) -> None:
    """Writes token_states.onnx, and per history length a BAHE and a token-level train step, into opts.out."""
    torch.manual_seed(0)
    ckpt = load_checkpoint(opts.checkpoint, opts.max_tokens)
    upper = _validate(opts, ckpt)
    if max(histories) * tokens_per_behavior > int(ckpt.config.get("max_position_embeddings", 512)):
        raise SystemExit("model-compiler: the longest token sequence exceeds the checkpoint's positions")
    work = Path(tempfile.mkdtemp(prefix="bahe-bench-graphs-"))
    graphs: dict = {}
    checks: dict = {}
    try:
        print(f"[1/3] token states: embeddings + {opts.lower_layers} layers", flush=True)
        lower = TokenStates(ckpt, opts.lower_layers).eval()
        ids = torch.tensor([[101, 2000, 2001, 102], [101, 2003, 102, 0]], dtype=torch.int64)
        batch_dim, length_dim = torch.export.Dim("batch", min=1), torch.export.Dim("length", min=1, max=512)
        dynamic = {"input_ids": {0: batch_dim, 1: length_dim}, "attention_mask": {0: batch_dim, 1: length_dim}}
        _export(lower, (ids, (ids != 0).to(torch.int64)), work / "states.fp32.onnx",
                ["input_ids", "attention_mask"], ["states"], dynamic)
        store_fp16(work / "states.fp32.onnx", work / "token_states.onnx", FP16_MIN_ELEMENTS)
        checks["tokenStates"] = _check_states(work / "token_states.onnx", lower)

        for index, history in enumerate(histories):
            shape = AggregatorShape(
                hidden=ckpt.hidden_size, heads=ckpt.num_heads, eps=ckpt.layer_norm_eps, upper_layers=upper,
                types=len(opts.behavior_types), history=history, side=len(opts.side_features),
                prior_feature=(opts.side_features.index(opts.item_prior_feature)
                               if opts.item_prior_feature in opts.side_features else None),
            )
            params = initial_parameters(ckpt, opts.lower_layers, shape, opts.side_features, opts.wide_init)
            names = list(params)
            values = [t.contiguous() for t, _ in params.values()]
            print(f"[2/3] BAHE train step, {history} behaviors per type", flush=True)
            bahe_file = f"bahe_train_step.h{history}.onnx"
            export_train_step(names, values, shape, opts.train_batch_size, work / bahe_file)

            tokens = history * tokens_per_behavior
            print(f"[3/3] token-level train step, {tokens} tokens per type", flush=True)
            token_names = [n for n in names if n not in BAHE_ONLY]
            token_values = [values[names.index(n)] for n in token_names]
            token_shape = replace(shape, history=tokens)
            token_file = f"token_train_step.h{history}.onnx"
            export_train_step(
                token_names, token_values, token_shape, opts.train_batch_size, work / token_file, token_logit
            )
            if index == 0:
                # One check on the shortest graph: the longer ones differ only in the traced length.
                checks["tokenTrainStep"] = check_token_step(
                    work / token_file, token_names, token_values, token_shape, opts.train_batch_size
                )
            graphs[str(history)] = {
                "behaviorsPerType": history,
                "tokensPerType": tokens,
                "bahe": {"file": bahe_file, "parameters": names},
                "token": {"file": token_file, "parameters": token_names},
            }

        opts.out.mkdir(parents=True, exist_ok=True)
        for file in work.iterdir():
            if file.name != "states.fp32.onnx":
                shutil.copyfile(file, opts.out / file.name)
        manifest = {
            "kind": "bahe-bench-graphs",
            "lowerLayers": opts.lower_layers,
            "upperLayers": upper,
            "behaviorTypes": opts.behavior_types,
            "sideFeatures": opts.side_features,
            "trainBatchSize": opts.train_batch_size,
            "tokensPerBehavior": tokens_per_behavior,
            "sourceSha256": ckpt.safetensors_sha256,
            "tokenStates": {"file": "token_states.onnx", "sha256": sha256_file(opts.out / "token_states.onnx")},
            "graphs": graphs,
            "checks": checks,
        }
        (opts.out / "bench-graphs.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        print(f"done: {opts.out}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_states(path: Path, lower: TokenStates) -> dict:
    """token_states.onnx (float16 storage) against the float32 torch states, by cosine per token."""
    gen = torch.Generator().manual_seed(5)
    ids = torch.randint(1000, 20000, (4, 96), generator=gen)
    mask = torch.ones_like(ids)
    mask[1, 60:] = 0
    with torch.no_grad():
        want = lower(ids, mask).numpy()
    got = session(path).run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    valid = mask.numpy().astype(bool)
    a, b = got[valid], want[valid]
    cosine = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    if float(cosine.min()) < 0.999:
        raise CheckFailed(f"token_states.onnx cosine {float(cosine.min()):.6f} < 0.999")
    return {"tokens": int(valid.sum()), "cosineMin": float(cosine.min())}
