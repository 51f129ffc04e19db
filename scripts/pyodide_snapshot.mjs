// Make the engine's start-up memory snapshot at build time, with the exact Pyodide build the
// site ships: the interpreter after start-up with the engine imported. The browser restores
// it instead of running Python's start-up (about 1 s of a cold start on a 2-core machine).
//   node scripts/pyodide_snapshot.mjs <stdlib.zip> <engine.whl> <module,module,...> <out.bin>
//
// The bytes must depend only on the inputs, so for this process only the clocks stand still,
// "random" bytes come from a fixed sequence and str hashing uses PYTHONHASHSEED=0; sys.executable
// is what a browser reports. The worker reseeds `random` from real entropy after restoring.
import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [stdlib, wheel, modules, out] = process.argv.slice(2);
if (!out) {
  console.error("usage: node pyodide_snapshot.mjs <stdlib.zip> <engine.whl> <modules> <out.bin>");
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
const { loadPyodide } = await import(join(root, "node_modules", "pyodide", "pyodide.mjs"));
const pyodide = await loadPyodide({
  indexURL: join(root, "node_modules", "pyodide") + "/",
  stdLibURL: stdlib,
  env: { PYTHONHASHSEED: "0" },
  _sysExecutable: "./this.program",
  _makeSnapshot: true,
});
pyodide.unpackArchive(new Uint8Array(await readFile(wheel)), "wheel");
const names = modules.split(",").filter(Boolean);
pyodide.runPython(`import ${names.join(", ")}\nimport gc\ngc.collect()`);
await writeFile(out, pyodide.makeMemorySnapshot());
