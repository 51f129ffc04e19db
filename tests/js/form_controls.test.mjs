// The runtime settings of issue 12 on the page (site/state.js): switches (bool fields) are
// true/false in the state, the request and links; a link names one only when it is off its
// default; a runtime restriction binds only where the mode chooses a runtime.
import assert from "node:assert/strict";
import { test } from "node:test";

import { schema } from "./form-schema.mjs";
import { coerce, fromSearch, makeDefaults, runtimeOf, sameState, toRequest, toSearch } from "../../site/state.js";

const d = makeDefaults("llama-3.1-8b");
const SWITCHES = ["kv_offload", "chunked_prefill", "enforce_eager", "expandable_segments", "sequence_parallel", "double_quant"];

test("every issue-12 setting is a page field with the engine's default", () => {
  const keys = schema.fields.map((f) => f.key);
  for (const key of ["n_gpu_layers", "ubatch", "n_batch", "split_mode", ...SWITCHES]) assert.ok(keys.includes(key), key);
  for (const key of SWITCHES) assert.equal(typeof d[key], "boolean", key);
  assert.equal(d.kv_offload, true);
  assert.equal(d.enforce_eager, false);
  assert.equal(d.n_gpu_layers, ""); // None: all layers
  assert.equal(d.ubatch, 512);
});

test("a switch reads its words as booleans; anything else goes to the engine as typed", () => {
  for (const [text, want] of [["true", true], ["false", false], ["1", true], ["0", false], ["on", true], ["OFF", false], [true, true], [false, false]]) {
    assert.equal(coerce("kv_offload", text), want, String(text));
  }
  assert.equal(coerce("kv_offload", "maybe"), "maybe");
});

test("links name a switch only off its default, and round-trip", () => {
  assert.equal(toSearch({ ...d }, d), "");
  const llama = { ...d, weights: "q4_k_m", runtime: "llamacpp", kv_offload: false, ubatch: 256 };
  const search = toSearch(llama, d);
  assert.equal(search, "?weights=q4_k_m&runtime=llamacpp&ubatch=256&kv_offload=false");
  const back = fromSearch(search, d);
  assert.equal(back.kv_offload, false);
  assert.ok(sameState(back, llama));
  assert.equal(toSearch({ ...d, runtime: "vllm", enforce_eager: true }, d), "?runtime=vllm&enforce_eager=true");
  // old links (no such key) keep the defaults; a spelled-out 0/1 works too
  assert.equal(fromSearch("?runtime=vllm", d).chunked_prefill, true);
  assert.equal(fromSearch("?runtime=vllm&chunked_prefill=0", d).chunked_prefill, false);
});

test("a stored history entry from before these keys opens without them", () => {
  const old = { ...d, context: 8192 };
  for (const key of SWITCHES) delete old[key];
  assert.equal(toSearch(old, d), "?context=8192");
});

test("requests carry booleans and the runtime's own settings only", () => {
  const llama = toRequest({ ...d, weights: "q4_k_m", runtime: "llamacpp", kv_offload: false, n_gpu_layers: "20" });
  assert.equal(llama.args.kv_offload, false);
  assert.equal(llama.args.n_gpu_layers, 20);
  assert.equal(llama.args.ubatch, 512);
  assert.equal("chunked_prefill" in llama.args, false);
  assert.equal("n_gpu_layers" in toRequest({ ...d, weights: "q4_k_m", runtime: "llamacpp" }).args, false); // all
  const vllm = toRequest({ ...d, runtime: "vllm", enforce_eager: true });
  assert.equal(vllm.args.enforce_eager, true);
  assert.equal("kv_offload" in vllm.args, false);
});

test("training runs in PyTorch whatever runtime the inference form chose", () => {
  assert.equal(runtimeOf({ ...d, runtime: "vllm" }), "vllm");
  assert.equal(runtimeOf({ ...d, mode: "train", runtime: "vllm" }), null);
  const train = toRequest({ ...d, mode: "train", runtime: "vllm", expandable_segments: true, sequence_parallel: true });
  assert.equal(train.args.expandable_segments, true);
  assert.equal(train.args.sequence_parallel, true);
  assert.equal("double_quant" in train.args, true); // sent with the op; the engine ignores it outside QLoRA
  assert.equal("enforce_eager" in train.args, false);
  const qlora = toRequest({ ...d, mode: "finetune", method: "qlora", double_quant: false });
  assert.equal(qlora.args.double_quant, false);
});
