// What the server says as a code with params (says.go in the Go domain), said in the UI's
// language: a key-node item's detail (gatedetail.<code>), a step of the win probability
// (prob.<code>), a timeline entry (tl.<code>). Each param is shown as its name says — the same
// table as says.go documents — so a text never shows a raw value: a stage by its name, an amount
// in the language's money format, a username by the person's display name.

import { t, tp, has, formatNumber, formatPercent, formatDate, formatList, formatMoney } from './i18n.js';
import { gateLabel } from './api.js';
import {
  stageLabel, statusLabel, roleLabel, stanceLabel, acceptanceLabel, satisfactionLabel, taskLabel, stepLabel, formatSLA,
} from './domain.js';
import { personName } from './views/common.js';

const dec1 = (n) => formatNumber(Number(n), { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const count = (n) => formatNumber(Number(n));
const money = (m) => (m && typeof m === 'object' ? formatMoney(m.amount, m.currency) : String(m ?? ''));
const list = (v) => (Array.isArray(v) ? v : []);
const labelled = (prefix) => (v) => (has(`${prefix}.${v}`) ? t(`${prefix}.${v}`) : String(v ?? ''));

// How each param is shown, by its name (says.go).
const SHOW = {
  stage: stageLabel, from: stageLabel, to: stageLabel,
  missing: (v) => formatList(list(v).map(gateLabel)),
  status: statusLabel, result: acceptanceLabel, satisfaction: satisfactionLabel,
  role: roleLabel, stance: stanceLabel, interaction: labelled('ikind'), reaction: labelled('reaction'),
  sla: formatSLA,
  date: formatDate, date_from: formatDate, date_to: formatDate,
  price: money, cost: money, value: money, value_from: money, value_to: money,
  margin: (v) => formatPercent(Number(v), 2), floor: (v) => formatPercent(Number(v), 2),
  score: dec1, threshold: dec1,
  owner: personName, by: personName, owner_from: personName, owner_to: personName,
  engineers: (v) => formatList(list(v).map(personName)),
  names: (v) => formatList(list(v).map(String)),
  tasks: (v) => formatList(list(v).map((x) => taskLabel(x && typeof x === 'object' ? x : String(x)))),
  steps: (v) => formatList(list(v).map(stepLabel)),
  days: (v) => tp('unit.days', Number(v)),
  met: count, total: count, us: count, neutral: count, them: count, faults: count, unresolved: count,
  punch_items: count, line: count,
};

/** say is the text of code under the dictionary's prefix with params shown in the UI's language. */
export function say(prefix, code, params = {}) {
  const p = params || {};
  const shown = {};
  for (const [name, v] of Object.entries(p)) {
    if (name === 'task') shown.task = taskLabel({ key: v, title: p.task_title || '' });
    else if (name === 'subject') shown.subject = subjectText(p);
    else if (name === 'changes') shown.changes = formatList(list(v).map((c) => say(prefix, c.code, c.params)));
    else shown[name] = SHOW[name] ? SHOW[name](v) : String(v ?? '');
  }
  return t(`${prefix}.${code}`, shown);
}

/** sayable reports whether the dictionary has the text of code under prefix. */
export function sayable(prefix, code) {
  return Boolean(code) && has(`${prefix}.${code}`);
}

// subjectText names what an approval is asked for: the bid's margin below the floor, or the
// contract.
function subjectText(p) {
  if (p.subject === 'margin') return t('approval.subject_margin', { margin: formatPercent(Number(p.margin), 2), floor: formatPercent(Number(p.floor), 2) });
  return t('approval.subject_contract');
}

/** gateDetail says why a key-node item is met or not (the server's code and params). */
export function gateDetail(item) {
  return sayable('gatedetail', item.code) ? say('gatedetail', item.code, item.params) : item.detail || '';
}

/** probabilityFactor says one step of the win probability (the server's key and params). */
export function probabilityFactor(f) {
  return sayable('prob', f.key) && f.params ? say('prob', f.key, f.params) : f.detail || f.key;
}
