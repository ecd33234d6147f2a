// The engineer's view: the delivery tasks that are theirs across the deals they are assigned to
// (each deal's open tasks with their live progress and controls, its punch list and the project
// close), the proactive service visits that are due with a report form each, the visits they
// reported, and the projects closed.

import { api, apiAll, ApiError } from '../api.js';
import { t, formatDate, formatDateTime, formatNumber } from '../i18n.js';
import { h, replace, newId, field, select, validate, busy } from '../dom.js';
import { SATISFACTION, isActive, statusLabel, satisfactionLabel, today } from '../domain.js';
import { accountNames, empty, formError, table, personNames } from './common.js';
import { acceptancePanel } from './deal.js';
import { deliveryPanel, myOpenTasks } from './delivery.js';

export async function engineerView(root, ctx) {
  const [list, due, reported] = await Promise.all([
    apiAll('/deals?stage=delivery'),
    api('GET', '/service-visits?assignee=me&status=due'),
    api('GET', '/service-visits?assignee=me&status=reported'),
    personNames(),
  ]);
  const deals = await Promise.all(list.map((d) => api('GET', `/deals/${encodeURIComponent(d.id)}`)));
  // The plans of the deals in delivery; one just moved there may not be written yet (null).
  const plans = await Promise.all(deals.map(async (d) => {
    if (!d.delivery_planned || !isActive(d)) return null;
    try {
      return await api('GET', `/deals/${encodeURIComponent(d.id)}/delivery`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'not_found') return null;
      throw err;
    }
  }));
  const names = await accountNames(deals.map((d) => d.account_id));
  if (!ctx.alive()) return;
  const planOf = new Map(deals.map((d, i) => [d.id, plans[i]]));
  const open = deals.filter(isActive);
  const done = deals.filter((d) => !isActive(d));
  const me = ctx.user.username;
  // The count of the engineer's open tasks follows the plans as their panels read them again.
  const taskCount = h('span', { class: 'count', id: 'my-task-count' });
  const countTasks = () => {
    const n = open.reduce((sum, d) => sum + (planOf.get(d.id) ? myOpenTasks(planOf.get(d.id), me).length : 0), 0);
    taskCount.textContent = `(${formatNumber(n)})`;
  };
  countTasks();
  const changed = (p) => {
    planOf.set(p.deal_id, p);
    countTasks();
  };

  const section = (id, title, count, ...content) => {
    const hid = newId('eg');
    return h('section', { class: 'panel', id, 'aria-labelledby': hid },
      h('h2', { id: hid }, title, ' ', count instanceof Node ? count : h('span', { class: 'count', text: `(${formatNumber(count)})` })),
      content);
  };
  replace(root,
    h('h1', { text: t('engineer.title') }),
    h('p', { class: 'lead', text: t('engineer.lead') }),
    section('my-tasks', t('engineer.tasks_title'), taskCount,
      open.length ? h('ul', { class: 'work-list' }, open.map((d) => workItem(d, planOf.get(d.id), names, ctx, changed))) : empty(t('engineer.none'))),
    section('my-visits', t('engineer.visits_title'), due.items.length,
      h('p', { class: 'hint', text: t('engineer.visits_hint') }),
      due.items.length ? h('ul', { class: 'work-list visit-list' }, due.items.map((v) => visitItem(v, names, ctx))) : empty(t('engineer.no_visits'))),
    section('my-reported', t('engineer.reported_title'), reported.items.length,
      reported.items.length ? reportedTable(reported.items) : empty(t('engineer.no_reported'))),
    done.length ? section('delivery-done', t('engineer.done'), done.length,
      h('ul', { class: 'work-list' }, done.map((d) => workItem(d, null, names, ctx)))) : null);
}

function workItem(d, plan, names, ctx, changed) {
  const hid = newId('wi');
  return h('li', { class: 'work-item', data: { dealId: d.id }, 'aria-labelledby': hid },
    h('div', { class: 'work-head' },
      h('h3', { id: hid }, h('a', { href: `/deals/${d.id}`, 'data-link': true, text: d.title })),
      h('p', { class: 'card-account', text: names.get(d.account_id) || '' }),
      h('p', { class: 'badges' }, h('span', { class: `badge badge-status badge-${d.status}` }, statusLabel(d.status)))),
    d.delivery_planned && isActive(d) ? deliveryPanel(d, plan, ctx, { mine: true, onChange: changed }) : null,
    acceptancePanel(d, ctx, (text) => ctx.refresh({ text })));
}

