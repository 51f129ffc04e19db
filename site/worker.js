// Web Worker: loads Pyodide from this site's own copy, unpacks the engine wheel and answers
// protocol requests with engine.api.handle (JSON strings both ways, so no PyProxy leaks).
//
// Fast path (optional, fall-back-safe): after a normal start the page runs this script a
// second time as a background "snapshot-maker" worker, which saves a Pyodide memory snapshot
// (interpreter + imported engine) in Cache Storage, keyed by the exact runtime, stdlib and
// wheel; later starts restore it. Any failure just means a normal start.
import { PROTOCOL_VERSION } from "./protocol.js";
import { PYODIDE_INDEX_URL, PYODIDE_VERSION, STDLIB_URL, WHEEL_URL } from "./config.js";

const SNAPSHOT_CACHE = `vram-insight-snapshot-${PYODIDE_VERSION}`;
const SNAPSHOT_KEY = `/__snapshot__/${encodeURIComponent(`${STDLIB_URL}|${WHEEL_URL}`)}`;
const PRELOAD = "import engine.api, engine.catalog, engine.quant, engine.inference, present.render";

const progress = (value, message) => postMessage({ type: "progress", value, message });
let handle = null;
let render = null; // present.render.render_json: the chart and exports, drawn as the build draws them
let fatal = null;

async function readSnapshot() {
  try {
    const hit = await (await caches.open(SNAPSHOT_CACHE)).match(SNAPSHOT_KEY);
    return hit ? new Uint8Array(await hit.arrayBuffer()) : null;
  } catch {
    return null;
  }
}

async function saveSnapshot(bytes) {
  try {
    const cache = await caches.open(SNAPSHOT_CACHE);
    for (const request of await cache.keys()) await cache.delete(request); // one at a time
    await cache.put(SNAPSHOT_KEY, new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
    return "saved";
  } catch (err) {
    console.warn("engine snapshot not saved:", err.message);
    return "failed";
  }
}

async function start() {
  const t0 = performance.now();
  const marks = {};
  const mark = (name) => (marks[name] = Math.round(performance.now() - t0));
  progress(10, "Loading the Python runtime…");
  const { loadPyodide } = await import(`${PYODIDE_INDEX_URL}pyodide.mjs`);
  mark("import_ms");
  const wheel = fetch(WHEEL_URL).then((r) => {
    if (!r.ok) throw new Error(`engine wheel: HTTP ${r.status}`);
    return r.arrayBuffer();
  });
  // Every URL points at this site: Pyodide never reaches a CDN.
  const options = {
    indexURL: PYODIDE_INDEX_URL,
    stdLibURL: STDLIB_URL,
    lockFileURL: `${PYODIDE_INDEX_URL}pyodide-lock.json`,
    packageBaseUrl: PYODIDE_INDEX_URL,
    stdout: () => {},
    stderr: (line) => console.warn(line),
  };
  const canCache = typeof caches !== "undefined";
  const maker = self.name === "snapshot-maker";
  let pyodide = null;
  const snapshot = canCache && !maker ? await readSnapshot() : null;
  if (snapshot) {
    try {
      pyodide = await loadPyodide({ ...options, _loadSnapshot: snapshot });
      marks.snapshot = "loaded";
    } catch (err) {
      console.warn("engine snapshot unusable, starting normally:", err.message);
      caches.delete(SNAPSHOT_CACHE).catch(() => {});
    }
  }
  if (!pyodide) {
    pyodide = await loadPyodide({ ...options, _makeSnapshot: maker });
    marks.snapshot = "none";
  }
  mark("runtime_ms");
  progress(70, "Loading the engine…");
  pyodide.unpackArchive(await wheel, "wheel");
  mark("wheel_ms");
  pyodide.runPython(PRELOAD);
  if (maker) {
    let state = "failed";
    try {
      state = await saveSnapshot(pyodide.makeMemorySnapshot());
    } catch (err) {
      console.warn("engine snapshot not made:", err.message);
    }
    postMessage({ type: "snapshot", state });
    return;
  }
  const api = pyodide.pyimport("engine.api");
  handle = api.handle;
  render = pyodide.pyimport("present.render").render_json;
  const info = JSON.parse(handle(JSON.stringify({ v: PROTOCOL_VERSION, id: 0, op: "version", args: {} })));
  if (!info.ok) throw new Error(info.error.message);
  if (info.result.protocol !== PROTOCOL_VERSION) {
    throw new Error(`engine speaks protocol v${info.result.protocol}, page v${PROTOCOL_VERSION}: reload`);
  }
  mark("engine_ms");
  postMessage({ type: "ready", v: PROTOCOL_VERSION, engine_version: info.result.engine_version, marks });
}

const ready = start().catch((err) => {
  fatal = String((err && err.message) || err);
  postMessage({ type: "fatal", message: fatal });
});

// op "render" (args {result}) is answered here, not by engine.api: present/ sits beside the
// engine and draws a result the engine already returned.
function renderReply(req) {
  try {
    return { v: PROTOCOL_VERSION, id: req.id, ok: true, result: JSON.parse(render(JSON.stringify(req.args.result))) };
  } catch (err) {
    return { v: PROTOCOL_VERSION, id: req.id, ok: false, error: { type: "internal", message: String(err.message || err), field: null } };
  }
}

self.onmessage = async (event) => {
  await ready;
  const req = event.data;
  let reply;
  if (fatal !== null) {
    reply = { v: PROTOCOL_VERSION, id: req && req.id, ok: false, error: { type: "fatal", message: fatal, field: null } };
  } else if (req && req.op === "render") {
    reply = renderReply(req);
  } else {
    reply = JSON.parse(handle(JSON.stringify(req)));
    if (!reply.ok && reply.error.trace) console.error(reply.error.trace);
  }
  postMessage({ type: "reply", reply });
};
