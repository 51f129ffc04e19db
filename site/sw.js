// Service worker. build.py fills in the version, protocol, Pyodide version and precache list.
const VERSION = __VERSION__;
const PROTOCOL = __PROTOCOL__;
const PYODIDE_VERSION = __PYODIDE_VERSION__;
const PRECACHE = __PRECACHE__;
// The offline page of each language, by URL prefix ({"/": "/offline.html", "/zh/": …}).
const OFFLINE_PAGES = __OFFLINE_PAGES__;
const APP = "vram-insight";
const SHELL = `${APP}-shell-${VERSION}`;
const PAGES = `${APP}-pages-${VERSION}`;
const RUNTIME = `${APP}-pyodide-${PYODIDE_VERSION}`;
// Each catalog model's file, content-hashed (/assets/models/<slug>.<hash>.json): kept across
// site versions, so an unchanged model stays saved; files the new index no longer names are
// dropped on activate. site/offline-models.js fills it with every model on request.
const MODELS = `${APP}-models`; // site/protocol.js MODELS_CACHE
const MODELS_DIR = "/assets/models/";
const EXPECTED = new Set([SHELL, PAGES, RUNTIME, MODELS]); // older caches (and snapshot caches) are deleted
const NAV_TIMEOUT_MS = 3000;
const FRESH = new Set(); // ids of pages this worker served from the network (not its cache)

const isRuntime = (url) => url.pathname.startsWith("/pyodide/");
const INDEX_URL = PRECACHE.find((path) => /^\/assets\/catalog\.[0-9a-f]+\.json$/.test(path));

/** Drop saved model files that this version's catalog index no longer names. */
async function pruneModels() {
  const response = INDEX_URL && (await caches.match(INDEX_URL));
  if (!response) return;
  const index = await response.json();
  const keep = new Set(Object.entries(index.models).map(([slug, [hash]]) => `${index.dir}${slug}.${hash}.json`));
  const cache = await caches.open(MODELS);
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (path.startsWith(MODELS_DIR) && !keep.has(path)) await cache.delete(request);
  }
}
// the longest prefix wins: /zh/… falls back to the Chinese offline page, the rest to English
const offlinePage = (url) => OFFLINE_PAGES[Object.keys(OFFLINE_PAGES).filter((p) => url.pathname.startsWith(p)).sort((a, b) => b.length - a.length)[0]];

// The start-up snapshot from a host that sends it as it is on disk (no Content-Encoding,
// 31 MB): cut off after the headers, its .gz inflated here instead (as the worker does:
// site/snapshot-image.js sentRaw/gunzip).
const SNAPSHOT = /\/engine-snapshot\.[0-9a-f]+\.bin$/;
async function precacheFetch(path) {
  const aborter = new AbortController();
  const response = await fetch(path, { cache: "no-cache", signal: aborter.signal });
  const raw = !response.headers.has("content-encoding") && Number(response.headers.get("content-length")) > 8 * 2 ** 20;
  if (!SNAPSHOT.test(path) || !response.ok || !raw) return response;
  aborter.abort();
  const gz = await fetch(`${path}.gz`, { cache: "no-cache" });
  if (!gz.ok) return gz;
  const body = gz.headers.get("content-encoding") === "gzip" ? gz.body : gz.body.pipeThrough(new DecompressionStream("gzip"));
  return new Response(body, { headers: { "Content-Type": "application/octet-stream" } });
}

async function precache() {
  const runtime = await caches.open(RUNTIME);
  const shell = await caches.open(SHELL);
  await Promise.all(PRECACHE.map(async (path) => {
    const cache = isRuntime(new URL(path, self.location)) ? runtime : shell;
    if (cache === runtime && (await runtime.match(path))) return; // kept across site versions
    const response = await precacheFetch(path);
    if (!response.ok) throw new Error(`precache ${path}: HTTP ${response.status}`);
    await cache.put(path, response);
  }));
}

/** Protocol of the version installed before this one (null on a first install). */
async function previousProtocol() {
  for (const name of await caches.keys()) {
    if (!name.startsWith(`${APP}-shell-`) || name === SHELL) continue;
    const response = await (await caches.open(name)).match("/version.json");
    if (response) return (await response.json()).protocol;
  }
  return null;
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    await precache();
    const previous = await previousProtocol();
    // A protocol change means old pages cannot talk to the new worker: wait for a reload.
    if (previous === null || previous === PROTOCOL) await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(`${APP}-`) && !EXPECTED.has(name)) await caches.delete(name);
    }
    await pruneModels().catch(() => {});
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "SKIP_WAITING") self.skipWaiting();
  if (event.data && event.data.type === "VERSION") {
    // fresh: the asking page came from the network (it is as new as the server), not the cache
    event.source.postMessage({ type: "VERSION", version: VERSION, fresh: FRESH.has(event.source.id) });
  }
});

const offline = () => new Response("offline", { status: 503, headers: { "Content-Type": "text/plain" } });

async function cacheFirst(request, cacheName) {
  const hit = await caches.match(request);
  if (hit) return hit;
  try {
    const response = await fetch(request);
    // only whole answers: never a 404 (it would outlive the file) or a 206 range
    if (response.status === 200 || response.type === "opaque") (await caches.open(cacheName)).put(request, response.clone());
    return response;
  } catch {
    return offline();
  }
}

/** HEAD (the engine worker asks whether a runtime file exists): from the cache when it holds
 *  the file, so an offline start is not mistaken for a missing runtime. */
async function head(request) {
  const hit = await caches.match(request.url);
  if (hit) return new Response(null, { status: hit.status, headers: hit.headers });
  try {
    return await fetch(request);
  } catch {
    return offline();
  }
}

async function networkFirst(request, cacheName, fallback, clientId) {
  try {
    const response = await Promise.race([
      fetch(request),
      new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), NAV_TIMEOUT_MS)),
    ]);
    if (response.status === 200) (await caches.open(cacheName)).put(request, response.clone());
    if (clientId) FRESH.add(clientId);
    return response;
  } catch {
    const hit = (await caches.match(request)) || (await caches.match(request, { ignoreSearch: true }));
    return hit || (fallback && (await caches.match(fallback))) || offline();
  }
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method === "HEAD" && url.origin === self.location.origin) return event.respondWith(head(request));
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") return event.respondWith(networkFirst(request, PAGES, offlinePage(url), event.resultingClientId));
  if (url.pathname === "/version.json" || url.pathname.startsWith("/api/")) return event.respondWith(networkFirst(request, PAGES));
  if (url.pathname.startsWith(MODELS_DIR)) return event.respondWith(cacheFirst(request, MODELS));
  event.respondWith(cacheFirst(request, isRuntime(url) ? RUNTIME : SHELL));
});
