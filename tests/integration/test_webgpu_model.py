"""The demo's digit classifier: the training script reaches the documented accuracy, and the committed
ONNX model does too when run by ONNX Runtime."""
from __future__ import annotations

import json
import sys

from ..support.fixtures import ROOT

DEMO = ROOT / "deploy" / "webgpu-demo"
sys.path.insert(0, str(DEMO))
import train_digits  # noqa: E402

DOCUMENTED = json.loads((DEMO / "site/model/metrics.json").read_text())


def test_training_reaches_the_documented_accuracy(tmp_path):
    metrics = train_digits.main(tmp_path)
    assert metrics["held_out"] == 450
    assert metrics["accuracy_onnx"] >= 0.95
    assert abs(metrics["accuracy_onnx"] - DOCUMENTED["accuracy_onnx"]) < 0.02


def test_committed_model_classifies_the_held_out_digits():
    _, (x_test, y_test) = train_digits.train()
    assert train_digits.onnx_accuracy(DEMO / "site/model/digits.onnx", x_test, y_test) >= 0.95
