// Calculator state <-> URL query string and <-> engine request. Only values that differ
// from the defaults go into the URL, in a fixed order, so links are short and stable.
// What the fields are (keys, kinds, defaults, modes, the mode words and the runtime that
// "auto" picks for each weight format) is the engine's form schema (engine/form.py), which
// the build embeds as <script type="application/json" id="form-schema">; nothing is
// repeated here. Tests (or another page) hand it over with useSchema().

let schema = null;
let byKey = new Map();
// Derived from the schema (live bindings: set by useSchema).
export let MODES = [];
export let INFER_KEYS = []; // the inference request's always-sent keys, in link order
export let TRAIN_KEYS = [];

/** Use this form schema (engine.form.page_schema()); the page's own is read on first use. */
export function useSchema(value) {
  schema = value;
  byKey = new Map(value.fields.map((f) => [f.key, f]));
  MODES = value.modes.map((m) => m.id);
  const always = (mode) => value.fields
    .filter((f) => sendsIn(f, mode) && !f.runtimes.length && f.default !== null)
    .map((f) => f.key);
  INFER_KEYS = always("infer");
  TRAIN_KEYS = always("train");
  return value;
}

function current() {
  if (schema) return schema;
  const blob = globalThis.document?.getElementById("form-schema");
  if (!blob) throw new Error("no form schema: the page embeds #form-schema (engine.form.page_schema)");
  return useSchema(JSON.parse(blob.textContent));
}

const modeInfo = (mode) => current().modes.find((m) => m.id === mode) || current().modes[0];

// A field is sent with every request of its op (as the CLI sends every option), except
// one that applies to another runtime only (vLLM's memory fraction).
function sendsIn(field, mode) {
  const op = modeInfo(mode).op;
  return field.modes.some((m) => modeInfo(m).op === op);
}

/** The runtime "auto" picks for a weight format (engine.workload.auto_runtime). */
export function autoRuntime(weights) {
  const s = current();
  return s.runtime_for_weights[String(weights).toLowerCase()] || byKey.get("runtime").default;
}

/** A mode word from a link or stored history, in any spelling (engine.form.parse_mode). */
export function parseMode(word, method = null) {
  const s = current();
  const text = String(word ?? "").trim().toLowerCase();
  let mode = s.mode_aliases[text] || (MODES.includes(text) ? text : null);
  if (!mode) return s.default_mode;
  // links from before the fine-tuning mode: ?mode=train&method=lora is fine-tuning
  const fixed = modeInfo(mode).fixed.method;
  if (fixed && method !== null && method !== undefined && method !== fixed) mode = "finetune";
  return mode;
}

/** The schema-1 word for a mode's results, presets and fit's `mode` argument
 *  ("inference" or "training"; engine.form.Mode.result). */
export function resultWord(mode) {
  return modeInfo(mode).result;
}

export function makeDefaults(model) {
  const s = current();
  const state = { mode: s.default_mode, model, config: "" };
  for (const f of s.fields) {
    state[f.key] = f.default === null ? "" : Array.isArray(f.default) ? f.default.join(",") : f.default;
  }
  return state;
}

/** The schema kind of a form/URL key ("int", "float", "choice", "bool", "text", "list"). */
export function kindOf(key) {
  return current() && byKey.get(key)?.kind;
}

/** Form/URL keys whose values are typed character by character (numbers). */
export function typedKeys() {
  return current().fields.filter((f) => f.kind === "int" || f.kind === "float").map((f) => f.key);
}

// How a link, the form or stored history may spell a switch (bool field); links write
// "true"/"false" (String of the state's value).
const BOOL_WORDS = { true: true, false: false, 1: true, 0: false, on: true, off: false, yes: true, no: false };

/** Parse a number field leniently and a switch's words; anything else is passed through for
 *  the engine to reject. */
