// Loaded on every page: service-worker registration with the "new version — reload" banner,
// and progressive enhancement of the static tables (filter, sort). Pages work without it.
const banner = document.getElementById("update-banner");

// An English page read by a browser that prefers Chinese points at its /zh/ twin (no redirect).
const langNote = document.getElementById("lang-note");
if (langNote && (navigator.languages || [navigator.language]).some((l) => /^zh/i.test(String(l)))) {
  langNote.hidden = false;
}

let pendingRegistration = null;

function offerReload(registration) {
  if (!banner) return;
  pendingRegistration = registration || pendingRegistration;
  if (!banner.hidden) return;
  banner.hidden = false;
  document.getElementById("update-reload").addEventListener("click", () => {
    const waiting = pendingRegistration && pendingRegistration.waiting;
    if (waiting) {
      navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
      waiting.postMessage({ type: "SKIP_WAITING" });
      // Chromium may hold the new worker back while this page still has requests in flight;
      // leaving the page releases them, so reload anyway if nothing happened after a moment.
      setTimeout(() => location.reload(), 3000);
    } else {
      location.reload();
    }
  });
}

/** The site version this page is: the server's when its controller fetched it from the network
 *  (the page is as new as the server, so an update that activates next is not news for it),
 *  the controller's own when it came from the cache; null when no worker controls the page. */
async function ownVersion() {
  const sw = await controllerVersion();
  if (!sw || !sw.fresh) return sw && sw.version;
  try {
    const response = await fetch("/version.json", { cache: "no-store" });
    return (await response.json()).version || sw.version;
  } catch {
    return sw.version;
  }
}

/** {version, fresh} of the service worker now controlling this page (null if none
 *  answers); fresh: it served this page from the network, not from its cache. */
function controllerVersion() {
  const sw = navigator.serviceWorker.controller;
  if (!sw) return Promise.resolve(null);
  return new Promise((resolve) => {
    const onMessage = (event) => {
      if (event.data && event.data.type === "VERSION") {
        navigator.serviceWorker.removeEventListener("message", onMessage);
        resolve({ version: event.data.version, fresh: event.data.fresh === true });
      }
    };
    navigator.serviceWorker.addEventListener("message", onMessage);
    sw.postMessage({ type: "VERSION" });
    setTimeout(() => resolve(null), 3000);
  });
}

/** Resolves once the page has loaded and the calculator's engine (if any) has started: the
 *  service worker's precache downloads tens of MB, which must not compete with a cold start
 *  for the network and, on a small machine, for the CPU. */
function afterStartUp() {
  const root = document.documentElement;
  const settled = () => document.readyState === "complete" && root.dataset.engine !== "loading";
  return new Promise((resolve) => {
    if (settled()) return resolve();
    const check = () => {
      if (!settled()) return;
      observer.disconnect();
      resolve();
    };
    const observer = new MutationObserver(check);
    observer.observe(root, { attributes: true, attributeFilter: ["data-engine"] });
    window.addEventListener("load", check, { once: true });
  });
}

if ("serviceWorker" in navigator && location.protocol !== "file:") {
  navigator.serviceWorker.startMessages();
  let pageVersion = ownVersion(); // the site version this page is (null: not known yet)
  // ...and 2 s more: the first inputs after "ready" do not share the CPU with the precache
  // (on a 2-core machine it doubled the first change's time; issue 16)
  const settle = () => new Promise((resolve) => setTimeout(resolve, 2000));
  afterStartUp().then(settle).then(() => navigator.serviceWorker.register("/sw.js", { scope: "/" })).then((registration) => {
    if (registration.waiting && navigator.serviceWorker.controller) offerReload(registration);
    registration.addEventListener("updatefound", () => {
      const installing = registration.installing;
      installing?.addEventListener("statechange", () => {
        if (installing.state === "installed" && registration.waiting && navigator.serviceWorker.controller) {
          offerReload(registration); // a new protocol: it waits until the user reloads
        }
      });
    });
  }, (err) => console.warn("service worker not registered:", err.message));
  // A compatible update activated itself: this page keeps running the assets it loaded
  // (they are in memory); offer a reload to pick up the new ones. A first install, or a
  // page already served by the new version, is not news.
  navigator.serviceWorker.addEventListener("controllerchange", async () => {
    const mine = await pageVersion;
    const now = await controllerVersion();
    if (!mine) {
      pageVersion = Promise.resolve(now && now.version); // a first install: the page is its version
      return;
    }
    if (now && now.version !== mine) offerReload(null);
  });
}

for (const table of document.querySelectorAll("table.sortable")) {
  const tbody = table.tBodies[0];
  table.querySelectorAll("th[data-sort]").forEach((th, column) => {
    th.tabIndex = 0;
    th.setAttribute("role", "button");
    const sort = () => {
      const asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th[aria-sort]").forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      const key = (row) => {
        const cell = row.cells[column];
        return th.dataset.sort === "num" ? Number(cell.dataset.value || 0) : cell.textContent.trim().toLowerCase();
      };
      const rows = [...tbody.rows].sort((a, b) => {
        const x = key(a), y = key(b);
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      tbody.append(...rows);
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        sort();
      }
    });
  });
}

const filter = document.getElementById("model-filter");
if (filter) {
  filter.closest(".filter").hidden = false;
  const rows = [...document.querySelectorAll("#models-table tbody tr")];
  const apply = () => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const row of rows) row.hidden = !words.every((w) => row.dataset.search.includes(w));
  };
  filter.addEventListener("input", apply);
  const q = new URLSearchParams(location.search).get("q");
  if (q) {
    filter.value = q;
    apply();
  }
}
