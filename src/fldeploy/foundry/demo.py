"""The offline demo model: a tiny deterministic chat model and a local stand-in of Foundry's catalog.

Used where Foundry's public catalog cannot be reached (air-gapped hosts, CI). The model always answers
"Hello from tiny model". Everything that serves it is the real Foundry Local runtime; only the remote
catalog service is replaced, by a server that lists this one model in the catalog's own JSON format
(the fields Foundry's CatalogModelToModelInfo reads). Building needs the `demo` extra (onnx, tokenizers).
"""
from __future__ import annotations

import json
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME, VERSION, ALIAS = "tiny-llama-generic-cpu", 1, "tiny-llama"
MODEL_ID = f"{NAME}:{VERSION}"
REPLY = "Hello from tiny model"
# Foundry only accepts catalog URLs whose path ends like this.
CATALOG_PATH = "/asset-gallery/v1.0/models"
CHAT_TEMPLATE = ("{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] + "
                 "'<|end|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}")
CONTEXT = 8192  # Open WebUI sends no max_tokens; Foundry then budgets 2048 output tokens


def _tokenizer(out_dir: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    specials = ["<s>", "</s>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    corpus = [REPLY, "hello world, this is a tiny model.", "hi there! how are you today?",
              "The quick brown fox jumps over the lazy dog."] * 20
    tok.train_from_iterator(corpus, trainer)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    _write_json(os.path.join(out_dir, "tokenizer_config.json"), {
        "tokenizer_class": "GPT2Tokenizer", "bos_token": "<s>", "eos_token": "</s>", "pad_token": "</s>",
        "unk_token": None, "add_bos_token": False, "model_max_length": CONTEXT, "chat_template": CHAT_TEMPLATE})
    with open(os.path.join(out_dir, "chat_template.jinja"), "w") as f:
        f.write(CHAT_TEMPLATE)
    return tok


def _graph(table, vocab: int):
    """A one-layer graph with ONNX Runtime GenAI's decoder interface; logits = bigram table lookup."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    heads, head_size = 1, 8
    ints = {"c0": [0], "c1": [1], "c2": [2], "c_heads": [heads], "c_hs": [head_size]}
    inits = [numpy_helper.from_array(table, "table")]
    inits += [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in ints.items()]
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["logits"], axis=0),
        helper.make_node("Shape", ["input_ids"], ["ids_shape"]),
        helper.make_node("Slice", ["ids_shape", "c0", "c1"], ["batch"]),
        helper.make_node("Slice", ["ids_shape", "c1", "c2"], ["seq"]),
        helper.make_node("Concat", ["batch", "c_heads", "seq", "c_hs"], ["kv_shape"], axis=0),
        helper.make_node("ConstantOfShape", ["kv_shape"], ["new_kv"],
                         value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0])),
    ]
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "total"])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", vocab])]
    for kv in ("key", "value"):
        past, present = f"past_key_values.0.{kv}", f"present.0.{kv}"
        inputs.append(helper.make_tensor_value_info(past, TensorProto.FLOAT, ["batch", heads, "past", head_size]))
        outputs.append(helper.make_tensor_value_info(present, TensorProto.FLOAT,
                                                     ["batch", heads, "total", head_size]))
        nodes.append(helper.make_node("Concat", [past, "new_kv"], [present], axis=2))
    graph = helper.make_graph(nodes, "tiny_bigram_decoder", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, heads, head_size


def build_model(out_dir: str) -> str:
    """Write the tiny model (model.onnx, genai_config.json, tokenizer) into out_dir; < 1 s."""
    import numpy as np
    import onnx

    os.makedirs(out_dir, exist_ok=True)
    tok = _tokenizer(out_dir)
    vocab, eos, bos = tok.get_vocab_size(), tok.token_to_id("</s>"), tok.token_to_id("<s>")
    chain = [tok.token_to_id("<|assistant|>")] + tok.encode(REPLY).ids
    table = np.zeros((vocab, vocab), np.float32)
    table[:, eos] = 10.0  # any token not on the reply chain ends the answer
    for i, token in enumerate(chain):
        table[token, :] = 0.0
        table[token, chain[i + 1] if i + 1 < len(chain) else eos] = 10.0
    model, heads, head_size = _graph(table, vocab)
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, "model.onnx"))
    names = {"past_key_names": "past_key_values.%d.key", "past_value_names": "past_key_values.%d.value"}
    _write_json(os.path.join(out_dir, "genai_config.json"), {
        "model": {
            "bos_token_id": bos, "eos_token_id": eos, "pad_token_id": eos, "context_length": CONTEXT,
            "type": "llama", "vocab_size": vocab,
            "decoder": {
                "session_options": {"log_id": "onnxruntime-genai", "provider_options": []},
                "filename": "model.onnx", "head_size": head_size, "hidden_size": heads * head_size,
                "num_attention_heads": heads, "num_key_value_heads": heads, "num_hidden_layers": 1,
                "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask", **names},
                "outputs": {"logits": "logits", "present_key_names": "present.%d.key",
                            "present_value_names": "present.%d.value"},
            },
        },
        # this graph returns fresh KV tensors, so the buffers cannot be shared
        "search": {"do_sample": False, "num_beams": 1, "max_length": CONTEXT, "min_length": 0,
                   "past_present_share_buffer": False, "temperature": 1.0, "top_k": 1, "top_p": 1.0,
                   "repetition_penalty": 1.0, "length_penalty": 1.0, "early_stopping": True,
                   "diversity_penalty": 0.0, "no_repeat_ngram_size": 0, "num_return_sequences": 1},
    })
    return out_dir


def install_into_cache(model_dir: str, cache_dir: str) -> str:
    """Lay the model out where Foundry's cache scanner finds it: <cache>/<publisher>/<dir>/ + inference_model.json."""
    target = os.path.join(cache_dir, "local", f"{NAME}-{VERSION}")
    marker = os.path.join(target, "inference_model.json")
    if not os.path.exists(marker):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(model_dir, target)
        _write_json(marker, {"Name": MODEL_ID})
    return target


def prepare(cache_dir: str, build_dir: str) -> None:
    """Build the model once (kept in build_dir) and install it into Foundry's model cache."""
    if not os.path.exists(os.path.join(build_dir, "genai_config.json")):
        build_model(build_dir)
    install_into_cache(build_dir, cache_dir)


def catalog_entry() -> dict:
    asset = f"azureml://registries/local/models/{NAME}/versions/{VERSION}"
    return {
        "assetId": asset,
        "entityId": MODEL_ID,
        "annotations": {"tags": {"alias": ALIAS, "task": "chat-completion"},
                        "systemCatalogData": {"publisher": "local", "displayName": "Tiny demo model (offline)"}},
        "properties": {
            "name": NAME, "version": VERSION,
            "variantInfo": {
                "parents": [{"assetId": f"azureml://registries/local/models/{ALIAS}/versions/{VERSION}"}],
                "variantMetadata": {"modelType": "ONNX", "device": "CPU",
                                    "executionProvider": "CPUExecutionProvider", "fileSizeBytes": 1000000}},
            "creationContext": {"createdTime": "2026-01-01T00:00:00Z"},
        },
    }


def start_catalog(host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Serve the one-model catalog in a background thread; returns (server, catalog URL)."""
    body = json.dumps({"value": [catalog_entry()]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)  # Foundry POSTs a filter; one model matches any filter
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="catalog-standin").start()
    return server, f"http://{host}:{server.server_address[1]}{CATALOG_PATH}"


def _write_json(path: str, doc: dict) -> None:
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
