// History: every calculation is kept in this browser (localStorage, versioned with a
// migration table), listed with its time and a short label, re-openable, deletable, and
// selectable for the side-by-side comparison (compare.js).
import { renderCompare } from "./compare.js";
import { announce, el } from "./dom.js";
import { formatGib, formatTokens } from "./format.js";
import { t } from "./i18n.js";
import { typedKeys } from "./state.js";

export const HISTORY_KEY = "vram-insight.history";
export const HISTORY_SCHEMA = 1;
export const MAX_ENTRIES = 100;
export const HISTORY_SETTLE_MS = 250;
const DELETE_GUARD_MS = 400; // clicks on Delete closer than this are one double click
// Fields typed or stepped: a result that differs from the latest entry only in one of these,
// within COALESCE_MS of it, and either in the field that made that entry or by characters
// added or removed at the end, is the same calculation being adjusted (typing 4 -> 40 ->
// 4096, holding ArrowUp on Context), so it updates that entry instead of adding one per step.
const isTyped = (key) => key === "config" || typedKeys().includes(key); // number fields (form schema)
const COALESCE_MS = 10_000;

/** MIGRATIONS[n] turns stored data of schema n into schema n + 1. Schema 0 is the
 *  pre-release format (a bare array of entries without ids); later releases add a row. */
const MIGRATIONS = {
  0: (raw) => ({
    schema: 1,
    entries: (Array.isArray(raw) ? raw : [])
      .filter((e) => e && typeof e === "object" && e.state && typeof e.state === "object" && typeof e.total_bytes === "number")
      .map((e, i) => ({
        ...e,
        id: e.id || `m${i}-${e.at || 0}`,
        at: Number(e.at) || 0,
        label: e.label || "calculation",
        per_gpu_bytes: Number.isInteger(e.per_gpu_bytes) ? e.per_gpu_bytes : e.total_bytes,
        gpu_count: e.gpu_count || 1,
        components: e.components || {},
        request: e.request || {},
        model: e.model || { name: e.state.model },
      })),
  }),
};

/** Bring stored data up to HISTORY_SCHEMA; data from a newer release is left read-only. */
export function migrate(raw) {
  let data = raw;
  let version = data && !Array.isArray(data) && Number.isInteger(data.schema) ? data.schema : 0;
  if (version > HISTORY_SCHEMA) return { schema: version, entries: Array.isArray(data.entries) ? data.entries : [], readOnly: true };
  while (version < HISTORY_SCHEMA) {
    data = MIGRATIONS[version](data);
    version = data.schema;
  }
  return { schema: version, entries: Array.isArray(data.entries) ? data.entries : [] };
}

// Entries that fail validation are kept aside under this key (newest last, at most
// MAX_SET_ASIDE), never silently dropped: history is the user's data.
export const SET_ASIDE_KEY = `${HISTORY_KEY}.set-aside`;
const MAX_SET_ASIDE = 100;
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isBytes = (v) => Number.isFinite(v) && v >= 0;

/** True when a stored entry has everything the list, re-open and compare read. */
export function validEntry(e) {
  return (
    isObject(e) && typeof e.id === "string" && e.id !== "" && Number.isFinite(e.at) &&
    typeof e.label === "string" && (e.mode === undefined || typeof e.mode === "string") && isObject(e.state) &&
    typeof e.state.model === "string" && isBytes(e.total_bytes) && isBytes(e.per_gpu_bytes) &&
    isObject(e.components) && isObject(e.request) && isObject(e.model)
  );
}

/** Split entries into the valid ones (kept, in order) and the rest (set aside). */
export function partitionEntries(entries) {
  const good = [];
  const bad = [];
  for (const e of Array.isArray(entries) ? entries : []) (validEntry(e) ? good : bad).push(e);
  return { good, bad };
}

function setAside(items, storage) {
  if (!items.length) return;
  try {
    const kept = JSON.parse(storage.getItem(SET_ASIDE_KEY) || "[]");
    const all = [...(Array.isArray(kept) ? kept : []), ...items.map((item) => ({ at: Date.now(), item }))];
    storage.setItem(SET_ASIDE_KEY, JSON.stringify(all.slice(-MAX_SET_ASIDE)));
  } catch {
    // storage full or disabled: the good entries still load
  }
}

