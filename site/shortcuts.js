// Keyboard shortcuts: 1/2/3 modes, / model search, s share, ? the list, and a few more.
// They never fire while the focus is in a text field, a select or a textarea, nor with
// Ctrl/Alt/Meta held (browser shortcuts keep working).
import { isTyping } from "./dom.js";
import { N_, tn } from "./i18n.js";

export const SHORTCUTS = [
  ["1", N_("Inference mode")],
  ["2", N_("Training mode")],
  ["3", N_("Fine-tuning mode (LoRA / QLoRA)")],
  ["/", N_("Search the models")],
  ["s", N_("Share: copy the link to this calculation")],
  ["h", N_("Go to the history")],
  ["g", N_("GPU recommendation")],
  ["p", N_("Performance panel")],
  ["d", N_("Switch the colour theme")],
  ["?", N_("Show this list")],
];

function setMode(form, n) {
  const radios = [...form.querySelectorAll('input[name="mode"]')];
  let radio = radios[n - 1];
  if (!radio && n === 3) {
    // no separate fine-tuning mode in this form: training with LoRA is the same request
    radio = radios.find((r) => r.value === "train");
    const method = form.elements.namedItem("method");
    if (radio && method && method.value === "full") {
      radio.checked = true;
      method.value = "lora";
      method.dispatchEvent(new Event("change", { bubbles: true }));
      return radio;
    }
  }
  if (!radio) return null;
  radio.checked = true;
  radio.dispatchEvent(new Event("change", { bubbles: true }));
  return radio;
}

function openDetails(id) {
  const box = document.getElementById(id);
  if (!box) return;
  if (box.tagName === "DETAILS") box.open = true;
  box.scrollIntoView({ block: "start" });
  (box.tagName === "DETAILS" ? box.querySelector("summary") : box).focus(); // sections have tabindex=-1
}

export function initShortcuts(ctx) {
  const dialog = document.getElementById("shortcuts-dialog");
  const listBox = document.getElementById("shortcuts-list");
  if (listBox) {
    listBox.replaceChildren(...SHORTCUTS.flatMap(([key, what]) => {
      const dt = document.createElement("dt");
      const kbd = document.createElement("kbd");
      kbd.textContent = key;
      dt.append(kbd);
      const dd = document.createElement("dd");
      dd.append(tn(what));
      return [dt, dd];
    }));
  }
  document.getElementById("shortcuts-close")?.addEventListener("click", () => dialog.close());
  document.getElementById("shortcuts-open")?.addEventListener("click", () => dialog.showModal());

  const actions = {
    1: () => setMode(ctx.form, 1)?.focus(),
    2: () => setMode(ctx.form, 2)?.focus(),
    3: () => setMode(ctx.form, 3)?.focus(),
    "/": () => (document.getElementById("model-search") || document.getElementById("f-model")).focus(),
    s: () => {
      const native = document.getElementById("share-native");
      if (native && !native.hidden) native.click();
      else ctx.copyLink?.();
    },
    h: () => openDetails("history"),
    g: () => openDetails("recommend"),
    p: () => {
      const perf = document.getElementById("perf");
      if (perf && perf.open) perf.open = false;
      else openDetails("perf");
    },
    d: () => window.vramTheme?.cycle(),
    "?": () => (dialog.open ? dialog.close() : dialog.showModal()),
  };

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (isTyping(event.target)) return;
    if (dialog?.open && event.key !== "?") return;
    const action = Object.hasOwn(actions, event.key) ? actions[event.key] : null;
    if (!action) return;
    event.preventDefault();
    action();
  });
}
