// GPU recommendation and price analysis for the current calculation: the engine's `fit` op
// ranks every GPU kind (and 2/4/8-GPU set) that fits, cheapest first, with headroom and,
// for inference, the largest context and batch, a decode-speed upper bound, and price per
// GiB and per token/s. The table sorts by any column. No figure is computed here.
import { Superseded } from "./engine-client.js";
import { el } from "./dom.js";
import { formatGib, formatTokens } from "./format.js";
import { N_, t } from "./i18n.js";
import { resultWord, toRequest } from "./state.js";

const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
const usd2 = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 2 });
const num = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

// [key, header, sort type, cell]
const INFER_COLUMNS = [
  ["name", N_("GPU"), "text", (o) => o.name, (o) => ({ gpu: o.gpu, tp: o.tp, pp: o.pp })],
  ["num_gpus", N_("Count"), "num", (o) => (o.num_gpus > 1 ? `${o.num_gpus}× (${o.tp > 1 ? `TP ${o.tp}` : `PP ${o.pp}`})` : "1")],
  ["price_usd", N_("Price"), "num", (o) => (o.price_usd == null ? "—" : usd.format(o.price_usd))],
  ["headroom_bytes", N_("Headroom / GPU"), "num", (o) => bytes(o.headroom_bytes)],
  ["max_context", N_("Max context"), "num", (o) => formatTokens(o.max_context)],
  ["max_batch", N_("Max batch"), "num", (o) => String(o.max_batch)],
  ["decode_tokens_per_s", N_("Decode ≤ tok/s"), "num", (o) => (o.decode_tokens_per_s == null ? "—" : num.format(o.decode_tokens_per_s))],
  ["price_per_gib_usd", "$ / GiB", "num", (o) => (o.price_per_gib_usd == null ? "—" : usd2.format(o.price_per_gib_usd))],
  ["price_per_token_per_s_usd", "$ / (tok/s)", "num", (o) => (o.price_per_token_per_s_usd == null ? "—" : usd2.format(o.price_per_token_per_s_usd))],
];
const TRAIN_COLUMNS = [
  ["name", N_("GPU"), "text", (o) => o.name, (o) => ({ gpu: o.gpu, gpus: o.num_gpus, zero: o.zero })],
  ["num_gpus", N_("Count"), "num", (o) => String(o.num_gpus)],
  ["zero", "ZeRO", "num", (o) => String(o.zero)],
  ["price_usd", N_("Price"), "num", (o) => (o.price_usd == null ? "—" : usd.format(o.price_usd))],
  ["need_bytes", N_("Need / GPU"), "num", (o) => bytes(o.need_bytes)],
  ["headroom_bytes", N_("Headroom / GPU"), "num", (o) => bytes(o.headroom_bytes)],
];

function bytes(n) {
  return el("span", { class: "bytes", "data-bytes": String(n) }, formatGib(n));
}

/** A translated template (its placeholders kept) with its %(name)s slots filled by nodes
 *  or text: figures stay elements carrying their exact bytes. */
function sentence(template, parts) {
  return template.split(/(%\(\w+\)s)/).filter(Boolean).map((chunk) => {
    const slot = /^%\((\w+)\)s$/.exec(chunk);
    if (!slot) return chunk;
    const part = parts[slot[1]];
    return part instanceof Node ? part : String(part);
  });
}

/** The engine's verdict for the chosen GPU (fit op), in words; nothing is judged here. */
function chosenSummary(g, training) {
  if (!g) return null;
  const gap = g.fits ? Math.min(...g.headroom_bytes) : Math.max(...g.shortfall_bytes);
  // "2× GeForce RTX 4090" on several GPUs, as the panel's fit line says it
  const where = g.num_gpus > 1 ? `${g.num_gpus}× ${g.name}` : g.name;
  const parts = { gpu: el("strong", {}, where), gap: bytes(gap) };
  let verdict;
  if (training) {
    verdict = g.fits ? t("%(gpu)s: fits, %(gap)s headroom per GPU.") : t("%(gpu)s: does not fit, %(gap)s short per GPU.");
    const said = sentence(verdict, parts);
    // the engine's solver (fit-train): longest sequence and largest micro-batch on this GPU
    if (g.max_seq_len > 0) {
      said.push(" ", t("Longest sequence %(seq)s tokens, largest micro-batch %(batch)s.",
        { seq: formatTokens(g.max_seq_len), batch: g.max_micro_batch }));
    }
    return el("p", { class: "chosen-gpu", "data-fits": String(g.fits) }, ...said);
  }
  verdict = g.fits ? t("%(gpu)s: fits, %(gap)s headroom.") : t("%(gpu)s: does not fit, %(gap)s short.");
  const limits = { context: formatTokens(g.max_context), limit: g.context_limited_by, batch: g.max_batch };
  const out = [...sentence(verdict, parts), " "];
  // only when it fits: never "largest context 0 tokens (limited by nothing fits)"; the
  // verdict above already says by how much it does not
  if (g.fits && g.decode_tokens_per_s == null) {
    out.push(t("Largest context %(context)s tokens (limited by %(limit)s), largest batch %(batch)s.", limits));
  } else if (g.fits) {
    out.push(t("Largest context %(context)s tokens (limited by %(limit)s), largest batch %(batch)s, decode at most %(speed)s tokens/s.",
      { ...limits, speed: num.format(g.decode_tokens_per_s) }));
  }
  if (g.fewest_gpus && g.fewest_gpus.num_gpus > 1) out.push(" ", t("Needs %(n)s of them.", { n: g.fewest_gpus.num_gpus }));
  if (g.best_quant) out.push(" ", t("Best weight format that fits: %(format)s.", { format: g.best_quant.format }));
  if (g.n_gpu_layers != null) out.push(" ", t("llama.cpp layers on the GPU: %(n)s.", { n: g.n_gpu_layers }));
  return el("p", { class: "chosen-gpu", "data-fits": String(g.fits) }, ...out);
}

