// Colour theme: follows the system setting unless the user picked light or dark, which is
// remembered. A classic (non-module) script in <head>, so the choice applies before the
// first paint and no page flashes the wrong theme. Adds its toggle to the site header.
(function () {
  "use strict";
  var KEY = "vram-insight.theme";
  var ORDER = ["system", "light", "dark"];
  var root = document.documentElement;
  var current = "system";
  // A classic script (no imports): its words are msgids, marked for Babel with N_, and the
  // calculator's i18n.js shows them in the page's language like the build's static text.
  function N_(msgid) {
    return msgid;
  }
  var LABELS = {
    system: [N_("Theme: system"), N_("Colour theme: system — click to change")],
    light: [N_("Theme: light"), N_("Colour theme: light — click to change")],
    dark: [N_("Theme: dark"), N_("Colour theme: dark — click to change")],
  };
  try {
    var saved = localStorage.getItem(KEY);
    if (saved === "light" || saved === "dark") current = saved;
  } catch (e) {
    /* storage disabled: follow the system */
  }

  function apply(choice) {
    current = choice;
    if (choice === "system") delete root.dataset.theme;
    else root.dataset.theme = choice;
    var button = document.getElementById("theme-toggle");
    if (button) {
      button.dataset.choice = choice;
      button.textContent = LABELS[choice][0];
      button.title = LABELS[choice][1];
    }
  }

  function choose(choice) {
    try {
      if (choice === "system") localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, choice);
    } catch (e) {
      /* not persisted, still applied */
    }
    apply(choice);
  }

  function cycle() {
    choose(ORDER[(ORDER.indexOf(current) + 1) % ORDER.length]);
    return current;
  }

  function mount() {
    var header = document.querySelector(".site-header");
    if (!header || document.getElementById("theme-toggle")) return;
    var button = document.createElement("button");
    button.type = "button";
    button.id = "theme-toggle";
    button.className = "theme-toggle";
    button.addEventListener("click", cycle);
    header.appendChild(button);
    apply(current);
  }

  apply(current);
  window.addEventListener("storage", function (e) {
    if (e.key === KEY) apply(e.newValue === "light" || e.newValue === "dark" ? e.newValue : "system");
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
  window.vramTheme = { cycle: cycle, choose: choose, current: function () { return current; } };
})();
