// The lean pyodide.asm.wasm a first visit downloads: the site's wasm with every function the
// engine never reaches after the start-up snapshot is restored replaced by `unreachable`
// (about 2,000 of 13,876 functions are reached, 3,600 kept: 2.5 → 1.55 MB of brotli), and
// every call_indirect made through a dispatcher (see `dispatched`). Made at build time:
//   node scripts/pyodide_lean.mjs <runtime dir> <work dir>
// <work dir> holds image.bin (the snapshot, decoded), data.zip (the engine's data files),
// catalog/ (the index and each model's file), stdlib.zip (the full stdlib), empty.zip (the
// stdlib the image is restored with) and corpus.json
// (sitegen/lean_corpus.py); this writes lean.wasm there, and hits.json (the functions each
// phase reached, by function index: {start, requests, stdlib, total, kept, stubbed, ...}).
//
// How: a copy of the wasm in which each function, on its first call, reports its index
// (through a `vram.hit` import), is restored from the image and driven as site/worker.js
// drives it: start-up, self-test, then every corpus request (start_json/finish_json, an
// export of some results), then an import from the full stdlib zip (the worker's fallback).
// What no phase reached becomes `unreachable`; what only those functions called is removed.
// Table slots, exports, globals and data segments stay as they are, so the same image
// restores into either wasm. A request that reaches a removed function traps, and the worker
// starts again on the full wasm (site/worker.js): the answer is the same, a second later.
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import binaryen from "binaryen";
import { leb } from "../site/snapshot-image.js";

//   node scripts/pyodide_lean.mjs --stub <wasm> <keep.json> <out>
// writes <out>: <wasm> (the site's full wasm, which hits.json's indices number) with every
// function outside the index list <keep.json> stubbed, and no dispatchers (tests make a
// wasm leaner than the build's with it, to see the worker start again on the full one).
const args = process.argv.slice(2);
if (args[0] === "--stub" && args.length === 4) {
  const keep = new Set(JSON.parse(await readFile(args[2], "utf8")));
  await writeFile(args[3], stub(new Uint8Array(await readFile(args[1])), keep).out);
  process.exit(0);
}
const [runtime, work] = args;
if (!work || args.length !== 2) {
  console.error("usage: node pyodide_lean.mjs <runtime dir> <work dir> | --stub <wasm> <keep.json> <out>");
  process.exit(2);
}
const HIT = "__vram_hit";
const wasm = new Uint8Array(await readFile(join(runtime, "pyodide.asm.wasm")));

/** Defined functions (not imports) of `mod`: [index, function ref]. */
function definedFunctions(mod) {
  const out = [];
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const ref = mod.getFunctionByIndex(i);
    if (binaryen.getFunctionInfo(ref).module === "") out.push([i, ref]);
  }
  return out;
}

/** The wasm with each defined function calling vram.hit(its index) once (a global guards it). */
function instrument(bytes) {
  const mod = binaryen.readBinary(bytes);
  const functions = definedFunctions(mod); // indices before the import is added
  mod.addFunctionImport(HIT, "vram", "hit", binaryen.i32, binaryen.none);
  for (const [index, ref] of functions) {
    const seen = `__vram_seen_${index}`;
    mod.addGlobal(seen, binaryen.i32, true, mod.i32.const(0));
    const first = mod.if(
      mod.i32.eqz(mod.global.get(seen, binaryen.i32)),
      mod.block(null, [mod.global.set(seen, mod.i32.const(1)), mod.call(HIT, [mod.i32.const(index)], binaryen.none)]),
    );
    const body = binaryen.getFunctionInfo(ref).body;
    binaryen.Function.setBody(ref, mod.block(null, [first, body], binaryen.getExpressionType(body)));
  }
  const out = mod.emitBinary();
  mod.dispose();
  return out;
}

/** The wasm with every defined function outside `keep` replaced by `unreachable`. */
function stub(bytes, keep) {
  const mod = binaryen.readBinary(bytes);
  const exports = [];
  for (let i = 0; i < mod.getNumExports(); i++) exports.push(binaryen.getExportInfo(mod.getExportByIndex(i)).name);
  let stubbed = 0;
  for (const [index, ref] of definedFunctions(mod)) {
    if (keep.has(index)) continue;
    binaryen.Function.setBody(ref, mod.unreachable());
    stubbed++;
  }
  mod.runPasses(["remove-unused-module-elements"]); // callees only stubs called
  const after = [];
  for (let i = 0; i < mod.getNumExports(); i++) after.push(binaryen.getExportInfo(mod.getExportByIndex(i)).name);
  if (after.join() !== exports.join()) throw new Error("stubbing changed the exports");
  const out = mod.emitBinary();
  mod.dispose();
  return { out, stubbed };
}

