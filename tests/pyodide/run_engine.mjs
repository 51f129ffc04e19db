// Answer protocol requests with the engine wheel running inside Pyodide under Node.
//   node tests/pyodide/run_engine.mjs <wheel or engine-data zip> <requests.json> [<stdlib.zip> [<snapshot.bin.gz>]]
// prints a JSON list of the reply strings engine.api.handle returned, one per request.
// With a stdlib and the build's start-up snapshot, the engine runs restored from that image,
// as the browser worker runs it; with a built site's stdlib only, on the site's runtime
// started the normal way (the worker's fallback). The wheel carries the default model
// only: when it sits in a built site (<site>/wheels/<hash>/), the catalog index is handed
// to the engine and each model's file before a request names it, as site/worker.js does.
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide } from "pyodide";
import { feedCatalog } from "./catalog_feed.mjs";
import { decodeImage } from "../../site/snapshot-image.js";

const [wheelPath, requestsPath, stdlibPath, snapshotPath] = process.argv.slice(2);
if (!wheelPath || !requestsPath) {
  console.error("usage: node run_engine.mjs <wheel> <requests.json>");
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const options = { indexURL: join(root, "node_modules", "pyodide") + "/" };
if (stdlibPath) {
  // the runtime the site ships (its stdlib's directory; the image is restored with its wasm)
  options.indexURL = dirname(resolve(stdlibPath)) + "/";
  options.stdLibURL = stdlibPath;
}
if (snapshotPath) {
  // the image ships less the wasm's data segments (site/snapshot-image.js): put them back
  options._loadSnapshot = decodeImage(
    new Uint8Array(gunzipSync(await readFile(snapshotPath))),
    await readFile(join(options.indexURL, "pyodide.asm.wasm")),
  );
}
const pyodide = await loadPyodide(options);
// a wheel, or (restored from the image, as the worker does) the engine-data zip of its data files
const wheel = await readFile(wheelPath);
if (wheelPath.endsWith(".zip")) {
  pyodide.unpackArchive(wheel.buffer.slice(wheel.byteOffset, wheel.byteOffset + wheel.byteLength), "zip");
  pyodide.runPython("import random; random.seed()\nimport gc; gc.freeze()"); // as site/worker.js
} else {
  pyodide.unpackArchive(new Uint8Array(wheel), "wheel");
}
const handle = pyodide.pyimport("engine.api").handle;
const before = await feedCatalog(pyodide, wheelPath);
const requests = JSON.parse(await readFile(requestsPath, "utf8"));
const replies = [];
for (const req of requests) {
  await before(req);
  replies.push(handle(JSON.stringify(req)));
}
process.stdout.write(JSON.stringify({ python: pyodide.runPython("import sys; sys.version"), replies }));
