// "Make all models available offline": the worker fetches a model's file when a request first
// names it and keeps it (site/worker.js, cache MODELS_CACHE, served by site/sw.js);
// this saves every file the catalog index names into that cache, with progress, and the full
// runtime the worker falls back to (saveRuntime). Once asked,
// a later visit saves what a new site version added or changed, without asking again.
import { CATALOG_INDEX_URL, PYODIDE_INDEX_URL, STDLIB_URL } from "./config.js";
import { t } from "./i18n.js";
import { MODELS_CACHE } from "./protocol.js";

const ASKED = "/offline-models-asked"; // a marker in the cache: the user asked for every model
const PARALLEL = 4;

/** Every model file's URL in this version's index (engine.catalog.INDEX_FIELDS rows). */
export async function modelUrls() {
  const response = await fetch(CATALOG_INDEX_URL);
  if (!response.ok) throw new Error(`catalog index: HTTP ${response.status}`);
  const index = await response.json();
  return Object.entries(index.models).map(([slug, [hash]]) => `${index.dir}${slug}.${hash}.json`);
}

/** The URLs not yet in the cache. */
async function missing(cache, urls) {
  const saved = new Set((await cache.keys()).map((r) => new URL(r.url).pathname));
  return urls.filter((u) => !saved.has(u));
}

/** Save `urls` into `cache`, PARALLEL at a time; onStep(done) after each; the failed ones. */
async function saveAll(cache, urls, onStep) {
  const failed = [];
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < urls.length) {
      const url = urls[next++];
      try {
        const response = await fetch(url);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        await cache.put(url, response);
      } catch {
        failed.push(url);
      }
      onStep(++done);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, lane));
  return failed;
}

/** The full runtime the worker falls back to (the whole wasm, the whole stdlib) when a
 *  request needs more than the lean wasm or the start-up image holds: fetched through the
 *  service worker, which keeps /pyodide/ files in its runtime cache, so such a request is
 *  answered offline too. Best effort: a failure leaves the models saved. */
async function saveRuntime() {
  for (const url of [`${PYODIDE_INDEX_URL}pyodide.asm.wasm`, STDLIB_URL]) {
    try {
      const response = await fetch(url);
      if (response.ok) await response.arrayBuffer();
    } catch {
      // offline now: saved on a later visit (a quiet run saves what is missing)
    }
  }
}

export function initOfflineModels() {
  const button = document.getElementById("offline-all");
  const bar = document.getElementById("offline-progress");
  const status = document.getElementById("offline-status");
  if (!button || !globalThis.caches || !CATALOG_INDEX_URL) return;
  const root = document.documentElement;
  let busy = false;
  const say = (text) => (status.textContent = text);

  async function show(urls, cache) {
    const left = (await missing(cache, urls)).length;
    const total = urls.length;
    say(left ? t("%(saved)s of %(total)s models saved on this device.", { saved: total - left, total }) : t("All %(total)s models are available offline.", { total }));
    root.dataset.offlineModels = left ? "some" : "all";
  }

  async function run({ quiet = false } = {}) {
    if (busy) return;
    busy = true;
    button.disabled = true;
    try {
      const cache = await caches.open(MODELS_CACHE);
      const urls = await modelUrls();
      if (!quiet) await cache.put(ASKED, new Response("1"));
      const todo = await missing(cache, urls);
      if (todo.length) {
        bar.max = todo.length;
        bar.value = 0;
        bar.hidden = false;
        const failed = await saveAll(cache, todo, (done) => {
          bar.value = done;
          say(t("Saving models for offline use: %(done)s of %(total)s…", { done, total: todo.length }));
        });
        bar.hidden = true;
        if (failed.length) {
          say(t("%(failed)s models could not be saved (offline?); try again when online.", { failed: failed.length }));
          root.dataset.offlineModels = "some";
          return;
        }
      }
      await saveRuntime();
      await show(urls, cache);
    } catch (err) {
      say(t("The models could not be saved (%(reason)s).", { reason: err.message }));
    } finally {
      busy = false;
      button.disabled = false;
    }
  }

  button.addEventListener("click", () => run());
  // a status line now; if every model was asked for before, save what this version added
  (async () => {
    const cache = await caches.open(MODELS_CACHE);
    if (await cache.match(ASKED)) return run({ quiet: true });
    return show(await modelUrls(), cache);
  })().catch(() => {});
}
