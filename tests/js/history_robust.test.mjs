// site/history.js as the user's data (issue 13): stored entries are validated one by one
// (the good ones kept, the rest set aside, never dropped), and stepping one field is one entry.
import assert from "node:assert/strict";
import { test } from "node:test";

import "./page-globals.mjs"; // site/history.js loads i18n.js, which reads document and navigator
import "./form-schema.mjs"; // the engine's form schema, as the page embeds it

import { HISTORY_KEY, SET_ASIDE_KEY, loadHistory, partitionEntries, record, validEntry } from "../../site/history.js";

function memoryStorage(initial = {}) {
  const items = new Map(Object.entries(initial));
  return { getItem: (k) => (items.has(k) ? items.get(k) : null), setItem: (k, v) => items.set(k, String(v)), items };
}

const entry = (id, over = {}) => ({
  id, at: 1, label: id, mode: "inference", state: { model: "m", context: 4096 }, total_bytes: 10,
  per_gpu_bytes: 10, components: { weights: 10 }, request: {}, model: { name: "m" }, ...over,
});
const result = (total) => ({
  schema: 1, mode: "inference", model: { name: "M" }, total_bytes: total, per_gpu_bytes: total, gpu_bytes: [total],
  components: {}, request: { weights: "bf16", context: 1, batch: 1 },
});

test("validEntry accepts what record makes and rejects what the list cannot show", () => {
  const data = { schema: 1, entries: [] };
  assert.ok(validEntry(record(data, { model: "m", context: 1 }, result(5), 1)));
  assert.ok(validEntry(entry("a")));
  for (const bad of [null, 3, "x", [], {}, entry("b", { state: null }), entry("c", { per_gpu_bytes: "7" }),
    entry("d", { id: 5 }), entry("e", { components: null }), entry("f", { at: "yesterday" }), entry("g", { total_bytes: -1 })]) {
    assert.equal(validEntry(bad), false, JSON.stringify(bad));
  }
});

test("one malformed entry is set aside; the good ones load, in order", () => {
  const stored = { schema: 1, entries: [entry("a"), null, entry("b"), { id: "c" }, entry("d")] };
  const storage = memoryStorage({ [HISTORY_KEY]: JSON.stringify(stored) });
  const data = loadHistory(storage);
  assert.deepEqual(data.entries.map((e) => e.id), ["a", "b", "d"]);
  const aside = JSON.parse(storage.items.get(SET_ASIDE_KEY));
  assert.deepEqual(aside.map((x) => x.item), [null, { id: "c" }]);
  assert.deepEqual(partitionEntries("not a list"), { good: [], bad: [] });
});

test("unreadable stored text is kept aside, not overwritten into oblivion", () => {
  const storage = memoryStorage({ [HISTORY_KEY]: "{not json" });
  assert.deepEqual(loadHistory(storage), { schema: 1, entries: [] });
  assert.deepEqual(JSON.parse(storage.items.get(SET_ASIDE_KEY)).map((x) => x.item), ["{not json"]);
});

test("stepping one number field (ArrowUp held on Context) is one entry", () => {
  const data = { schema: 1, entries: [] };
  record(data, { model: "m", weights: "bf16", context: 4096 }, result(99), 0);
  record(data, { model: "m", weights: "q8_0", context: 4096 }, result(98), 500);
  for (let i = 1; i <= 40; i++) record(data, { model: "m", weights: "q8_0", context: 4096 + i }, result(100 + i), 1000 + i * 50);
  assert.equal(data.entries.length, 3); // bf16, q8_0 at 4096 (kept), the stepped one
  assert.equal(data.entries[0].state.context, 4136);
  assert.equal(data.entries[0].total_bytes, 140);
  assert.equal(data.entries[1].state.context, 4096); // the calculation before the steps stays
  // another field is a new calculation
  record(data, { model: "n", weights: "q8_0", context: 4136 }, result(1), 4000);
  assert.equal(data.entries.length, 4);
});
