// Update a container in place to new markup (present/'s panel and chart for a new result).
// A recalculation changes a few figures, SVG paths and titles; replacing the whole panel made
// the browser restyle, lay out, shape and paint every node of it on each keystroke, on the
// main thread that must also take the engine's next reply. Here the nodes that stay the same
// stay; only changed attributes and texts are written, and any difference of structure
// replaces that subtree. The result is the same DOM as a fresh parse (tests compare innerHTML).

/** Make `container`'s children equal to those of `next` (a parsed fragment or element),
 *  reusing the nodes whose tag matches. `next` is consumed. */
export function morphChildren(container, next) {
  const old = container.childNodes;
  const fresh = [...next.childNodes];
  if (old.length !== fresh.length) {
    container.replaceChildren(...fresh);
    return;
  }
  for (let i = 0; i < fresh.length; i++) morphNode(old[i], fresh[i]);
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
  for (const { name, value } of next.attributes) {
    if (node.getAttribute(name) !== value) node.setAttribute(name, value);
  }
  for (const { name } of [...node.attributes]) {
    // a <details> the reader opened (the assumptions) stays open across recalculations
    if (!next.hasAttribute(name) && !(name === "open" && node.nodeName === "DETAILS")) node.removeAttribute(name);
  }
}
