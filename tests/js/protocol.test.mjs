// site/protocol.js: the page side of the worker protocol (engine/api.py is the other side).
import assert from "node:assert/strict";
import { test } from "node:test";

import { EngineError, OPS, PROTOCOL_VERSION, isReply, makeRequest } from "../../site/protocol.js";

test("protocol version 1 and its operations", () => {
  assert.equal(PROTOCOL_VERSION, 1);
  assert.deepEqual([...OPS], ["version", "models", "gpus", "formats", "presets", "params", "infer", "train", "fit", "export", "hub"]);
  assert.ok(Object.isFrozen(OPS));
});

test("makeRequest writes lang only when given", () => {
  assert.deepEqual(makeRequest(7, "infer", { model: "m" }), { v: 1, id: 7, op: "infer", args: { model: "m" } });
  assert.deepEqual(makeRequest(8, "gpus", {}, "zh"), { v: 1, id: 8, op: "gpus", args: {}, lang: "zh" });
  assert.deepEqual(makeRequest(9, "version"), { v: 1, id: 9, op: "version", args: {} });
});

test("makeRequest refuses an unknown op", () => {
  assert.throws(() => makeRequest(1, "estimate"), { message: "unknown op estimate" });
});

test("isReply: a numeric id and a boolean ok", () => {
  assert.equal(isReply({ v: 1, id: 3, ok: true, result: {} }), true);
  assert.equal(isReply({ v: 1, id: 3, ok: false, error: {} }), true);
  assert.equal(isReply({ id: "3", ok: true }), false);
  assert.equal(isReply({ id: 3, ok: 1 }), false);
  assert.equal(isReply({ type: "progress", value: 10 }), false);
  assert.equal(isReply(null), false);
  assert.equal(isReply("reply"), false);
});

test("EngineError carries the engine's type and field", () => {
  const err = new EngineError({ type: "WorkloadError", message: "context must be > 0", field: "context" });
  assert.ok(err instanceof Error);
  assert.equal(err.name, "EngineError");
  assert.equal(err.message, "context must be > 0");
  assert.equal(err.type, "WorkloadError");
  assert.equal(err.field, "context");
  assert.equal(new EngineError({ type: "ModelError", message: "x" }).field, null);
});
