// Presets: the engine's named requests (engine/presets.py, op "presets"), one click away.
// The list is baked into the page by the build (so it is there before the engine starts)
// and fetched from the engine when the build had none.
import { el } from "./dom.js";
import { tn } from "./i18n.js";
import { localPath } from "./paths.js";
import { fieldFor, parseMode } from "./state.js";

/** The calculator state for a preset; keys the form cannot show are returned in `dropped`. */
export function presetState(preset, defaults) {
  // the preset's schema-1 word (inference/training) and its method name the form's mode
  const mode = parseMode(preset.mode, preset.args.method);
  const state = { ...defaults, model: preset.model, mode };
  const dropped = [];
  for (const [key, value] of Object.entries(preset.args)) {
    const target = fieldFor(mode, key);
    if (!(target in defaults)) dropped.push(key);
    else state[target] = Array.isArray(value) ? value.join(",") : value;
  }
  return { state, dropped };
}

export function initPresets(ctx) {
  const list = document.getElementById("preset-list");
  if (!list) return;
  const baked = document.getElementById("presets-data");
  const show = (presets) => {
    list.replaceChildren(...presets.map((p) => {
      const { state, dropped } = presetState(p, ctx.defaults);
      if (dropped.length) console.warn(`preset ${p.id}: the form has no field for ${dropped.join(", ")}`);
      const link = el("a", { href: localPath(`/${ctx.search(state)}`), class: "preset", "data-preset": p.id, "data-mode": p.mode },
        el("strong", {}, tn(p.title)), el("span", { class: "preset-desc" }, tn(p.description)));
      link.addEventListener("click", (event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return; // new tab
        event.preventDefault();
        ctx.open(state);
        document.getElementById("results")?.scrollIntoView({ block: "nearest" });
      });
      return el("li", {}, link);
    }));
    list.dataset.count = String(presets.length);
  };
  const presets = baked ? JSON.parse(baked.textContent) : [];
  if (presets.length) show(presets);
  else ctx.client.request("presets").then(show, (err) => console.warn("presets:", err.message));
}
