// The worker protocol, v1: the one place its schema is written down on the JS side
// (mirrored in engine/api.py's docstring). Bump PROTOCOL_VERSION for any breaking change.
//
//   page -> worker  {v, id, op, args, lang?}                a request; lang (the page's
//                                                           <html lang>, e.g. "zh") picks the
//                                                           language of error.message and of
//                                                           the result's warnings/assumptions
//   worker -> page  {type: "progress", value, message}      while loading (value 0..100)
//                   {type: "ready", v, engine_version, marks}  the engine answers requests
//                                                           (marks: start-up timings, snapshot "loaded"/"none")
//                   {type: "fatal", message}                the engine could not start
//                   {type: "reply", reply}                  reply = {v, id, ok: true, result}
//                                                           or {v, id, ok: false, error: {type, message, field}}
//                   {type: "reply", text}                   the same reply as JSON text (the
//                                                           engine's own, posted as it is; the
//                                                           page parses it once)
// An infer/train result from the worker carries result.view (present.render.render: the
// panel and chart HTML; the page takes it off). "export" ({result, kind} -> {text}: JSON, CSV
// or Markdown, made on demand) is answered by the worker itself with present/.
// "hub" ({input, token?} -> a Hub lookup's result, engine/README.md section 10) is driven by the
// worker itself: engine.hub.session plans the reads, fetch makes them (site/hub-fetch.js).
export const PROTOCOL_VERSION = 1;

// The Cache API cache that keeps each catalog model's file (/assets/models/<slug>.<hash>.json)
// across site versions: the worker puts a model in it when it fetches one, the page's "Make
// all models available offline" fills it (site/offline-models.js), site/sw.js serves from it
// (its MODELS constant, the same name) and drops the files a new index no longer names.
export const MODELS_CACHE = "vram-insight-models";

export const OPS = Object.freeze(["version", "models", "gpus", "formats", "presets", "params", "infer", "train", "fit", "export", "hub"]);

export function makeRequest(id, op, args = {}, lang = "") {
  if (!OPS.includes(op)) throw new Error(`unknown op ${op}`);
  return lang ? { v: PROTOCOL_VERSION, id, op, args, lang } : { v: PROTOCOL_VERSION, id, op, args };
}

export function isReply(msg) {
  return msg !== null && typeof msg === "object" && typeof msg.id === "number" && typeof msg.ok === "boolean";
}

/** An error reply as a JS Error carrying the engine's type and field. */
export class EngineError extends Error {
  constructor(error) {
    super(error.message);
    this.name = "EngineError";
    this.type = error.type;
    this.field = error.field ?? null;
    if (error.base_model) this.baseModel = error.base_model; // a Hub LoRA adapter's base model
  }
}