/** The wasm with each `call_indirect` turned into a call of one dispatcher per function type,
 *  which makes that call_indirect itself. Why: V8's optimising tier inlines an indirect call
 *  at a call site for the few targets it saw there and deoptimises when another comes; for
 *  CPython's eval loop (79 kB of wasm) that first happens on the first input after ready and
 *  recompiles it for 13 ms. A dispatcher's one call site sees every target of its type, too
 *  many to inline, so it never deoptimises; the steady state is no slower (measured with
 *  V8's --no-wasm-inlining-call-indirect, which does the same for the whole page). Done on
 *  the text form: every other byte of the module is kept. */
function dispatched(bytes) {
  const mod = binaryen.readBinary(bytes);
  const features = mod.getFeatures(); // as read: written back the same way
  let text = mod.emitText();
  mod.dispose();
  const signatures = new Map(); // type name -> [param types, result types]
  for (const [, name, body] of text.matchAll(/^ \(type \$(\S+) \(func(.*)\)\)$/gm)) {
    const group = (kind) => [...body.matchAll(new RegExp(`\\(${kind} ([^)]*)\\)`, "g"))].flatMap((m) => m[1].split(" "));
    signatures.set(name, [group("param"), group("result")]);
  }
  const used = new Set();
  text = text.replace(/\(call_indirect \(type \$(\S+)\)/g, (_, type) => {
    if (!signatures.has(type)) throw new Error(`call_indirect of an unknown type ${type}`);
    used.add(type);
    return `(call $__vram_dispatch_${type}`;
  });
  const dispatchers = [...used].map((type) => {
    const [params, results] = signatures.get(type);
    const args = params.map((_, i) => `(local.get ${i})`).join(" ");
    const result = results.length ? ` (result ${results.join(" ")})` : "";
    return ` (func $__vram_dispatch_${type} (param ${[...params, "i32"].join(" ")})${result}\n  (call_indirect (type $${type}) ${args} (local.get ${params.length})))\n`;
  });
  const end = text.lastIndexOf(")");
  const out = binaryen.parseText(text.slice(0, end) + dispatchers.join("") + text.slice(end));
  out.setFeatures(binaryen.Features.All); // binaryen reads no feature section from Pyodide's wasm
  if (!out.validate()) throw new Error("the dispatched wasm does not validate");
  out.setFeatures(features); // written as it was read
  const wasm = out.emitBinary();
  out.dispose();
  return withDylink(wasm, bytes);
}

/** The first section of `wasm` (id, size and body) if it is the custom section dylink.0. */
function dylinkSection(wasm) {
  if (wasm[8] !== 0) return null;
  const [size, body] = leb(wasm, 9);
  const [length, name] = leb(wasm, body);
  const isDylink = new TextDecoder().decode(wasm.subarray(name, name + length)) === "dylink.0";
  return isDylink ? wasm.subarray(8, body + size) : null;
}

/** `wasm` with `from`'s dylink.0 section put back first (the text form has no custom
 *  sections; Emscripten's loader reads a main module's dylink.0 first thing). */
function withDylink(wasm, from) {
  const section = dylinkSection(from);
  if (!section || dylinkSection(wasm)) return wasm;
  const out = new Uint8Array(wasm.length + section.length);
  out.set(wasm.subarray(0, 8));
  out.set(section, 8);
  out.set(wasm.subarray(8), 8 + section.length);
  return out;
}

// 1. An instrumented runtime: the wasm, and a glue that hands it the vram.hit import.
const rt = join(work, "runtime");
await mkdir(rt, { recursive: true });
for (const name of await readdir(runtime)) {
  if (!name.startsWith("pyodide.asm.")) await copyFile(join(runtime, name), join(rt, name));
}
const glue = await readFile(join(runtime, "pyodide.asm.mjs"), "utf8");
const IMPORTS = 'wasi_snapshot_preview1:wasmImports,"GOT.mem"';
if (glue.split(IMPORTS).length !== 2) throw new Error("pyodide.asm.mjs: the wasm imports are not where expected");
await writeFile(join(rt, "pyodide.asm.mjs"), glue.replace(IMPORTS, 'wasi_snapshot_preview1:wasmImports,vram:globalThis.__vramLeanImports,"GOT.mem"'));
await writeFile(join(rt, "pyodide.asm.wasm"), instrument(wasm));

// 2. Drive it as the worker does, phase by phase.
const phases = { start: new Set(), requests: new Set(), stdlib: new Set() };
let phase = phases.start;
globalThis.__vramLeanImports = { hit: (index) => phase.add(index) };
const { loadPyodide } = await import(resolve(rt, "pyodide.mjs"));
const corpus = JSON.parse(await readFile(join(work, "corpus.json"), "utf8"));
const pyodide = await loadPyodide({
  indexURL: rt + "/",
  stdLibURL: join(work, "empty.zip"),
  _loadSnapshot: new Uint8Array(await readFile(join(work, "image.bin"))),
  stdout: () => {},
  stderr: () => {},
});
pyodide.runPython("import random; random.seed()");
const arrayBuffer = (buf) => buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
// an ArrayBuffer, as the worker's fetch gives it (a Uint8Array takes another path)
pyodide.unpackArchive(arrayBuffer(await readFile(join(work, "data.zip"))), "zip");
pyodide.runPython(`import ${corpus.preload.join(", ")}`);
const present = pyodide.pyimport("present.render");
const catalog = pyodide.pyimport("engine.catalog");
catalog.use_index(await readFile(join(work, "catalog", "index.json"), "utf8"));
const ask = (req) => {
  const text = JSON.stringify(req);
  present.start_json(text);
  return present.finish_json();
};
ask({ v: 1, id: 0, op: "version", args: {} });
ask({ v: 1, id: 0, op: "infer", args: corpus.self_test });
pyodide.runPython("import gc; gc.freeze()");

phase = phases.requests;
const models = join(work, "catalog", "models");
let exported = 0;
for (const req of corpus.requests) {
  const name = req && req.args && req.args.model;
  const url = typeof name === "string" ? catalog.model_to_fetch(name) : null;
  if (url) {
    const file = url.split("/").pop();
    catalog.add_model(file.replace(/\.[0-9a-f]+\.json$/, ""), await readFile(join(models, file), "utf8"));
  }
  const reply = JSON.parse(ask(req));
  if (reply.ok && reply.result && reply.result.view && req.id % 3 === 0) {
    const { view, ...result } = reply.result;
    for (const kind of corpus.export_kinds) present.export_json(JSON.stringify(result), kind);
    exported++;
  }
}

// a JS error raised into Python and caught there (hub-fetch.js's lookups can do this)
pyodide.globals.set("__vram_throw", () => {
  throw new Error("a JS error");
});
pyodide.runPython("try:\n    __vram_throw()\nexcept Exception as e:\n    str(e)\ndel __vram_throw");

// the worker's fallback: a module outside the image, from the full stdlib zip
phase = phases.stdlib;
pyodide.FS.writeFile("/lib/python-full-stdlib.zip", new Uint8Array(await readFile(join(work, "stdlib.zip"))));
pyodide.runPython(
  "import sys\nsys.path.append('/lib/python-full-stdlib.zip')\nimport fractions, decimal, csv, statistics\n" +
    "statistics.median([fractions.Fraction(1, 3), fractions.Fraction(5, 2)]), decimal.Decimal('2.5') * 2",
);

// 3. The lean wasm. Functions of one C file lie side by side in the wasm; a function between
// two reached ones at most GAP apart is kept too: what the corpus missed of a file it used
// (an arithmetic slow path, a rarer error) is likelier there than in a file it never touched.
const GAP = 8;
const total = new Set([...phases.start, ...phases.requests, ...phases.stdlib]);
const reached = [...total].sort((a, b) => a - b);
const keep = new Set(total);
for (let i = 1; i < reached.length; i++) {
  if (reached[i] - reached[i - 1] <= GAP) for (let f = reached[i - 1] + 1; f < reached[i]; f++) keep.add(f);
}
const { out, stubbed } = stub(wasm, keep);
await writeFile(join(work, "lean.wasm"), dispatched(out));
const sorted = (set) => [...set].sort((a, b) => a - b);
await writeFile(
  join(work, "hits.json"),
  JSON.stringify({
    start: sorted(phases.start),
    requests: sorted(phases.requests),
    stdlib: sorted(phases.stdlib),
    total: total.size,
    kept: keep.size,
    stubbed,
    requests_run: corpus.requests.length,
    exported,
  }),
);
console.log(`reached ${total.size} functions, kept ${keep.size}, stubbed ${stubbed}; ${corpus.requests.length} requests, ${exported} exported`);
