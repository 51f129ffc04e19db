// A stdlib module's import in a Node Pyodide, as the tests check it: "ok", or the type of the
// exception it raised.

/** The Python function try_import(name) of `pyodide`, callable from JS. */
export function tryImport(pyodide) {
  return pyodide.runPython(`
def try_import(name):
    import importlib
    try:
        importlib.import_module(name)
        return "ok"
    except Exception as exc:
        return type(exc).__name__
try_import`);
}
