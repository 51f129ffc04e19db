// The calculator's everyday features (issue 4), loaded beside app.js on the calculator page.
// Each feature is its own small module; they share one context: app.js's engine client,
// the URL-state helpers and the latest {state, result} that app.js announces with a
// `vram:result` event. Nothing here computes a memory figure: the engine does (worker),
// and present/ draws the chart (with each result) and writes the exports (op "export").
import { client } from "./app.js";
import { initChart } from "./chart.js";
import { initConfigFile } from "./configfile.js";
import { initHistory } from "./history.js";
import { initI18n } from "./i18n.js";
import { initModelSearch } from "./modelsearch.js";
import { initOfflineModels } from "./offline-models.js";
import { initPerf } from "./perf.js";
import { initPresets } from "./presets.js";
import { initRecommend } from "./recommend.js";
import { initShare, readSharedConfig } from "./share.js";
import { localPath } from "./paths.js";
import { initShortcuts } from "./shortcuts.js";
import { fromSearch, makeDefaults, toSearch } from "./state.js";

const root = document.documentElement;
const form = document.getElementById("calc");
const initial = JSON.parse(document.getElementById("initial-state").textContent);
const defaults = makeDefaults(initial.request.model);
const listeners = [];

const ctx = {
  client,
  form,
  root,
  defaults,
  initial,
  state: fromSearch(location.search, defaults),
  result: null,
  /** Call fn({state, result}) after every engine result (and for the latest one, at once). */
  onResult(fn) {
    listeners.push(fn);
    if (this.result) fn({ state: this.state, result: this.result });
  },
  /** The share/URL form of a state (config travels separately, see share.js). */
  search(state = this.state) {
    return toSearch(state, defaults);
  },
  /** Show a state in the calculator: URL first (so back/forward work), then the form. */
  open(state) {
    const search = toSearch(state, defaults);
    if (search !== location.search) history.pushState(null, "", localPath(`/${search}`));
    window.dispatchEvent(new PopStateEvent("popstate"));
    if (state.model === "custom" && state.config) {
      const box = form.elements.namedItem("config");
      box.value = state.config;
      box.dispatchEvent(new Event("input", { bubbles: true }));
    }
  },
};

// Features run after the browser has painted the new figure (a macrotask later), so the
// history, chart and share link never delay the number the user is waiting for.
root.addEventListener("vram:result", (event) => {
  ctx.state = event.detail.state;
  ctx.result = event.detail.result;
  setTimeout(() => {
    if (ctx.result !== event.detail.result) return; // a newer result already arrived
    for (const fn of listeners) {
      try {
        fn(event.detail);
      } catch (err) {
        console.error(err);
      }
    }
  });
});

// Each feature starts on its own: one that throws (say, on corrupt stored data) is logged
// and marked in data-features-failed, and every other feature still starts.
const failed = [];
for (const [name, init] of Object.entries({
  initI18n, initChart, initShare, initHistory, initPresets, initRecommend, initPerf,
  initConfigFile, initModelSearch, initShortcuts, readSharedConfig, initOfflineModels,
})) {
  const fail = (err) => {
    failed.push(name);
    root.dataset.featuresFailed = failed.join(" ");
    console.error(`${name} failed:`, err);
  };
  try {
    Promise.resolve(init(ctx)).catch(fail);
  } catch (err) {
    fail(err);
  }
}
window.__vramFeatures = ctx; // for tests and the console, like window.__vramTimings
root.dataset.features = "ready";
