"""End-to-end compile of a small model into a temp folder; run with the compiler's venv:
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

from compile import parse  # noqa: E402
from bahe_compiler.build import build  # noqa: E402


class CompileSmallModel(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.dir = Path(tempfile.mkdtemp(prefix="bahe-compile-test-"))
        build(parse([
            "--out", str(cls.dir / "model"), "--fixtures", str(cls.dir / "fixtures"),
            "--lower-layers", "5", "--behavior-types", "a,b,c", "--max-history", "4",
            "--train-batch-size", "8", "--max-tokens", "16", "--skip-speed",
        ]))
        cls.manifest = json.loads((cls.dir / "model" / "manifest.json").read_text())

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.dir, ignore_errors=True)

    def params(self) -> dict[str, np.ndarray]:
        blob = np.fromfile(self.dir / "model" / "params.init.bin", dtype="<f4")
        out = {}
        for entry in self.manifest["parameters"]["entries"]:
            start, size = entry["offset"] // 4, int(np.prod(entry["shape"]))
            out[entry["name"]] = blob[start : start + size].reshape(entry["shape"])
        return out

    def test_parameter_table_is_contiguous_and_matches_graph_inputs(self) -> None:
        entries = self.manifest["parameters"]["entries"]
        offset = 0
        for entry in entries:
            self.assertEqual(entry["offset"], offset, entry["name"])
            offset += 4 * int(np.prod(entry["shape"]))
        self.assertEqual(offset, (self.dir / "model" / "params.init.bin").stat().st_size)
        sess = ort.InferenceSession(str(self.dir / "model" / "train_step.onnx"), providers=["CPUExecutionProvider"])
        self.assertEqual([i.name for i in sess.get_inputs()], self.manifest["graphs"]["trainStep"]["inputs"])
        self.assertEqual([o.name for o in sess.get_outputs()], self.manifest["graphs"]["trainStep"]["outputs"])

    def test_untrained_model_scores_by_the_wide_part_even_with_no_history(self) -> None:
        feeds = self.params()
        batch = 3
        feeds["history"] = np.zeros((batch, 3, 4, 384), np.float32)
        feeds["history_mask"] = np.zeros((batch, 3, 4), np.float32)
        feeds["item"] = np.ones((batch, 384), np.float32)
        # Default side features: user_lift, item_lift, global_rate (wide weights 1), two counts (0), and
        # item_coldness, which gates the item-text prior (zero before training).
        feeds["side"] = np.array([[0.5, -1.0, 2.0, 3.0, 4.0, 1.0]] * batch, np.float32)
        sess = ort.InferenceSession(str(self.dir / "model" / "aggregator.onnx"), providers=["CPUExecutionProvider"])
        logit = sess.run(["logit"], feeds)[0]
        np.testing.assert_allclose(logit, [1.5] * batch, atol=1e-6)

    def test_checks_and_fixtures_are_recorded(self) -> None:
        checks = self.manifest["checks"]
        self.assertGreaterEqual(checks["encoderCosine"]["min"], 0.999)
        self.assertLess(checks["gradients"]["maxRelError"], 1e-3)
        reference = json.loads((self.dir / "fixtures" / "encoder-reference.json").read_text())
        self.assertEqual(reference["encoderVersion"], self.manifest["encoderVersion"])
        self.assertEqual(len(reference["cases"][0]["embedding"]), 384)
        vectors = json.loads((self.dir / "fixtures" / "tokenizer-vectors.json").read_text())
        self.assertTrue(all(len(case["ids"]) <= 16 for case in vectors))


if __name__ == "__main__":
    unittest.main()
