// Render an engine result (schema 1) into the results panel: the same markup the build's
// templates/_macros.html results_panel writes, every figure with its exact data-bytes.
import { formatGib } from "./format.js";

export const COMPONENT_LABELS = {
  weights: "Weights", adapters: "Adapters (LoRA)", kv_cache: "KV cache", activations: "Activations",
  logits: "Logits", gradients: "Gradients", master_weights: "Master weights (fp32)",
  optimizer: "Optimizer states", temporaries: "Temporary buffers", overhead: "Runtime overhead",
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

export function bytesEl(n, role) {
  const attrs = { class: "bytes", "data-bytes": String(n) };
  if (role) attrs["data-role"] = role;
  return el("span", attrs, formatGib(n));
}

/** gpu = {gpuName, gpuBytes (memory), usableBytes (what the runtime can allocate)} */
export function renderResult(container, result, gpu = {}) {
  const nGpus = result.gpu_bytes.length;
  const total = el("div", { class: "total-line" },
    el("span", { class: "total-label" }, nGpus > 1 ? `Total (all ${nGpus} GPUs)` : "Total"), " ",
    el("strong", { class: "total" }, bytesEl(result.total_bytes, "total")));
  if (nGpus > 1) total.append(" ", el("span", { class: "per-gpu" }, "per GPU ", bytesEl(result.per_gpu_bytes, "per-gpu")));
  const capacity = el("p", { class: "capacity", "data-role": "fit" });
  fillCapacity(capacity, result.per_gpu_bytes, gpu);
  const tbody = el("tbody");
  for (const [name, label] of Object.entries(COMPONENT_LABELS)) {
    const n = result.components[name];
    if (n) tbody.append(el("tr", { "data-component": name }, el("th", { scope: "row" }, label), el("td", {}, bytesEl(n))));
  }
  const parts = [total, capacity, el("table", { class: "components" }, tbody)];
  if (result.host_bytes) parts.push(el("p", { class: "host" }, "Host (CPU) memory: ", bytesEl(result.host_bytes, "host")));
  if (result.reserved_bytes) parts.push(el("p", { class: "reserved" }, "Pre-allocated by the runtime: ", bytesEl(result.reserved_bytes, "reserved")));
  parts.push(el("ul", { class: "warnings" }, ...result.warnings.map((w) => el("li", {}, w))));
  parts.push(el("details", { class: "assumptions" }, el("summary", {}, "Assumptions"),
    el("ul", {}, ...result.assumptions.map((a) => el("li", {}, a)))));
  container.replaceChildren(...parts);
}

/** Fill the fit line of a server-rendered panel (first paint, before the engine). */
export function renderCapacity(container, perGpuBytes, gpu) {
  const line = container.querySelector('[data-role="fit"]');
  if (line) fillCapacity(line, perGpuBytes, gpu);
}

function fillCapacity(line, perGpuBytes, { gpuName = "", gpuBytes = 0, usableBytes = 0 } = {}) {
  line.replaceChildren();
  delete line.dataset.fits;
  if (!gpuBytes) return;
  const budget = usableBytes || gpuBytes;
  const fits = perGpuBytes <= budget;
  line.dataset.fits = String(fits);
  line.append(fits ? "Fits on " : "Does not fit on ", `${gpuName}: `, bytesEl(budget, "usable"), " usable of ",
    bytesEl(gpuBytes, "capacity"), fits ? "; headroom " : "; short by ", bytesEl(Math.abs(budget - perGpuBytes), "headroom"), ".");
}