export function coerce(key, value) {
  const kind = kindOf(key);
  if (kind === "bool" && typeof value === "boolean") return value;
  const text = String(value).trim();
  if (kind === "bool") return BOOL_WORDS[text.toLowerCase()] ?? value;
  // a value as a runtime spells it (kv_dtype f16, fp8_e4m3): the form's own name for it
  const alias = (current().aliases || {})[key]?.[text.toLowerCase()];
  if (alias) return alias;
  if (kind === "float") return /^-?(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) : text;
  if (kind !== "int") return value;
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

/** The value a key has when a link leaves it out: the schema default, except the runtime,
 *  which follows the weights as the form's own choice does. */
function implied(key, state, defaults) {
  return key === "runtime" ? autoRuntime(state.weights) : defaults[key];
}

/** Whether a link must name this key: it differs from the default, or (the runtime) from
 *  what the weights imply. A runtime other than the default is always named, as links
 *  always did, so a link reads the same to this page and to older ones. */
function named(key, state, defaults) {
  const value = String(state[key]);
  return value !== String(defaults[key]) || value !== String(implied(key, state, defaults));
}

export function fromSearch(search, defaults) {
  const params = new URLSearchParams(search);
  const state = { ...defaults };
  for (const key of Object.keys(defaults)) {
    if (key === "config" || key === "mode" || !params.has(key)) continue;
    state[key] = coerce(key, params.get(key));
  }
  state.mode = params.has("mode") ? parseMode(params.get("mode"), params.has("method") ? state.method : null) : defaults.mode;
  if (!params.has("runtime")) state.runtime = implied("runtime", state, defaults);
  return state;
}

export function toSearch(state, defaults) {
  const params = new URLSearchParams();
  const fixed = modeInfo(state.mode).fixed;
  for (const key of Object.keys(defaults)) {
    if (key === "config" || key in fixed) continue; // e.g. training is always full
    if (state[key] === undefined) continue; // a stored entry from before the key existed
    if (named(key, state, defaults)) params.set(key, String(state[key]));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

export function sameState(a, b) {
  return Object.keys(a).every((k) => String(a[k]) === String(b[k]));
}

// Models looked up on the Hugging Face Hub (hub.js): repo label -> its config.json object.
const hubConfigs = new Map();

/** Requests for the model `label` send this config (the Hub lookup's result). */
export function useHubModel(label, config) {
  hubConfigs.set(label, config);
}

/** Whether `model` is a looked-up Hub model whose config is known. */
export function hasHubModel(model) {
  return hubConfigs.has(model);
}

/** The runtime a state's mode runs in, or null where the mode chooses none (training runs
 *  in PyTorch): a field's runtimes bind only where the runtime is chosen. */
export function runtimeOf(state) {
  return current() && byKey.get("runtime")?.modes.includes(state.mode) ? state.runtime : null;
}

/** The engine request for a state: {op, args} in protocol terms (engine.api). */
export function toRequest(state) {
  const info = modeInfo(state.mode);
  const hub = hubConfigs.get(state.model);
  const args = state.model === "custom" ? { config: state.config } : hub ? { config: hub } : { model: state.model };
  const runtime = runtimeOf(state);
  for (const f of current().fields) {
    if (!sendsIn(f, state.mode)) continue;
    if (runtime !== null && f.runtimes.length && !f.runtimes.includes(runtime)) continue;
    const value = state[f.key];
    if (f.default === null && (value === "" || value === null || value === undefined)) continue; // no GPU
    if (f.kind === "list") args[f.name] = String(value).split(",").filter(Boolean);
    else args[f.name] = coerce(f.key, value);
  }
  Object.assign(args, info.fixed);
  return { op: info.op, args };
}

/** The form field that shows an engine error about `field` in this mode. */
export function fieldFor(mode, field) {
  const f = current().fields.find((x) => x.name === field && x.modes.includes(mode));
  return f ? f.key : field;
}

// The page's schema is there before any module runs (a module script runs after parsing).
if (globalThis.document?.getElementById("form-schema")) current();
