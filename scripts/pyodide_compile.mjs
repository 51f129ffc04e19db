// Compile Python sources to bytecode with the exact Pyodide build the site ships, so the
// browser skips compiling them at start-up (~85% of a stock Pyodide start).
//   node scripts/pyodide_compile.mjs <python_stdlib.zip|-> <out_stdlib.zip> <sources.json> <out_pyc.json> [boot_stdlib.zip]
// sources.json: {"engine/api.py": "<text>", ...}; out_pyc.json: {"engine/__pycache__/api.<tag>.pyc": "<base64>"}.
// Bytecode is written as unchecked hash-based .pyc (PEP 552): no timestamps, so the output
// depends only on the input.
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide } from "pyodide";

const [stdlibIn, stdlibOut, sourcesIn, pycOut, bootStdlib] = process.argv.slice(2);
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// bootStdlib: an already compiled stdlib zip, only to start faster (the output is the same)
const pyodide = await loadPyodide({
  indexURL: join(root, "node_modules", "pyodide") + "/",
  ...(bootStdlib ? { stdLibURL: bootStdlib } : {}),
});
const withStdlib = stdlibIn !== "-";
if (withStdlib) pyodide.FS.writeFile("/tmp/stdlib_in.zip", await readFile(stdlibIn));
pyodide.FS.writeFile("/tmp/sources.json", await readFile(sourcesIn));
pyodide.globals.set("with_stdlib", withStdlib);
pyodide.runPython(`
import base64, importlib.util, json, sys, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

def to_pyc(source, name):
    code = compile(source, name, "exec", dont_inherit=True)
    return bytes(_code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False))

def compile_stdlib():
    """The stdlib zip, sourceless: zipimport loads name.pyc where name.py was."""
    with zipfile.ZipFile("/tmp/stdlib_in.zip") as src, zipfile.ZipFile(
        "/tmp/stdlib_out.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=6
    ) as out:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info)
            name = info.filename
            if name.endswith(".py"):
                try:
                    data, name = to_pyc(data, name), name[:-3] + ".pyc"
                except SyntaxError:
                    pass  # test data that is not valid Python: keep the source
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = info.external_attr
            entry.compress_type = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
            out.writestr(entry, data)

if with_stdlib:
    compile_stdlib()

# Package sources (the engine): __pycache__/<module>.<cache tag>.pyc beside each .py.
tag = sys.implementation.cache_tag
pycs = {}
for path, text in sorted(json.load(open("/tmp/sources.json")).items()):
    folder, _, file = path.rpartition("/")
    target = f"{folder}/__pycache__/{file[:-3]}.{tag}.pyc" if folder else f"__pycache__/{file[:-3]}.{tag}.pyc"
    pycs[target] = base64.b64encode(to_pyc(text.encode(), path)).decode()
json.dump(pycs, open("/tmp/pyc.json", "w"), sort_keys=True)
`);
if (withStdlib) await writeFile(stdlibOut, pyodide.FS.readFile("/tmp/stdlib_out.zip"));
await writeFile(pycOut, pyodide.FS.readFile("/tmp/pyc.json"));
