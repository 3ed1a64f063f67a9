"""Made-up behavior texts and the reference fixtures the TypeScript side tests against."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from .checks import reference_vectors, tokenize

# Written for these fixtures; none come from a dataset.
TOKENIZER_TEXTS = [
    "hello world",
    "Hello World",
    "HELLO, WORLD!",
    "The Quiet Harbour (1995)",
    "Midnight Garden Part II (2003)",
    "Café au lait",
    "naïve résumé façade",
    "Ångström Über Straße",
    "São Paulo crónica",
    "crème brûlée recipes",
    "¿Dónde está la estación?",
    "rock'n'roll & blues",
    "e-mail: someone@example.org",
    "price: $12.50 (was $15)",
    "3.14159 is pi, 2.71828 is e",
    "1,000,000 reasons",
    "2024-05-17 12:30:00",
    "tv-show season 3 episode 12",
    "don't stop; won't stop",
    "Well... that's \"interesting\"",
    "东京物语",
    "北京 weather today",
    "こんにちは 世界",
    "서울 여행",
    "movie night 🍿🎬",
    "👍",
    "   leading and trailing spaces   ",
    "tabs\tand\nnewlines\r\nmixed",
    "many     spaces     between",
    " ",
    "",
    ".",
    "?!",
    "unaffable counterrevolutionaries",
    "supercalifragilisticexpialidocious",
    "a",
    "x y z 1 2 3",
    "Résumé of a Long Journey Through the Mountains, the Valleys, and the Rivers of a Country Far Away (1987)",
    " ".join(["word"] * 60),
    "The Fellowship of the Small Teapot: Extended Edition, Part One of Three, Director's Cut (2001)",
]

ENCODER_TEXTS = [
    "The Quiet Harbour (1995)",
    "Café au lait",
    "movie night 🍿🎬",
    "北京 weather today",
    "price: $12.50 (was $15)",
    "a",
    "tabs\tand\nnewlines\r\nmixed",
    "Résumé of a Long Journey Through the Mountains, the Valleys, and the Rivers of a Country Far Away (1987)",
]


def write_tokenizer_vectors(tokenizer, max_tokens: int, path: Path) -> None:
    cases = []
    for text in TOKENIZER_TEXTS:
        ids = tokenizer(text, truncation=True, max_length=max_tokens)["input_ids"]
        cases.append({"text": text, "ids": [int(i) for i in ids]})
    _write_json(path, cases)


def write_encoder_reference(hf_model, tokenizer, lower_layers: int, max_tokens: int, encoder_version: str, path: Path) -> None:
    cases = []
    for text in ENCODER_TEXTS:
        ids, mask = tokenize(tokenizer, [text], max_tokens)
        vector = reference_vectors(hf_model, ids, mask, lower_layers)[0]
        cases.append({"text": text, "ids": ids[0].tolist(), "embedding": [round(float(x), 7) for x in vector]})
    doc = {
        "encoderVersion": encoder_version,
        "lowerLayers": lower_layers,
        "maxTokens": max_tokens,
        "minCosine": 0.999,
        "note": "float32 torch vectors of the checkpoint's layer-K mean pooling; encoder.onnx stores weights in float16",
        "cases": cases,
    }
    _write_json(path, doc)


def _compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _write_json(path: Path, value) -> None:
    """One case per line, so a diff of a regenerated fixture shows which cases changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(value, list):
        text = "[\n" + ",\n".join("  " + _compact(case) for case in value) + "\n]\n"
    else:
        head = {k: v for k, v in value.items() if k != "cases"}
        body = ",\n".join("    " + _compact(case) for case in value["cases"])
        text = _compact(head)[:-1] + ', "cases": [\n' + body + "\n]}\n"
    json.loads(text)
    path.write_text(text, encoding="utf-8")


def movielens_titles(folder: Path, count: int) -> list[str]:
    """Titles from a MovieLens `u.item` (Latin-1, second `|` field), read for checks only, never written out."""
    path = folder / "u.item"
    if not path.is_file():
        raise SystemExit(f"model-compiler: {path} not found; --titles must name a folder holding MovieLens u.item")
    titles = [line.split("|")[1] for line in path.read_text(encoding="latin-1").splitlines() if "|" in line]
    titles = [t for t in titles if t.strip()]
    rng = np.random.default_rng(0)
    if len(titles) > count:
        titles = [titles[i] for i in sorted(rng.choice(len(titles), count, replace=False))]
    return titles


def format_like_the_repository(paths: list[Path]) -> None:
    """Lays JSON out as the repository's Biome formatter does, so `npm run lint` stays clean.

    Uses the Biome of the nearest node_modules above the files; without one the files keep the
    compiler's own layout (valid JSON, one case per line) and a note says so.
    """
    folder = paths[0].resolve().parent
    for candidate in [folder, *folder.parents]:
        biome = candidate / "node_modules" / ".bin" / "biome"
        if biome.exists():
            subprocess.run([str(biome), "format", "--write", *map(str, paths)], cwd=candidate, check=True,
                           stdout=subprocess.DEVNULL)
            return
    print(f"      note: no node_modules/.bin/biome above {folder}; fixtures left unformatted", flush=True)
