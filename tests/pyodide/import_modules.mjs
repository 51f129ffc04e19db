// Start the runtime a built site ships the normal way (no image: the worker's fallback) and
// import modules.
//   node tests/pyodide/import_modules.mjs <site stdlib.zip> <module,...>
// prints JSON {module: "ok" or the exception's type}; the runtime is the stdlib's directory.
import { dirname, resolve } from "node:path";
import { loadPyodide } from "pyodide";
import { tryImport as pythonTryImport } from "./try_import.mjs";

const [stdlib, modules] = process.argv.slice(2);
const pyodide = await loadPyodide({ indexURL: dirname(resolve(stdlib)) + "/", stdLibURL: stdlib });
const tryImport = pythonTryImport(pyodide);
const result = Object.fromEntries(modules.split(",").map((name) => [name, tryImport(name)]));
process.stdout.write(JSON.stringify(result));
