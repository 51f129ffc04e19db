// Models index: filters by family, architecture kind, licence, release year and size over the
// compact JSON index (/api/v1/models.json), so the page stays small whatever the catalog's
// size. With the whole table in the page it hides rows; with a partial page (a large catalog:
// the page links to a page per family instead) it draws the first matches itself.
// Without JavaScript the page and its family pages are plain tables and links.
import { el } from "./dom.js";
import { formatGib, formatTokens } from "./format.js";
import { N_, tn } from "./i18n.js";
import { localPath } from "./paths.js";

const SHOWN = 200; // rows drawn at most on a partial page

// the architecture tags the engine derives (engine.model.KINDS): the JSON's `kinds`
const KIND_LABELS = {
  dense: N_("Dense"),
  moe: N_("Mixture of experts (MoE)"),
  hybrid: N_("Hybrid (recurrent layers)"),
  multimodal: N_("Multimodal"),
};

function humanCount(n) {
  // mirrors sitegen.render's "count" filter
  if (n === null || n === undefined) return "—";
  for (const [unit, scale] of [["T", 1e12], ["B", 1e9], ["M", 1e6], ["K", 1e3]]) {
    if (n >= scale) return `${(n / scale).toFixed(2)}${unit}`.replace(".00", "");
  }
  return String(n);
}

const bytes = (n) => (n ? el("span", { class: "bytes", "data-bytes": n }, formatGib(n)) : "—");
const year = (m) => String(m.release_date || "").slice(0, 4);

function select(id, label, values, labels = {}) {
  const node = el("select", { id }, el("option", { value: "" }, "—"));
  for (const v of [...new Set(values.filter(Boolean))].sort()) {
    node.append(el("option", { value: v }, labels[v] ? tn(labels[v]) : v));
  }
  return [el("label", { for: id }, tn(label)), " ", node];
}

function row(m) {
  const w4 = m.weights_bytes.q4_k_m || m.weights_bytes.nf4;
  const num = (v, text) => el("td", { "data-value": v || 0 }, text);
  return el("tr", { "data-slug": m.slug },
    el("th", { scope: "row" }, el("a", { href: localPath(m.url) }, m.name)),
    el("td", {}, m.model_type || ""),
    num(m.params_total, humanCount(m.params_total)),
    num(m.params_active, humanCount(m.params_active)),
    num(m.max_context, m.max_context ? formatTokens(m.max_context) : "—"),
    num(m.kv_bytes_per_1k_tokens, bytes(m.kv_bytes_per_1k_tokens)),
    num(m.weights_bytes.bf16, bytes(m.weights_bytes.bf16)),
    num(w4, bytes(w4)));
}

/** The predicate of the form's current filters. */
function matcher(form, text) {
  const value = (id) => form.querySelector(`#${id}`).value;
  const [family, kind, licence, released] = ["mi-family", "mi-kind", "mi-license", "mi-year"].map(value);
  const min = parseFloat(value("mi-min")) * 1e9;
  const max = parseFloat(value("mi-max")) * 1e9;
  const words = (text ? text.value : "").toLowerCase().split(/\s+/).filter(Boolean);
  return (m) => {
    const kinds = m.kinds || [m.kind];
    const haystack = `${m.slug} ${m.name} ${m.model_type} ${kinds.join(" ")} ${m.family}`.toLowerCase();
    return (!family || m.family === family) && (!kind || kinds.includes(kind))
      && (!licence || m.license === licence) && (!released || year(m) === released)
      && !(m.params_total < min) && !(m.params_total > max)
      && words.every((w) => haystack.includes(w));
  };
}

export async function initModelsIndex() {
  const table = document.getElementById("models-table");
  if (!table || !table.dataset.index) return;
  let models;
  try {
    const response = await fetch(table.dataset.index);
    if (!response.ok) return;
    models = (await response.json()).models;
  } catch {
    return; // offline without the index: the page's own table and links still work
  }
  const partial = table.hasAttribute("data-partial");
  const status = el("p", { class: "hint", "aria-live": "polite" });
  const form = el("form", { class: "filter models-filters", role: "search" },
    ...select("mi-family", N_("Family"), models.map((m) => m.family)), " ",
    ...select("mi-kind", N_("Architecture"), models.flatMap((m) => m.kinds || [m.kind]), KIND_LABELS), " ",
    ...select("mi-license", N_("Licence"), models.map((m) => m.license)), " ",
    ...select("mi-year", N_("Released"), models.map(year)), " ",
    el("label", { for: "mi-min" }, tn("Parameters (B) from")), " ",
    el("input", { id: "mi-min", type: "number", min: 0, step: "any", inputmode: "decimal", size: 5 }), " ",
    el("label", { for: "mi-max" }, tn("to")), " ",
    el("input", { id: "mi-max", type: "number", min: 0, step: "any", inputmode: "decimal", size: 5 }));
  form.addEventListener("submit", (event) => event.preventDefault());
  table.closest(".scroll").before(form, status);
  const text = document.getElementById("model-filter");
  if (text) text.closest(".filter").hidden = false;
  const rows = new Map([...table.tBodies[0].rows].map((r) => [r.dataset.slug, r]));
  const apply = () => {
    const found = models.filter(matcher(form, text));
    if (partial) {
      table.tBodies[0].replaceChildren(...found.slice(0, SHOWN).map(row));
    } else {
      const keep = new Set(found.map((m) => m.slug));
      for (const [slug, tr] of rows) tr.hidden = !keep.has(slug);
    }
    status.textContent = found.length > SHOWN && partial
      ? `${found.length} / ${models.length} (${SHOWN} shown)` : `${found.length} / ${models.length}`;
  };
  form.addEventListener("input", apply);
  text?.addEventListener("input", apply);
  apply();
}

initModelsIndex();
