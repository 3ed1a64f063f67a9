"""The benchmark's graphs for a small configuration; run with the compiler's venv:
python -m unittest discover -s tools/model-compiler/tests
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compile import parse_all  # noqa: E402
from bahe_compiler.token_baseline import BAHE_ONLY, build_bench_graphs  # noqa: E402


class BenchGraphs(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.dir = Path(tempfile.mkdtemp(prefix="bahe-bench-graphs-test-"))
        args, options = parse_all([
            "--out", str(cls.dir), "--bench-graphs", "2", "--tokens-per-behavior", "4",
            "--train-batch-size", "8", "--max-tokens", "16", "--skip-speed",
        ])
        build_bench_graphs(options, args.bench_graphs, args.tokens_per_behavior)
        cls.manifest = json.loads((cls.dir / "bench-graphs.json").read_text())

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_the_token_level_model_trains_the_same_parameters_as_bahe_less_the_behavior_level_ones(self) -> None:
        graphs = self.manifest["graphs"]["2"]
        self.assertEqual(graphs["tokensPerType"], 8)
        bahe, token = graphs["bahe"]["parameters"], graphs["token"]["parameters"]
        self.assertEqual(token, [name for name in bahe if name not in BAHE_ONLY])
        self.assertTrue(set(BAHE_ONLY) <= set(bahe))
        self.assertLess(self.manifest["checks"]["tokenTrainStep"]["maxRelError"], 1e-3)

    def test_token_states_pooled_are_the_encoders_vectors(self) -> None:
        # Mean-pooling the token states over the real tokens must give what encoder.onnx gives.
        states = ort.InferenceSession(str(self.dir / self.manifest["tokenStates"]["file"]), providers=["CPUExecutionProvider"])
        ids = np.array([[101, 7592, 2088, 102, 0, 0], [101, 2204, 2305, 2003, 2307, 102]], np.int64)
        mask = (ids != 0).astype(np.int64)
        out = states.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        self.assertEqual(out.shape, (2, 6, 384))
        pooled = (out * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        encoder = ort.InferenceSession(
            str(Path(__file__).resolve().parents[3] / "model" / "default" / "encoder.onnx"),
            providers=["CPUExecutionProvider"],
        )
        want = encoder.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        cosine = (pooled * want).sum(-1) / (np.linalg.norm(pooled, axis=-1) * np.linalg.norm(want, axis=-1))
        self.assertGreater(float(cosine.min()), 0.9999)


if __name__ == "__main__":
    unittest.main()