export function loadHistory(storage = window.localStorage) {
  let text = null;
  try {
    text = storage.getItem(HISTORY_KEY);
  } catch {
    return { schema: HISTORY_SCHEMA, entries: [] }; // storage disabled (private mode): start empty
  }
  let data;
  try {
    data = migrate(text ? JSON.parse(text) : { schema: HISTORY_SCHEMA, entries: [] });
  } catch {
    setAside([text], storage); // not JSON at all: keep the text, start empty
    return { schema: HISTORY_SCHEMA, entries: [] };
  }
  if (data.readOnly) return data;
  const { good, bad } = partitionEntries(data.entries);
  setAside(bad, storage);
  return { ...data, entries: good };
}

export function saveHistory(data, storage = window.localStorage) {
  if (data.readOnly) return false;
  try {
    storage.setItem(HISTORY_KEY, JSON.stringify({ schema: HISTORY_SCHEMA, entries: data.entries }));
    return true;
  } catch {
    return false; // quota or disabled storage: the page keeps working
  }
}

export function labelFor(result, gpuName = (slug) => slug) {
  const name = (result.model && result.model.name) || "model";
  const r = result.request || {};
  const gpu = r.gpu ? ` · ${gpuName(r.gpu)}` : "";
  if (result.mode === "training") {
    const method = r.method === "full" ? "full" : `${r.method} r${r.lora_rank}`;
    return `${name} · ${method} · seq ${r.seq} · batch ${r.batch}${gpu}`;
  }
  return `${name} · ${r.weights} · ${formatTokens(r.context)} ctx · batch ${r.batch}${gpu}`;
}

// GPU display names, from the calculator's own GPU list
function gpuName(slug) {
  const option = document.querySelector(`#f-gpu option[value="${CSS.escape(slug)}"]`);
  return option ? option.textContent.trim() : slug;
}

function makeEntry(state, result, now) {
  return {
    id: `${now.toString(36)}-${Math.random().toString(36).slice(2, 7)}`,
    at: now,
    label: labelFor(result, gpuName),
    mode: result.mode,
    state: { ...state },
    model: result.model,
    request: result.request,
    total_bytes: result.total_bytes,
    per_gpu_bytes: result.per_gpu_bytes,
    gpu_count: (result.gpu_bytes || []).length || 1,
    components: result.components,
  };
}

function changedKeys(a, b) {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => String(a[k]) !== String(b[k]));
}

/** Add a result to the list (newest first); returns the entry that now holds it. */
export function record(data, state, result, now = Date.now()) {
  const latest = data.entries[0];
  const diff = latest ? changedKeys(latest.state, state) : [];
  if (latest) {
    // the same field again: the latest entry was made by changing it (a step of a held key)
    // or this value extends or shortens the latest one (typing)
    const adjusting = (key) => {
      const [a, b] = [String(latest.state[key]), String(state[key])];
      const again = latest.adjusted === key || a.startsWith(b) || b.startsWith(a);
      return isTyped(key) && now - latest.at < COALESCE_MS && again;
    };
    if (diff.length === 0 || (diff.length === 1 && adjusting(diff[0]))) {
      Object.assign(latest, makeEntry(state, result, now), { id: latest.id, adjusted: latest.adjusted });
      return latest;
    }
  }
  const entry = makeEntry(state, result, now);
  entry.adjusted = diff.length === 1 ? diff[0] : null; // the one field this calculation changed
  data.entries.unshift(entry);
  data.entries.length = Math.min(data.entries.length, MAX_ENTRIES);
  return entry;
}

