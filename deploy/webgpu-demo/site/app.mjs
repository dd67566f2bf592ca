// Draw a digit, classify it on this device: WebGPU when the browser offers an adapter, WASM otherwise.
import * as ort from "./vendor/ort/ort.webgpu.min.mjs";

ort.env.wasm.wasmPaths = new URL("./vendor/ort/", import.meta.url).href;
ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one is plenty for this model
ort.env.wasm.proxy = false;

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d", { willReadFrequently: true });
let session = null;
let provider = null;

function clearPad() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
  $("prediction").textContent = "—";
  $("scores").replaceChildren();
}

// The model was trained on scikit-learn's 8x8 digits: white ink on black, each cell 0..16.
function pixels8x8() {
  const cell = pad.width / 8;
  const data = ctx.getImageData(0, 0, pad.width, pad.height).data;
  const out = new Float32Array(64);
  for (let gy = 0; gy < 8; gy++) {
    for (let gx = 0; gx < 8; gx++) {
      let sum = 0;
      for (let y = gy * cell; y < (gy + 1) * cell; y++) {
        for (let x = gx * cell; x < (gx + 1) * cell; x++) sum += data[(y * pad.width + x) * 4];
      }
      out[gy * 8 + gx] = (sum / (cell * cell) / 255) * 16;
    }
  }
  return out;
}

async function classify() {
  if (!session) return null; // drawing works before the model has loaded
  const input = new ort.Tensor("float32", pixels8x8(), [1, 64]);
  const started = performance.now();
  const result = await session.run({ pixels: input });
  const elapsed = performance.now() - started;
  const scores = Array.from(result.probabilities.data);
  const best = scores.indexOf(Math.max(...scores));
  $("prediction").textContent = String(best);
  $("time").textContent = `${elapsed.toFixed(1)} ms`;
  $("scores").replaceChildren(...scores.map((p, digit) => {
    const li = document.createElement("li");
    li.className = digit === best ? "best" : "";
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${Math.round(p * 120)}px`;
    li.append(`${digit}: ${(p * 100).toFixed(1)}%`, bar);
    return li;
  }));
  return { digit: best, scores, ms: elapsed, provider };
}

async function chooseProvider() {
  if (!navigator.gpu) return ["wasm", "WebGPU is not available in this browser: using WebAssembly."];
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (adapter) return ["webgpu", "Running on the GPU through WebGPU."];
    return ["wasm", "WebGPU found no GPU adapter: using WebAssembly."];
  } catch (error) {
    return ["wasm", `WebGPU failed (${error.message}): using WebAssembly.`];
  }
}

function enableDrawing() {
  let drawing = false;
  const point = (event) => {
    const box = pad.getBoundingClientRect();
    return [(event.clientX - box.left) * (pad.width / box.width), (event.clientY - box.top) * (pad.height / box.height)];
  };
  pad.addEventListener("pointerdown", (e) => { drawing = true; ctx.beginPath(); ctx.moveTo(...point(e)); });
  pad.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    ctx.lineTo(...point(e));
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 22;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.stroke();
  });
  window.addEventListener("pointerup", () => { if (drawing) { drawing = false; classify(); } });
}

async function main() {
  clearPad();
  enableDrawing();
  $("clear").addEventListener("click", clearPad);
  let note;
  [provider, note] = await chooseProvider();
  try {
    session = await ort.InferenceSession.create("./model/digits.onnx", { executionProviders: [provider] });
  } catch (error) {
    if (provider !== "webgpu") throw error;
    note = `WebGPU could not run the model (${error.message}): using WebAssembly.`;
    provider = "wasm";
    session = await ort.InferenceSession.create("./model/digits.onnx", { executionProviders: ["wasm"] });
  }
  $("ep").textContent = provider;
  $("ep-note").textContent = note;
  $("classify").disabled = false;
  $("classify").addEventListener("click", classify);
  $("status").textContent = "Ready: draw a digit (0-9) in the black square.";
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  $("status").textContent = `The model could not be loaded: ${error.message}`;
  document.body.dataset.ready = "error";
});
