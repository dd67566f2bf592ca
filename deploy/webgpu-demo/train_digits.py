#!/usr/bin/env python3
"""Train the demo's digit classifier offline and export it to ONNX.

Data: scikit-learn's bundled 8x8 handwritten digits (1,797 images, shipped inside the package: no download).
Model: a small MLP (64 -> 32 ReLU -> 10 softmax), trained with a fixed seed on 75 % of the images; accuracy
is measured on the held-out 25 %. The ONNX graph is written by hand (MatMul/Add/Relu/Softmax, opset 13), so
no converter is needed. Input "pixels": float32 [N, 64], values 0..16 like the data set; output
"probabilities": float32 [N, 10].

Usage: python train_digits.py [OUT_DIR]   (default: site/model next to this file)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

SEED = 0


def train():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=SEED, stratify=digits.target)
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=800, random_state=SEED)
    model.fit(x_train / 16.0, y_train)
    return model, (x_test, y_test)


def to_onnx(model):
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w1, w2 = (np.asarray(w, np.float32) for w in model.coefs_)
    b1, b2 = (np.asarray(b, np.float32) for b in model.intercepts_)
    scale = np.array([1 / 16.0], np.float32)  # the model was trained on pixels / 16
    nodes = [
        helper.make_node("Mul", ["pixels", "scale"], ["scaled"]),
        helper.make_node("MatMul", ["scaled", "w1"], ["h1"]),
        helper.make_node("Add", ["h1", "b1"], ["h1b"]),
        helper.make_node("Relu", ["h1b"], ["a1"]),
        helper.make_node("MatMul", ["a1", "w2"], ["h2"]),
        helper.make_node("Add", ["h2", "b2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    inits = [numpy_helper.from_array(a, n) for a, n in ((scale, "scale"), (w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))]
    graph = helper.make_graph(nodes, "digits_mlp",
                              [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 64])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])], inits)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fldeploy")
    onnx_model.ir_version = 8
    return onnx_model


def onnx_accuracy(path: Path, x, y) -> float:
    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    probabilities = session.run(None, {"pixels": np.asarray(x, np.float32)})[0]
    return float((probabilities.argmax(axis=1) == y).mean())


def main(out_dir: Path) -> dict:
    import onnx

    model, (x_test, y_test) = train()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "digits.onnx"
    exported = to_onnx(model)
    onnx.checker.check_model(exported)
    onnx.save(exported, path)
    metrics = {"dataset": "sklearn.datasets.load_digits (8x8, 1797 images)", "held_out": len(y_test),
               "accuracy_sklearn": round(float(model.score(x_test / 16.0, y_test)), 4),
               "accuracy_onnx": round(onnx_accuracy(path, x_test, y_test), 4), "seed": SEED}
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    return metrics


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "site" / "model"
    print(json.dumps(main(target)))
