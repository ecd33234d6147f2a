// The account's org chart: the contacts as boxes in a tree by reports_to, each joined to the one
// they report to by an elbow connector. Built node by node with createElementNS, as the charts
// are; colours come from app.css. A stale contact's box is marked by a class and says so in
// words too. The chart is an image with a name and a description; orgList is the same tree as a
// nested list, its text alternative.

import { svg } from './chart.js';
import { h, newId } from './dom.js';

const BOX_W = 168;
const BOX_H = 58;
const GAP_X = 18;
const GAP_Y = 34;
const PAD = 8;

/**
 * orgTree orders contacts into a forest by reports_to: [{ contact, children }]. A contact whose
 * manager is not among them (or who would close a circle) is a root.
 */
export function orgTree(contacts) {
  const byId = new Map(contacts.map((c) => [c.id, { contact: c, children: [] }]));
  const roots = [];
  for (const node of byId.values()) {
    const boss = node.contact.reports_to && byId.get(node.contact.reports_to);
    if (boss && !reaches(byId, boss.contact.id, node.contact.id)) boss.children.push(node);
    else roots.push(node);
  }
  const byName = (a, b) => a.contact.name.localeCompare(b.contact.name);
  const sort = (nodes) => { nodes.sort(byName); nodes.forEach((n) => sort(n.children)); };
  sort(roots);
  return roots;
}

// reaches reports whether following reports_to from id arrives at target (a circle).
function reaches(byId, id, target) {
  const seen = new Set();
  for (let cur = id; cur && !seen.has(cur); cur = byId.get(cur)?.contact.reports_to) {
    if (cur === target) return true;
    seen.add(cur);
  }
  return false;
}

/**
 * orgChart draws the forest: spec { title, desc, roots, label(contact) → [line1, line2],
 * stale(contact) → text or '' }. Each box is a <g class="org-node" data-contact-id=…>, each
 * connector a <path class="org-link" data-from=… data-to=…>.
 */
export function orgChart(spec) {
  // Leaves take a column each; a parent sits over the middle of its children.
  let col = 0;
  let depth = 0;
  const place = (node, level) => {
    depth = Math.max(depth, level);
    node.level = level;
    if (!node.children.length) {
      node.x = col;
      col += 1;
    } else {
      node.children.forEach((c) => place(c, level + 1));
      node.x = (node.children[0].x + node.children[node.children.length - 1].x) / 2;
    }
  };
  spec.roots.forEach((r) => place(r, 0));
  const width = PAD * 2 + Math.max(1, col) * (BOX_W + GAP_X) - GAP_X;
  const height = PAD * 2 + (depth + 1) * (BOX_H + GAP_Y) - GAP_Y;
  const left = (n) => PAD + n.x * (BOX_W + GAP_X);
  const top = (n) => PAD + n.level * (BOX_H + GAP_Y);

  const titleId = newId('ot');
  const descId = newId('od');
  const root = svg('svg', {
    class: 'org-chart', id: spec.id, viewBox: `0 0 ${width} ${height}`, width, height,
    role: 'img', 'aria-labelledby': `${titleId} ${descId}`, focusable: 'false',
  }, svg('title', { id: titleId }, spec.title), svg('desc', { id: descId }, spec.desc));
  const links = svg('g', { class: 'org-links', 'aria-hidden': 'true' });
  const boxes = svg('g', { class: 'org-boxes' });
  const draw = (node) => {
    const c = node.contact;
    const x = left(node);
    const y = top(node);
    const stale = spec.stale(c);
    const [line1, line2] = spec.label(c);
    boxes.append(svg('g', { class: `org-node${stale ? ' is-stale' : ''}`, 'data-contact-id': c.id },
      svg('rect', { x, y, width: BOX_W, height: BOX_H, rx: 5, class: 'org-box' }),
      svg('text', { x: x + 8, y: y + 18, class: 'org-name' }, clip(c.name, 20)),
      svg('text', { x: x + 8, y: y + 34, class: 'org-sub' }, clip(line1, 24)),
      svg('text', { x: x + 8, y: y + 50, class: stale ? 'org-stale' : 'org-sub' }, clip(stale || line2, 24))));
    for (const child of node.children) {
      const x1 = x + BOX_W / 2;
      const y1 = y + BOX_H;
      const x2 = left(child) + BOX_W / 2;
      const y2 = top(child);
      const mid = y1 + GAP_Y / 2;
      links.append(svg('path', { d: `M${x1} ${y1}V${mid}H${x2}V${y2}`, class: 'org-link', 'data-from': c.id, 'data-to': child.contact.id }));
      draw(child);
    }
  };
  spec.roots.forEach(draw);
  root.append(links, boxes);
  return root;
}

function clip(s, n) {
  const str = String(s || '');
  return str.length > n ? `${str.slice(0, n - 1)}…` : str;
}

/** orgList is the forest as nested lists, each person with describe(contact). */
export function orgList(roots, describe, attrs = {}) {
  const list = (nodes) => h('ul', null, nodes.map((n) => h('li', { data: { contactId: n.contact.id } },
    describe(n.contact), n.children.length ? list(n.children) : null)));
  const out = list(roots);
  for (const [k, v] of Object.entries(attrs)) out.setAttribute(k, v);
  return out;
}
