// The calculator's UI in English, German or Simplified Chinese, from the project's one
// gettext catalog: locale/<lang>/LC_MESSAGES/messages.po, compiled by the build into one
// module per language (messages-de.js, messages-zh-cn.js: msgid -> translation;
// sitegen/catalog.py). English is the source: a msgid is the English text.
//
// For the modules that make text:
//   t(msgid, params)            the translation in the current language, %(name)s filled
//                               from params ("%(n)s of %(total)s models"); use for strings
//                               that are rebuilt on every render or announced once.
//   tn(msgid, params)           a Text node that follows later language switches.
//   tAttr(el, attr, msgid, p)   sets an attribute that follows later language switches.
//   N_(msgid)                   marks a literal as a msgid in a table translated where shown.
// Write the msgid as a string literal inside the call: Babel extracts t("…"), tn("…") and
// tAttr(el, "attr", "…") into the .po files (babel.cfg). Data words (preset titles) are
// extracted from the data itself. Never build a sentence by concatenating translations.
//
// The page's own static text came from the build: a /zh/ page is Chinese already (BUILT).
// On an English page the reader may pick another language here; the static text nodes and
// placeholder/title/aria-label attributes whose whole text is a msgid are then looked up
// in the catalog (gettext's lookup, no patterns). Engine messages (errors, assumptions,
// warnings) come from the worker in the page's language (requests carry <html lang>);
// model and GPU names stay as they are.

import { LANG_PREFIX } from "./paths.js";

const KEY = "vram-insight.lang";
// A page the build wrote in another language (/zh/…) is in that language already; picking
// another one opens the English twin (the header's language switch), which translates here.
const BUILT = LANG_PREFIX ? document.documentElement.lang : null;
export const LANGUAGES = { en: "English", de: "Deutsch", "zh-CN": "简体中文" };
const CATALOGS = {
  de: () => import("./messages-de.js"),
  "zh-CN": () => import("./messages-zh-cn.js"),
};
const ATTRS = ["placeholder", "title", "aria-label"];
const SKIP = "script, style, svg, .site-footer, [translate=no]";
const made = new WeakMap(); // Text node made by tn() -> [msgid, params]
const madeAttr = new WeakMap(); // element -> {attr: [msgid, params]} set by tAttr()
const original = new WeakMap(); // static text node -> [English, shown]
const originalAttr = new WeakMap(); // element -> {attr: [English, shown]}
const loaded = { en: {} };
let current = "en";
let messages = loaded.en;

async function load(lang) {
  if (!loaded[lang]) {
    try {
      loaded[lang] = (await CATALOGS[lang]()).default;
    } catch (err) {
      console.warn(`i18n: no catalog for ${lang}:`, err.message);
      loaded[lang] = {};
    }
  }
  return loaded[lang];
}

function fill(text, params) {
  if (!params) return text;
  return text.replace(/%(?:\((\w+)\))?([s%])/g, (whole, name, kind) =>
    kind === "%" ? "%" : name in params ? String(params[name]) : whole);
}

/** The translation of `msgid` in the page's language with %(name)s filled from `params`. */
export function t(msgid, params) {
  return fill(Object.hasOwn(messages, msgid) ? messages[msgid] : msgid, params);
}

/** Mark a literal as a msgid without translating it (for tables translated where shown). */
export function N_(msgid) {
  return msgid;
}

/** A Text node showing t(msgid, params) now and after every language switch. */
export function tn(msgid, params) {
  const node = document.createTextNode(t(msgid, params));
  made.set(node, [msgid, params]);
  return node;
}

/** Set el's `attr` to t(msgid, params), now and after every language switch. */
export function tAttr(el, attr, msgid, params) {
  let own = madeAttr.get(el);
  if (!own) madeAttr.set(el, (own = {}));
  own[attr] = [msgid, params];
  el.setAttribute(attr, t(msgid, params));
  return el;
}

/** The page's language ("en", "de", "zh-CN"). */
export function language() {
  return current;
}

