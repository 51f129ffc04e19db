// Start the runtime a built site ships the normal way (no image: the worker's fallback) and
// import modules.
//   node tests/pyodide/import_modules.mjs <site stdlib.zip> <module,...>
// prints JSON {module: "ok" or the exception's type}; the runtime is the stdlib's directory.
import { dirname, resolve } from "node:path";
import { loadPyodide } from "pyodide";

const [stdlib, modules] = process.argv.slice(2);
const pyodide = await loadPyodide({ indexURL: dirname(resolve(stdlib)) + "/", stdLibURL: stdlib });
pyodide.globals.set("names", modules);
const result = pyodide.runPython(`
import importlib, json
def try_import(name):
    try:
        importlib.import_module(name)
        return "ok"
    except Exception as exc:
        return type(exc).__name__
json.dumps({name: try_import(name) for name in names.split(",")})
`);
process.stdout.write(result);
