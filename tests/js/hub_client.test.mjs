// site/engine-client.js with a Hub lookup in flight: it waits on the network, so the
// watchdog (which ends a stuck engine) does not time it, while calculations stay timed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeWorker } from "./fake-worker.mjs";

globalThis.window = { __vramEngineTimeouts: { request: 30 } };

const { EngineClient } = await import("../../site/engine-client.js");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("a slow Hub lookup does not end the engine; a stuck calculation still does", async () => {
  const keep = setInterval(() => {}, 10); // the client's timers are unref'd: keep Node running
  const client = new EngineClient("/worker.js");
  const worker = FakeWorker.last;
  worker.send({ type: "ready", v: 1, engine_version: "0", marks: {} });
  await client.ready;
  const lookup = client.request("hub", { input: "org/name" });
  await sleep(80);
  assert.equal(client.state, "ready");
  worker.send({ type: "reply", reply: { v: 1, id: 1, ok: true, result: { kind: "model" } } });
  assert.deepEqual(await lookup, { kind: "model" });
  const stuck = client.request("infer", { model: "m" });
  await assert.rejects(stuck, /did not answer/);
  assert.equal(client.state, "error");
  clearInterval(keep);
});