export function initRecommend(ctx) {
  const box = document.getElementById("recommend");
  if (!box) return;
  const status = document.getElementById("recommend-status");
  const chosen = document.getElementById("recommend-chosen");
  const table = document.getElementById("recommend-table");
  let sortKey = null;
  let ascending = true;
  let options = [];
  let columns = INFER_COLUMNS;
  let timer = 0;
  let problem = false; // the inputs on screen cannot be computed: nothing to recommend for them

  const drawTable = () => {
    const sorted = [...options];
    if (sortKey) {
      const col = columns.find((c) => c[0] === sortKey);
      sorted.sort((a, b) => {
        const x = a[sortKey], y = b[sortKey];
        if (x == null || y == null) return x == null ? (y == null ? 0 : 1) : -1; // unknown last
        const cmp = col[2] === "num" ? x - y : String(x).localeCompare(String(y));
        return ascending ? cmp : -cmp;
      });
    }
    const head = el("tr", {}, ...columns.map(([key, label]) => {
      const button = el("button", { type: "button", class: "sort", "data-key": key }, t(label));
      button.addEventListener("click", () => {
        ascending = sortKey === key ? !ascending : true;
        sortKey = key;
        drawTable();
        table.querySelector(`button[data-key="${key}"]`).focus();
      });
      return el("th", { scope: "col", "aria-sort": sortKey === key ? (ascending ? "ascending" : "descending") : null }, button);
    }));
    const rows = sorted.map((o) => el("tr", { "data-gpu": o.gpu, "data-num-gpus": String(o.num_gpus) },
      ...columns.map(([key, , , cell, apply], i) => {
        const value = o[key];
        const content = [cell(o)];
        if (apply) {
          // one click puts this option into the calculator (GPU, and how many / how split)
          const use = el("button", { type: "button", class: "use-gpu", "aria-label": `Use ${o.num_gpus > 1 ? `${o.num_gpus}× ` : ""}${o.name}` }, t("Use"));
          use.addEventListener("click", () => ctx.open({ ...ctx.state, ...apply(o) }));
          content.push(" ", use);
        }
        return el(i === 0 ? "th" : "td", { scope: i === 0 ? "row" : null, "data-value": value == null ? "" : String(value) }, ...content);
      })));
    table.replaceChildren(el("caption", {}, t("%(n)s GPU options that fit, cheapest first", { n: options.length })), el("thead", {}, head), el("tbody", {}, ...rows));
  };

  const run = () => {
    if (!box.open || problem) return;
    const state = ctx.state;
    const { args } = toRequest(state);
    const training = state.mode !== "infer";
    args.mode = resultWord(state.mode); // fit's mode: inference or training
    status.textContent = t("Ranking GPUs…");
    box.dataset.state = "pending";
    ctx.client.compute("fit", "fit", args).then(
      (report) => {
        if (problem) return; // the inputs changed into a problem while this ranked
        if (columns !== (training ? TRAIN_COLUMNS : INFER_COLUMNS)) sortKey = null;
        columns = training ? TRAIN_COLUMNS : INFER_COLUMNS;
        options = report.options;
        chosen.replaceChildren(chosenSummary(report.gpu, training) || "");
        const n = options.length;
        if (!n) status.textContent = t("No GPU in the catalog fits this calculation, even 8 of them: try a smaller weight format or context.");
        else if (training) status.textContent = t("%(n)s options fit. Prices are list/street prices in USD (see each GPU's page for the source); multi-GPU options shard with ZeRO.", { n });
        else status.textContent = t("%(n)s options fit. Prices are list/street prices in USD (see each GPU's page for the source); decode speed is a memory-bandwidth upper bound.", { n });
        drawTable();
        box.dataset.state = "ready";
      },
      (err) => {
        if (err instanceof Superseded || problem) return;
        status.textContent = err.message;
        box.dataset.state = "error";
      },
    );
  };
  box.addEventListener("toggle", run);
  ctx.onResult(() => {
    problem = false;
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  });
  // Inputs with a problem: no ranking of GPUs for other inputs, and no "nothing fits" either.
  ctx.root.addEventListener("vram:problem", () => {
    problem = true;
    clearTimeout(timer);
    options = [];
    chosen.replaceChildren();
    table.replaceChildren();
    status.textContent = t("Fix the inputs above to see which GPUs fit.");
    box.dataset.state = "problem";
  });
}
