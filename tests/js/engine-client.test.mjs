// site/engine-client.js: request ids, replies, errors and latest-wins coalescing, against a
// fake Worker that records what the page posts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeWorker } from "./fake-worker.mjs";


const { EngineClient, Superseded } = await import("../../site/engine-client.js");
const { EngineError } = await import("../../site/protocol.js");

function started() {
  const states = [];
  const progress = [];
  const client = new EngineClient("/worker.js", { onState: (s) => states.push(s), onProgress: (v, m) => progress.push([v, m]) });
  return { client, worker: FakeWorker.last, states, progress };
}

test("start: a module worker, loading, then ready on the engine's ready message", async () => {
  const { client, worker, states, progress } = started();
  assert.equal(worker.url, "/worker.js");
  assert.deepEqual(worker.options, { type: "module", name: "engine" });
  assert.equal(client.state, "loading");
  worker.send({ type: "progress", value: 40, message: "loading packages" });
  worker.send({ type: "ready", v: 1, engine_version: "0.1.0", marks: {} });
  const info = await client.ready;
  assert.equal(info.engine_version, "0.1.0");
  assert.equal(client.state, "ready");
  assert.deepEqual(states, ["loading", "ready"]);
  assert.deepEqual(progress, [[40, "loading packages"]]);
});

test("a worker of another protocol version is an error", async () => {
  const { client, worker, states } = started();
  worker.send({ type: "ready", v: 2 });
  await assert.rejects(client.ready, { message: "engine protocol v2, page v1" });
  assert.equal(client.state, "error");
  assert.deepEqual(states, ["loading", "error"]);
});

test("requests get increasing ids; replies resolve, errors reject with EngineError", async () => {
  const { client, worker } = started();
  const a = client.request("gpus");
  const b = client.request("infer", { model: "m" });
  assert.deepEqual(worker.posted, [
    { v: 1, id: 1, op: "gpus", args: {} },
    { v: 1, id: 2, op: "infer", args: { model: "m" } },
  ]);
  worker.send({ type: "reply", reply: { v: 1, id: 2, ok: false, error: { type: "WorkloadError", message: "bad", field: "context" } } });
  worker.reply(1, ["h100"]);
  assert.deepEqual(await a, ["h100"]);
  await assert.rejects(b, (err) => err instanceof EngineError && err.type === "WorkloadError" && err.field === "context");
});

test("a reply posted as JSON text (the worker's own) is parsed once and settles the same way", async () => {
  const { client, worker } = started();
  const a = client.request("infer", { model: "m" });
  const b = client.request("infer", { model: "x" });
  worker.send({ type: "reply", text: JSON.stringify({ v: 1, id: 1, ok: true, result: { total_bytes: 7, view: { panel_html: "<p>7</p>" } } }) });
  worker.send({ type: "reply", text: '{"v": 1, "id": 2, "ok": false, "error": {"type": "invalid_workload", "message": "bad", "field": "context"}}' });
  assert.deepEqual(await a, { total_bytes: 7, view: { panel_html: "<p>7</p>" } });
  await assert.rejects(b, (err) => err instanceof EngineError && err.field === "context");
});

test("compute: latest wins per key; the ones in between reject with Superseded", async () => {
  const { client, worker } = started();
  const first = client.compute("result", "infer", { context: 1 });
  const middle = client.compute("result", "infer", { context: 2 });
  const last = client.compute("result", "infer", { context: 3 });
  assert.equal(worker.posted.length, 1); // one in flight at a time
  await assert.rejects(middle, Superseded);
  worker.reply(1, "one");
  await assert.rejects(first, Superseded);
  assert.deepEqual(worker.posted.map((m) => m.args.context), [1, 3]);
  worker.reply(2, "three");
  assert.equal(await last, "three");
  // other keys are independent
  const other = client.compute("fit", "fit", {});
  worker.reply(3, "fit");
  assert.equal(await other, "fit");
});

test("a figure ahead of its reply: handed on while its request is the newest, and the next request goes out at once", async () => {
  const figures = [];
  const client = new EngineClient("/worker.js", { onFigure: (key, figure) => figures.push([key, figure]) });
  const worker = FakeWorker.last;
  const first = client.compute("calc", "infer", { context: 1 });
  const second = client.compute("calc", "infer", { context: 2 });
  assert.equal(worker.posted.length, 1); // the second waits for the first's figure
  worker.send({ type: "figure", text: JSON.stringify({ id: 1, bytes: 10, text: "10 B" }) });
  // the first was superseded before its figure came: nothing shown, the second goes out
  assert.deepEqual(figures, []);
  assert.deepEqual(worker.posted.map((m) => m.args.context), [1, 2]);
  worker.send({ type: "figure", text: JSON.stringify({ id: 2, bytes: 20, text: "20 B" }) });
  assert.deepEqual(figures, [["calc", { id: 2, bytes: 20, text: "20 B" }]]);
  // a third after the second's figure is sent at once; the second's reply is then superseded
  const third = client.compute("calc", "infer", { context: 3 });
  assert.deepEqual(worker.posted.map((m) => m.args.context), [1, 2, 3]);
  worker.reply(1, "one");
  worker.reply(2, "two");
  worker.send({ type: "figure", text: "not json" }); // ignored (a warning), nothing thrown
  worker.reply(3, "three");
  await assert.rejects(first, Superseded);
  await assert.rejects(second, Superseded);
  assert.equal(await third, "three");
  assert.equal(figures.length, 1);
});

test("abort rejects everything pending and starts a fresh worker", async () => {
  const { client, worker } = started();
  const pending = client.request("models");
  client.abort();
  await assert.rejects(pending, { message: "aborted" });
  assert.equal(worker.terminated, true);
  assert.notEqual(FakeWorker.last, worker);
  assert.equal(client.state, "loading");
});
