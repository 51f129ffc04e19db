// Update a container in place to new markup (present/'s panel and chart for a new result).
// A recalculation changes a few figures, SVG paths and titles; replacing the whole panel made
// the browser restyle, lay out, shape and paint every node of it on each keystroke, on the
// main thread that must also take the engine's next reply. Here the nodes that stay the same
// stay; only changed attributes and texts are written, and any difference of structure
// replaces that subtree. The result is the same DOM as a fresh parse (tests compare innerHTML).

/** Make `container`'s children equal to those of `next` (a parsed fragment or element),
 *  reusing the nodes whose tag matches. `next` is consumed. */
export function morphChildren(container, next) {
  if (container.childNodes.length > next.childNodes.length) dropBlanks(container, next);
  if (container.childNodes.length !== next.childNodes.length) {
    container.replaceChildren(...next.childNodes);
    return;
  }
  // siblings are taken before a node moves (a replaced node leaves `next`)
  for (let node = container.firstChild, fresh = next.firstChild; fresh; ) {
    const nodeAfter = node.nextSibling;
    const freshAfter = fresh.nextSibling;
    morphNode(node, fresh);
    node = nodeAfter;
    fresh = freshAfter;
  }
}

function morphNode(node, next) {
  if (node.nodeType !== next.nodeType || node.nodeName !== next.nodeName) {
    node.replaceWith(next);
  } else if (node.nodeType === Node.ELEMENT_NODE) {
    morphAttributes(node, next);
    morphChildren(node, next);
  } else if (node.nodeValue !== next.nodeValue) {
    // a new text node, not new data: observers of added nodes (i18n, the phone dock) see it
    node.replaceWith(next);
  }
}

function morphAttributes(node, next) {
  const fresh = next.attributes;
  for (let i = 0; i < fresh.length; i++) {
    const { name, value } = fresh[i];
    if (node.getAttribute(name) !== value) node.setAttribute(name, value);
  }
  // every attribute of `next` is on `node` now: any more are extra
  const attrs = node.attributes;
  for (let i = attrs.length - 1; attrs.length > fresh.length && i >= 0; i--) {
    const { name } = attrs[i];
    // a <details> the reader opened (the assumptions) stays open across recalculations
    if (!next.hasAttribute(name) && !(name === "open" && node.nodeName === "DETAILS")) node.removeAttribute(name);
  }
}

/** Drop the blank text nodes of `container` that `next` has no counterpart for (the page's
 *  template puts a line break between the baked panel and chart; present/'s live markup has
 *  none), so the first live result updates the baked nodes instead of replacing them all. */
function dropBlanks(container, next) {
  let fresh = next.firstChild;
  for (let node = container.firstChild; node; ) {
    const after = node.nextSibling;
    if (fresh && node.nodeType === fresh.nodeType && node.nodeName === fresh.nodeName) fresh = fresh.nextSibling;
    else if (node.nodeType === Node.TEXT_NODE && !node.nodeValue.trim()) node.remove();
    else return;
    node = after;
  }
}
