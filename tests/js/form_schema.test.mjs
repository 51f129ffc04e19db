// site/state.js reads the engine's form schema (engine/form.py): defaults, kinds, mode
// words and the runtime "auto" picks come from it, and old links keep working.
import assert from "node:assert/strict";
import { test } from "node:test";

import { schema } from "./form-schema.mjs";
import {
  MODES, autoRuntime, coerce, fieldFor, fromSearch, makeDefaults, parseMode, resultWord, sameState, toRequest, toSearch,
  typedKeys,
} from "../../site/state.js";

const d = makeDefaults("llama-3.1-8b");
const field = (key) => schema.fields.find((f) => f.key === key);

test("defaults are the schema's, in its link order", () => {
  assert.deepEqual(Object.keys(d), ["mode", "model", "config", ...schema.fields.map((f) => f.key)]);
  for (const f of schema.fields) {
    const want = f.default === null ? "" : Array.isArray(f.default) ? f.default.join(",") : f.default;
    assert.equal(d[f.key], want, f.key);
  }
  assert.equal(d.mode, schema.default_mode);
  assert.deepEqual(MODES, schema.modes.map((m) => m.id));
  // the page's deliberate training defaults are written in the schema, with the reason
  assert.equal(d.method, "lora");
  assert.equal(d.optimizer, "auto");
});

test("number kinds come from the schema", () => {
  for (const key of typedKeys()) assert.ok(["int", "float"].includes(field(key).kind), key);
  assert.ok(typedKeys().includes("tbatch") && typedKeys().includes("gpu_memory_utilization"));
  assert.equal(coerce("lora_alpha", "64"), 64);
  assert.equal(coerce("zero", "2"), 2);
  assert.equal(coerce("gpu_memory_utilization", "0.5"), 0.5);
  assert.equal(coerce("kv_dtype", "8"), "8");
});

test("a link with GGUF weights and no runtime gets llama.cpp, as the form would choose", () => {
  assert.equal(autoRuntime("q4_k_m"), "llamacpp");
  assert.equal(autoRuntime("Q4_K_M"), "llamacpp");
  assert.equal(autoRuntime("bf16"), "transformers");
  assert.equal(fromSearch("?weights=q4_k_m", d).runtime, "llamacpp");
  assert.equal(fromSearch("?weights=awq-4bit-g128", d).runtime, autoRuntime("awq-4bit-g128"));
  assert.equal(fromSearch("?weights=q4_k_m&runtime=vllm", d).runtime, "vllm"); // explicit wins
  assert.equal(fromSearch("?weights=nosuchformat", d).runtime, "transformers"); // the engine says why
  assert.equal(toRequest(fromSearch("?weights=q4_k_m", d)).args.runtime, "llamacpp");
});

test("links name a runtime that is not the default or not the one the weights imply, and round-trip", () => {
  const gguf = { ...d, weights: "q4_k_m", runtime: "llamacpp" };
  assert.equal(toSearch(gguf, d), "?weights=q4_k_m&runtime=llamacpp"); // as links always did
  const forced = { ...d, weights: "q4_k_m", runtime: "transformers" };
  assert.equal(toSearch(forced, d), "?weights=q4_k_m&runtime=transformers");
  for (const s of [gguf, forced, { ...d, runtime: "vllm", gpu_memory_utilization: 0.8 }]) {
    assert.ok(sameState(fromSearch(toSearch(s, d), d), s));
  }
  // an old link that already named the runtime means the same
  assert.ok(sameState(fromSearch("?weights=q4_k_m&runtime=llamacpp", d), gguf));
});

test("mode words: the schema's, plus the result words and old spellings in links and history", () => {
  assert.equal(parseMode("infer"), "infer");
  assert.equal(parseMode("inference"), "infer");
  assert.equal(parseMode("training"), "train");
  assert.equal(parseMode("fine-tuning"), "finetune");
  assert.equal(parseMode(" FineTune "), "finetune");
  assert.equal(parseMode("train", "qlora"), "finetune");
  assert.equal(parseMode("nonsense"), "infer");
  assert.equal(parseMode("training", undefined), "train"); // a preset without a method
  // schema-1 words (results, presets, fit's mode) are the schema's too
  assert.deepEqual(MODES.map(resultWord), ["inference", "training", "training"]);
  for (const m of MODES) assert.equal(parseMode(resultWord(m)), m === "finetune" ? "train" : m);
  assert.equal(fromSearch("?mode=training&method=lora&lora_rank=8", d).mode, "finetune");
  assert.equal(fromSearch("?mode=inference&context=8192", d).mode, "infer");
  // a stored history entry's state is opened through its link (features.js ctx.open)
  const old = { ...d, mode: "training", method: "qlora", lora_rank: 8 };
  assert.equal(fromSearch(toSearch(old, d), d).mode, "finetune");
  // what a link says is always the schema's word
  assert.equal(toSearch(fromSearch("?mode=training", d), d), "?mode=train");
});

test("requests: the op and fixed values come from the mode", () => {
  for (const m of schema.modes) {
    const { op, args } = toRequest({ ...d, mode: m.id });
    assert.equal(op, m.op);
    for (const [k, v] of Object.entries(m.fixed)) assert.equal(args[k], v);
  }
  const train = toRequest({ ...d, mode: "finetune", tbatch: "4", lora_targets: "q,v" }).args;
  assert.equal(train.batch, 4);
  assert.deepEqual(train.lora_targets, ["q", "v"]);
  assert.equal("gpu" in train, false);
  assert.equal(toRequest({ ...d, gpu: "rtx-4090" }).args.gpu, "rtx-4090");
  assert.equal("gpu_memory_utilization" in toRequest(d).args, false);
  assert.equal(fieldFor("finetune", "batch"), "tbatch");
});