// visitItem is a service visit that is due, with the form that reports it.
function visitItem(v, names, ctx) {
  const hid = newId('vi');
  return h('li', { class: 'work-item visit', data: { visitId: v.id, dealId: v.deal_id }, 'aria-labelledby': hid },
    h('div', { class: 'work-head' },
      h('h3', { id: hid }, h('a', { href: `/deals/${v.deal_id}`, 'data-link': true, text: v.site })),
      h('p', { class: 'card-account', text: names.get(v.account_id) || '' }),
      h('p', { class: 'badges' },
        h('span', { class: 'badge badge-status visit-round', text: t('visit.round', { n: formatNumber(v.round) }) }),
        h('span', { class: 'badge badge-paused visit-due' }, h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⏲' }), t('visit.due_on', { date: formatDate(v.due) })))),
    visitForm(v, ctx));
}

function visitForm(v, ctx) {
  const id = (name) => `visit-${v.id}-${name}`;
  const visited = h('input', { type: 'date', name: 'visited_on', id: id('visited'), required: true, value: today(), max: today() });
  const found = h('input', { type: 'number', name: 'faults_found', id: id('found'), required: true, min: '0', max: '10000', step: '1', inputmode: 'numeric', value: '0' });
  const unresolved = h('input', { type: 'number', name: 'faults_unresolved', id: id('unresolved'), required: true, min: '0', max: '10000', step: '1', inputmode: 'numeric', value: '0' });
  const satisfaction = select('satisfaction', [{ value: '', label: t('visit.choose_satisfaction') }, ...SATISFACTION.map((s) => ({ value: s, label: satisfactionLabel(s) }))], '',
    { id: id('satisfaction'), required: true });
  const notes = h('textarea', { name: 'notes', id: id('notes'), rows: '2', maxlength: '4000' });
  const msg = h('div', { class: 'form-msg', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary report-visit', text: t('visit.submit') });
  const hid = newId('vf');
  const form = h('form', { class: 'subform visit-form', novalidate: true, data: { visitId: v.id }, 'aria-labelledby': hid },
    h('h4', { id: hid, text: t('visit.report') }),
    h('div', { class: 'field-row' },
      field(t('visit.visited_on'), visited),
      field(t('visit.faults_found'), found),
      field(t('visit.faults_unresolved'), unresolved, { hint: t('visit.unresolved_hint') }),
      field(t('visit.satisfaction'), satisfaction)),
    field(t('field.notes'), notes),
    msg,
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    // Faults left unresolved are some of the faults found.
    const nFound = Number(found.value);
    unresolved.setCustomValidity(found.value !== '' && unresolved.value !== '' && Number(unresolved.value) > nFound
      ? t('visit.unresolved_too_many', { n: formatNumber(nFound) }) : '');
    if (!validate(form)) return;
    const body = {
      visited_on: visited.value, faults_found: nFound, faults_unresolved: Number(unresolved.value), satisfaction: satisfaction.value,
    };
    if (notes.value.trim()) body.notes = notes.value.trim();
    try {
      await api('POST', `/service-visits/${encodeURIComponent(v.id)}/report`, body);
      await ctx.refresh({ text: t('visit.reported_ok', { site: v.site, n: formatNumber(v.round) }) });
    } catch (err) {
      formError(form, msg, err);
    }
  }));
  return form;
}

function reportedTable(visits) {
  return table(null,
    [t('visit.site'), t('visit.round_col'), t('visit.visited_on'), t('visit.faults_found'), t('visit.faults_unresolved'), t('visit.satisfaction'), t('visit.reported_col')],
    visits.map((v) => {
      const r = v.report || {};
      return h('tr', { data: { visitId: v.id } },
        h('th', { scope: 'row' }, h('a', { href: `/deals/${v.deal_id}`, 'data-link': true, text: v.site })),
        h('td', { class: 'num', text: formatNumber(v.round) }),
        h('td', { text: formatDate(r.visited_on) }),
        h('td', { class: 'num', text: formatNumber(r.faults_found ?? 0) }),
        h('td', { class: 'num', text: formatNumber(r.faults_unresolved ?? 0) }),
        h('td', { class: `satisfaction satisfaction-${r.satisfaction}`, text: satisfactionLabel(r.satisfaction) }),
        h('td', { text: r.reported_at ? t('plan.by_at', { who: r.reported_by, date: formatDateTime(r.reported_at) }) : '' }));
    }),
    { id: 'reported-visits' });
}
