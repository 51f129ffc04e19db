// Web Worker: loads Pyodide from this site's own copy, unpacks the engine wheel and answers
// protocol requests with engine.api.handle (JSON strings both ways, so no PyProxy leaks).
//
// Fast path (fall-back-safe): the build ships a memory snapshot of the interpreter with the
// engine imported, made under Node with this exact runtime (sitegen/snapshot.py). Restoring it
// skips Python's own start-up; if it is missing, fails to download or cannot be restored, the
// worker starts Pyodide the normal way. The image holds every stdlib module the engine imports
// and is restored with an empty stdlib zip; the full zip is fetched and mounted only when an
// import fails (mountFullStdlib).
import { MODELS_CACHE, PROTOCOL_VERSION } from "./protocol.js";
import {
  CATALOG_INDEX_URL,
  ENGINE_PRELOAD,
  HUB_ENDPOINT,
  LEAN_WASM_URL,
  PYODIDE_INDEX_URL,
  SELF_TEST,
  SNAPSHOT_DATA_URL,
  SNAPSHOT_STDLIB_URL,
  SNAPSHOT_URL,
  STDLIB_URL,
  WHEEL_URL,
} from "./config.js";
import { hubLookup } from "./hub-fetch.js";
import { decodeImage, gunzip, prefetchWasm, sentRaw } from "./snapshot-image.js";

let quiet = false; // a restart on the full wasm: the page hears of it only through the answer
const progress = (value, message) => quiet || postMessage({ type: "progress", value, message });
let handle = null; // present.render.handle_json: engine.api.handle, plus present/'s view of a result
let startReply = null; // present.render.start_json: the reply computed, the total returned at once
let finishReply = null; // present.render.finish_json: that reply with its view, as handle_json's text
let exportResult = null; // present.render.export_json: one export, made when the user asks
let fatal = null;
let runtime = null;
let hub = null; // engine.hub.session's entry points (Hub lookups: hub-fetch.js moves the bytes)
let catalog = null; // engine.catalog: the index, and each model's file as a request names it
let indexed = false; // the engine holds the catalog index
let leanWasm = false; // restored into the lean wasm: a trap is a function it lacks
let generation = 0; // which runtime: a call that failed on an older one is simply made again

/** engine.hub.session, imported on the first lookup (a page that never looks up never pays). */
function hubSession() {
  if (hub) return hub;
  const session = runtime.pyimport("engine.hub.session");
  // a fetched body is a Uint8Array: hand it over as bytes (copied once, never through JSON)
  const asBytes = runtime.runPython("lambda b: b.to_bytes() if hasattr(b, 'to_bytes') else bytes(b)");
  hub = {
    start: session.hub_start,
    feed: (sid, key, status, headers, body, url) => session.hub_feed(sid, key, status, headers, asBytes(body), url),
    close: session.hub_close,
    offline: session.offline_message,
  };
  return hub;
}

