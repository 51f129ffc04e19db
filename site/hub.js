// The model box's Hugging Face lookup: a repo id (`Qwen/Qwen3-8B`, `@revision`) or a Hub
// link typed into the model search. The catalog answers first (instant, offline); a name it
// does not know gets a "Look up on Hugging Face" action. The worker reads the repo's headers
// (engine.hub through hub-fetch.js, answers cached in IndexedDB) and the result's config.json
// becomes a model of the select, named by its repo id, so links carry `?model=org/name`.
// The token field has no name: it is never part of the form state, a link or the history.
import { HUB_ENDPOINT } from "./config.js";
import { el } from "./dom.js";
import { formatGib } from "./format.js";
import { t } from "./i18n.js";
import { clearErrors, showError } from "./form.js";
import { useHubModel } from "./state.js";

const looked = new Map(); // label -> lookup result (this tab)

/** Whether a model value names a Hub repo (catalog slugs have no slash). */
export function isHubName(value) {
  const text = String(value || "").trim();
  return /^https?:\/\//.test(text) || (text.includes("/") && !/\s/.test(text));
}

export function createHub({ client, form }) {
  const select = form.elements.namedItem("model");
  const search = document.getElementById("model-search");
  const button = document.getElementById("hub-lookup");
  const token = document.getElementById("hub-token");
  const status = document.getElementById("hub-status");
  const files = document.getElementById("hub-files");
  const read = document.getElementById("hub-read");
  for (const node of [button?.parentElement, document.getElementById("hub-token-box")]) if (node) node.hidden = false;
  let catalog = null; // hf_repo (lower case) -> slug, from op "models"

  async function catalogSlug(text) {
    if (/^https?:|@/.test(text) || text.split("/").length !== 2) return null;
    if (!catalog) {
      const rows = await client.request("models");
      catalog = new Map(rows.map((r) => [String(r.hf_repo || "").toLowerCase(), r.slug]));
    }
    return catalog.get(text.toLowerCase()) || null;
  }

  function optionFor(label) {
    let group = select.querySelector("optgroup[data-hub]");
    if (!group) {
      group = el("optgroup", { "data-hub": "" });
      group.label = t("Hugging Face");
      select.insertBefore(group, select.querySelector('option[value="custom"]'));
    }
    let option = [...group.children].find((o) => o.value === label);
    if (!option) group.append((option = el("option", { value: label }, label)));
    return option;
  }

  function say(text) {
    status.textContent = text;
  }

  function showRead(result) {
    const where = result.commit ? `${result.endpoint} @ ${result.commit.slice(0, 12)}` : result.endpoint;
    const total = result.read.reduce((n, r) => n + r.bytes, 0);
    const lines = [t("Read from %(where)s: %(files)s (%(bytes)s bytes of headers, no weights).", {
      where,
      files: [...new Set(result.read.map((r) => decodeURIComponent(r.url.split("/").pop().split("?")[0])))].join(", "),
      bytes: total.toLocaleString("en-US"),
    })];
    if (result.stored) {
      lines.push(t("Stored weights: %(bytes)s bytes, %(params)s parameters (%(kinds)s).", {
        bytes: result.stored.weights_bytes.toLocaleString("en-US"),
        params: result.stored.parameters.toLocaleString("en-US"),
        kinds: Object.keys(result.stored.by_dtype).join(", "),
      }));
    }
    if (result.check?.reason) lines.push(result.check.reason);
    lines.push(...(result.notes || []));
    read.replaceChildren(...lines.flatMap((line, i) => (i ? [el("br"), line] : [line])));
    read.hidden = false;
  }

  /** Register a looked-up model: its config answers the model's requests; a GGUF file's own
   *  weight type and llama.cpp become the form's values (as `vram infer` uses them). */
  function adopt(result) {
    looked.set(result.label, result);
    useHubModel(result.label, result.config);
    optionFor(result.label);
    showRead(result);
    return result;
  }

  function showError_(err) {
    clearErrors(form);
    showError(form, "model", err.message);
    say("");
    if (err.baseModel) {
      // an adapter: offer its base model, one click away (the typed name stays in the box)
      const base = String(err.baseModel);
      const offer = el("button", { type: "button", id: "hub-base" }, t("Look up %(name)s", { name: base }));
      offer.addEventListener("click", () => lookup(base));
      status.replaceChildren(offer);
    }
  }

  /** Look `input` up (worker, cache first for pinned files); resolves with the result. */
  async function fetchModel(input) {
    const args = { input };
    if (token?.value.trim()) args.token = token.value.trim();
    try {
      return await client.request("hub", args);
    } catch (err) {
      // the browser does not say where a refused redirect went: the page words it
      if (err.type === "hub_redirect") err.message = t("The Hub sent a file download to a host this site may not contact (only %(endpoint)s and its download hosts), so it was not read.", { endpoint: HUB_ENDPOINT });
      throw err;
    }
  }

  /** For a link or a reload: make sure `label` is registered (the cache answers offline). */
  async function ensure(label) {
    if (looked.has(label)) return looked.get(label);
    const result = await fetchModel(label);
    if (result.kind !== "model") {
      offerFiles(result);
      throw Object.assign(new Error(t("%(repo)s holds several GGUF files: pick one.", { repo: label })), { type: "hub_choice", field: "model" });
    }
    adopt(result);
    if (label !== result.label) {
      // a link names it by its URL: that name reaches the same config
      looked.set(label, result);
      useHubModel(label, result.config);
    }
    return result;
  }

  function pick(result) {
    adopt(result);
    files.hidden = true;
    files.replaceChildren();
    say(t("%(name)s looked up on Hugging Face.", { name: result.label }));
    select.value = result.label;
    if (result.format === "gguf") {
      const weights = form.elements.namedItem("weights");
      if (weights && weights.querySelector(`option[value="${CSS.escape(result.weights)}"]`)) weights.value = result.weights;
      const runtime = form.elements.namedItem("runtime");
      if (runtime && result.runtime) runtime.value = result.runtime;
    }
    select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function offerFiles(result) {
    const rev = result.ref.revision && result.ref.revision !== "main" ? `@${result.ref.revision}` : "";
    const rows = result.gguf_files.map((f) => {
      const size = f.size_bytes ? formatGib(f.size_bytes) : "?";
      const parts = f.parts > 1 ? " · " + t("%(n)s parts", { n: f.parts }) : "";
      const choose = el("button", { type: "button", class: "hub-file", "data-file": f.file }, f.file);
      choose.addEventListener("click", () => lookup(`${result.ref.repo}${rev}/${f.file}`));
      return el("li", {}, choose, ` ${size}${parts}`);
    });
    files.replaceChildren(...rows);
    files.hidden = false;
    say(t("%(repo)s holds %(n)s GGUF files: pick one.", { repo: result.label, n: result.gguf_files.length }));
  }

  let seq = 0;
  async function lookup(text) {
    const input = String(text || "").trim();
    if (!input) return;
    const mine = ++seq;
    clearErrors(form);
    files.hidden = true; // an earlier repo's GGUF list
    files.replaceChildren();
    const slug = await catalogSlug(input).catch(() => null);
    if (slug) {
      select.value = slug;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      say(t("%(name)s is in the catalog.", { name: select.selectedOptions[0]?.textContent || slug }));
      return;
    }
    say(t("Looking up %(name)s on Hugging Face…", { name: input }));
    button.disabled = true;
    try {
      const result = await fetchModel(input);
      if (mine !== seq) return;
      if (result.kind === "choose") offerFiles(result);
      else pick(result);
    } catch (err) {
      if (mine === seq) showError_(err);
    } finally {
      button.disabled = false;
    }
  }

  const update = () => {
    button.hidden = !isHubName(search.value);
  };
  search.addEventListener("input", update);
  // Enter with no catalog match looks the name up (modelsearch.js picks a catalog match)
  search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !isHubName(search.value)) return;
    event.preventDefault();
    event.stopImmediatePropagation(); // a repo id or link is not a catalog search
    lookup(search.value);
  });
  button.addEventListener("click", () => lookup(search.value));
  update();
  return { ensure, lookup, optionFor, looked };
}
