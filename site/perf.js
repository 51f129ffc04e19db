// Performance panel: Web Vitals measured in this tab with PerformanceObserver (LCP, CLS,
// INP, plus FCP), the engine's start-up time and the time of each calculation, shown on
// demand. An analytics beacon is sent only when the site was built with an endpoint
// (VRAM_ANALYTICS_URL; same-origin under the CSP); by default nothing leaves the browser.
import * as config from "./config.js";
import { el } from "./dom.js";
import { N_, t, tn } from "./i18n.js";

const vitals = { lcp: null, cls: 0, inp: null, fcp: null };
const interactions = new Map(); // interactionId -> longest event duration
let clsWindow = { value: 0, first: 0, last: 0 };

function observe(type, fn, extra = {}) {
  try {
    new PerformanceObserver((list) => list.getEntries().forEach(fn)).observe({ type, buffered: true, ...extra });
  } catch {
    /* entry type not supported by this browser */
  }
}

observe("paint", (e) => {
  if (e.name === "first-contentful-paint") vitals.fcp = e.startTime;
});
observe("largest-contentful-paint", (e) => (vitals.lcp = e.startTime));
// CLS: the largest session window (shifts < 1 s apart, window ≤ 5 s), without shifts
// right after user input (web.dev/articles/cls).
observe("layout-shift", (e) => {
  if (e.hadRecentInput) return;
  if (clsWindow.value && e.startTime - clsWindow.last < 1000 && e.startTime - clsWindow.first < 5000) {
    clsWindow.value += e.value;
    clsWindow.last = e.startTime;
  } else {
    clsWindow = { value: e.value, first: e.startTime, last: e.startTime };
  }
  vitals.cls = Math.max(vitals.cls, clsWindow.value);
});
// INP: the slowest interaction (the 98th percentile once there are 50 or more).
const onEvent = (e) => {
  if (!e.interactionId) return;
  interactions.set(e.interactionId, Math.max(interactions.get(e.interactionId) || 0, e.duration));
  const sorted = [...interactions.values()].sort((a, b) => b - a);
  vitals.inp = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length / 50))];
};
observe("event", onEvent, { durationThreshold: 16 });
observe("first-input", onEvent);

function median(values) {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Every figure the panel shows, in milliseconds (CLS unitless); null = not measured yet. */
export function metrics(client) {
  const timings = window.__vramTimings || { marks: [] };
  const marks = timings.marks || [];
  return {
    fcp_ms: vitals.fcp,
    lcp_ms: vitals.lcp,
    cls: vitals.cls,
    inp_ms: vitals.inp,
    engine_ready_ms: timings.ready ?? null,
    engine_start_ms: client?.readyInfo?.marks?.engine_ms ?? client?.readyInfo?.ms ?? null,
    engine_runtime_ms: client?.readyInfo?.marks?.runtime_ms ?? null,
    engine_snapshot: client?.readyInfo?.marks?.snapshot ?? null,
    calculations: marks.length,
    calc_last_ms: marks.length ? marks[marks.length - 1] : null,
    calc_median_ms: median(marks),
    chart_median_ms: median(timings.render || []),
  };
}

const ROWS = [
  ["fcp_ms", N_("First contentful paint"), "ms"],
  ["lcp_ms", N_("Largest contentful paint (LCP)"), "ms"],
  ["cls", N_("Cumulative layout shift (CLS)"), ""],
  ["inp_ms", N_("Interaction to next paint (INP)"), "ms"],
  ["engine_ready_ms", N_("Engine ready, since navigation"), "ms"],
  ["engine_start_ms", N_("Engine start inside the worker"), "ms"],
  ["engine_runtime_ms", N_("of which the Python runtime"), "ms"],
  ["engine_snapshot", N_("Start-up memory snapshot"), ""],
  ["calculations", N_("Calculations on this page"), ""],
  ["calc_last_ms", N_("Last calculation, input to figure"), "ms"],
  ["calc_median_ms", N_("Median calculation"), "ms"],
  ["chart_median_ms", N_("Median chart drawing (after the figure)"), "ms"],
];

function show(value, unit) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value;
  if (unit === "ms") return `${value < 10 ? value.toFixed(2) : Math.round(value).toLocaleString("en-US")} ms`;
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

export function initPerf(ctx) {
  const endpoint = typeof config.ANALYTICS_URL === "string" ? config.ANALYTICS_URL : "";
  window.__vramPerf = { metrics: () => metrics(ctx.client), endpoint };
  if (endpoint) {
    let sent = false;
    document.addEventListener("visibilitychange", () => {
      if (sent || document.visibilityState !== "hidden") return;
      sent = navigator.sendBeacon(endpoint, JSON.stringify({ v: 1, engine: config.ENGINE_VERSION, ...metrics(ctx.client) }));
    });
  }
  const box = document.getElementById("perf");
  const list = document.getElementById("perf-metrics");
  const note = document.getElementById("perf-beacon");
  if (!box || !list) return;
  if (note) note.replaceChildren(endpoint ? tn("This build sends these figures (no inputs, no results) to %(endpoint)s when you leave the page.", { endpoint }) : tn("Nothing is sent anywhere: this build has no analytics endpoint."));
  let timer = 0;
  const draw = () => {
    const m = metrics(ctx.client);
    list.replaceChildren(...ROWS.flatMap(([key, label, unit]) => [el("dt", {}, t(label)), el("dd", { "data-metric": key, "data-value": m[key] == null ? "" : String(m[key]) }, show(m[key], unit))]));
  };
  box.addEventListener("toggle", () => {
    clearInterval(timer);
    if (!box.open) return;
    draw();
    timer = setInterval(draw, 1000);
  });
  ctx.onResult(() => box.open && draw());
}
