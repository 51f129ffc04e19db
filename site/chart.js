// The result's exports and print settings. The chart itself comes with each result (present/'s
// view, see results.js); an export is written by present/ in the worker only when its button
// is clicked (op "export"), from the result on screen.
import { applicableRequest } from "./compare.js";
import { download } from "./dom.js";

const EXPORTS = {
  json: ["application/json", "json"],
  csv: ["text/csv", "csv"],
  markdown: ["text/markdown", "md"],
};

function fileStem(result) {
  const model = (result.model && (result.model.slug || result.model.name)) || "model";
  const safe = String(model).toLowerCase().replace(/[^a-z0-9.]+/g, "-").replace(/^-|-$/g, "");
  return `vram-${safe}-${result.mode || "estimate"}`;
}

function settingsList(result) {
  const dl = document.createElement("dl");
  // only the settings that apply to this mode, method and runtime (engine.form.request_applies)
  const rows = [["model", (result.model && result.model.name) || ""], ...Object.entries(applicableRequest(result))];
  for (const [key, value] of rows) {
    if (value === null || value === undefined || value === "") continue;
    const dt = document.createElement("dt");
    dt.textContent = key.replace(/_/g, " ");
    const dd = document.createElement("dd");
    dd.textContent = Array.isArray(value) ? value.join(", ") : String(value);
    dl.append(dt, dd);
  }
  return dl;
}

export function initChart(ctx) {
  const buttons = document.querySelectorAll("[data-export]");
  if (!buttons.length) return;
  const settings = document.getElementById("print-settings");
  const root = document.documentElement;
  let shown = null; // the result on screen; null while the inputs have a problem

  const enable = (on) => {
    for (const b of buttons) b.disabled = !on;
  };
  // The print-only list of settings is written once the figures settle (typing in a number
  // field makes a result per keystroke), and at once when the page is printed.
  let listed = null;
  let settle = 0;
  const list = () => {
    clearTimeout(settle);
    if (settings && shown && listed !== shown) settings.replaceChildren(settingsList(shown));
    listed = shown;
  };
  ctx.onResult(({ result }) => {
    shown = result;
    enable(true);
    clearTimeout(settle);
    settle = setTimeout(list, 200);
  });
  root.addEventListener("vram:problem", () => {
    shown = null;
    listed = null;
    clearTimeout(settle);
    if (settings) settings.replaceChildren();
    enable(false);
  });
  window.addEventListener("beforeprint", list);

  for (const button of buttons) {
    button.addEventListener("click", () => {
      if (!shown) return;
      const result = shown;
      const kind = button.dataset.export;
      const [type, ext] = EXPORTS[kind];
      ctx.client.request("export", { result, kind }).then(
        ({ text }) => download(text, `${fileStem(result)}.${ext}`, type),
        (err) => console.error("export:", err.message),
      );
    });
  }
  document.getElementById("print-report")?.addEventListener("click", () => window.print());
}
