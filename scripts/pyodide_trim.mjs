// A smaller pyodide.asm.wasm for the site, made at build time with binaryen (an npm
// devDependency): the site loads no Pyodide package and no side module, so the main module
// need not export its whole C API (some 7,000 functions exported for dynamic linking, each
// keeping its code alive). Only the exports the JS glue uses are kept, and what no longer
// has a caller is removed: about a tenth of the code, 0.26 MB of brotli on a first visit.
// The glue's assignments (and declarations) of the dropped exports go too: 0.06 MB more.
//   node scripts/pyodide_trim.mjs <pyodide dir> <out dir>
// writes <out dir>/pyodide.asm.wasm and <out dir>/pyodide.asm.mjs.
//
// Kept: memory, table and tags, the data addresses (globals) the glue reads, and every function the glue (pyodide.asm.mjs, pyodide.mjs) names outside
// assignWasmExports, which names all of them. The table (function pointers, stored as
// indices in the start-up snapshot) and the data segments stay as they are, so stdlib C
// modules built into the main module (_json, _decimal, zlib...) still import; a side
// module (dlopen, loadPackage of a C extension) would find its symbols missing. A snapshot
// must be made with the wasm it is restored with (sitegen/snapshot.py passes the directory).
import { readFile, writeFile } from "node:fs/promises";
import binaryen from "binaryen";

const [dir, out] = process.argv.slice(2);
if (!out) {
  console.error("usage: node pyodide_trim.mjs <pyodide dir> <out dir>");
  process.exit(2);
}

const asm = await readFile(`${dir}/pyodide.asm.mjs`, "utf8");
const loader = await readFile(`${dir}/pyodide.mjs`, "utf8");
const start = asm.indexOf("function assignWasmExports(");
const end = asm.indexOf("}", start) + 1; // a flat list of assignments: no inner braces
if (start < 0 || !end) throw new Error("pyodide.asm.mjs has no assignWasmExports: another Pyodide?");
const assign = asm.slice(start, end);
const ASSIGN = /([\w$]+)=Module\["([\w$]+)"\]=(?:([\w$]+)=Module\["[\w$]+"\]=)?wasmExports\["([^"]+)"\](\.value>>>0)?;?/g;
const rest = asm.slice(0, start) + asm.slice(end) + loader;

// How often each identifier and each quoted word occurs outside assignWasmExports: the
// glue declares every export's variable once (`var _malloc,_free,...`), so a second
// occurrence is a use; Module["_name"] / ccall("name") are quoted.
const words = new Map();
for (const w of rest.match(/[A-Za-z_$][\w$]*/g)) words.set(w, (words.get(w) || 0) + 1);
const quoted = new Set([...rest.matchAll(/["'`]([\w$]+)["'`]/g)].map((m) => m[1]));
const keep = new Set([...rest.matchAll(/wasmExports(?:\["([^"]+)"\]|\.([\w$]+))/g)].map((m) => m[1] ?? m[2]));
const named = new Set([...asm.matchAll(/wasmExports\["([^"]+)"\]/g)].map((m) => m[1]));
let listed = 0;
for (const m of assign.matchAll(ASSIGN)) {
  const [, variable, key, , name] = m;
  listed++;
  if ((words.get(variable) || 0) > 1 || (words.get(key) || 0) > 1 || quoted.has(key) || quoted.has(name)) {
    keep.add(name);
  }
}
if (listed < 1000) throw new Error(`assignWasmExports lists ${listed} exports: another Pyodide?`);

const mod = binaryen.readBinary(new Uint8Array(await readFile(`${dir}/pyodide.asm.wasm`)));
const drop = [];
const exported = new Set();
for (let i = 0; i < mod.getNumExports(); i++) {
  const info = binaryen.getExportInfo(mod.getExportByIndex(i));
  exported.add(info.name);
  const read = info.kind === binaryen.ExternalGlobal ? named : keep; // globals: assign reads .value
  if ((info.kind === binaryen.ExternalFunction || info.kind === binaryen.ExternalGlobal) && !read.has(info.name)) {
    drop.push(info.name);
  }
}
for (const name of drop) mod.removeExport(name);
mod.runPasses(["remove-unused-module-elements"]);
const wasm = mod.emitBinary();
mod.dispose();

// every export the glue uses is still there
const left = new Set(WebAssembly.Module.exports(new WebAssembly.Module(wasm)).map((e) => e.name));
const missing = [...keep].filter((name) => exported.has(name) && !left.has(name));
if (missing.length) throw new Error(`exports lost: ${missing.slice(0, 10).join(", ")}`);

// The glue: assignWasmExports less the dropped exports (their variables are used nowhere
// else, as found above), and the declarations of those variables (`var _a,_b,...;`).
const unused = new Set();
const slim = assign.replace(ASSIGN, (whole, variable, key, alias, name) => {
  if (left.has(name)) return whole;
  unused.add(variable);
  if (alias) unused.add(alias);
  return "";
});
const glue = (asm.slice(0, start) + slim + asm.slice(end)).replace(/var ((?:[\w$]+,){50,}[\w$]+);/g, (whole, list) => {
  const kept = list.split(",").filter((name) => !unused.has(name));
  return kept.length ? `var ${kept.join(",")};` : "";
});
for (const name of unused) { // (an export's name in quotes may equal another's variable)
  if (new RegExp(`(?<![\\w$."])${name.replace(/\$/g, "\\$")}(?![\\w$])`).test(glue)) {
    throw new Error(`${name} is still named in the glue`);
  }
}
await writeFile(`${out}/pyodide.asm.wasm`, wasm);
await writeFile(`${out}/pyodide.asm.mjs`, glue);
console.log(`kept ${left.size} exports, dropped ${drop.length}; ${wasm.length} + ${glue.length} bytes`);
