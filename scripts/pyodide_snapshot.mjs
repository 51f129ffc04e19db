// Make the engine's start-up memory snapshot at build time, with the exact Pyodide build the
// site ships: the interpreter after start-up with the engine imported and its first requests
// answered (lazy imports and caches warm). The browser restores it instead of running
// Python's start-up (about 1 s of a cold start on a 2-core machine).
//   node scripts/pyodide_snapshot.mjs <stdlib.zip> <engine.whl> <module,...> <out.bin> <out_modules.txt> <warmup.json> [<module,...>] [<pyodide dir>] [<lock.json>]
// (the Pyodide directory the site ships, by default node_modules/pyodide: the image must be
// restored with the wasm it was made with, see sitegen/pyodide_trim.py; and the lock file the
// site ships, sitegen/pyodide_trim.py minimal_lock, by default the directory's own)
//
// The image holds every stdlib module the engine imports (the preloaded modules, the warm-up
// requests and the modules the worker imports later: the last argument), listed in
// <out_modules.txt> (the import trace). It no longer reads the stdlib zip: the browser
// restores it with an empty one, and the worker mounts the full zip on an ImportError.
//
// Free heap memory is zeroed before the image is taken (zeroFreeMemory): stale bytes only
// cost download.
//
// The bytes must depend only on the inputs, so for this process only the clocks stand still,
// "random" bytes come from a fixed sequence and str hashing uses PYTHONHASHSEED=0; sys.executable
// is what a browser reports. The worker reseeds `random` from real entropy after restoring.
import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const [stdlib, wheel, modules, out, outModules, warmupPath, traceModules = "", pkgDir, lockPath] = process.argv.slice(2);
if (!warmupPath) {
  console.error(
    "usage: node pyodide_snapshot.mjs <stdlib.zip> <engine.whl> <modules> <out.bin> <out_modules.txt> <warmup.json>",
  );
  process.exit(2);
}

