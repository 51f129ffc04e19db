// A config.json for a model outside the catalog: pick the file or drop it on the text box
// (or anywhere on the form). The engine parses it like a pasted one; its errors show
// beside the field (app.js). Files are read locally, never uploaded.
import { el } from "./dom.js";
import { t, tn } from "./i18n.js";

const MAX_BYTES = 1 << 20; // real config.json files are a few KB

export function initConfigFile(ctx) {
  const box = ctx.form.elements.namedItem("config");
  const select = ctx.form.elements.namedItem("model");
  if (!box || !select) return;
  const slot = ctx.form.querySelector('[data-error-for="config"]');
  const picker = el("input", { type: "file", id: "f-config-file", accept: ".json,application/json", class: "visually-hidden" });
  const pickLabel = el("label", { for: "f-config-file", class: "file-button" }, tn("Open a config.json file…"));
  const hint = el("span", { class: "hint" }, " ", tn("or drop it here"));
  box.after(el("div", { class: "config-file" }, picker, pickLabel, hint));

  const fail = (message) => {
    slot.textContent = message;
    slot.hidden = false;
    box.setAttribute("aria-invalid", "true");
  };

  const load = async (file) => {
    if (!file) return;
    if (file.size > MAX_BYTES) {
      const size = Math.round(file.size / 1024);
      fail(t("%(name)s is %(size)s KB; a model's config.json is a few KB — choose the config, not the weights.", { name: file.name, size }));
      return;
    }
    const text = await file.text();
    if (select.value !== "custom") {
      select.value = "custom";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
    box.value = text;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
  };

  picker.addEventListener("change", () => load(picker.files[0]).finally(() => (picker.value = "")));
  const over = (event) => {
    if (![...(event.dataTransfer?.types || [])].includes("Files")) return;
    event.preventDefault();
    ctx.form.classList.add("dropping");
  };
  ctx.form.addEventListener("dragover", over);
  ctx.form.addEventListener("dragenter", over);
  ctx.form.addEventListener("dragleave", (event) => {
    if (!ctx.form.contains(event.relatedTarget)) ctx.form.classList.remove("dropping");
  });
  ctx.form.addEventListener("drop", (event) => {
    ctx.form.classList.remove("dropping");
    const file = event.dataTransfer?.files?.[0];
    if (!file) return;
    event.preventDefault();
    load(file);
  });
}
