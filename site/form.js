// The calculator form: read a state from it, write a state into it, show which fields apply,
// and put engine errors beside the field they are about. The controls and their
// data-mode/-method/-runtime come from the engine's form schema (templates/calculator.html).
import { coerce, kindOf, runtimeOf } from "./state.js";

/** The values the form would submit, by name (FormData's entries for text, number, select,
 *  checked boxes and radios). Read from the controls themselves: Chromium's FormData lays
 *  out the whole page first (because of the textarea), which cost the most of a keystroke. */
function formValues(form) {
  const values = new Map();
  for (const el of form.elements) {
    if (!el.name || el.matches(":disabled") || el.type === "file" || el.type === "submit" || el.type === "button" || el.tagName === "BUTTON") continue;
    if ((el.type === "checkbox" || el.type === "radio") && !el.checked) {
      // a switch (a bool field's one box) that is off says false, not "left out → default"
      if (el.type === "checkbox" && kindOf(el.name) === "bool") values.set(el.name, ["false"]);
      continue;
    }
    if (el.tagName === "SELECT" && el.selectedIndex < 0) continue;
    if (!values.has(el.name)) values.set(el.name, []);
    values.get(el.name).push(el.value);
  }
  return values;
}

export function readForm(form, defaults) {
  const state = { ...defaults };
  const data = formValues(form);
  for (const key of Object.keys(defaults)) {
    if (kindOf(key) === "list") state[key] = (data.get(key) || []).join(","); // checkboxes
    else if (data.has(key)) state[key] = coerce(key, data.get(key)[0]);
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
    } else if (els.type === "checkbox") {
      els.checked = coerce(key, value) === true;
    } else if (els.value !== String(value)) {
      els.value = String(value);
    }
  }
  // a settings group (closed by default) opens when the state sets one of its controls
  for (const group of form.querySelectorAll("details[data-group]:not([open])")) {
    if ([...group.querySelectorAll("input, select")].some(changed)) group.open = true;
  }
  showApplicable(form, state);
}

/** Whether a control differs from the value the page was built with (the schema default). */
function changed(el) {
  if (el.tagName === "SELECT") return [...el.options].some((o) => o.selected !== o.defaultSelected);
  return el.type === "checkbox" ? el.checked !== el.defaultChecked : el.value !== el.defaultValue;
}

/** Fields that do not apply to the mode/method are hidden (and so never sent). */
export function showApplicable(form, state) {
  const allows = (el, key, value) => value === null || !el.dataset[key] || el.dataset[key].split(" ").includes(String(value));
  // the method only matters in fine-tuning; training is always full-parameter
  const method = state.mode === "finetune" ? state.method : "full";
  const runtime = runtimeOf(state); // null: the mode chooses no runtime (training is PyTorch)
  for (const el of form.querySelectorAll("[data-mode]")) {
    setHidden(el, !(allows(el, "mode", state.mode) && allows(el, "method", method) && allows(el, "runtime", runtime)));
  }
  for (const el of form.querySelectorAll('[data-show="custom"]')) setHidden(el, state.model !== "custom");
}

/** Write only a change: an unchanged form costs no style work on a keystroke. */
function setHidden(el, hidden) {
  if (el.hidden !== hidden) el.hidden = hidden;
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error")) {
    setHidden(el, true);
    if (el.firstChild) el.textContent = "";
  }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

/** Show an engine error beside its field; returns false when no field matches. */
export function showError(form, field, message) {
  const slot = field && form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
  if (!slot) return false;
  slot.textContent = message;
  slot.hidden = false;
  const group = slot.closest("details");
  if (group && !group.open) group.open = true; // an error inside a closed settings group shows
  const input = form.elements.namedItem(field);
  if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
  return true;
}
