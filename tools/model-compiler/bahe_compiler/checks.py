"""Checks run before anything is written: precision, gradients, logits agreement, speed."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from .aggregator import AggregatorShape, aggregator_logit, weighted_bce
from .export import example_data


class CheckFailed(SystemExit):
    def __init__(self, message: str) -> None:
        super().__init__(f"model-compiler: check failed: {message}")


def session(path: Path, threads: int = 2) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def tokenize(tokenizer, texts: list[str], max_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    enc = tokenizer(texts, truncation=True, max_length=max_tokens, padding=True, return_tensors="np")
    return enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)


def reference_vectors(hf_model, ids: np.ndarray, mask: np.ndarray, lower_layers: int) -> np.ndarray:
    """Full-precision pooled vectors of hidden layer K from the checkpoint's own transformers model."""
    with torch.no_grad():
        out = hf_model(
            input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask), output_hidden_states=True
        )
        states = out.hidden_states[lower_layers]
        weights = torch.from_numpy(mask).to(torch.float32).unsqueeze(-1)
        return ((states * weights).sum(1) / weights.sum(1).clamp(min=1e-9)).numpy()


def encoder_cosine(path: Path, hf_model, tokenizer, texts: list[str], lower_layers: int, max_tokens: int) -> dict:
    """Cosine between encoder.onnx (reduced storage) and the float32 torch model over `texts`."""
    sess = session(path)
    cosines = []
    for start in range(0, len(texts), 128):
        ids, mask = tokenize(tokenizer, texts[start : start + 128], max_tokens)
        got = sess.run(["embedding"], {"input_ids": ids, "attention_mask": mask})[0]
        want = reference_vectors(hf_model, ids, mask, lower_layers)
        dot = (got * want).sum(1)
        cosines.append(dot / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1)))
    all_cos = np.concatenate(cosines)
    return {"texts": len(texts), "min": float(all_cos.min()), "mean": float(all_cos.mean())}


def encoder_speed(path: Path, tokenizer, texts: list[str], max_tokens: int, batch: int = 256, rounds: int = 4) -> float:
    """Behaviors per second for encoder.onnx at one batch size on 2 CPU threads (best of `rounds`)."""
    sess = session(path)
    pool = (texts * (batch // max(1, len(texts)) + 1))[:batch]
    ids, mask = tokenize(tokenizer, pool, max_tokens)
    feeds = {"input_ids": ids, "attention_mask": mask}
    sess.run(None, feeds)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        sess.run(None, feeds)
        best = min(best, time.perf_counter() - start)
    return batch / best


def _torch_step(names, values, shape: AggregatorShape, data):
    params = [v.clone().requires_grad_(True) for v in values]
    history, mask, item, side, label, weight = data
    logit = aggregator_logit(dict(zip(names, params)), history, mask, item, side, shape)
    loss = weighted_bce(logit, label, weight)
    grads = torch.autograd.grad(loss, params)
    return loss.detach(), logit.detach(), [g.detach() for g in grads]


def _feeds(names, values, data) -> dict[str, np.ndarray]:
    keys = names + ["history", "history_mask", "item", "side", "label", "weight"]
    return {k: t.numpy().astype(np.float32) for k, t in zip(keys, list(values) + list(data))}


def gradient_check(
    train_step: Path, aggregator: Path, names: list[str], values: list[torch.Tensor], shape: AggregatorShape, batch: int
) -> dict:
    """train_step.onnx's loss, logits and gradients against torch autograd, and aggregator.onnx's logits.

    Runs at the initial parameters and at perturbed ones (the deep head starts at zero, which would
    hide errors in the gradients that flow through it). Fails loudly on disagreement.
    """
    step_sess, agg_sess = session(train_step), session(aggregator)
    gen = torch.Generator().manual_seed(7)
    worst_abs, worst_rel, zero_grad_abs, logit_gap, loss_gap = 0.0, 0.0, 0.0, 0.0, 0.0
    failures = []
    for case, scale in enumerate((0.0, 0.05)):
        params = [v + scale * torch.randn(v.shape, generator=gen) * (v.abs().mean() + 0.02) for v in values]
        data = example_data(shape, batch, gen)
        loss, logit, grads = _torch_step(names, params, shape, data)
        feeds = _feeds(names, params, data)
        outs = step_sess.run(None, feeds)
        loss_gap = max(loss_gap, abs(float(outs[0]) - float(loss)))
        logit_gap = max(logit_gap, float(np.abs(outs[1] - logit.numpy()).max()))
        agg_logit = agg_sess.run(["logit"], {k: feeds[k] for k in names + ["history", "history_mask", "item", "side"]})[0]
        logit_gap = max(logit_gap, float(np.abs(agg_logit - outs[1]).max()))
        for name, got, want in zip(names, outs[2:], grads):
            want = want.numpy()
            if not np.all(np.isfinite(got)):
                failures.append(f"case {case} grad.{name} is not finite")
                continue
            err = float(np.abs(got - want).max())
            if name.endswith("attn.k.bias"):
                # Softmax ignores a shift shared by every key, so this gradient is exactly zero in
                # exact arithmetic; only its absolute size is meaningful.
                zero_grad_abs = max(zero_grad_abs, err)
                if err > 1e-5:
                    failures.append(f"case {case} grad.{name} abs error {err:.3g}")
                continue
            rel = err / max(float(np.abs(want).max()), 1e-12)
            worst_abs, worst_rel = max(worst_abs, err), max(worst_rel, rel)
            if rel > 1e-3 and err > 1e-6:
                failures.append(f"case {case} grad.{name} abs {err:.3g} rel {rel:.3g}")
    if loss_gap > 1e-4 or logit_gap > 1e-4:
        failures.append(f"loss gap {loss_gap:.3g}, logit gap {logit_gap:.3g}")
    if failures:
        raise CheckFailed("train_step.onnx disagrees with torch autograd: " + "; ".join(failures))
    return {
        "batch": batch,
        "cases": 2,
        "maxAbsError": worst_abs,
        "maxRelError": worst_rel,
        "relErrorDefinition": "max |onnx - torch| / max |torch| per gradient tensor",
        "keyBiasMaxAbs": zero_grad_abs,
        "lossMaxAbsError": loss_gap,
        "logitMaxAbsError": logit_gap,
    }


def train_step_speed(train_step: Path, names, values, shape: AggregatorShape, batch: int, rounds: int = 4) -> float:
    """Samples per second of one train_step.onnx run on 2 CPU threads (best of `rounds`)."""
    sess = session(train_step)
    feeds = _feeds(names, values, example_data(shape, batch, torch.Generator().manual_seed(3)))
    sess.run(None, feeds)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        sess.run(None, feeds)
        best = min(best, time.perf_counter() - start)
    return batch / best
