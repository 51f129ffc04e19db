// site/state.js: calculator state <-> URL query <-> engine request.
import assert from "node:assert/strict";
import { test } from "node:test";

import "./form-schema.mjs"; // the engine's form schema, as the page embeds it

import {
  INFER_KEYS, MODES, coerce, fieldFor, fromSearch, makeDefaults, sameState, toRequest, toSearch,
} from "../../site/state.js";

const d = makeDefaults("llama-3.1-8b");

test("defaults", () => {
  assert.equal(d.model, "llama-3.1-8b");
  assert.equal(d.mode, "infer");
  assert.equal(d.weights, "bf16");
  assert.equal(d.context, 4096);
  assert.equal(d.seq, 2048);
  assert.equal(d.method, "lora");
  assert.equal(d.gpu_memory_utilization, ""); // empty: vLLM's own default (engine.vllm_release)
  assert.equal(d.vllm_version, "0.34");
  assert.deepEqual(MODES, ["infer", "train", "finetune"]);
  assert.deepEqual(INFER_KEYS, ["weights", "kv_dtype", "context", "batch", "runtime", "tp", "pp"]);
});

test("coerce: integers and the vLLM fraction become numbers, anything else is left for the engine", () => {
  assert.equal(coerce("context", "8192"), 8192);
  assert.equal(coerce("context", " 12 "), 12);
  assert.equal(coerce("batch", "-3"), -3);
  assert.equal(coerce("context", "40x"), "40x");
  assert.equal(coerce("context", "1.5"), "1.5");
  assert.equal(coerce("gpu_memory_utilization", "0.85"), 0.85);
  assert.equal(coerce("gpu_memory_utilization", ".5"), 0.5);
  assert.equal(coerce("gpu_memory_utilization", "1e3"), "1e3");
  assert.equal(coerce("weights", "q4_k_m"), "q4_k_m");
});

test("fromSearch reads known keys, typed, and ignores config and unknown keys", () => {
  const s = fromSearch("?context=8192&weights=q4_k_m&foo=1&config=%7B%7D", d);
  assert.equal(s.context, 8192);
  assert.equal(s.weights, "q4_k_m");
  assert.equal(s.config, "");
  assert.equal("foo" in s, false);
  assert.equal(s.batch, 1);
});

test("fromSearch modes: old training links with a LoRA method are fine-tuning; unknown is inference", () => {
  assert.equal(fromSearch("?mode=train&method=lora", d).mode, "finetune");
  assert.equal(fromSearch("?mode=train&method=full", d).mode, "train");
  assert.equal(fromSearch("?mode=train", d).mode, "train");
  assert.equal(fromSearch("?mode=finetune&method=qlora", d).mode, "finetune");
  assert.equal(fromSearch("?mode=bogus", d).mode, "infer");
});

test("toSearch writes only what differs from the defaults, in the defaults' order", () => {
  assert.equal(toSearch(d, d), "");
  assert.equal(toSearch({ ...d, context: 8192, mode: "finetune" }, d), "?mode=finetune&context=8192");
  assert.equal(toSearch({ ...d, config: "{\"a\":1}" }, d), "");
  // full training has no method: a leftover method does not go into the link
  assert.equal(toSearch({ ...d, mode: "train", method: "qlora" }, d), "?mode=train");
  assert.equal(toSearch({ ...d, mode: "finetune", method: "qlora" }, d), "?mode=finetune&method=qlora");
});

test("toSearch and fromSearch round-trip", () => {
  const s = { ...d, mode: "finetune", method: "qlora", seq: 4096, lora_rank: 64, gpu: "h100-sxm-80gb" };
  assert.ok(sameState(fromSearch(toSearch(s, d), d), s));
});

test("sameState compares values as text", () => {
  assert.ok(sameState(d, { ...d }));
  assert.ok(sameState({ a: 1 }, { a: "1" }));
  assert.ok(!sameState(d, { ...d, batch: 2 }));
});

test("toRequest: inference sends the inference keys only", () => {
  assert.deepEqual(toRequest(d), {
    op: "infer",
    args: { model: "llama-3.1-8b", weights: "bf16", kv_dtype: "auto", context: 4096, batch: 1, runtime: "transformers", tp: 1, pp: 1, attn_implementation: "sdpa", expandable_segments: false },
  });
  const vllm = toRequest({ ...d, runtime: "vllm", gpu: "a100-80gb" });
  // empty fraction: not sent, the engine applies vLLM's default; the release line is sent
  assert.equal("gpu_memory_utilization" in vllm.args, false);
  assert.equal(vllm.args.vllm_version, "0.34");
  assert.equal(toRequest({ ...d, runtime: "vllm", gpu_memory_utilization: "0.9" }).args.gpu_memory_utilization, 0.9);
  assert.equal(vllm.args.gpu, "a100-80gb");
  // vLLM's batch limits are sent only when typed (empty = vLLM's default for the GPU)
  assert.equal("max_num_batched_tokens" in vllm.args, false);
  const typed = toRequest({ ...d, runtime: "vllm", max_num_batched_tokens: "4096" });
  assert.equal(typed.args.max_num_batched_tokens, 4096);
  const llama = toRequest({ ...d, runtime: "llamacpp", weights: "q4_k_m", flash_attn: "off" });
  assert.equal(llama.args.flash_attn, "off");
  assert.equal(llama.args.n_cpu_moe, 0);
  assert.equal("attn_implementation" in llama.args, false);
});

test("toRequest: a pasted config replaces the model", () => {
  const { args } = toRequest({ ...d, model: "custom", config: "{}" });
  assert.equal(args.config, "{}");
  assert.equal("model" in args, false);
});

test("toRequest: training is op train, full method, batch from tbatch, targets as a list", () => {
  const { op, args } = toRequest({ ...d, mode: "train", tbatch: 8, zero: "2" });
  assert.equal(op, "train");
  assert.equal(args.method, "full");
  assert.equal(args.batch, 8);
  assert.equal(args.seq, 2048);
  assert.equal(args.zero, 2);
  assert.deepEqual(args.lora_targets, ["q", "k", "v", "o", "gate", "up", "down"]);
  assert.equal("weights" in args, false);
  const ft = toRequest({ ...d, mode: "finetune", method: "qlora", lora_targets: "q,v," });
  assert.equal(ft.op, "train");
  assert.equal(ft.args.method, "qlora");
  assert.deepEqual(ft.args.lora_targets, ["q", "v"]);
});

test("fieldFor: training's batch is the tbatch field", () => {
  assert.equal(fieldFor("train", "batch"), "tbatch");
  assert.equal(fieldFor("finetune", "batch"), "tbatch");
  assert.equal(fieldFor("infer", "batch"), "batch");
  assert.equal(fieldFor("train", "seq"), "seq");
});