export function initHistory(ctx) {
  const list = document.getElementById("history-list");
  if (!list) return;
  const empty = document.getElementById("history-empty");
  const compareButton = document.getElementById("compare-run");
  const clear = document.getElementById("history-clear");
  const compareBox = document.getElementById("compare");
  const status = document.getElementById("history-status");
  const data = loadHistory();
  const picked = new Set();
  const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "short" });
  let lastDelete = -Infinity;
  let undo = null; // the Undo button while a cleared history can still come back

  const compare = () => {
    const entries = data.entries.filter((e) => picked.has(e.id));
    if (entries.length < 2) {
      compareBox.hidden = true;
      compareBox.replaceChildren();
      return;
    }
    compareBox.replaceChildren(renderCompare(entries.reverse(), timeFormat));
    compareBox.hidden = false;
  };

  const draw = () => {
    for (const id of [...picked]) if (!data.entries.some((e) => e.id === id)) picked.delete(id);
    list.replaceChildren(...data.entries.map((e) => {
      const when = new Date(e.at);
      const box = el("input", { type: "checkbox", class: "compare-pick", value: e.id, "aria-label": `Compare: ${e.label}` });
      box.checked = picked.has(e.id);
      box.addEventListener("change", () => {
        if (box.checked) picked.add(e.id);
        else picked.delete(e.id);
        compareButton.disabled = picked.size < 2;
        if (!compareBox.hidden) compare();
      });
      const open = el("button", { type: "button", class: "history-open", "aria-label": `Open ${e.label}` }, t("Open"));
      open.addEventListener("click", () => ctx.open(e.state));
      const del = el("button", { type: "button", class: "history-delete", "aria-label": `Delete ${e.label}` }, t("Delete"));
      del.addEventListener("click", (event) => {
        const index = data.entries.indexOf(e);
        // a double click is one delete: its second click lands on the next row's button
        if (index < 0 || event.detail > 1 || performance.now() - lastDelete < DELETE_GUARD_MS) return;
        lastDelete = performance.now();
        data.entries.splice(index, 1);
        saveHistory(data);
        draw();
        if (!compareBox.hidden) compare();
        announce(status, `Deleted ${e.label}`);
        const next = list.querySelectorAll(".history-delete")[Math.min(index, data.entries.length - 1)];
        (next || compareButton).focus();
      });
      return el("li", { "data-id": e.id, "data-mode": e.mode },
        box, " ",
        el("time", { datetime: when.toISOString() }, timeFormat.format(when)), " ",
        el("span", { class: "history-label" }, e.label), " ",
        el("span", { class: "bytes", "data-bytes": String(e.per_gpu_bytes) }, formatGib(e.per_gpu_bytes)), " ",
        el("span", { class: "history-buttons" }, open, " ", del));
    }));
    empty.hidden = data.entries.length > 0;
    clear.disabled = data.entries.length === 0;
    compareButton.disabled = picked.size < 2;
    list.dataset.count = String(data.entries.length);
  };

  compareButton.addEventListener("click", () => {
    compare();
    compareBox.querySelector("table")?.focus();
  });
  const dropUndo = () => {
    undo?.remove();
    undo = null;
  };
  clear.addEventListener("click", () => {
    const cleared = data.entries.splice(0);
    picked.clear();
    saveHistory(data);
    compare();
    draw();
    announce(status, t("History cleared"));
    // Clearing is one click, so it can be taken back until the next change to the list.
    dropUndo();
    undo = el("button", { type: "button", id: "history-undo" }, "Undo");
    undo.addEventListener("click", () => {
      data.entries.push(...cleared);
      data.entries.length = Math.min(data.entries.length, MAX_ENTRIES);
      saveHistory(data);
      dropUndo();
      draw();
      announce(status, "History restored");
      clear.focus();
    });
    clear.after(" ", undo);
    undo.focus();
  });
  // Another tab added or removed entries: show them.
  window.addEventListener("storage", (e) => {
    if (e.key !== HISTORY_KEY) return;
    Object.assign(data, loadHistory());
    draw();
  });

  ctx.history = data;
  draw();
  // Every result is recorded at once (in memory), steps on one field merging into one entry
  // (record); storing and redrawing the list wait until the figures settle, so holding a key
  // on Context, or rewriting up to MAX_ENTRIES entries, never delays the next figure.
  let flush = null;
  ctx.onResult(({ state, result }) => {
    if (!result || result.schema !== 1) return;
    record(data, state, result);
    dropUndo();
    clearTimeout(flush);
    flush = setTimeout(() => {
      saveHistory(data);
      draw();
    }, HISTORY_SETTLE_MS);
  });
}
