// site/state.js with a model looked up on the Hub (site/hub.js): its repo id is the model in
// the URL, and its config.json (never the name) is what the engine is sent.
import assert from "node:assert/strict";
import { test } from "node:test";

import "./form-schema.mjs"; // the engine's form schema, as the page embeds it

import { fromSearch, hasHubModel, makeDefaults, toRequest, toSearch, useHubModel } from "../../site/state.js";

const d = makeDefaults("llama-3.1-8b");
const config = { model_type: "llama", hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_hidden_layers: 2, vocab_size: 256 };

test("a looked-up model travels in the link by its repo id and is sent as its config", () => {
  const state = { ...d, model: "org/name@v1/model-Q4_K_M.gguf" };
  const search = toSearch(state, d);
  assert.equal(search, "?model=org%2Fname%40v1%2Fmodel-Q4_K_M.gguf");
  assert.equal(fromSearch(search, d).model, state.model);
  assert.equal(hasHubModel(state.model), false);
  assert.deepEqual(toRequest(state).args.model, state.model); // not looked up yet: the name
  useHubModel(state.model, config);
  assert.equal(hasHubModel(state.model), true);
  const { args } = toRequest(state);
  assert.equal(args.model, undefined);
  assert.deepEqual(args.config, config);
  assert.equal(toRequest(d).args.model, "llama-3.1-8b"); // catalog models are unchanged
});
