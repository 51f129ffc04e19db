// Web Worker: loads Pyodide from this site's own copy, unpacks the engine wheel and answers
// protocol requests with engine.api.handle (JSON strings both ways, so no PyProxy leaks).
import { PROTOCOL_VERSION } from "./protocol.js";
import { PYODIDE_INDEX_URL, STDLIB_URL, WHEEL_URL } from "./config.js";

const progress = (value, message) => postMessage({ type: "progress", value, message });
let handle = null;
let fatal = null;

async function start() {
  const t0 = performance.now();
  progress(10, "Loading the Python runtime…");
  const { loadPyodide } = await import(`${PYODIDE_INDEX_URL}pyodide.mjs`);
  const wheel = fetch(WHEEL_URL).then((r) => {
    if (!r.ok) throw new Error(`engine wheel: HTTP ${r.status}`);
    return r.arrayBuffer();
  });
  // Every URL points at this site: Pyodide never reaches a CDN.
  const pyodide = await loadPyodide({
    indexURL: PYODIDE_INDEX_URL,
    stdLibURL: STDLIB_URL,
    lockFileURL: `${PYODIDE_INDEX_URL}pyodide-lock.json`,
    packageBaseUrl: PYODIDE_INDEX_URL,
    stdout: () => {},
    stderr: (line) => console.warn(line),
  });
  progress(70, "Loading the engine…");
  pyodide.unpackArchive(await wheel, "wheel");
  const api = pyodide.pyimport("engine.api");
  handle = api.handle;
  const info = JSON.parse(handle(JSON.stringify({ v: PROTOCOL_VERSION, id: 0, op: "version", args: {} })));
  if (!info.ok) throw new Error(info.error.message);
  if (info.result.protocol !== PROTOCOL_VERSION) {
    throw new Error(`engine speaks protocol v${info.result.protocol}, page v${PROTOCOL_VERSION}: reload`);
  }
  postMessage({ type: "ready", v: PROTOCOL_VERSION, engine_version: info.result.engine_version, ms: performance.now() - t0 });
}

const ready = start().catch((err) => {
  fatal = String((err && err.message) || err);
  postMessage({ type: "fatal", message: fatal });
});

self.onmessage = async (event) => {
  await ready;
  const req = event.data;
  let reply;
  if (fatal !== null) {
    reply = { v: PROTOCOL_VERSION, id: req && req.id, ok: false, error: { type: "fatal", message: fatal, field: null } };
  } else {
    reply = JSON.parse(handle(JSON.stringify(req)));
    if (!reply.ok && reply.error.trace) console.error(reply.error.trace);
  }
  postMessage({ type: "reply", reply });
};
