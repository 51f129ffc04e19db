// Model search: a search box above the model list that filters it as you type; Enter picks
// the first match. The list itself stays a plain <select> (works without JS).
import { el } from "./dom.js";
import { t, tAttr, tn } from "./i18n.js";

function words(text) {
  return text.toLowerCase().split(/[^a-z0-9.]+/).filter(Boolean);
}

export function initModelSearch(ctx) {
  const select = ctx.form.elements.namedItem("model");
  if (!select) return;
  let input = document.getElementById("model-search");
  let count = document.getElementById("model-search-count");
  if (!input) {
    // a page without the search box in its markup: add it (the calculator has it, for no layout shift)
    input = el("input", { id: "model-search", type: "search", autocomplete: "off", "aria-describedby": "model-search-count", "aria-controls": "f-model" });
    tAttr(input, "placeholder", "Search models…");
    count = el("span", { id: "model-search-count", class: "hint", "aria-live": "polite" });
    select.before(el("label", { for: "model-search", class: "visually-hidden" }, tn("Search models")), input);
    select.after(count);
  }
  const options = [...select.options].filter((o) => o.value !== "custom");
  // every typed word must start a word of the name or slug ("8b" finds "Qwen3 8B", not "480B")
  const tokens = new Map(options.map((o) => [o, `${o.textContent} ${o.value}`.toLowerCase().split(/[^a-z0-9.]+/).filter(Boolean)]));
  const matches = () => {
    const want = words(input.value);
    return options.filter((o) => want.every((w) => tokens.get(o).some((t) => t.startsWith(w))));
  };
  input.addEventListener("input", () => {
    const hits = new Set(matches());
    for (const o of options) o.hidden = !hits.has(o);
    count.textContent = input.value ? t("%(shown)s of %(total)s models", { shown: hits.size, total: options.length }) : "";
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      input.value = "";
      input.dispatchEvent(new Event("input"));
      return;
    }
    if (event.key !== "Enter") return;
    event.preventDefault();
    const first = matches()[0];
    if (!first) return;
    select.value = first.value;
    select.dispatchEvent(new Event("change", { bubbles: true }));
    count.textContent = t("%(name)s selected", { name: first.textContent });
  });
}
