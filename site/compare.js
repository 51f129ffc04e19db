// Side-by-side comparison of history entries: one column per entry, the settings and every
// memory component as rows; a row whose values are not all equal is highlighted, and
// numeric cells show their difference from the first (oldest) column.
import { el } from "./dom.js";
import { formatGib } from "./format.js";
import { N_, tn } from "./i18n.js";
import { COMPONENT_LABELS } from "./results.js";

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

export function renderCompare(entries, timeFormat) {
  const head = el("tr", {}, el("th", { scope: "col" }, tn("Setting")),
    ...entries.map((e, i) => el("th", { scope: "col", "data-id": e.id },
      el("span", { class: "compare-index" }, `#${i + 1} `), e.label,
      el("br"), el("time", { datetime: new Date(e.at).toISOString() }, timeFormat.format(new Date(e.at))))));
  const rows = [];
  // label: a msgid (translated here) or, with `raw`, a request key shown as it is
  const addRow = (label, values, { bytes = false, key = label, raw = false } = {}) => {
    const differ = values.some((v) => show(v) !== show(values[0]));
    const cells = values.map((v) => {
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
    const values = entries.map((e) => (e.request || {})[key]);
    if (values.every((v) => v === null || v === undefined)) continue;
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
  const table = el("table", { class: "compare-table", tabindex: "-1" },
    el("caption", {}, tn("Comparing %(n)s calculations — highlighted rows differ", { n: entries.length })),
    el("thead", {}, head), el("tbody", {}, ...rows));
  return el("div", { class: "scroll" }, table);
}
