// Small screens and installing (issue 15); loaded on every page, no framework.
//
// The answer dock: below 860 px the results panel sits under the form, so a compact bar at
// the bottom of the screen shows the total and the fit line while the panel's own total is
// out of view; a tap scrolls to the breakdown. It mirrors present/'s panel (#result-body)
// and writes no figure of its own.
//
// The menu: below 860 px the section links fold behind one button (the header stays a row).
//
// The install action: where the browser offers installation (beforeinstallprompt) the header
// has an "Install" button; on iOS, which has no prompt, it opens a short how-to. Both are
// hidden once the app runs installed (display-mode: standalone) or is installed.

const NARROW = globalThis.matchMedia?.("(max-width: 859px)");

function initDock() {
  const body = document.getElementById("result-body");
  const panel = document.getElementById("results");
  if (!body || !panel || !NARROW) return;
  const dock = document.createElement("button");
  dock.type = "button";
  dock.className = "answer-dock";
  dock.dataset.role = "dock";
  dock.hidden = true;
  document.body.append(dock);
  let inView = true;
  let source = null;
  let dockHeight = null; // the --dock-h last written
  const root = document.documentElement;

  const place = () => {
    const show = NARROW.matches && !inView && dock.childElementCount > 0;
    if (dock.hidden !== !show) dock.hidden = !show;
    // inputs scrolled into view (focus, find) stop above the dock, never under it; written
    // only when it changes (a custom property on the root restyles the whole page)
    const height = show ? `${dock.offsetHeight}px` : "0px";
    if (height !== dockHeight) root.style.setProperty("--dock-h", (dockHeight = height));
  };
  const watch = new IntersectionObserver((entries) => {
    inView = entries.some((e) => e.isIntersecting);
    place();
  });
  const mirror = () => {
    const total = body.querySelector(".total-line");
    const fit = body.querySelector('[data-role="fit"]');
    const parts = [total, fit].filter(Boolean).map((node) => {
      const copy = node.cloneNode(true);
      // a copy for the eye: no second element that tests or scripts find by role or id
      for (const el of [copy, ...copy.querySelectorAll("[data-role], [id], [elementtiming]")]) {
        el.removeAttribute("data-role");
        el.removeAttribute("id");
        el.removeAttribute("elementtiming");
      }
      return copy;
    });
    dock.replaceChildren(...parts);
    dock.dataset.state = body.dataset.state || "";
    if (source !== total) {
      if (source) watch.unobserve(source);
      source = total;
      if (total) watch.observe(total);
      else inView = true;
    }
    place();
  };
  dock.setAttribute("aria-hidden", "true"); // the panel itself is the accessible answer
  dock.tabIndex = -1;
  dock.addEventListener("click", () => panel.scrollIntoView({ block: "start", behavior: "smooth" }));
  // On a wide screen the dock never shows: no copy on each new figure, one when it narrows.
  let stale = false;
  new MutationObserver(() => {
    if (NARROW.matches) mirror();
    else stale = true;
  }).observe(body, { childList: true, subtree: true, attributes: true });
  NARROW.addEventListener?.("change", () => {
    if (NARROW.matches && stale) {
      stale = false;
      mirror();
    } else {
      place();
    }
  });
  mirror();
}

function initInstall() {
  const button = document.getElementById("install-app");
  const howto = document.getElementById("install-howto");
  if (!button) return;
  const installed = () => globalThis.matchMedia?.("(display-mode: standalone)").matches || navigator.standalone === true;
  if (installed()) return;
  let prompt = null;
  const hide = () => {
    button.hidden = true;
    if (howto) howto.hidden = true;
    prompt = null;
  };
  addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault(); // offer it from our own button instead of the browser's mini bar
    prompt = event;
    button.hidden = false;
  });
  addEventListener("appinstalled", hide);
  button.addEventListener("click", async () => {
    if (prompt) {
      prompt.prompt();
      const { outcome } = await prompt.userChoice;
      if (outcome === "accepted") hide();
      prompt = null;
    } else if (howto) {
      howto.hidden = !howto.hidden;
    }
  });
  const ios = /iPad|iPhone|iPod/.test(navigator.userAgent) || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  if (ios) button.hidden = false; // Safari has no install prompt: the button shows how
}

/** Below 860 px the section links fold behind a "Menu" button, so the header stays one
 *  row; without JavaScript they stay as they are (the button is hidden). */
function initMenu() {
  const header = document.querySelector(".site-header");
  const button = header?.querySelector(".menu-toggle");
  const nav = document.getElementById("site-nav");
  if (!button || !nav) return;
  const set = (open) => {
    button.setAttribute("aria-expanded", String(open));
    header.dataset.menu = open ? "open" : "closed";
  };
  header.classList.add("has-menu");
  button.hidden = false;
  set(false);
  button.addEventListener("click", () => set(button.getAttribute("aria-expanded") !== "true"));
  addEventListener("keydown", (e) => {
    if (e.key === "Escape" && header.dataset.menu === "open") {
      set(false);
      button.focus();
    }
  });
  document.addEventListener("click", (e) => {
    if (header.dataset.menu === "open" && !header.contains(e.target)) set(false);
  });
}

initMenu();
initDock();
initInstall();
