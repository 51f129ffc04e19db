// The calculator page: wires the form, the URL and the engine worker together.
// State flows one way: form/URL -> state -> engine request -> result -> panel.
import { EngineClient, Superseded } from "./engine-client.js";
import { clearErrors, readForm, showApplicable, showError, writeForm } from "./form.js";
import { formatTokens } from "./format.js";
import { createHub, isHubName } from "./hub.js";
import { t } from "./i18n.js";
import { localPath } from "./paths.js";
import { showFigure, showPending, showProblem, showView, splitView } from "./results.js";
import { fieldFor, fromSearch, hasHubModel, makeDefaults, sameState, toRequest, toSearch } from "./state.js";

const root = document.documentElement;
const form = document.getElementById("calc");
const body = document.getElementById("result-body");
const meta = document.getElementById("result-meta");
const share = document.getElementById("share-link");
const progressBar = document.getElementById("engine-progress");
const message = document.getElementById("engine-message");
const initial = JSON.parse(document.getElementById("initial-state").textContent);
const defaults = makeDefaults(initial.request.model);
// marks: input to figure (ms); render: figure written to the frame that drew it (the panel and
// chart come in one write, and the browser lays out and paints them after it)
const timings = (window.__vramTimings = { marks: [], render: [] });

/** The runtimes that load a weight format, preferred first (the engine's format table). */
function runtimesFor(weights) {
  const option = form.querySelector(`#f-weights option[value="${CSS.escape(String(weights))}"]`);
  return (option?.dataset.runtimes || "").split(" ").filter(Boolean);
}

// A link applies the defaults the form would (fromSearch: the runtime the weights imply).
let state = fromSearch(location.search, defaults);

/** The line under the result: which inputs the panel shows (in the page's language). */
function describe(s, named = "") {
  // a pasted config: the name the engine read from it (_name_or_path, architectures)
  const name = s.model === "custom" ? named || t("custom config") : form.querySelector(`#f-model option[value="${CSS.escape(s.model)}"]`)?.textContent || s.model;
  if (s.mode === "train") return t("%(name)s · full training · seq %(seq)s · micro-batch %(batch)s", { name, seq: s.seq, batch: s.tbatch });
  if (s.mode !== "infer") return t("%(name)s · %(method)s · seq %(seq)s · micro-batch %(batch)s", { name, method: s.method, seq: s.seq, batch: s.tbatch });
  const context = Number.isInteger(s.context) ? formatTokens(s.context) : s.context;
  return t("%(name)s · %(weights)s · %(context)s context · batch %(batch)s", { name, weights: s.weights, context, batch: s.batch });
}

function setEngineState(value, text) {
  root.dataset.engine = value;
  if (text !== undefined) message.textContent = text;
  progressBar.hidden = value !== "loading";
}

let firstLive = Promise.resolve(); // the first calculation at load (set below, before any reply)
const client = new EngineClient(form.closest("[data-worker]").dataset.worker, {
  onProgress: (value, text) => {
    progressBar.value = value;
    message.textContent = text;
  },
  // the total comes ahead of the rest of the view: on screen at once (present/'s text)
  onFigure: (key, figure) => {
    if (key !== "calc") return;
    showFigure(body, figure);
    if (figureFor !== null) timings.marks.push(performance.now() - figureFor);
    figureFor = null;
  },
  onState: (value, info) => {
    if (value === "ready") {
      // "ready" once the live engine has drawn the figures on screen and the features have
      // followed that result (their task was queued with it, so it runs before this one): the
      // first calculation, queued at load, ran every code path once, so the page is idle and
      // warm for the first change
      firstLive.finally(() => setTimeout(() => {
        if (client.state !== "ready") return;
        timings.ready = performance.now();
        timings.worker = info.marks;
        setEngineState("ready", t("Engine v%(version)s ready — figures update as you type.", { version: info.engine_version }));
      }));
    } else if (value === "error") {
      setEngineState("error", t("The engine could not start (%(reason)s). The figures shown were computed at build time.", { reason: info }));
      showRetry();
    } else {
      setEngineState("loading");
    }
  },
});

// Hugging Face lookups (hub.js): a model named by its repo id is looked up (or read from the
// cache) before its first request.
const hub = createHub({ client, form });
const onHub = (model) => model !== "custom" && (hasHubModel(model) || isHubName(model));

function showRetry() {
  if (document.getElementById("engine-retry")) return;
  const button = document.createElement("button");
  button.type = "button";
  button.id = "engine-retry";
  button.textContent = t("Retry");
  button.addEventListener("click", () => {
    button.remove();
    client.abort();
    recompute();
  });
  message.after(" ", button);
}

let calculation = 0; // the newest recompute(): an older one that fails (aborted by Retry) shows nothing
let figureFor = null; // when the newest calculation started, until its total is on screen

/** Compute the form's state and show it. `baked`: the state whose figures the build put in
 *  the page (they stay, not dimmed, until the live ones replace them, and stay if the engine
 *  cannot start). */
