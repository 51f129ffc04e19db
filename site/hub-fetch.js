// The worker's transport for Hub lookups: it only moves bytes. engine.hub.session (the same
// sans-IO reader the CLI drives with urllib) says which URL and byte range to read next and
// parses every answer; this module GETs them with fetch, caches each answer in IndexedDB
// (so a model looked up once works offline and its link reopens it) and feeds it back.
// The token, when the user gave one, is sent as "Authorization: Bearer" and never stored.

const DB_NAME = "vram-hub";
const STORE = "responses";
const FETCH_TIMEOUT_MS = 60_000; // one read (a few MB of headers at most); past this, as offline

function openDb() {
  if (typeof indexedDB === "undefined") return Promise.resolve(null);
  return new Promise((resolve) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => resolve(null); // private mode and the like: lookups work, uncached
  });
}
let dbPromise = null;
const db = () => (dbPromise ??= openDb());

async function cacheGet(key) {
  const d = await db();
  if (!d) return null;
  return new Promise((resolve) => {
    const req = d.transaction(STORE).objectStore(STORE).get(key);
    req.onsuccess = () => resolve(req.result || null);
    req.onerror = () => resolve(null);
  });
}

async function cachePut(key, value) {
  const d = await db();
  if (!d) return;
  await new Promise((resolve) => {
    const tx = d.transaction(STORE, "readwrite");
    tx.objectStore(STORE).put(value, key);
    tx.oncomplete = tx.onerror = tx.onabort = () => resolve();
  });
}

/** The body, read up to maxBytes + 1 bytes (one more tells the reader it is too long). */
async function readBody(response, maxBytes) {
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(await response.arrayBuffer()).slice(0, maxBytes + 1);
  const chunks = [];
  let size = 0;
  while (size <= maxBytes) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  reader.cancel().catch(() => {});
  const body = new Uint8Array(Math.min(size, maxBytes + 1));
  let at = 0;
  for (const c of chunks) {
    const part = c.subarray(0, body.length - at);
    body.set(part, at);
    at += part.length;
    if (at >= body.length) break;
  }
  return body;
}

class Offline extends Error {}

/** One request of the plan: answers of a pinned commit come from the cache first; the model
 *  info (it names the newest commit) goes to the network first and falls back to the cache. */
async function get(req, token) {
  const cacheKey = `${req.url}|${req.headers.Range || ""}`;
  const pinned = req.key !== "info";
  if (pinned) {
    const hit = await cacheGet(cacheKey);
    if (hit) return hit;
  }
  let answer;
  try {
    const headers = { ...req.headers };
    if (token) headers.Authorization = `Bearer ${token}`;
    const signal = AbortSignal.timeout(FETCH_TIMEOUT_MS);
    const response = await fetch(req.url, { headers, redirect: "follow", credentials: "omit", cache: "no-store", signal });
    const body = await readBody(response, req.max_bytes);
    const hdrs = {};
    response.headers.forEach((v, k) => (hdrs[k] = v));
    answer = { status: response.status, headers: hdrs, body, url: response.url || req.url };
  } catch (err) {
    const hit = pinned ? null : await cacheGet(cacheKey);
    if (hit) return hit;
    throw new Offline(String(err && err.message || err));
  }
  if (answer.status === 200 || answer.status === 206) await cachePut(cacheKey, answer);
  return answer;
}

/** Did the network fail, or did the browser refuse a redirect (CSP connect-src)? The model
 *  info URL is on the endpoint itself: if it answers, the failed request went elsewhere. */
async function endpointAnswers(url) {
  try {
    await fetch(url, { method: "HEAD", credentials: "omit", cache: "no-store" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Run one lookup: `py` holds engine.hub.session's hub_start/hub_feed/hub_close and the
 * offline_message; `args` is {input, token, endpoint}. Resolves with the session's final
 * reply ({ok: true, result} or {ok: false, error}).
 */
export async function hubLookup(py, args, lang) {
  const start = { input: String(args.input || ""), endpoint: args.endpoint, token: Boolean(args.token), lang: lang || "en" };
  let reply = JSON.parse(py.start(JSON.stringify(start)));
  let infoUrl = null;
  while (reply.ok && !reply.done) {
    const sid = reply.session;
    infoUrl ??= reply.requests.find((r) => r.key === "info")?.url || null;
    let answers;
    try {
      answers = await Promise.all(reply.requests.map((r) => get(r, args.token).then((a) => [r, a])));
    } catch (err) {
      py.close(sid);
      if (!(err instanceof Offline)) throw err;
      const failed = infoUrl && (await endpointAnswers(infoUrl));
      const repo = start.input;
      // (the page words a refused redirect in its language: the browser does not say where)
      const message = failed
        ? "The Hub sent a file download to a host this site may not contact, so it was not read."
        : py.offline(repo, lang || "en");
      return { ok: false, error: { type: failed ? "hub_redirect" : "hub_offline", message, field: "model", url: "" } };
    }
    for (const [req, a] of answers) {
      reply = JSON.parse(py.feed(sid, req.key, a.status, JSON.stringify(a.headers), a.body, a.url));
      if (!reply.ok || reply.done) break;
    }
  }
  return reply;
}
