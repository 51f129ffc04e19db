// The composition chart (donut + legend + capacity bar) and the exports, all drawn by
// present/ in the worker (op "render"): the same Python the build used for the baked chart.
import { Superseded } from "./engine-client.js";
import { download, fragment } from "./dom.js";

const CHART_SETTLE_MS = 60;

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
  const rows = [["model", (result.model && result.model.name) || ""], ...Object.entries(result.request || {})];
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
  const chart = document.getElementById("chart");
  if (!chart) return;
  const donut = document.getElementById("chart-donut");
  const legend = document.getElementById("chart-legend");
  const capacity = document.getElementById("chart-capacity");
  const settings = document.getElementById("print-settings");
  const buttons = document.querySelectorAll("[data-export]");
  ctx.rendered = null;

  const draw = (out, result) => {
    donut.replaceChildren(fragment(out.donut_svg));
    legend.replaceChildren(fragment(out.legend_html));
    capacity.replaceChildren(fragment(out.capacity_svg), fragment(out.capacity_html));
    capacity.hidden = !out.capacity_svg;
    if (settings) settings.replaceChildren(settingsList(result));
    chart.dataset.state = "live";
    chart.dataset.total = String(result.per_gpu_bytes);
    for (const b of buttons) b.disabled = false;
  };

  const timings = (window.__vramTimings ||= { marks: [] });
  timings.render = [];
  // The chart is drawn once the figures pause for CHART_SETTLE_MS: while a field is being
  // typed into or a value stepped, each render would sit in the worker's queue ahead of the
  // next figure.
  let settle = null;
  ctx.onResult(({ result }) => {
    chart.dataset.state = "pending";
    clearTimeout(settle);
    settle = setTimeout(() => drawLive(result), CHART_SETTLE_MS);
  });
  const drawLive = (result) => {
    const started = performance.now();
    ctx.client.compute("render", "render", { result }).then(
      (out) => {
        ctx.rendered = { out, result };
        draw(out, result);
        timings.render.push(performance.now() - started);
      },
      (err) => {
        if (err instanceof Superseded) return;
        chart.dataset.state = "error";
        console.error("chart:", err.message);
      },
    );
  };

  for (const button of buttons) {
    button.addEventListener("click", () => {
      if (!ctx.rendered) return;
      const kind = button.dataset.export;
      const [type, ext] = EXPORTS[kind];
      download(ctx.rendered.out[kind], `${fileStem(ctx.rendered.result)}.${ext}`, type);
    });
  }
  document.getElementById("print-report")?.addEventListener("click", () => window.print());
}
