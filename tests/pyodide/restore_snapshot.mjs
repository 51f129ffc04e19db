// Restore the build's start-up snapshot under Node as the browser worker does (the empty
// stdlib zip the snapshot is restored with), answer requests, then check the fallback:
// a stdlib module the image lacks fails to import until the full zip is mounted.
//   node tests/pyodide/restore_snapshot.mjs <snapshot.bin.gz> <empty.zip> <engine-data.zip> <full_stdlib.zip> <requests.json> <module>
// prints JSON {replies, before, after}: engine.api.handle's reply strings, and the import of <module> without and
// with the full zip ("ok" or the exception's type).
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { dirname, join, resolve } from "node:path";
import { loadPyodide } from "pyodide";
import { feedCatalog } from "./catalog_feed.mjs";
import { decodeImage } from "../../site/snapshot-image.js";
import { tryImport as pythonTryImport } from "./try_import.mjs";

const [snapshot, empty, data, full, requests, module] = process.argv.slice(2);
// the runtime the site ships (the empty zip's directory): the image is restored with its wasm
const indexURL = dirname(resolve(empty)) + "/";
const pyodide = await loadPyodide({
  indexURL,
  stdLibURL: empty,
  // the image ships less the wasm's data segments (site/snapshot-image.js): put them back
  _loadSnapshot: decodeImage(
    new Uint8Array(gunzipSync(await readFile(snapshot))),
    await readFile(join(indexURL, "pyodide.asm.wasm")),
  ),
});
// the wheel's data files only, as the worker unpacks them (the code is in the image)
pyodide.unpackArchive(new Uint8Array(await readFile(data)), "zip");
const handle = pyodide.pyimport("engine.api").handle;
const feed = await feedCatalog(pyodide, data); // the catalog index and each model's file
const replies = [];
for (const req of JSON.parse(await readFile(requests, "utf8"))) {
  await feed(req);
  replies.push(handle(JSON.stringify(req)));
}
const tryImport = pythonTryImport(pyodide);
const before = tryImport(module);
// the worker's fallback (site/worker.js mountFullStdlib)
pyodide.FS.writeFile("/lib/python-full-stdlib.zip", new Uint8Array(await readFile(full)));
pyodide.runPython("import sys\nsys.path.append('/lib/python-full-stdlib.zip')");
const after = tryImport(module);
process.stdout.write(JSON.stringify({ replies, before, after }));
