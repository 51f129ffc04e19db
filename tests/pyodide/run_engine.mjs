// Answer protocol requests with the engine wheel running inside Pyodide under Node.
//   node tests/pyodide/run_engine.mjs <wheel> <requests.json>
// prints a JSON list of the reply strings engine.api.handle returned, one per request.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide } from "pyodide";

const [wheelPath, requestsPath] = process.argv.slice(2);
if (!wheelPath || !requestsPath) {
  console.error("usage: node run_engine.mjs <wheel> <requests.json>");
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const pyodide = await loadPyodide({ indexURL: join(root, "node_modules", "pyodide") + "/" });
pyodide.unpackArchive(new Uint8Array(await readFile(wheelPath)), "wheel");
const handle = pyodide.pyimport("engine.api").handle;
const requests = JSON.parse(await readFile(requestsPath, "utf8"));
const replies = requests.map((req) => handle(JSON.stringify(req)));
process.stdout.write(JSON.stringify({ python: pyodide.runPython("import sys; sys.version"), replies }));