async function download(url, what) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status}`);
  return response;
}

/** Fail fast when a file Pyodide needs cannot be fetched: Pyodide itself waits for minutes on
 *  a missing pyodide.asm.wasm and starts "ready" without its standard library. A HEAD request
 *  (the service worker answers it from its cache when offline): a Range GET whose body is
 *  dropped leaves Chromium's HTTP cache with a truncated wasm. */
async function probe(url, what) {
  let response;
  try {
    response = await fetch(url, { method: "HEAD" });
  } catch (err) {
    throw new Error(`${what} could not be downloaded (${err.message})`);
  }
  if (!response.ok) throw new Error(`${what} could not be downloaded (HTTP ${response.status})`);
}

/** Settles only by rejecting: the first failed probe ends the start-up. */
function probeRuntime(stdlib, wasm) {
  const probes = Promise.all([
    probe(wasm, "The Python runtime (pyodide.asm.wasm)"),
    probe(stdlib, "The Python standard library"),
  ]);
  return probes.then(() => new Promise(() => {}));
}

/** The snapshot: the server sends its .br or .gz (Content-Encoding), the browser inflates it.
 *  A host that sends it as it is (a static host without precompressed files: 31 MB) is cut
 *  off after the headers, and the gzip file beside it is inflated here instead. */
async function fetchSnapshot(url) {
  const aborter = new AbortController();
  const response = await fetch(url, { signal: aborter.signal });
  if (!response.ok) throw new Error(`engine snapshot: HTTP ${response.status}`);
  if (!sentRaw(response)) return new Uint8Array(await response.arrayBuffer());
  aborter.abort();
  return gunzip(await download(`${url}.gz`, "engine snapshot"));
}

/** A trap in one of loadPyodide's own callbacks is thrown to the worker's global scope, not
 *  into its promise (uncaught, or an unhandled rejection: the start would never end): while
 *  the lean wasm is restored, such an error rejects `trapped` instead. */
function caughtTrap() {
  let onError;
  const trapped = new Promise((_, reject) => {
    onError = (event) => {
      const err = event.type === "error" ? event.error : event.reason;
      if (!runtimeFailed(err)) return;
      event.preventDefault();
      reject(err);
    };
    self.addEventListener("error", onError);
    self.addEventListener("unhandledrejection", onError);
  });
  trapped.catch(() => {});
  const off = () => {
    self.removeEventListener("error", onError);
    self.removeEventListener("unhandledrejection", onError);
  };
  return { trapped, off };
}

/** Start the runtime and the engine. `full`: on the full wasm even where a lean one is
 *  shipped (a restart after the lean one trapped); the image restores into either. */
async function start(full = false) {
  const t0 = performance.now();
  const marks = {};
  const mark = (name) => (marks[name] = Math.round(performance.now() - t0));
  progress(10, "Loading the Python runtime…");
  // Everything is requested at once: the snapshot, the wheel, and pyodide.asm.mjs (1.2 MB of
  // JS that loadPyodide would only import after pyodide.mjs; the module map shares it).
  // the image ships less the wasm's data segments: decoded with the wasm, fetched once, now
  // (the lean wasm when the build made one: sitegen/lean_wasm.py)
  const fullWasm = `${PYODIDE_INDEX_URL}pyodide.asm.wasm`;
  const wasmURL = SNAPSHOT_URL && LEAN_WASM_URL && !full ? LEAN_WASM_URL : fullWasm;
  const wasm = SNAPSHOT_URL ? prefetchWasm(wasmURL, fullWasm) : null;
  const snapshot = SNAPSHOT_URL
    ? Promise.all([fetchSnapshot(SNAPSHOT_URL), wasm.bytes]).then(([image, bytes]) => decodeImage(image, bytes))
    : null;
  snapshot?.then(() => mark("snapshot_ms"), () => {}); // a failure is reported where it is awaited
  // restored from the image, the engine's code is in memory: only the wheel's data files
  const fetchWheel = () => download(WHEEL_URL, "engine wheel").then((r) => r.arrayBuffer());
  let dataOnly = Boolean(snapshot && SNAPSHOT_DATA_URL);
  let wheel = dataOnly ? download(SNAPSHOT_DATA_URL, "engine data").then((r) => r.arrayBuffer()) : fetchWheel();
  wheel.catch(() => {});
  import(`${PYODIDE_INDEX_URL}pyodide.asm.mjs`).catch(() => {});
  // the catalog's compact index (the wheel carries the default model only)
  const index = CATALOG_INDEX_URL ? download(CATALOG_INDEX_URL, "catalog index").then((r) => r.text()) : null;
  index?.catch(() => {});
  // the stdlib this start loads: the empty zip the image is restored with (the full one is
  // not cached offline: it is fetched only when an import needs it)
  const failFast = probeRuntime(snapshot && SNAPSHOT_STDLIB_URL ? SNAPSHOT_STDLIB_URL : STDLIB_URL, wasmURL);
  failFast.catch(() => {});
  const { loadPyodide } = await Promise.race([import(`${PYODIDE_INDEX_URL}pyodide.mjs`), failFast]);
  mark("import_ms");
  // Every URL points at this site: Pyodide never reaches a CDN.
  const options = {
    indexURL: PYODIDE_INDEX_URL,
    stdLibURL: STDLIB_URL,
    lockFileURL: `${PYODIDE_INDEX_URL}pyodide-lock.json`,
    packageBaseUrl: PYODIDE_INDEX_URL,
    stdout: () => {},
    stderr: (line) => console.warn(line),
  };
  let pyodide = null;
  if (snapshot) {
    try {
      const stdLibURL = SNAPSHOT_STDLIB_URL || STDLIB_URL;
      const trap = wasmURL === fullWasm ? null : caughtTrap();
      try {
        const restored = loadPyodide({ ...options, stdLibURL, _loadSnapshot: snapshot });
        pyodide = await Promise.race([restored, failFast, ...(trap ? [trap.trapped] : [])]);
      } finally {
        trap?.off();
      }
      lean = Boolean(SNAPSHOT_STDLIB_URL);
      leanWasm = wasmURL !== fullWasm;
      // the image was made with a fixed random sequence: reseed from this machine's entropy
      pyodide.runPython("import random; random.seed()");
      marks.snapshot = "loaded";
    } catch (err) {
      await Promise.race([failFast, Promise.resolve()]); // a missing runtime is not a snapshot problem
      if (wasmURL !== fullWasm) throw err; // boot() tries the full wasm with the image first
      console.warn("engine snapshot not used, starting normally:", err.message);
      pyodide = null;
    }
  }
  if (!pyodide) {
    wasm?.release(); // a normal start needs the full wasm (a lean one cannot compile Python)
    leanWasm = false;
    if (dataOnly) [wheel, dataOnly] = [fetchWheel(), false]; // the code too, this time
    pyodide = await Promise.race([loadPyodide(options), failFast]);
    marks.snapshot = "none";
  }
  mark("runtime_ms");
  progress(70, "Loading the engine…");
  pyodide.unpackArchive(await wheel, dataOnly ? "zip" : "wheel");
  mark("wheel_ms");
  pyodide.runPython(`import ${ENGINE_PRELOAD.join(", ")}`);
  const present = pyodide.pyimport("present.render");
  handle = present.handle_json;
  startReply = present.start_json;
  finishReply = present.finish_json;
  exportResult = present.export_json;
  runtime = pyodide;
  await useIndex(pyodide, index);
  const info = JSON.parse(handle(JSON.stringify({ v: PROTOCOL_VERSION, id: 0, op: "version", args: {} })));
  if (!info.ok) throw new Error(info.error.message);
  if (info.result.protocol !== PROTOCOL_VERSION) {
    throw new Error(`engine speaks protocol v${info.result.protocol}, page v${PROTOCOL_VERSION}: reload`);
  }
  await selfTest();
  // What start-up made lives as long as the worker (modules, tables, caches: a few hundred
  // thousand objects): out of the collector's sight, a collection walks only what requests
  // allocate (an old-generation pass in a request would walk them all).
  pyodide.runPython("import gc; gc.freeze()");
  mark("engine_ms");
  return { engine_version: info.result.engine_version, marks };
}

/** The first start: on the lean wasm where there is one, and if that fails (a trap in a
 *  function it lacks, or anything else: the full start then says what is wrong), on the
 *  full wasm. */
async function boot() {
  let started;
  try {
    started = await start();
  } catch (err) {
    if (!(SNAPSHOT_URL && LEAN_WASM_URL)) throw err;
    console.warn("engine: the lean wasm did not start, starting on the full one:", err.message);
    resetRuntime();
    started = await start(true);
  }
  postMessage({ type: "ready", v: PROTOCOL_VERSION, ...started });
}

/** Forget the runtime and everything held in it (before a start on the full wasm). */
function resetRuntime() {
  generation++;
  runtime = handle = startReply = finishReply = exportResult = hub = catalog = fullStdlib = null;
  leanWasm = lean = indexed = false;
  atHand.clear();
  loading.clear();
}

/** Whether `err` is the runtime itself failing (a wasm trap, which Pyodide calls fatal),
 *  not a Python exception or a network error. */
function runtimeFailed(err) {
  return Boolean(err) && (err.pyodide_fatal_error === true || err instanceof WebAssembly.RuntimeError || /fatally failed/.test(String(err.message)));
}

let restarting = null;
/** A request reached a function the lean wasm lacks: start again on the full wasm (once;
 *  requests that failed meanwhile wait for the same start). The page is not told: its
 *  answer comes a second or two later. */
function restartFull(err) {
  restarting ??= (async () => {
    console.warn(`engine: a request needs more of the runtime than the lean wasm has (${err.message}); restarting on the full wasm`);
    resetRuntime();
    quiet = true;
    try {
      await start(true);
    } finally {
      quiet = false;
    }
  })();
  return restarting;
}

/** Hand the catalog index to the engine (engine.catalog.use_index). Without it (offline on a
 *  first visit, which the precache makes rare) the engine knows the wheel's default model. */
async function useIndex(pyodide, index) {
  catalog = pyodide.pyimport("engine.catalog");
  if (!index) return;
  try {
    catalog.use_index(await index);
    indexed = true;
  } catch (err) {
    console.warn("catalog index not loaded, only the default model is known:", err.message);
  }
}

/** Put a fetched model file into the models cache (best effort: no Cache API, no quota). */
function keep(url, response) {
  globalThis.caches?.open(MODELS_CACHE).then((cache) => cache.put(url, response)).catch(() => {});
}

const atHand = new Set(); // model names whose data the engine holds: no Python call to ask
const loading = new Map(); // model file URL -> the promise of its fetch and hand-over

/** Before a request that names a catalog model: fetch its file (content-hashed, cached by the
 *  service worker) once and hand it to the engine. A failed fetch is left to the engine,
 *  which says beside the model field that the model is not saved on this device. */
async function ensureModel(name) {
  if (!catalog || typeof name !== "string" || atHand.has(name)) return;
  if (!indexed && CATALOG_INDEX_URL) {
    // the start-up could not read the index (offline on a first visit): once more, now
    await useIndex(runtime, download(CATALOG_INDEX_URL, "catalog index").then((r) => r.text()));
  }
  const url = catalog.model_to_fetch(name);
  if (url) {
    let done = loading.get(url);
    if (!done) {
      const slug = url.split("/").pop().replace(/\.[0-9a-f]+\.json$/, "");
      done = download(url, "model data").then((response) => {
        keep(url, response.clone()); // saved for offline use, service worker or not
        return response.text();
      }).then((text) => catalog.add_model(slug, text));
      loading.set(url, done);
      done.catch(() => loading.delete(url)); // tried again on the next request
    }
    try {
      await done;
    } catch (err) {
      console.warn(`model data for ${name} not loaded:`, err.message);
      return;
    }
  }
  atHand.add(name);
}

/** One real calculation before "ready": a runtime that started without part of its standard
 *  library (or a broken wheel) answers "internal" here, not on the user's first input. */
async function selfTest() {
  const reply = await answer({ v: PROTOCOL_VERSION, id: 0, op: "infer", args: SELF_TEST });
  if (!reply.ok) throw new Error(`the engine failed its self-test (${reply.error.message})`);
}

let lean = false; // restored with the empty stdlib zip: an import outside the image fails
let fullStdlib = null; // the full stdlib zip, mounted once (a promise)
const IMPORT_ERROR = /\b(ModuleNotFoundError|ImportError)\b/;
const STDLIB_ZIP = "/lib/python-full-stdlib.zip";

/** Put the full stdlib zip on sys.path: the snapshot was restored with an empty one, so an
 *  import the image did not make fails until then. */
function mountFullStdlib() {
  fullStdlib ??= (async () => {
    const response = await download(STDLIB_URL, "The Python standard library");
    runtime.FS.writeFile(STDLIB_ZIP, new Uint8Array(await response.arrayBuffer()));
    runtime.runPython(`import sys\nif ${JSON.stringify(STDLIB_ZIP)} not in sys.path: sys.path.append(${JSON.stringify(STDLIB_ZIP)})`);
  })();
  return fullStdlib;
}

/** engine.api.handle's reply; an ImportError (a module outside the image) mounts the full
 *  stdlib and asks once more. */
async function answer(req) {
  return (await answerText(req)).reply;
}

/** answer(), with the reply's JSON text as handle_json wrote it (posted to the page as it
 *  is: a string crosses postMessage as one copy, a 14 kB object tree is cloned field by field). */
async function answerText(req, onFigure = null) {
  const request = JSON.stringify(req);
  const figure = startReply(request);
  if (figure && onFigure) onFigure(figure); // the total, before the view is drawn
  let text = finishReply();
  let reply = JSON.parse(text);
  if (!reply.ok && lean && IMPORT_ERROR.test(reply.error.message || "")) {
    await mountFullStdlib();
    text = handle(request);
    reply = JSON.parse(text);
  }
  return { reply, text };
}

/** `fn()`, once more after mounting the full stdlib if it threw an ImportError. */
async function withStdlib(fn) {
  try {
    return await fn();
  } catch (err) {
    if (!lean || !IMPORT_ERROR.test(String(err && err.message))) throw err;
    await mountFullStdlib();
    return fn();
  }
}

function die(err) {
  if (fatal !== null) return;
  fatal = String((err && err.message) || err);
  postMessage({ type: "fatal", message: fatal });
}

let ready = boot().catch(die);

// op "export" (args {result, kind}) is answered here, not by engine.api: present/ sits beside
// the engine and writes a result the engine already returned (JSON, CSV or Markdown).
async function exportReply(req) {
  try {
    const text = await withStdlib(() => exportResult(JSON.stringify(req.args.result), String(req.args.kind)));
    return { v: PROTOCOL_VERSION, id: req.id, ok: true, result: { text } };
  } catch (err) {
    if (runtimeFailed(err)) throw err; // self.onmessage starts again or stops
    return { v: PROTOCOL_VERSION, id: req.id, ok: false, error: { type: "internal", message: String(err.message || err), field: null } };
  }
}

// op "hub" (args {input, token?}) is driven here: the engine's reader plan says what to read,
// fetch reads it (hub-fetch.js). The token lives only in this request, never in a cache.
async function hubReply(req) {
  try {
    const reply = await hubLookup(await withStdlib(hubSession), { ...req.args, endpoint: HUB_ENDPOINT }, req.lang);
    return reply.ok
      ? { v: PROTOCOL_VERSION, id: req.id, ok: true, result: reply.result }
      : { v: PROTOCOL_VERSION, id: req.id, ok: false, error: reply.error };
  } catch (err) {
    if (runtimeFailed(err)) throw err; // self.onmessage starts again or stops
    return { v: PROTOCOL_VERSION, id: req.id, ok: false, error: { type: "internal", message: String(err.message || err), field: "model" } };
  }
}

/** The reply to one request, and its JSON text where it is handle_json's; throws when the
 *  runtime itself failed. */
async function respond(req) {
  if (req && req.op === "export") return { reply: await exportReply(req), text: null };
  if (req && req.op === "hub") return { reply: await hubReply(req), text: null };
  await ensureModel(req && req.args && req.args.model).catch((err) => console.warn("model data:", err.message));
  // the page writes the total the moment it comes (engine-client.js onFigure)
  const out = await answerText(req, (figure) => postMessage({ type: "figure", text: figure }));
  if (!out.reply.ok && out.reply.error.trace) console.error(out.reply.error.trace);
  return out;
}

const fatalReply = (req) => ({ v: PROTOCOL_VERSION, id: req && req.id, ok: false, error: { type: "fatal", message: fatal, field: null } });

self.onmessage = async (event) => {
  await ready;
  const req = event.data;
  let reply;
  let text = null; // the reply as handle_json's JSON text, when it is the reply posted
  if (fatal !== null) {
    reply = fatalReply(req);
  } else {
    const made = generation;
    try {
      ({ reply, text } = await respond(req));
    } catch (err) {
      // engine.api.handle turns every Python exception into a reply: a throw here is the
      // runtime itself failing. On the lean wasm (or on a runtime since replaced by the full
      // one) the request is made again on the full wasm; otherwise the worker is dead.
      try {
        if (!(leanWasm && runtimeFailed(err)) && made === generation) throw err;
        if (made === generation) ready = restartFull(err).catch(die);
        await ready; // this request's restart, or the one a request before it began
        if (fatal !== null) throw new Error(fatal);
        ({ reply, text } = await respond(req));
      } catch (again) {
        die(`the engine stopped (${(again && again.message) || again})`);
        reply = fatalReply(req);
        text = null;
      }
    }
  }
  if (reply.id === null || reply.id === undefined) {
    reply.id = req && req.id; // an unreadable request
    text = null;
  }
  // the engine's own text when there is one: the page parses it once (engine-client.js)
  postMessage(text === null ? { type: "reply", reply } : { type: "reply", text });
};
