// Calculator state <-> URL query string and <-> engine request. Only values that differ
// from the defaults go into the URL, in a fixed order, so links are short and stable.
export const INFER_KEYS = ["weights", "kv_dtype", "context", "batch", "runtime", "tp", "pp"];
export const TRAIN_KEYS = ["method", "seq", "tbatch", "precision", "optimizer", "grad_checkpointing",
  "attention", "zero", "gpus", "tp", "pp", "lora_rank", "lora_targets"];
const INT_KEYS = new Set(["context", "batch", "tp", "pp", "seq", "tbatch", "zero", "gpus", "lora_rank"]);

export function makeDefaults(model) {
  return {
    mode: "infer", model, config: "",
    weights: "bf16", kv_dtype: "auto", context: 4096, batch: 1, runtime: "transformers",
    gpu: "", tp: 1, pp: 1,
    method: "full", seq: 2048, tbatch: 1, precision: "amp-bf16", optimizer: "adamw",
    grad_checkpointing: "none", attention: "sdpa", zero: 0, gpus: 1, lora_rank: 16,
    lora_targets: "q,k,v,o,gate,up,down",
  };
}

/** Parse a number field leniently; anything else is passed through for the engine to reject. */
export function coerce(key, value) {
  if (!INT_KEYS.has(key)) return value;
  const text = String(value).trim();
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

export function fromSearch(search, defaults) {
  const params = new URLSearchParams(search);
  const state = { ...defaults };
  for (const key of Object.keys(defaults)) {
    if (key === "config" || !params.has(key)) continue;
    state[key] = coerce(key, params.get(key));
  }
  if (state.mode !== "train") state.mode = "infer";
  return state;
}

export function toSearch(state, defaults) {
  const params = new URLSearchParams();
  for (const key of Object.keys(defaults)) {
    if (key === "config") continue;
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
  if (state.mode === "train") {
    Object.assign(args, {
      method: state.method, seq: state.seq, batch: state.tbatch, precision: state.precision,
      optimizer: state.optimizer, grad_checkpointing: state.grad_checkpointing,
      attention: state.attention, zero: coerce("zero", state.zero), gpus: state.gpus,
      tp: state.tp, pp: state.pp, lora_rank: state.lora_rank,
      lora_targets: String(state.lora_targets).split(",").filter(Boolean),
    });
  } else {
    for (const key of INFER_KEYS) args[key] = state[key];
  }
  if (state.gpu) args.gpu = state.gpu;
  return { op: state.mode === "train" ? "train" : "infer", args };
}

/** The form field that shows an engine error about `field` in this mode. */
export function fieldFor(mode, field) {
  if (mode === "train" && field === "batch") return "tbatch";
  return field;
}
