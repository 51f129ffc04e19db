// Calculator state <-> URL query string and <-> engine request. Only values that differ
// from the defaults go into the URL, in a fixed order, so links are short and stable.
export const INFER_KEYS = ["weights", "kv_dtype", "context", "batch", "runtime", "tp", "pp"];
export const TRAIN_KEYS = ["method", "seq", "tbatch", "precision", "optimizer", "grad_checkpointing",
  "attention", "zero", "gpus", "tp", "pp", "offload", "lora_rank", "lora_alpha", "lora_targets"];
// Three modes: inference; training (full-parameter); fine-tuning (full, LoRA or QLoRA).
export const MODES = ["infer", "train", "finetune"];
const INT_KEYS = new Set(["context", "batch", "tp", "pp", "seq", "tbatch", "zero", "gpus", "lora_rank", "lora_alpha"]);
const FLOAT_KEYS = new Set(["gpu_memory_utilization"]);

export function makeDefaults(model) {
  return {
    mode: "infer", model, config: "",
    weights: "bf16", kv_dtype: "auto", context: 4096, batch: 1, runtime: "transformers",
    gpu: "", tp: 1, pp: 1,
    method: "lora", seq: 2048, tbatch: 1, precision: "amp-bf16", optimizer: "auto",
    grad_checkpointing: "auto", attention: "sdpa", zero: 0, gpus: 1, offload: "none", lora_rank: 16,
    lora_alpha: 32, lora_targets: "q,k,v,o,gate,up,down", gpu_memory_utilization: 0.9,
  };
}

/** Parse a number field leniently; anything else is passed through for the engine to reject. */
export function coerce(key, value) {
  const text = String(value).trim();
  if (FLOAT_KEYS.has(key)) return /^-?(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) : text;
  if (!INT_KEYS.has(key)) return value;
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

export function fromSearch(search, defaults) {
  const params = new URLSearchParams(search);
  const state = { ...defaults };
  for (const key of Object.keys(defaults)) {
    if (key === "config" || !params.has(key)) continue;
    state[key] = coerce(key, params.get(key));
  }
  // links from before the fine-tuning mode existed: ?mode=train&method=lora is fine-tuning
  if (state.mode === "train" && params.has("method") && state.method !== "full") state.mode = "finetune";
  if (!MODES.includes(state.mode)) state.mode = "infer";
  return state;
}

export function toSearch(state, defaults) {
  const params = new URLSearchParams();
  for (const key of Object.keys(defaults)) {
    if (key === "config" || (key === "method" && state.mode === "train")) continue; // training is full
    if (String(state[key]) !== String(defaults[key])) params.set(key, String(state[key]));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

export function sameState(a, b) {
  return Object.keys(a).every((k) => String(a[k]) === String(b[k]));
}

/** The engine request for a state: {op, args} in protocol terms (engine.api). */
export function toRequest(state) {
  const args = state.model === "custom" ? { config: state.config } : { model: state.model };
  if (state.mode === "train" || state.mode === "finetune") {
    Object.assign(args, {
      method: state.mode === "train" ? "full" : state.method, seq: state.seq, batch: state.tbatch, precision: state.precision,
      optimizer: state.optimizer, grad_checkpointing: state.grad_checkpointing,
      attention: state.attention, zero: coerce("zero", state.zero), gpus: state.gpus,
      tp: state.tp, pp: state.pp, offload: state.offload, lora_rank: state.lora_rank, lora_alpha: state.lora_alpha,
      lora_targets: String(state.lora_targets).split(",").filter(Boolean),
    });
  } else {
    for (const key of INFER_KEYS) args[key] = state[key];
    if (state.runtime === "vllm") args.gpu_memory_utilization = state.gpu_memory_utilization;
  }
  if (state.gpu) args.gpu = state.gpu;
  return { op: state.mode === "infer" ? "infer" : "train", args };
}

/** The form field that shows an engine error about `field` in this mode. */
export function fieldFor(mode, field) {
  if (mode !== "infer" && field === "batch") return "tbatch";
  return field;
}
