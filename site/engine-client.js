// The page's only door to the engine (svgomg's WorkerMessenger): an id counter, a map of
// pending requests, rejection on ok:false, latest-wins coalescing per key, abort/restart.
import { EngineError, PROTOCOL_VERSION, isReply, makeRequest } from "./protocol.js";

export class Superseded extends Error {
  constructor() {
    super("superseded by a newer request");
    this.name = "Superseded";
  }
}

/** The page's language (<html lang>, "zh" on /zh/ pages): the engine answers in it. */
function pageLang() {
  return typeof document !== "undefined" ? document.documentElement.lang || "" : "";
}

/** The worker engine-boot.js started during parsing, if it is for this URL (first start only). */
function adoptBootWorker(url) {
  const boot = typeof window !== "undefined" ? window.__vramEngineBoot : undefined;
  if (!boot || new URL(boot.url, location.href).href !== new URL(url, location.href).href) return null;
  return boot.take();
}

// How long the engine may take: to start, with no sign of progress in between (Pyodide's
// download and compile on a slow line; a missing runtime file is reported at once by the
// worker's probes, so this only catches a start that hangs), and to answer one request (every
// bounded input answers in well under a second; past this the worker is stuck or dead).
// Tests shorten them with window.__vramEngineTimeouts.
const START_TIMEOUT_MS = 180_000;
const REQUEST_TIMEOUT_MS = 30_000;

function timeouts() {
  const override = typeof window !== "undefined" ? window.__vramEngineTimeouts : undefined;
  return { start: START_TIMEOUT_MS, request: REQUEST_TIMEOUT_MS, ...(override || {}) };
}