async function recompute({ baked = false } = {}) {
  const seq = ++calculation;
  const current = state;
  const started = performance.now();
  if (current.model === "custom" && !String(current.config ?? "").trim()) {
    // nothing pasted yet: an invitation, not a JSON error
    clearErrors(form);
    const invite = t("Paste a model's config.json to see its memory.");
    showPending(body, invite);
    meta.textContent = describe(current);
    // no figure and no GPU ranking of other inputs stays on screen
    root.dispatchEvent(new CustomEvent("vram:problem", { detail: { state: current, error: { type: "empty", field: "config", message: invite } } }));
    return;
  }
  if (!baked) body.dataset.state = "pending";
  figureFor = started;
  try {
    if (onHub(current.model) && !hasHubModel(current.model)) await hub.ensure(current.model);
    if (seq !== calculation) return;
    const { op, args } = toRequest(current);
    const [result, view] = splitView(await client.compute("calc", op, args));
    clearErrors(form);
    showView(body, view); // present/'s panel and chart for this result: one DOM write
    meta.textContent = describe(current, result?.model?.name);
    const shown = performance.now();
    timings.last = { ms: shown - started, at: shown };
    if (figureFor === started) timings.marks.push(shown - started); // no total came ahead
    figureFor = null;
    // a task queued from the next animation frame runs once that frame is drawn
    requestAnimationFrame(() => setTimeout(() => timings.render.push(performance.now() - shown)));
    root.dispatchEvent(new CustomEvent("vram:result", { detail: { state: current, result } }));
  } catch (err) {
    if (err instanceof Superseded || seq !== calculation) return;
    if (baked && err.type === "fatal") return; // the status line says why; build-time figures stay
    clearErrors(form);
    // an engine that stopped is not a problem of a field: the panel and the status line say it
    if (err.type && err.type !== "fatal") {
      // a looked-up model's config.json is the model field's
      const field = onHub(current.model) && err.field === "config" ? "model" : fieldFor(current.mode, err.field);
      // an error about a key inside a pasted config.json (model_type, hidden_size...) goes beside it
      if (!showError(form, field, err.message)) showError(form, current.model === "custom" ? "config" : "model", err.message);
    }
    // no figure of other inputs stays on screen: the panel says what is wrong instead
    showProblem(body, err.message);
    meta.textContent = describe(current);
    root.dispatchEvent(new CustomEvent("vram:problem", { detail: { state: current, error: err } }));
    if (!err.field && err.type !== "invalid_workload") console.error(err);
  }
}

// Engine text (errors, warnings, assumptions) comes in the page language: ask again after a switch.
root.addEventListener("vram:language", () => {
  if (body.dataset.state === "live" || body.dataset.state === "error") recompute();
});

// Typing recomputes at once; a committed change (change event) also adds a history entry.
function commit({ push }) {
  const next = readForm(form, defaults);
  const changed = !sameState(next, state);
  state = next;
  // the request goes out first: the worker computes while this thread updates the rest
  if (changed) recompute();
  showApplicable(form, state);
  const search = toSearch(state, defaults);
  share.href = localPath(`/${search}`);
  if (push && search !== location.search) history.pushState(null, "", localPath(`/${search}`));
}

// First paint: the baked result is already in the panel; if the URL asks for something
// else, say so, and compute it the moment the engine is ready (requests queue in the worker).
if (onHub(state.model)) hub.optionFor(state.model);
writeForm(form, state);
share.href = localPath(`/${toSearch(state, defaults)}`);
if (sameState(state, { ...defaults, model: initial.request.model })) {
  // the baked figure stays while the engine starts; the live one (the same) replaces it
  firstLive = recompute({ baked: true });
} else {
  // the baked figure belongs to the default inputs, not to these: it leaves the screen
  showPending(body, "");
  meta.textContent = t("%(line)s — computing…", { line: describe(state) });
  recompute(); // "ready" does not wait for it: a model named by the link may need the Hub first
}

form.addEventListener("input", (e) => {
  if (e.target.name === "config" || e.target.type === "number") commit({ push: false });
});
form.addEventListener("change", (e) => {
  // Picking a format the runtime cannot load (a GGUF file in transformers) switches to the
  // first runtime that can, as the engine's format table lists them.
  if (e.target.name === "weights") {
    const runtimes = runtimesFor(e.target.value);
    const runtime = form.elements.namedItem("runtime");
    if (runtimes.length && !runtimes.includes(runtime.value)) runtime.value = runtimes[0];
  }
  commit({ push: true });
});
form.addEventListener("submit", (e) => e.preventDefault());
window.addEventListener("popstate", () => {
  state = fromSearch(location.search, defaults);
  if (onHub(state.model)) hub.optionFor(state.model);
  writeForm(form, state);
  recompute();
});

// The feature modules (features.js) share this page's engine worker.
export { client };
