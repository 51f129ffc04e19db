// Side-by-side comparison of history entries: one column per entry, the settings and every
// memory component as rows; a row whose values are not all equal is highlighted, and
// numeric cells show their difference from the first (oldest) column.
import { el } from "./dom.js";
import { formatGib } from "./format.js";
import { N_, t, tn } from "./i18n.js";
import { COMPONENT_LABELS } from "./results.js";

const MAX_ENTRIES = 4; // side by side still reads on a laptop; more is a list, not a comparison
const NA = Symbol("does not apply");
let applies = null;

/** engine.form.request_applies, embedded with the form schema: per result mode, which
 *  request settings apply for which methods and runtimes. */
function rules() {
  if (applies) return applies;
  const blob = globalThis.document?.getElementById("form-schema");
  applies = blob ? JSON.parse(blob.textContent).applies || {} : {};
  return applies;
}

/** Whether a setting of a result's request applies to its mode, method and runtime (no LoRA
 *  rank for a full fine-tune, no KV dtype for training): engine.form.applicable_request. */
export function settingApplies(result, key) {
  const all = rules();
  const rule = (all[result.mode] || {})[key];
  if (!rule) return !Object.values(all).some((mode) => key in mode); // unknown keys stay
  const request = result.request || {};
  return (!rule.methods.length || rule.methods.includes(request.method))
    && (!rule.runtimes.length || rule.runtimes.includes(request.runtime));
}

/** The request without the settings that do not apply (print and compare show these). */
export function applicableRequest(result) {
  return Object.fromEntries(Object.entries(result.request || {}).filter(([key]) => settingApplies(result, key)));
}

/** One stacked bar per entry: its components, on one scale (the largest total). Sizes are
 *  set through CSSOM: the CSP allows no style attribute. */
function stack(entry, scale) {
  const parts = Object.keys(COMPONENT_LABELS)
    .map((name) => [name, (entry.components || {})[name] || 0])
    .filter(([, n]) => n > 0);
  const total = parts.reduce((sum, [, n]) => sum + n, 0);
  const bar = el("div", { class: "stack", role: "img", "aria-label": formatGib(total) },
    ...parts.map(([name, n]) => {
      const part = el("span", { "data-component": name, title: `${t(COMPONENT_LABELS[name])}: ${formatGib(n)}` });
      part.style.flexGrow = String(n / total);
      return part;
    }));
  bar.style.width = `${scale ? (100 * total) / scale : 0}%`;
  return bar;
}

function show(value) {
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return value.join(", ");
  return String(value);
}

function delta(bytes, base) {
  if (bytes === base) return null;
  const sign = bytes > base ? "+" : "−";
  return el("small", { class: "delta" }, `${sign}${formatGib(Math.abs(bytes - base))}`);
}

export function renderCompare(all, timeFormat) {
  const entries = all.slice(-MAX_ENTRIES); // oldest first: the newest four
  const head = el("tr", {}, el("th", { scope: "col" }, tn("Setting")),
    ...entries.map((e, i) => el("th", { scope: "col", "data-id": e.id },
      el("span", { class: "compare-index" }, `#${i + 1} `), e.label,
      el("br"), el("time", { datetime: new Date(e.at).toISOString() }, timeFormat.format(new Date(e.at))))));
  const rows = [];
  // label: a msgid (translated here) or, with `raw`, a request key shown as it is
  const addRow = (label, values, { bytes = false, key = label, raw = false } = {}) => {
    // only settings that apply are compared: "—" beside a value is not a difference
    const shown = values.filter((v) => v !== NA);
    const differ = shown.some((v) => show(v) !== show(shown[0]));
    const cells = values.map((v) => {
      if (v === NA) return el("td", { class: "na", title: t("does not apply") }, "—");
      if (!bytes) return el("td", {}, show(v));
      const n = v || 0;
      return el("td", {}, el("span", { class: "bytes", "data-bytes": String(n) }, formatGib(n)), " ", delta(n, values[0] || 0));
    });
    rows.push(el("tr", { "data-row": key, class: differ ? "diff" : null, "data-diff": differ ? "true" : "false" },
      el("th", { scope: "row" }, raw ? label : tn(label)), ...cells));
  };

  addRow(N_("Model"), entries.map((e) => e.model && e.model.name), { key: "model" });
  addRow(N_("Mode"), entries.map((e) => e.mode), { key: "mode" });
  const keys = [...new Set(entries.flatMap((e) => Object.keys(e.request || {})))].sort();
  for (const key of keys) {
    // a setting an entry has no value for (its request lacks it) is not a difference either
    const values = entries.map((e) => (settingApplies(e, key) ? (e.request || {})[key] ?? NA : NA));
    if (values.every((v) => v === NA)) continue;
    addRow(key.replace(/_/g, " "), values, { key: `request.${key}`, raw: true });
  }
  addRow(N_("Total per GPU"), entries.map((e) => e.per_gpu_bytes), { bytes: true, key: "per_gpu_bytes" });
  if (entries.some((e) => e.gpu_count > 1)) {
    addRow(N_("Total, all GPUs"), entries.map((e) => e.total_bytes), { bytes: true, key: "total_bytes" });
  }
  for (const [name, label] of Object.entries(COMPONENT_LABELS)) {
    const values = entries.map((e) => (e.components || {})[name] || 0);
    if (values.some((v) => v)) addRow(label, values, { bytes: true, key: `components.${name}` });
  }
  const scale = Math.max(...entries.map((e) => e.per_gpu_bytes || 0));
  rows.push(el("tr", { "data-row": "stack", class: "stack-row" }, el("th", { scope: "row" }, tn("Memory by component")),
    ...entries.map((e) => el("td", {}, stack(e, scale)))));
  const table = el("table", { class: "compare-table", tabindex: "-1" },
    el("caption", {}, tn("Comparing %(n)s calculations — highlighted rows differ", { n: entries.length })),
    el("thead", {}, head), el("tbody", {}, ...rows));
  return el("div", { class: "scroll" }, table);
}
