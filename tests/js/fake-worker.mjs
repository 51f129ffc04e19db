// A stand-in for the browser's Worker that records what the page posts and lets a test
// answer as the engine worker would. Importing it installs it as globalThis.Worker.
export class FakeWorker {
  static last = null;
  constructor(url, options) {
    this.url = url;
    this.options = options;
    this.posted = [];
    this.terminated = false;
    FakeWorker.last = this;
  }
  postMessage(msg) { this.posted.push(msg); }
  terminate() { this.terminated = true; }
  send(data) { this.onmessage({ data }); }
  reply(id, result) { this.send({ type: "reply", reply: { v: 1, id, ok: true, result } }); }
}
globalThis.Worker = FakeWorker;