let state = 0x9e3779b9;
function fixedRandom(array) {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  for (let i = 0; i < bytes.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return array;
}
globalThis.crypto.getRandomValues = fixedRandom;
createRequire(import.meta.url)("node:crypto").randomFillSync = fixedRandom;
Date.now = () => 0;
performance.now = () => 0;

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = resolve(pkgDir || join(root, "node_modules", "pyodide"));
const { loadPyodide } = await import(join(pkg, "pyodide.mjs"));
const wheelBytes = new Uint8Array(await readFile(wheel));
const warmup = await readFile(warmupPath, "utf8");
const names = modules.split(",").filter(Boolean);

// The lock file the site ships (Pyodide's `info`, no packages): the image made with it holds
// no package table in its import hook.
const lockFileContents = await readFile(lockPath || join(pkg, "pyodide-lock.json"), "utf8");

/** Start an interpreter on `stdLibURL` with the engine imported and the warm-up answered. */
async function engine(stdLibURL, extra) {
  const pyodide = await loadPyodide({
    indexURL: pkg + "/",
    stdLibURL,
    env: { PYTHONHASHSEED: "0" },
    _sysExecutable: "./this.program",
    lockFileContents,
    ...extra,
  });
  pyodide.unpackArchive(wheelBytes, "wheel");
  pyodide.globals.set("warmup_json", warmup);
  pyodide.runPython(`import ${names.join(", ")}\n${WARM}`);
  return pyodide;
}

// The requests a page sends first (sitegen/snapshot.py WARMUP); a failing one is reported
// and the build stops: the snapshot would otherwise hide a broken engine until the browser.
const WARM = `
import json as _json
from present.render import handle_json as _handle
for _req in _json.loads(warmup_json):
    _must = _req.pop("must_pass", True)
    _reply = _json.loads(_handle(_json.dumps(_req)))
    if not _reply.get("ok") and _must:
        raise RuntimeError(f"warm-up request failed: {_req}: {_reply.get('error')}")
del _json, _handle, _req, _must, _reply, warmup_json
`;

// Docstrings are dropped from the image (some 0.2 MB on the wire): nothing a page runs reads
// them (the engine and present/ never use __doc__; pydoc and the CLI are not in a page). Each
// function gets its code object again less the docstring constant (nested code objects too:
// co_consts[0] becomes None, CO_HAS_DOCSTRING is cleared, so the bytecode's constant indices
// stay; a code object whose bytecode loads that constant keeps it), and classes, modules,
// properties and decorator wrappers lose their __doc__ strings. Names, line tables and the
// bytecode are kept: tracebacks read the same.
const STRIP_DOCSTRINGS = `
def strip_docstrings():
    import dis, functools, gc, types
    done = {}
    loads_const = set(dis.hasconst)

    def strip(code):
        new = done.get(id(code))
        if new is None:
            consts = [strip(c) if isinstance(c, types.CodeType) else c for c in code.co_consts]
            flags = code.co_flags
            if flags & 0x4000000 and not any(  # CO_HAS_DOCSTRING
                i.opcode in loads_const and i.arg == 0 for i in dis.get_instructions(code)
            ):
                consts[0], flags = None, flags & ~0x4000000
            new = done[id(code)] = code.replace(co_consts=tuple(consts), co_flags=flags)
        return new

    wrappers = (types.ModuleType, staticmethod, classmethod, functools._lru_cache_wrapper,
                functools.cached_property)
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType):
            obj.__code__ = strip(obj.__code__)
            obj.__doc__ = None
        elif isinstance(obj, (type, property)) or type(obj) in wrappers:
            own = obj.__doc__ if isinstance(obj, property) else vars(obj).get("__doc__")
            if isinstance(own, str):
                try:
                    obj.__doc__ = None
                except (AttributeError, TypeError):  # a static type's
                    pass
`;

// The snapshot: the engine imported and warm, then the stdlib zip taken off sys.path, so
// the image no longer reads it: the browser restores it with an empty stdlib zip (no
// download) and the worker mounts the full zip only if a later import needs it.
const pyodide = await engine(stdlib, { _makeSnapshot: true });
pyodide.globals.set("trace_modules", traceModules);
pyodide.runPython(STRIP_DOCSTRINGS);
const imported = pyodide.runPython(`
import gc, importlib, sys, zipimport
for name in filter(None, trace_modules.split(",")):  # what the worker imports later (Hub lookups)
    importlib.import_module(name)
zips = [p for p in sys.path if p.endswith(".zip")]
imported = sorted(
    name for name, mod in sys.modules.items()
    if any((getattr(getattr(mod, "__spec__", None), "origin", None) or "").startswith(z + "/") for z in zips)
)
for z in zips:
    sys.path.remove(z)
    sys.path_importer_cache.pop(z, None)
zipimport._zip_directory_cache.clear()
del trace_modules, zips
strip_docstrings()
del strip_docstrings
for stream in (sys.stdout, sys.stderr):
    stream.flush()
stream_buffers = [id(stream.buffer) for stream in (sys.stdin, sys.stdout, sys.stderr)]
del stream
gc.collect()
"\\n".join(imported)
`);
await writeFile(outModules, imported);
const streams = pyodide.globals.get("stream_buffers");
const streamBuffers = streams.toJs();
streams.destroy();
// The type attribute cache is emptied (sys._clear_internal_caches), refilled on demand: its
// entries (some 15 kB on the wire) say only which lookups the warm-up made; a first request
// after it measured no slower under Node (median of 15).
pyodide.runPython("del stream_buffers\nsys._clear_internal_caches()");
zeroFreeMemory(pyodide._module, streamBuffers);
await writeFile(out, pyodide.makeMemorySnapshot());

/** Zero what malloc holds free (after the gc above: freed objects, old buffers), so that the
 *  image carries no stale bytes: they compress badly and mean nothing. dlmalloc's chunks are
 *  walked from the heap base to the top of the heap; a free chunk keeps its header and free
 *  list links (its first 32 bytes) and loses the rest. If the walk does not land exactly on
 *  the top of the heap, nothing is touched.
 *  The standard streams' buffers too (`streams`: the addresses of their buffered objects): each
 *  is a 128 KiB block malloc'd over stale memory (the stdin one held 128 kB of the stdlib zip,
 *  incompressible) that holds no data: stdout and stderr are flushed just before and nothing
 *  reads stdin here. A stream's buffer is the one large in-use block its object points to
 *  (among its first 32 words); a stream with none or several such pointers is left alone. */
function zeroFreeMemory(M, streams = []) {
  // the wasm stack below its pointer, which holds the warm-up's dead frames: no wasm frame is
  // live while this JS runs
  M.HEAP8.fill(0, M._emscripten_stack_get_end(), M.stackSave());
  const u32 = new Uint32Array(M.HEAP8.buffer);
  const top = u32[M._emscripten_get_sbrk_ptr() >>> 2];
  const free = [];
  const large = new Map(); // in-use blocks of 4 KiB or more: payload address -> chunk end
  let p = M.___heap_base;
  while (p < top) {
    const size = u32[(p + 4) >>> 2] & ~7;
    if (size < 16 || p + size > top) return; // not the chunk layout expected: leave it
    // CINUSE bit clear; the top chunk's fencepost (the last chunk) is left as it is
    if (!(u32[(p + 4) >>> 2] & 2) && size > 32 && p + size < top) free.push([p + 32, p + size]);
    else if (u32[(p + 4) >>> 2] & 2 && size >= 4096) large.set(p + 8, p + size);
    p += size;
  }
  if (p !== top) return;
  for (const [from, to] of free) M.HEAP8.fill(0, from, to);
  for (const obj of streams) {
    const words = Array.from(u32.subarray(obj >>> 2, (obj >>> 2) + 32));
    const buffers = words.filter((word) => large.has(word));
    if (buffers.length === 1) M.HEAP8.fill(0, buffers[0], large.get(buffers[0]));
  }
}
