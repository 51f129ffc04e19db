// The calculator form: read a state from it, write a state into it, show which fields apply,
// and put engine errors beside the field they are about. The controls and their
// data-mode/-method/-runtime come from the engine's form schema (templates/calculator.html).
import { coerce, kindOf } from "./state.js";

export function readForm(form, defaults) {
  const state = { ...defaults };
  const data = new FormData(form);
  for (const key of Object.keys(defaults)) {
    if (kindOf(key) === "list") state[key] = data.getAll(key).join(","); // checkboxes
    else if (data.has(key)) state[key] = coerce(key, data.get(key));
  }
  return state;
}

export function writeForm(form, state) {
  for (const [key, value] of Object.entries(state)) {
    if (kindOf(key) === "list") {
      const on = new Set(String(value).split(","));
      for (const box of form.querySelectorAll(`input[name="${CSS.escape(key)}"]`)) box.checked = on.has(box.value);
      continue;
    }
    const els = form.elements.namedItem(key);
    if (!els) continue;
    if (els instanceof RadioNodeList) {
      for (const el of els) el.checked = el.value === String(value);
    } else if (els.value !== String(value)) {
      els.value = String(value);
    }
  }
  showApplicable(form, state);
}

/** Fields that do not apply to the mode/method are hidden (and so never sent). */
export function showApplicable(form, state) {
  const allows = (el, key, value) => !el.dataset[key] || el.dataset[key].split(" ").includes(String(value));
  for (const el of form.querySelectorAll("[data-mode]")) {
    // the method only matters in fine-tuning; training is always full-parameter
    const method = state.mode === "finetune" ? state.method : "full";
    el.hidden = !(allows(el, "mode", state.mode) && allows(el, "method", method) && allows(el, "runtime", state.runtime));
  }
  for (const el of form.querySelectorAll('[data-show="custom"]')) el.hidden = state.model !== "custom";
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error")) {
    el.hidden = true;
    el.textContent = "";
  }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

/** Show an engine error beside its field; returns false when no field matches. */
export function showError(form, field, message) {
  const slot = field && form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
  if (!slot) return false;
  slot.textContent = message;
  slot.hidden = false;
  const input = form.elements.namedItem(field);
  if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
  return true;
}