export class EngineClient {
  constructor(workerUrl, { onState = () => {}, onProgress = () => {}, onFigure = () => {} } = {}) {
    this.workerUrl = workerUrl;
    this.onState = onState;
    this.onProgress = onProgress;
    this.onFigure = onFigure; // (key, {id, bytes, text}): a total ahead of its reply
    this.timeouts = timeouts();
    if (typeof window !== "undefined") window.__vramEngine = this; // tests and the console
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, key}
    this.latest = new Map(); // key -> id of the newest request for that key
    this.queued = new Map(); // key -> {op, args, resolve, reject}: waiting for the in-flight one
    this.start();
  }

  start() {
    this.state = "loading";
    this.fatal = null;
    this.readyInfo = null;
    this.ready = new Promise((resolve, reject) => {
      this._resolveReady = resolve;
      this._rejectReady = reject;
    });
    this.ready.catch(() => {});
    const boot = adoptBootWorker(this.workerUrl);
    this.worker = boot ? boot.worker : new Worker(this.workerUrl, { type: "module", name: "engine" });
    const worker = this.worker;
    // a message from a worker this client has since replaced is ignored
    worker.onmessage = (e) => worker === this.worker && this._onMessage(e.data);
    worker.onerror = (e) => worker === this.worker && this._fail(e.message || "the engine worker failed");
    this._armStart();
    this.onState("loading");
    if (boot) {
      for (const msg of boot.early) this._onMessage(msg);
      if (boot.failure !== null) this._fail(boot.failure);
    }
  }

  /** The worker is dead or will never start: say so once, settle everything that waits on
   *  it (no "computing…" forever), and stop it. abort() starts a fresh one. */
  /** (Re)start the start-up timer: the worker must get ready, or show progress, in time. */
  _armStart() {
    const worker = this.worker;
    clearTimeout(this._startTimer);
    this._startTimer = setTimeout(() => {
      if (this.state === "loading" && worker === this.worker) {
        this._fail(`it did not start within ${Math.round(this.timeouts.start / 1000)} s`);
      }
    }, this.timeouts.start);
    this._startTimer?.unref?.(); // Node (unit tests): a pending watchdog never keeps it alive
  }

  _fail(message) {
    if (this.state === "error") return;
    this.state = "error";
    this.fatal = message;
    clearTimeout(this._startTimer);
    this.worker.terminate();
    this._rejectReady(new Error(message));
    this._rejectAll(() => this._fatalError());
    this.onState("error", message);
  }

  _fatalError() {
    return new EngineError({ type: "fatal", message: `The engine stopped: ${this.fatal}`, field: null });
  }

  _rejectAll(makeError) {
    clearTimeout(this._watchdog);
    for (const entry of this.pending.values()) entry.reject(makeError());
    for (const entry of this.queued.values()) entry.reject(makeError());
    this.pending.clear();
    this.queued.clear();
    this.latest.clear();
  }

  _onMessage(msg) {
    if (msg.type === "progress") {
      if (this.state === "loading") this._armStart(); // progress: the start is not stuck
      return this.onProgress(msg.value, msg.message);
    }
    if (msg.type === "ready") {
      if (msg.v !== PROTOCOL_VERSION) return this._fail(`engine protocol v${msg.v}, page v${PROTOCOL_VERSION}`);
      this.state = "ready";
      clearTimeout(this._startTimer);
      this.readyInfo = msg;
      this._resolveReady(msg);
      this._watch();
      return this.onState("ready", msg);
    }
    if (msg.type === "fatal") return this._fail(msg.message);
    if (msg.type === "figure") return this._figure(msg.text);
    if (msg.type === "reply" && typeof msg.text === "string") {
      // the worker posts handle_json's JSON text as it is: parsed here, once
      let reply = null;
      try {
        reply = JSON.parse(msg.text);
      } catch (err) {
        return console.warn("engine: unreadable reply", err.message);
      }
      if (isReply(reply)) return this._settle(reply);
    }
    if (msg.type === "reply" && isReply(msg.reply)) return this._settle(msg.reply);
    console.warn("engine: unexpected message", msg);
  }

  /** The total of a request's result, sent by the worker before it draws the view: handed
   *  on only while that request is still the newest for its key (a superseded one is not). */
  _figure(text) {
    let figure = null;
    try {
      figure = JSON.parse(text);
    } catch (err) {
      return console.warn("engine: unreadable figure", err.message);
    }
    const entry = figure && this.pending.get(figure.id);
    if (!entry || entry.key === undefined) return;
    if (this.latest.get(entry.key) === figure.id) this.onFigure(entry.key, figure);
    // its engine work is done but the drawing: a newer request for the key goes out now,
    // and this one's view, superseded by it, is dropped when it comes
    entry.figured = true;
    this._sendQueued(entry.key);
  }

  _settle(reply) {
    const entry = this.pending.get(reply.id);
    if (!entry) return console.warn("engine: reply with unknown id", reply.id);
    this.pending.delete(reply.id);
    this._watch(); // an answer: the engine is alive, the next one gets the full time
    if (entry.key !== undefined) this._sendQueued(entry.key);
    if (entry.key !== undefined && this.latest.get(entry.key) !== reply.id) return entry.reject(new Superseded());
    if (reply.ok) entry.resolve(reply.result);
    else entry.reject(new EngineError(reply.error));
  }

  /** Send one request; resolves with the result, rejects with EngineError. */
  request(op, args = {}, key) {
    const id = this.nextId++;
    if (this.state === "error") return Promise.reject(this._fatalError());
    return new Promise((resolve, reject) => {
      // a Hub lookup waits on the network, not on the engine: the watchdog does not time it
      const net = op === "hub";
      this.pending.set(id, { resolve, reject, key, net });
      if (key !== undefined) this.latest.set(key, id);
      this.worker.postMessage(makeRequest(id, op, args, pageLang()));
      if (!net && this._timed() === 1) this._watch(); // (before ready, "ready" arms it)
    });
  }

  /** The watchdog: while requests wait, the engine must answer one of them within the
   *  request timeout (counted from ready, and again from each answer), or it is stuck or dead. */
  _timed() {
    return [...this.pending.values()].filter((p) => !p.net).length;
  }

  _watch() {
    clearTimeout(this._watchdog);
    if (this._timed() === 0 || this.state !== "ready") return;
    const worker = this.worker;
    this._watchdog = setTimeout(() => {
      if (worker === this.worker && this._timed() > 0) {
        this._fail(`it did not answer within ${Math.round(this.timeouts.request / 1000)} s`);
      }
    }, this.timeouts.request);
    this._watchdog?.unref?.(); // Node (unit tests): a pending watchdog never keeps it alive
  }

  /** Latest wins for `key`: while one request is in flight only the newest waits behind it;
   *  the ones it replaces reject with Superseded (the slider case). */
  compute(key, op, args) {
    const inFlight = [...this.pending.values()].some((p) => p.key === key && !p.figured);
    if (!inFlight) return this.request(op, args, key);
    const previous = this.queued.get(key);
    if (previous) previous.reject(new Superseded());
    // a newer request exists: the in-flight reply for this key is superseded too
    this.latest.set(key, -1);
    return new Promise((resolve, reject) => this.queued.set(key, { op, args, resolve, reject }));
  }

  _sendQueued(key) {
    const next = this.queued.get(key);
    if (!next) return;
    this.queued.delete(key);
    this.request(next.op, next.args, key).then(next.resolve, next.reject);
  }

  /** Stop whatever runs, reject everything pending and start a fresh worker. */
  abort() {
    this.worker.terminate();
    clearTimeout(this._startTimer);
    this._rejectAll(() => new Error("aborted"));
    this.start();
  }
}
