// Tiny DOM helpers shared by the feature modules (no framework).

/** Create an element: attributes (null/false skipped, true -> ""), then children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    node.setAttribute(k, v === true ? "" : String(v));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** Parse trusted markup made by present/ (SVG, legend) into nodes. */
export function fragment(html) {
  const t = document.createElement("template");
  t.innerHTML = html;
  return t.content;
}

/** Save text as a file through a blob: link (no server round trip). */
export function download(text, filename, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Announce a short message in a polite live region. */
export function announce(node, text) {
  if (!node) return;
  node.textContent = "";
  // a fresh text node makes screen readers repeat an identical message
  requestAnimationFrame(() => (node.textContent = text));
}

/** True when a key event comes from a place where the user types. */
export function isTyping(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  return !["checkbox", "radio", "button", "submit", "reset", "range", "color", "file"].includes(target.type);
}
