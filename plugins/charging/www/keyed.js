// keyed.js - updates a list in place on every refresh, so a person reading
// or tabbing through it keeps their place: an item whose content did not
// change keeps its DOM node; one that changed is rebuilt, and if the focus
// was inside it, the element with the same data-focus-key in the new one
// gets it back.

// parent: the element holding the items (e.g. <ul> or <tbody>).
// items: the data, in the order to show.  key(item) names it, sig(item) is
// a string that changes whenever what is shown would, build(item) makes its
// node.  Returns the keys whose signature changed (not new or gone ones).
export function reconcile(parent, items, { key, sig, build }) {
  const old = new Map();
  for (const node of Array.from(parent.children)) old.set(node.dataset.key, node);
  const changed = [];
  let at = parent.firstElementChild;
  for (const item of items) {
    const k = String(key(item));
    const s = sig(item);
    let node = old.get(k);
    old.delete(k);
    if (node && node.dataset.sig !== s) {
      changed.push(k);
      const fresh = build(item);
      moveFocus(node, fresh);
      node.replaceWith(fresh);
      if (at === node) at = fresh;
      node = fresh;
    } else if (!node) {
      node = build(item);
    }
    node.dataset.key = k;
    node.dataset.sig = s;
    if (node !== at) parent.insertBefore(node, at);
    else at = at.nextElementSibling;
  }
  for (const node of old.values()) {
    // a focused item that is filtered out: its list keeps the focus
    if (node.contains(document.activeElement)) focusList(parent);
    node.remove();
  }
  return changed;
}

function moveFocus(from, to) {
  const active = document.activeElement;
  if (!active || !from.contains(active)) return;
  const name = active.dataset.focusKey;
  const target = name ? to.querySelector(`[data-focus-key="${CSS.escape(name)}"]`) : null;
  // after the swap, so the new node is in the document
  queueMicrotask(() => (target || to).focus({ preventScroll: true }));
  if (!target && !to.hasAttribute('tabindex')) to.setAttribute('tabindex', '-1');
}

function focusList(parent) {
  if (!parent.hasAttribute('tabindex')) parent.setAttribute('tabindex', '-1');
  queueMicrotask(() => parent.focus({ preventScroll: true }));
}
