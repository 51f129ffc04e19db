// The results panel shows present/'s view of a result: the HTML the build baked into the page
// and the worker attaches to every infer/train reply (result.view: panel, fit line, chart).
// Nothing here writes a figure, a label or a verdict of its own; one DOM write per state.
import { el, fragment } from "./dom.js";
import { morphChildren } from "./morph.js";

/** present/'s component labels (present/labels.py), baked into the page by the build. */
export const COMPONENT_LABELS = (() => {
  const baked = typeof document !== "undefined" && document.getElementById("initial-state");
  return baked ? JSON.parse(baked.textContent).component_labels || {} : {};
})();

/** Take present/'s view off a worker result: [result as the engine returned it, view]. */
export function splitView(reply) {
  const { view, ...result } = reply;
  return [result, view];
}

/** Show a result: the panel and the chart present/ rendered for it (the nodes of the previous
 *  result that stay the same are kept: morph.js). */
export function showView(container, view) {
  morphChildren(container, fragment(view.panel_html + view.chart_html));
  container.dataset.state = "live";
}

/** The total of a result on its way (the worker sends it before drawing the view): written
 *  where the panel shows a total, exactly as present/ writes it, so the view that follows
 *  finds it already in place. A panel without a total (a problem, "computing…") waits. */
export function showFigure(container, figure) {
  for (const total of container.querySelectorAll('[data-role="total"]')) {
    if (total.dataset.bytes !== String(figure.bytes)) total.dataset.bytes = String(figure.bytes);
    if (total.textContent !== figure.text) total.textContent = figure.text;
  }
}

/** Inputs that cannot be computed: say what is wrong, and show no figure at all (a figure on
 *  screen always belongs to the inputs on screen). */
export function showProblem(container, message) {
  container.replaceChildren(el("p", { class: "result-problem", "data-role": "problem" }, message));
  container.dataset.state = "error";
}

/** Waiting for the first figure of inputs the baked figure does not belong to. */
export function showPending(container, message) {
  container.replaceChildren(el("p", { class: "result-pending", "data-role": "pending" }, message));
  container.dataset.state = "pending";
}
