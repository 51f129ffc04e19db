// site/history.js: stored history (versioned, migrated), labels, and how results are recorded.
import assert from "node:assert/strict";
import { test } from "node:test";

import "./page-globals.mjs"; // site/history.js loads i18n.js, which reads document and navigator
import "./form-schema.mjs"; // the engine's form schema, as the page embeds it

import {
  HISTORY_KEY, HISTORY_SCHEMA, MAX_ENTRIES, labelFor, loadHistory, migrate, record, saveHistory,
} from "../../site/history.js";

function memoryStorage(initial = {}) {
  const items = new Map(Object.entries(initial));
  return { getItem: (k) => (items.has(k) ? items.get(k) : null), setItem: (k, v) => items.set(k, String(v)), items };
}

const infer = (over = {}) => ({
  mode: "inference", model: { name: "Llama 3.1 8B" }, total_bytes: 100, per_gpu_bytes: 100, gpu_bytes: [100],
  components: { weights: 90, kv_cache: 10 }, request: { weights: "q4_k_m", context: 8192, batch: 2 }, ...over,
});

test("schema constants", () => {
  assert.equal(HISTORY_KEY, "vram-insight.history");
  assert.equal(HISTORY_SCHEMA, 1);
  assert.equal(MAX_ENTRIES, 100);
});

test("migrate: nothing stored is an empty list", () => {
  assert.deepEqual(migrate(null), { schema: 1, entries: [] });
  assert.deepEqual(migrate({ schema: 1, entries: [] }), { schema: 1, entries: [] });
});

test("migrate: schema 0 (a bare array) gains ids and defaults, drops what is unreadable", () => {
  const out = migrate([{ state: { model: "m" }, total_bytes: 5, at: 7 }, { total_bytes: 1 }, null, { state: {}, total_bytes: "5" }]);
  assert.equal(out.schema, 1);
  assert.deepEqual(out.entries, [{
    state: { model: "m" }, total_bytes: 5, at: 7, id: "m0-7", label: "calculation", per_gpu_bytes: 5,
    gpu_count: 1, components: {}, request: {}, model: { name: "m" },
  }]);
});

test("migrate: data from a newer release is kept read-only", () => {
  assert.deepEqual(migrate({ schema: 2, entries: [{ id: "x" }] }), { schema: 2, entries: [{ id: "x" }], readOnly: true });
});

test("load and save through storage; corrupt data starts empty", () => {
  const storage = memoryStorage();
  assert.deepEqual(loadHistory(storage), { schema: 1, entries: [] });
  const a = { id: "a", at: 1, label: "a", mode: "inference", state: { model: "m" }, total_bytes: 1, per_gpu_bytes: 1, components: {}, request: {}, model: {} };
  assert.equal(saveHistory({ schema: 1, entries: [a] }, storage), true);
  assert.equal(storage.items.get(HISTORY_KEY), JSON.stringify({ schema: 1, entries: [a] }));
  assert.deepEqual(loadHistory(storage), { schema: 1, entries: [a] });
  assert.deepEqual(loadHistory(memoryStorage({ [HISTORY_KEY]: "{not json" })), { schema: 1, entries: [] });
});

test("save refuses read-only data and survives a full storage", () => {
  const storage = memoryStorage();
  assert.equal(saveHistory({ schema: 2, entries: [], readOnly: true }, storage), false);
  assert.equal(storage.items.size, 0);
  const full = { getItem: () => null, setItem: () => { throw new Error("QuotaExceededError"); } };
  assert.equal(saveHistory({ schema: 1, entries: [] }, full), false);
});

test("labels: inference and training", () => {
  assert.equal(labelFor(infer()), "Llama 3.1 8B · q4_k_m · 8,192 ctx · batch 2");
  assert.equal(labelFor(infer({ request: { weights: "bf16", context: 1000, batch: 1, gpu: "h100" } }), () => "H100 SXM"),
    "Llama 3.1 8B · bf16 · 1,000 ctx · batch 1 · H100 SXM");
  const train = { mode: "training", model: { name: "Qwen" }, request: { method: "lora", lora_rank: 16, seq: 2048, batch: 4 } };
  assert.equal(labelFor(train), "Qwen · lora r16 · seq 2048 · batch 4");
  assert.equal(labelFor({ ...train, request: { method: "full", seq: 512, batch: 1 } }), "Qwen · full · seq 512 · batch 1");
  assert.equal(labelFor({ mode: "inference", request: { weights: "bf16", context: 4096, batch: 1 } }), "model · bf16 · 4,096 ctx · batch 1");
});

test("record: newest first, with what the list and the comparison show", () => {
  const data = { schema: 1, entries: [] };
  const entry = record(data, { model: "m", context: 8192 }, infer(), 1000);
  assert.equal(data.entries.length, 1);
  assert.equal(data.entries[0], entry);
  assert.equal(entry.at, 1000);
  assert.equal(entry.label, "Llama 3.1 8B · q4_k_m · 8,192 ctx · batch 2");
  assert.equal(entry.mode, "inference");
  assert.equal(entry.total_bytes, 100);
  assert.equal(entry.gpu_count, 1);
  assert.deepEqual(entry.components, { weights: 90, kv_cache: 10 });
  assert.match(entry.id, /^rs-[0-9a-z]+$/); // 1000 in base 36, then a random tail
  const second = record(data, { model: "other", context: 8192 }, infer(), 2000);
  assert.deepEqual(data.entries.map((e) => e.id), [second.id, entry.id]);
});

test("record: the same state, or one typed field growing, updates the latest entry", () => {
  const data = { schema: 1, entries: [] };
  const first = record(data, { model: "m", context: "4" }, infer({ total_bytes: 1 }), 0);
  record(data, { model: "m", context: "40" }, infer({ total_bytes: 2 }), 1000);
  record(data, { model: "m", context: "409" }, infer({ total_bytes: 3 }), 2000);
  assert.equal(data.entries.length, 1);
  assert.equal(data.entries[0].id, first.id);
  assert.equal(data.entries[0].total_bytes, 3);
  assert.equal(data.entries[0].state.context, "409");
  // after the typing window (10 s) it is a new calculation
  record(data, { model: "m", context: "4096" }, infer(), 12_001);
  assert.equal(data.entries.length, 2);
  // a non-typed field (the model) is always a new calculation
  record(data, { model: "n", context: "4096" }, infer(), 12_002);
  assert.equal(data.entries.length, 3);
});

test("record keeps at most MAX_ENTRIES", () => {
  const data = { schema: 1, entries: [] };
  for (let i = 0; i < MAX_ENTRIES + 5; i++) record(data, { model: `m${i}` }, infer(), i);
  assert.equal(data.entries.length, MAX_ENTRIES);
  assert.equal(data.entries[0].state.model, `m${MAX_ENTRIES + 4}`);
  assert.equal(data.entries.at(-1).state.model, "m5");
});