// Static text (from the build, or a module that still writes English): each node remembers
// [English source, text we wrote]; if the page changed it since, the new text is the source.
function translateText(node) {
  const own = made.get(node);
  if (own) {
    const next = t(...own);
    if (node.data !== next) node.data = next;
    return;
  }
  const memo = original.get(node);
  const source = memo && node.data === memo[1] ? memo[0] : node.data;
  const key = source.trim();
  if (!key) return;
  const out = t(key);
  const next = out === key ? source : source.replace(key, out);
  if (out !== key || memo) original.set(node, [source, next]);
  if (node.data !== next) node.data = next;
}

function translateAttrs(el) {
  const own = madeAttr.get(el);
  let saved = originalAttr.get(el);
  for (const attr of ATTRS) {
    if (own && own[attr]) {
      const next = t(...own[attr]);
      if (el.getAttribute(attr) !== next) el.setAttribute(attr, next);
      continue;
    }
    const now = el.getAttribute(attr);
    if (!now) continue;
    const memo = saved && saved[attr];
    const source = memo && now === memo[1] ? memo[0] : now;
    const out = t(source);
    if (out === source && !memo) continue;
    if (!saved) originalAttr.set(el, (saved = {}));
    saved[attr] = [source, out];
    if (now !== out) el.setAttribute(attr, out);
  }
}

function walk(root) {
  if (root.nodeType === Node.TEXT_NODE) return translateText(root);
  if (root.nodeType !== Node.ELEMENT_NODE) return;
  if (root.closest(SKIP)) return;
  translateAttrs(root);
  const tw = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (n.nodeType === Node.ELEMENT_NODE && n.matches(SKIP) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  for (let n = tw.nextNode(); n; n = tw.nextNode()) {
    if (n.nodeType === Node.TEXT_NODE) translateText(n);
    else translateAttrs(n);
  }
}

function chosen() {
  if (BUILT) return BUILT;
  try {
    const saved = localStorage.getItem(KEY);
    if (saved in LANGUAGES) return saved;
  } catch {
    /* storage disabled */
  }
  for (const lang of navigator.languages || [navigator.language]) {
    const l = String(lang).toLowerCase();
    if (l.startsWith("de")) return "de";
    if (l.startsWith("zh")) return "zh-CN";
    if (l.startsWith("en")) return "en";
  }
  return "en";
}

// The first language's catalog is in place before any module that imports t() runs, so
// the text they make first is already in the page's language.
{
  const first = chosen();
  if (first in CATALOGS) {
    messages = await load(first);
    current = first;
  }
}

export async function setLanguage(lang, { persist = true } = {}) {
  if (!(lang in LANGUAGES)) lang = "en";
  const twin = BUILT && lang !== BUILT && document.querySelector('a.lang-switch[hreflang="en"]');
  if (twin) {
    try {
      localStorage.setItem(KEY, lang);
    } catch {
      /* not persisted: the English page follows the browser */
    }
    location.assign(twin.getAttribute("href") + location.search + location.hash);
    return;
  }
  messages = await load(lang);
  current = lang;
  document.documentElement.lang = lang;
  if (persist) {
    try {
      localStorage.setItem(KEY, lang);
    } catch {
      /* not persisted */
    }
  }
  walk(document.body);
  const select = document.getElementById("lang-select");
  if (select) translateAttrs(select); // translate="no" keeps the walk out of the picker
  if (select && select.value !== lang) select.value = lang;
  // the user's choice: what the engine wrote (errors, warnings) is asked for again in it
  if (persist) document.documentElement.dispatchEvent(new CustomEvent("vram:language", { detail: { lang } }));
}

export function initI18n() {
  const header = document.querySelector(".site-header");
  if (header && !document.getElementById("lang-select")) {
    const select = document.createElement("select");
    select.id = "lang-select";
    select.className = "lang-select";
    tAttr(select, "aria-label", "Language");
    select.setAttribute("translate", "no");
    for (const [code, name] of Object.entries(LANGUAGES)) select.add(new Option(name, code));
    select.addEventListener("change", () => setLanguage(select.value));
    header.append(select);
  }
  if (current !== "en") setLanguage(current, { persist: false });
  else if (document.getElementById("lang-select")) document.getElementById("lang-select").value = "en";
  new MutationObserver((records) => {
    if (current === "en") return;
    for (const r of records) {
      if (r.type === "attributes") translateAttrs(r.target);
      else for (const n of r.addedNodes) walk(n);
    }
  }).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ATTRS });
  window.vramI18n = { setLanguage, t, current: () => current };
}
