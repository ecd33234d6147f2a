// A deal's delivery plan: its tasks in the order of work with their status (in words and an icon,
// never colour alone), engineer, due date, what each waits on and the live progress of its steps;
// the controls of the deal's engineers and directors (start, retry, cancel — which undoes the done
// steps — and complete, with notes, attachments' references and the acceptance test's result),
// the punch list, the acceptance certificate and the service visits; and the KAM's and director's
// plan editor. A task whose undo failed says what to clean up by hand (each step, its reference in
// the field-service system, the error) and offers its engineers "Resolved by hand", with a note;
// until then the plan says the certificate and the project's close wait. The deal page shows the
// whole plan; the engineer view shows, per deal, the open tasks that are the engineer's.
//
// While a task's steps run or are being undone, the plan is read again every 1.5 seconds and only
// the tasks that changed are drawn again, so that a dialog open over the page or the keyboard's
// place in it is left alone; the reading stops when no task is busy or when the view is left.

import { api, ApiError, errorText } from '../api.js';
import { t, tp, locale, formatDate, formatDateTime, formatPercent, formatList, formatNumber } from '../i18n.js';
import { h, replace, field, checkbox, select, validate, busy, openDialog, newId, announce } from '../dom.js';
import {
  ACCEPTANCE, ACCEPTANCE_TEST, TASK_BUSY, isActive, acceptanceLabel, taskLabel, taskStatusLabel, stepLabel,
  stepStatusLabel, satisfactionLabel, formatSLA,
} from '../domain.js';
import { formError, table, empty, timeZone, query, personName } from './common.js';
import { confirmAction } from './confirm.js';

const POLL_MS = 1500;
// While the plan of a deal that just entered delivery is being written, it is looked for this
// many times before the panel says so and stops.
const PREPARE_TRIES = 20;

const STATUS_ICON = { pending: '○', running: '⟳', active: '▶', done: '✓', failed: '✗', cancelled: '⊘', undoing: '↶', undo_failed: '⚠' };
const STEP_ICON = { pending: '○', running: '⟳', done: '✓', failed: '✗', compensated: '↶', undo_failed: '⚠' };

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** isBusy reports whether a task of the plan runs or undoes its steps. */
export function isBusy(plan) {
  return Boolean(plan) && plan.tasks.some((x) => TASK_BUSY.includes(x.status));
}

/**
 * certificateNumber shows the certificate's number (given on first asking, the same ever after)
 * and names the download after it.
 */
function certificateNumber(dealId) {
  const el = h('span', { class: 'certificate-number', id: `certificate-number-${dealId}` });
  api('GET', `/deals/${encodeURIComponent(dealId)}/acceptance/certificate`).then((c) => {
    replace(el, t('plan.certificate_number', { number: c.number }));
    el.dataset.number = c.number;
    const link = el.parentElement?.querySelector('.certificate-link');
    if (link) link.setAttribute('download', locale() === 'en' ? c.filename_en : c.filename);
  }).catch(() => {});
  return el;
}

/** certificateHref is the link of a deal's acceptance certificate, in the UI's language. */
export function certificateHref(dealId) {
  return `/api/v1/deals/${encodeURIComponent(dealId)}/acceptance/certificate.pdf?${query({ lang: locale(), tz: timeZone() })}`;
}

/** taskStatusBadge says where a task stands, in words with an icon. */
export function taskStatusBadge(status) {
  return h('span', { class: ['badge', 'task-status', `task-status-${status}`], data: { status } },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: STATUS_ICON[status] || '•' }), taskStatusLabel(status));
}

/** overdueBadge marks a task past its due date and not done. */
export function overdueBadge() {
  return h('span', { class: 'badge badge-stalled badge-overdue', data: { badge: 'overdue' } },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⚠' }), t('plan.overdue'));
}

/** The tasks of a plan that are the user's: assigned to them, or to nobody yet. */
export function myOpenTasks(plan, username) {
  return plan.tasks.filter((x) => x.status !== 'done' && (!x.assignee || x.assignee.toLowerCase() === username.toLowerCase()));
}

/**
 * deliveryPanel is the delivery plan of deal: plan is its GET /deals/{id}/delivery answer, or null
 * while the plan is being prepared (it is then looked for). With mine, only the signed-in
 * engineer's open tasks are listed (the engineer view), under headings one level lower; onChange
 * is told each plan the panel reads or is answered after it was drawn.
 */
export function deliveryPanel(deal, plan, ctx, { mine = false, onChange = null } = {}) {
  const role = ctx.user.role;
  const st = {
    deal, plan, ctx, mine, onChange,
    path: `/deals/${encodeURIComponent(deal.id)}`,
    level: mine ? 4 : 3,
    sales: role === 'kam' || role === 'director',
    runner: role === 'engineer' || role === 'director',
    timer: null,
    tries: 0,
    shown: new Map(), // task key → { json, el }
  };
  const hid = newId('dp');
  st.summary = h('div', { class: 'plan-summary' });
  st.msg = h('div', { class: 'form-msg', role: 'alert' });
  st.note = h('p', { class: 'plan-note', role: 'status', hidden: true });
  st.punch = h('div', { class: 'punch-wrap' });
  st.list = h('ol', { class: 'task-list', 'aria-label': t('plan.tasks') });
  st.visits = h('div', { class: 'plan-visits' });
  st.live = h('p', { class: 'plan-live hint', hidden: true },
    h('span', { class: 'live-dot', 'aria-hidden': 'true', text: '●' }), ' ', t('plan.live'));
  let head = null;
  if (!mine) {
    st.adjust = h('button', { type: 'button', class: 'btn btn-small', id: 'adjust-plan', text: t('plan.adjust') });
    st.adjust.addEventListener('click', () => planDialog(st));
    head = h('div', { class: 'report-head' }, h('h2', { id: hid, text: t('plan.title') }), st.adjust);
  }
  st.root = h(mine ? 'div' : 'section', {
    class: ['delivery-plan', mine ? 'delivery-mine' : 'panel'], id: mine ? null : 'delivery-plan',
    'aria-labelledby': mine ? null : hid, data: { dealId: deal.id },
  },
  head,
  mine ? null : h('p', { class: 'lead', text: t('plan.lead') }),
  st.summary, st.live, st.note, st.msg, st.punch, st.list, st.visits);
  draw(st);
  schedule(st);
  return st.root;
}

// ---- drawing

function canRun(st) {
  return st.runner && isActive(st.deal) && st.plan && !st.plan.closed_at;
}

function canPlan(st) {
  return st.sales && isActive(st.deal) && st.plan && !st.plan.closed_at;
}

function shownTasks(st) {
  return st.mine ? myOpenTasks(st.plan, st.ctx.user.username) : st.plan.tasks;
}

// draw brings the panel up to date with st.plan: the summary, punch list and visits anew, the
// tasks only where they changed.
function draw(st) {
  const p = st.plan;
  if (st.adjust) st.adjust.hidden = !canPlan(st);
  st.live.hidden = !isBusy(p);
  if (!p) {
    replace(st.summary, h('p', { class: 'notice plan-preparing', text: st.tries >= PREPARE_TRIES ? t('plan.not_ready') : t('plan.preparing') }));
    return;
  }
  replace(st.summary, summary(st));
  replace(st.punch, punchList(st));
  if (!st.mine) replace(st.visits, visitsBlock(st));
  drawTasks(st);
}

function drawTasks(st) {
  const tasks = shownTasks(st);
  const order = tasks.map((x) => x.key);
  const sameOrder = order.length === st.shown.size && [...st.shown.keys()].every((k, i) => k === order[i]);
  const active = document.activeElement;
  const next = new Map();
  tasks.forEach((task) => {
    const json = JSON.stringify(task);
    const old = st.shown.get(task.key);
    if (old && old.json === json && sameOrder) {
      next.set(task.key, old);
      return;
    }
    const el = taskItem(st, task);
    if (old && sameOrder) {
      // The keyboard stays where it was: on the same control of the task, else on its heading.
      const had = old.el.contains(active) ? active : null;
      old.el.replaceWith(el);
      if (had) {
        const same = had.dataset.action && el.querySelector(`[data-action="${had.dataset.action}"]:not([disabled])`);
        (same || el.querySelector('.task-name')).focus();
      }
    }
    next.set(task.key, { json, el });
  });
  if (!sameOrder) {
    replace(st.list, [...next.values()].map((x) => x.el));
  }
  st.shown = next;
  if (!tasks.length) {
    replace(st.list, h('li', { class: 'task-none' }, empty(st.mine ? t('plan.none_mine') : t('plan.no_tasks'))));
    st.shown = new Map();
  }
}

function summary(st) {
  const p = st.plan;
  const done = p.tasks.filter((x) => x.status === 'done').length;
  const passed = p.acceptance === 'pass' || p.acceptance === 'pass_with_punch_list';
  const facts = h('dl', { class: 'facts plan-facts' },
    fact(t('plan.progress_label'), h('span', { class: 'plan-progress', data: { done: String(done), total: String(p.tasks.length) } },
      t('plan.progress', { done: formatNumber(done), total: formatNumber(p.tasks.length) }))),
    fact(t('task.acceptance_test'), h('span', { class: 'plan-acceptance', data: { result: p.acceptance || 'none' } },
      p.acceptance ? acceptanceLabel(p.acceptance) : t('plan.acceptance_pending'))),
    p.acceptance === 'pass_with_punch_list' ? fact(t('plan.punch_title'), h('span', { class: 'plan-open-punch', data: { open: String(p.open_punch_items) } },
      p.open_punch_items ? tp('plan.punch_open', p.open_punch_items) : t('plan.punch_none_open'))) : null,
    p.closed_at ? fact(t('delivery.project'), t('plan.closed', { date: formatDateTime(p.closed_at) })) : null,
    st.mine ? null : fact(t('plan.visits_title'), p.cadence?.length ? t('plan.cadence', { list: formatList(p.cadence.map(formatSLA)) }) : t('common.none')));
  const held = p.undo_failed || [];
  const hold = held.length
    ? h('p', { class: 'alert alert-error plan-undo-failed', data: { tasks: held.join(' ') } },
      h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⚠' }), ' ',
      t('plan.undo_failed_notice', { tasks: formatList(held.map((k) => taskLabel(planTask(p, k)))) }))
    : null;
  const link = passed && !held.length
    ? h('p', { class: 'certificate' },
      h('a', { class: 'btn btn-small certificate-link', href: certificateHref(p.deal_id), download: true, data: { dealId: p.deal_id } },
        h('span', { 'aria-hidden': 'true', text: '⤓' }), t('plan.certificate')), ' ', certificateNumber(p.deal_id))
    : null;
  const readOnly = !st.mine && st.sales && !st.runner && isActive(st.deal) && !p.closed_at
    ? h('p', { class: 'hint plan-read-only', text: t('plan.read_only') })
    : null;
  return [facts, hold, link, readOnly];
}

function fact(label, value) {
  return h('div', { class: 'fact' }, h('dt', { text: label }), h('dd', null, value));
}

function heading(level, attrs, ...children) {
  return h(`h${Math.min(level, 6)}`, attrs, ...children);
}

// taskItem is one task: its name and status, who and when, what it waits on, its steps and the
// controls the user has.
function taskItem(st, task) {
  const hid = newId('tk');
  const label = taskLabel(task);
  const pos = st.plan.tasks.findIndex((x) => x.key === task.key) + 1;
  const waitsId = newId('tw');
  const parts = [];
  parts.push(h('div', { class: 'task-head' },
    heading(st.level, { class: 'task-title', id: hid },
      h('span', { class: 'task-num', 'aria-hidden': 'true', text: formatNumber(pos) }),
      h('span', { class: 'task-name', tabindex: '-1', text: label })),
    h('span', { class: 'badges' }, taskStatusBadge(task.status), task.overdue ? overdueBadge() : null)));

  const facts = h('dl', { class: 'task-facts' },
    fact(t('plan.assignee'), task.assignee ? personName(task.assignee) : t('plan.unassigned')),
    fact(t('plan.due'), task.due ? formatDate(task.due) : t('plan.no_due')),
    task.started_at && task.status !== 'done' ? fact(t('plan.started_label'), t('plan.by_at', { who: personName(task.started_by), date: formatDateTime(task.started_at) })) : null,
    task.completed_at ? fact(t('plan.completed_label'), t('plan.by_at', { who: personName(task.completed_by), date: formatDateTime(task.completed_at) })) : null,
    task.runs > 1 ? fact(t('plan.runs_label'), formatNumber(task.runs)) : null);
  parts.push(facts);

  if (task.waiting_on?.length && ['pending', 'cancelled'].includes(task.status)) {
    parts.push(h('p', { class: 'task-waits', id: waitsId }, t('plan.waits_on', { tasks: formatList(task.waiting_on.map((k) => taskLabel(planTask(st.plan, k)))) })));
  } else if (task.depends_on?.length && task.status === 'pending') {
    parts.push(h('p', { class: 'task-ready hint', text: t('plan.ready_after', { tasks: formatList(task.depends_on.map((k) => taskLabel(planTask(st.plan, k)))) }) }));
  }

  if (task.status === 'undo_failed') parts.push(undoFailedBlock(task));

  if (task.error && ['failed', 'cancelled', 'undoing', 'undo_failed'].includes(task.status)) {
    parts.push(h('p', { class: ['task-error', task.status === 'failed' ? 'alert alert-error' : 'notice'] },
      task.status === 'failed' ? t('plan.failed_because') : t('plan.stopped_because'), ' ', errorLine(task.error)));
  }

  if (task.steps?.length && task.status !== 'pending') {
    const showProgress = task.status === 'running' || task.status === 'undoing' || task.status === 'active';
    parts.push(h('div', { class: 'task-run' },
      showProgress ? h('p', { class: 'task-progress-line' },
        h('progress', { class: 'task-progress', max: '100', value: String(task.progress), 'aria-label': t('plan.task_progress', { task: label }) }),
        ' ', h('span', { class: 'task-progress-text', text: formatPercent(task.progress) })) : null,
      h('ol', { class: 'task-steps', 'aria-label': t('plan.steps_of', { task: label }) }, task.steps.map(stepItem))));
  }

  if (task.status === 'done') parts.push(doneDetails(task));
  if (task.cleanups?.length && task.status !== 'undo_failed') parts.push(cleanupLine(task.cleanups[task.cleanups.length - 1]));

  const actions = canRun(st) ? taskActions(st, task, label, waitsId) : [];
  if (actions.length) parts.push(h('div', { class: 'actions task-actions' }, actions));

  return h('li', {
    class: ['task', `is-${task.status}`, task.overdue ? 'is-overdue' : null],
    'aria-labelledby': hid, data: { task: task.key, status: task.status, progress: String(task.progress), runs: String(task.runs) },
  }, parts);
}

// errorLine is why a task stopped: who cancelled it, or which step failed and what the
// field-service system said (in its own words, English).
function errorLine(error) {
  const who = /^cancelled by (.+)$/.exec(error);
  if (who) return t('plan.cancelled_by', { who: who[1] });
  const step = /^([a-z_]+) failed: ([\s\S]*)$/.exec(error);
  if (step) return [`${stepLabel(step[1])}: `, h('span', { lang: 'en', text: step[2] })];
  return h('span', { lang: 'en', text: error });
}

// undoFailedBlock says what a failed undo left to clean up by hand: each step, its reference in
// the field-service system and why its undo failed (in the system's own words, English).
function undoFailedBlock(task) {
  const hid = newId('uf');
  return h('div', { class: 'alert alert-error task-undo-failed', role: 'group', 'aria-labelledby': hid },
    h('p', { class: 'task-undo-failed-title', id: hid }, h('strong', { text: t('plan.undo_failed_title') })),
    h('p', { text: t('plan.undo_failed_explain', { status: taskStatusLabel(task.undo_to || 'failed') }) }),
    h('ul', { class: 'plain-list undo-failures' }, (task.undo_failures || []).map((f) => h('li', { class: 'undo-failure', data: { step: f.step } },
      h('strong', { text: stepLabel(f.step) }), ' ',
      f.ref ? h('code', { class: 'undo-ref', text: f.ref }) : h('span', { class: 'hint', text: t('plan.undo_failed_noref') }), ' — ',
      h('span', { class: 'undo-error', lang: 'en', text: f.error })))));
}

// cleanupLine is the last clean-up by hand of a task's failed undo: who, when and their note.
function cleanupLine(c) {
  return h('p', { class: 'task-cleanup hint' }, t('plan.cleaned_by', { who: c.by, date: formatDateTime(c.at), note: c.note }));
}

function planTask(plan, key) {
  return plan.tasks.find((x) => x.key === key) || key;
}

function stepItem(s) {
  const bits = [];
  if (s.status === 'running') {
    bits.push(h('progress', { class: 'step-progress', max: '100', value: String(s.progress || 0), 'aria-label': stepLabel(s.key) }));
  }
  if (s.attempts > 1) bits.push(h('span', { class: 'step-attempts', text: tp('plan.attempts', s.attempts) }));
  if (s.ref) bits.push(h('span', { class: 'step-ref', text: t('plan.step_ref', { ref: s.ref }) }));
  if (s.error) bits.push(h('span', { class: 'step-error', lang: 'en', text: s.error }));
  return h('li', { class: ['task-step', `step-is-${s.status}`], data: { step: s.key, status: s.status } },
    h('span', { class: 'task-step-icon', 'aria-hidden': 'true', text: STEP_ICON[s.status] || '•' }),
    h('span', { class: 'task-step-name', text: stepLabel(s.key) }), ' ',
    h('span', { class: 'task-step-status', text: stepStatusLabel(s.status) }),
    bits.length ? h('span', { class: 'task-step-more' }, bits) : null);
}

function doneDetails(task) {
  const parts = [];
  if (task.result) {
    parts.push(h('p', { class: 'task-result', data: { result: task.result } }, t('plan.result', { result: acceptanceLabel(task.result) })));
  }
  if (task.issues?.length) {
    parts.push(h('p', { class: 'task-sub', text: t('plan.issues') }), h('ul', { class: 'plain-list task-issues' }, task.issues.map((x) => h('li', { text: x }))));
  }
  if (task.notes) parts.push(h('p', { class: 'task-notes' }, h('span', { class: 'task-sub', text: `${t('field.notes')}: ` }), task.notes));
  if (task.attachments?.length) {
    parts.push(h('p', { class: 'task-sub', text: t('plan.attachments') }),
      h('ul', { class: 'plain-list task-attachments' }, task.attachments.map((a) => h('li', null,
        /^https?:\/\//i.test(a.ref)
          ? h('a', { href: a.ref, rel: 'noopener noreferrer', target: '_blank', text: a.name })
          : [h('span', { text: a.name }), ' — ', h('code', { text: a.ref })]))));
  }
  return parts.length ? h('div', { class: 'task-done' }, parts) : null;
}

function taskActions(st, task, label, waitsId) {
  const out = [];
  const waiting = task.waiting_on?.length > 0;
  const restart = task.status === 'pending' || task.status === 'cancelled' || (task.key === ACCEPTANCE_TEST && task.status === 'done' && task.result === 'fail');
  if (restart) {
    const b = actionButton('start', task.status === 'done' ? t('plan.test_again') : t('plan.start'), t('plan.start_task', { task: label }), 'btn-primary');
    if (waiting) {
      b.disabled = true;
      b.setAttribute('aria-describedby', waitsId);
    }
    b.addEventListener('click', busy(b, () => command(st, task, 'start', t('plan.started_ok', { task: label }))));
    out.push(b);
  }
  if (task.status === 'failed') {
    const b = actionButton('retry', t('plan.retry'), t('plan.retry_task', { task: label }), 'btn-primary');
    b.addEventListener('click', busy(b, () => command(st, task, 'retry', t('plan.retried_ok', { task: label }))));
    out.push(b);
  }
  if (task.status === 'active') {
    const b = actionButton('complete', t('plan.complete'), t('plan.complete_task', { task: label }), 'btn-primary');
    b.addEventListener('click', () => completeDialog(st, task));
    out.push(b);
  }
  if (['running', 'active', 'failed'].includes(task.status)) {
    const b = actionButton('cancel', t('plan.cancel'), t('plan.cancel_task', { task: label }), 'btn-danger');
    b.addEventListener('click', () => cancelDialog(st, task));
    out.push(b);
  }
  if (task.status === 'undo_failed') {
    const b = actionButton('resolve-undo', t('plan.resolve_undo'), t('plan.resolve_undo_task', { task: label }), 'btn-primary');
    b.addEventListener('click', () => resolveUndoDialog(st, task));
    out.push(b);
  }
  return out;
}

function actionButton(action, text, label, cls) {
  return h('button', { type: 'button', class: ['btn', 'btn-small', cls, `task-${action}`], data: { action }, 'aria-label': label, text });
}

// ---- the punch list and the service visits

function punchList(st) {
  const task = st.plan.tasks.find((x) => x.key === ACCEPTANCE_TEST);
  const items = task && task.status === 'done' ? task.punch_list || [] : [];
  if (!items.length) return null;
  if (st.mine && !items.some((x) => !x.done)) return null;
  const hid = newId('pl');
  return h('section', { class: 'punch-list', 'aria-labelledby': hid, data: { dealId: st.plan.deal_id } },
    heading(st.level, { id: hid }, t('plan.punch_title'), ' ', h('span', { class: 'count', text: `(${tp('plan.punch_open', st.plan.open_punch_items)})` })),
    h('ul', { class: 'punch-items' }, items.map((it) => {
      let tail;
      if (it.done) {
        tail = h('span', { class: 'punch-state' },
          h('span', { class: 'badge badge-delivered' }, h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '✓' }), t('plan.punch_done')), ' ',
          h('span', { class: 'hint', text: t('plan.by_at', { who: it.resolved_by, date: formatDateTime(it.resolved_at) }) }),
          it.note ? h('span', { class: 'hint punch-note', text: ` ${t('plan.resolved_note', { note: it.note })}` }) : null);
      } else if (canRun(st)) {
        const b = h('button', { type: 'button', class: 'btn btn-small resolve-punch', data: { punch: it.id }, 'aria-label': t('plan.resolve_item', { item: it.text }), text: t('plan.resolve') });
        b.addEventListener('click', busy(b, () => resolve(st, it)));
        tail = b;
      } else {
        tail = h('span', { class: 'badge badge-status' }, t('plan.punch_open_state'));
      }
      return h('li', { class: ['punch-item', it.done ? 'is-done' : 'is-open'], data: { punch: it.id, done: String(it.done) } },
        h('span', { class: 'punch-text', text: it.text }), ' ', tail);
    })));
}

function visitsBlock(st) {
  const visits = st.plan.visits || [];
  if (!st.plan.closed_at && !visits.length) return null;
  const hid = newId('pv');
  return h('section', { class: 'subsection plan-visits-list', 'aria-labelledby': hid },
    heading(st.level, { id: hid, text: t('plan.visits_title') }),
    visits.length
      ? table(null, [t('visit.round_col'), t('visit.due'), t('plan.assignee'), t('field.status'), t('visit.report_col')],
        visits.map((v) => h('tr', { data: { visitId: v.id, status: v.status } },
          h('th', { scope: 'row', text: t('visit.round', { n: formatNumber(v.round) }) }),
          h('td', { text: formatDate(v.due) }), h('td', { text: v.assignee || t('plan.unassigned') }),
          h('td', { text: t(`visitstatus.${v.status}`) }),
          h('td', { text: v.report ? reportLine(v.report) : '' }))))
      : empty(t('plan.no_visits_yet')));
}

/** reportLine sums up a service visit's report in a sentence. */
export function reportLine(r) {
  return t('visit.report_line', {
    date: formatDate(r.visited_on), found: formatNumber(r.faults_found), unresolved: formatNumber(r.faults_unresolved),
    satisfaction: satisfactionLabel(r.satisfaction),
  });
}

// ---- commands

// command sends start, retry or cancel and shows the plan it answers; the steps then run on.
async function command(st, task, kind, okText) {
  replace(st.msg);
  try {
    const p = await api('POST', `${st.path}/delivery/tasks/${encodeURIComponent(task.key)}/${kind}`, {});
    if (!st.root.isConnected) return;
    say(st, okText);
    update(st, p, true);
  } catch (err) {
    showError(st, err);
  }
}

function say(st, text) {
  st.note.textContent = text;
  st.note.hidden = false;
  announce(text);
}

function showError(st, err) {
  replace(st.msg, h('p', { class: 'alert alert-error', text: deliveryErrorText(st.plan, err) }));
}

/** deliveryErrorText is errorText, with the tasks a refused start waits on named as tasks. */
export function deliveryErrorText(plan, err) {
  if (err instanceof ApiError && err.code === 'gate_not_met' && Array.isArray(err.details.missing)) {
    return t('plan.cannot_start', { tasks: formatList(err.details.missing.map((k) => taskLabel(plan ? planTask(plan, k) : k))) });
  }
  return errorText(err);
}

function update(st, p, answer = false) {
  // The plan is read from its projection, which may lag behind the answer of a command: an older
  // reading is passed over.
  if (st.plan && p.seq < st.plan.seq) {
    schedule(st);
    return;
  }
  const before = new Map((st.plan?.tasks || []).map((x) => [x.key, x.status]));
  st.plan = p;
  draw(st);
  if (st.onChange) st.onChange(p);
  // Say what changed by itself (a task's steps got through, failed or were undone); what a
  // command changed, its own message says.
  const changed = p.tasks.filter((x) => before.has(x.key) && before.get(x.key) !== x.status);
  if (changed.length && !answer) say(st, changed.map((x) => t('plan.now_status', { task: taskLabel(x), status: taskStatusLabel(x.status) })).join(' '));
  schedule(st);
}

// schedule reads the plan again in a moment while a task is busy (or the plan is being prepared).
function schedule(st) {
  if (st.timer) return;
  const preparing = !st.plan && st.tries < PREPARE_TRIES;
  if (!preparing && !isBusy(st.plan)) return;
  st.timer = setTimeout(() => poll(st), POLL_MS);
}

async function poll(st) {
  st.timer = null;
  if (!st.ctx.alive() || !st.root.isConnected) return;
  let p;
  try {
    p = await api('GET', `${st.path}/delivery`);
  } catch (err) {
    if (!st.ctx.alive() || !st.root.isConnected) return;
    if (!st.plan && err instanceof ApiError && err.code === 'not_found') {
      st.tries += 1;
      draw(st);
      schedule(st);
      return;
    }
    showError(st, err); // no more reading: the page's reload shows the plan again
    return;
  }
  if (!st.ctx.alive() || !st.root.isConnected) return;
  replace(st.msg);
  update(st, p);
}

function cancelDialog(st, task) {
  const label = taskLabel(task);
  openDialog(t('plan.cancel_title', { task: label }), (close) => {
    const undo = (task.steps || []).filter((s) => s.status === 'done' && s.key !== 'notify_customer').map((s) => stepLabel(s.key));
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-danger', id: 'cancel-task-confirm', text: t('plan.cancel_confirm') });
    const form = h('form', { novalidate: true, id: 'cancel-task-form', data: { task: task.key } },
      h('p', { text: t('plan.cancel_explain') }),
      undo.length ? h('p', null, t('plan.cancel_undoes'), ' ', h('strong', { text: formatList(undo) })) : null,
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('plan.keep') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      try {
        const p = await api('POST', `${st.path}/delivery/tasks/${encodeURIComponent(task.key)}/cancel`, {});
        close();
        say(st, t('plan.cancelled_ok', { task: label }));
        update(st, p, true);
      } catch (err) {
        replace(msg, h('p', { class: 'alert alert-error', text: deliveryErrorText(st.plan, err) }));
      }
    }));
    return form;
  });
}

// resolveUndoDialog records that the work a failed undo left was cleaned up by hand, with the
// engineer's note; the task then ends as it was heading (failed or cancelled).
function resolveUndoDialog(st, task) {
  const label = taskLabel(task);
  openDialog(t('plan.resolve_undo_title', { task: label }), (close) => {
    const note = h('textarea', { name: 'note', id: 'resolve-undo-note', rows: '4', maxlength: '4000', required: true });
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'resolve-undo-confirm', text: t('plan.resolve_undo_confirm') });
    const form = h('form', { novalidate: true, id: 'resolve-undo-form', data: { task: task.key } },
      h('p', { text: t('plan.resolve_undo_explain') }),
      undoFailedBlock(task),
      field(t('plan.resolve_undo_note'), note),
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      note.value = note.value.trim() ? note.value : '';
      if (!validate(form)) return;
      try {
        const p = await api('POST', `${st.path}/delivery/tasks/${encodeURIComponent(task.key)}/resolve-undo`, { note: note.value.trim() });
        close();
        // The deal hears of the clean-up a moment later (the project's close waits on it): the page
        // is drawn again once it has.
        await settle(st, p.seq, (d) => !(d.undo_failed || []).includes(task.key));
        await st.ctx.refresh({ text: t('plan.resolve_undo_ok', { task: label }) });
      } catch (err) {
        formError(form, msg, err);
      }
    }));
    return form;
  });
}

// completeDialog completes an active task: notes, attachments' references and, for the
// acceptance test, the result with its punch list or issues.
function completeDialog(st, task) {
  const label = taskLabel(task);
  const acceptance = task.key === ACCEPTANCE_TEST;
  const dlg = openDialog(t('plan.complete_title', { task: label }), (close) => {
    const notes = h('textarea', { name: 'notes', id: 'complete-notes', rows: '3', maxlength: '4000' });
    const rows = h('ol', { class: 'attachment-rows' });
    const addRow = () => {
      const n = rows.children.length + 1;
      const name = h('input', { name: 'attachments.name', required: true, maxlength: '200', autocomplete: 'off' });
      const ref = h('input', { name: 'attachments.ref', required: true, maxlength: '1000', autocomplete: 'off', spellcheck: 'false' });
      const remove = h('button', { type: 'button', class: 'btn btn-small btn-quiet', text: t('plan.remove_attachment'), 'aria-label': t('plan.remove_attachment_n', { n: formatNumber(n) }) });
      const row = h('li', { class: 'attachment-row' },
        field(t('plan.attachment_name'), name), field(t('plan.attachment_ref'), ref, { className: 'grow' }), h('div', { class: 'field-aside' }, remove));
      remove.addEventListener('click', () => {
        row.remove();
        add.focus();
      });
      rows.append(row);
      name.focus();
    };
    const add = h('button', { type: 'button', class: 'btn btn-small', id: 'add-attachment', text: t('plan.add_attachment') });
    add.addEventListener('click', addRow);
    let result = null;
    let punch = null;
    let issues = null;
    const extra = [];
    if (acceptance) {
      result = select('result', [{ value: '', label: t('delivery.choose_result') }, ...ACCEPTANCE.map((r) => ({ value: r, label: acceptanceLabel(r) }))], '',
        { required: true, id: 'complete-result' });
      punch = h('textarea', { name: 'punch_list', id: 'complete-punch', rows: '3', required: true, disabled: true });
      issues = h('textarea', { name: 'issues', id: 'complete-issues', rows: '3', required: true, disabled: true });
      const punchField = field(t('plan.punch_lines'), punch, { hint: t('plan.lines_hint') });
      const issuesField = field(t('plan.issue_lines'), issues, { hint: t('plan.lines_hint') });
      const toggle = () => {
        punchField.hidden = result.value !== 'pass_with_punch_list';
        issuesField.hidden = result.value !== 'fail';
        punch.disabled = punchField.hidden;
        issues.disabled = issuesField.hidden;
      };
      toggle();
      result.addEventListener('change', toggle);
      extra.push(field(t('field.result'), result, { hint: t('plan.result_hint') }), punchField, issuesField);
    }
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'complete-submit', text: t('plan.complete') });
    const form = h('form', { novalidate: true, id: 'complete-form', data: { task: task.key } },
      extra,
      field(t('field.notes'), notes),
      h('fieldset', { class: 'attachments' }, h('legend', { text: t('plan.attachments') }),
        h('p', { class: 'hint', text: t('plan.attachments_hint') }), rows, add),
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    const lines = (el) => el.value.split('\n').map((x) => x.trim()).filter(Boolean);
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      const body = {};
      if (notes.value.trim()) body.notes = notes.value.trim();
      const atts = [...rows.querySelectorAll('.attachment-row')].map((r) => ({
        name: r.querySelector('[name="attachments.name"]').value.trim(), ref: r.querySelector('[name="attachments.ref"]').value.trim(),
      }));
      if (atts.length) body.attachments = atts;
      if (acceptance) {
        body.result = result.value;
        if (body.result === 'pass_with_punch_list') body.punch_list = lines(punch);
        if (body.result === 'fail') body.issues = lines(issues);
      }
      try {
        const p = await api('POST', `${st.path}/delivery/tasks/${encodeURIComponent(task.key)}/complete`, body);
        close();
        if (acceptance) {
          say(st, t('plan.recording'));
          // The result decides the deal's acceptance, which the deal records a moment later: the
          // page is drawn again once it has.
          await settle(st, p.seq, (d) => d.acceptance?.result === body.result && (d.acceptance.open_punch_items || 0) === p.open_punch_items);
          await st.ctx.refresh({ text: t('plan.acceptance_ok', { result: acceptanceLabel(body.result) }) });
          return;
        }
        say(st, t('plan.completed_ok', { task: label }));
        update(st, p, true);
      } catch (err) {
        formError(form, msg, err);
      }
    }));
    return form;
  });
  dlg.classList.add('dialog-wide');
}

// resolve marks a punch item resolved once confirmed, with a note on how (confirm.js).
function resolve(st, item) {
  replace(st.msg);
  confirmAction({
    title: t('forms.resolve_title'),
    what: t('forms.resolve_what', { item: item.text }),
    confirmLabel: t('plan.resolve'),
    danger: false,
    note: { label: t('forms.resolve_note') },
    run: (note) => api('POST', `${st.path}/delivery/punch-list/${encodeURIComponent(item.id)}/resolve`, note ? { note } : {}),
    done: async (p) => {
      try {
        await settle(st, p.seq, (d) => (d.acceptance?.open_punch_items || 0) === p.open_punch_items);
        await st.ctx.refresh({ text: t('plan.resolved_ok', { item: item.text }) });
      } catch (err) {
        showError(st, err);
      }
    },
  });
}

// settle waits (a few seconds at most) before the page is drawn again until what it reads has
// caught up with a command's answer: the plan's projection with the answer's seq, and, with
// dealOk, the deal with what the delivery told it.
async function settle(st, seq, dealOk) {
  for (let i = 0; i < 24 && st.ctx.alive(); i += 1) {
    const [p, d] = await Promise.all([api('GET', `${st.path}/delivery`), dealOk ? api('GET', st.path) : null]);
    if (p.seq >= seq && (!dealOk || dealOk(d))) return;
    await sleep(250);
  }
}

// ---- the plan editor (KAM, director)

const PLAN_FIELDS = { key: 'planedit.key', title: 'planedit.title_field', assignee: 'planedit.assignee', due: 'planedit.due', depends_on: 'planedit.depends_on' };

/** findCycle returns a circle of dependencies among the tasks ([a, b, a]), or null. */
export function findCycle(tasks) {
  const byKey = new Map(tasks.map((x) => [x.key, x]));
  const state = new Map(); // 1: on the path, 2: done
  const path = [];
  const visit = (k) => {
    state.set(k, 1);
    path.push(k);
    for (const dep of byKey.get(k)?.depends_on || []) {
      if (!byKey.has(dep)) continue;
      if (state.get(dep) === 1) return [...path.slice(path.indexOf(dep)), dep];
      if (!state.has(dep)) {
        const c = visit(dep);
        if (c) return c;
      }
    }
    path.pop();
    state.set(k, 2);
    return null;
  };
  for (const x of tasks) {
    if (!state.has(x.key)) {
      const c = visit(x.key);
      if (c) return c;
    }
  }
  return null;
}

function planDialog(st) {
  const engineers = st.deal.engineers || [];
  const rows = st.plan.tasks.map((x) => ({
    key: x.key, title: x.title || '', assignee: x.assignee || '', due: x.due || '', depends_on: [...(x.depends_on || [])], status: x.status,
  }));
  const dlg = openDialog(t('planedit.title'), (close) => {
    const list = h('ol', { class: 'plan-rows', id: 'plan-rows' });
    const msg = h('div', { class: 'form-msg', role: 'alert', id: 'plan-msg' });
    const redraw = (focus) => {
      replace(list, rows.map((r, i) => planRow(r, i)));
      if (focus) (list.querySelector(focus[0]) || list.querySelector(focus[1] || focus[0]))?.focus();
    };
    const move = (i, by) => {
      const r = rows[i];
      rows.splice(i, 1);
      rows.splice(i + by, 0, r);
      const dir = by < 0 ? 'up' : 'down';
      redraw([`li[data-key="${r.key}"] .move-${dir}:not([disabled])`, `li[data-key="${r.key}"] .move-${dir === 'up' ? 'down' : 'up'}`]);
      announce(t('planedit.moved', { task: taskLabel(r), n: formatNumber(i + by + 1) }));
    };
    const planRow = (r, i) => {
      const label = taskLabel(r);
      const title = h('input', { name: `tasks[${i}].title`, id: `plan-title-${r.key}`, value: r.title, maxlength: '200', placeholder: taskLabel(r.key) });
      title.addEventListener('input', () => { r.title = title.value; });
      const names = [...new Set([...engineers, ...(r.assignee ? [r.assignee] : [])])];
      const assignee = select(`tasks[${i}].assignee`, [{ value: '', label: t('plan.unassigned') }, ...names.map((e) => ({ value: e, label: personName(e) }))], r.assignee,
        { id: `plan-assignee-${r.key}` });
      assignee.addEventListener('change', () => { r.assignee = assignee.value; });
      const due = h('input', { type: 'date', name: `tasks[${i}].due`, id: `plan-due-${r.key}`, value: r.due });
      due.addEventListener('input', () => { r.due = due.value; });
      const locked = r.status !== 'pending';
      const others = rows.filter((o) => o.key !== r.key);
      const deps = h('fieldset', { class: 'plan-deps' }, h('legend', { text: t('planedit.depends_on') }),
        locked ? h('p', { class: 'hint', text: t('planedit.deps_locked') }) : null,
        others.length ? others.map((o) => {
          const box = h('input', {
            type: 'checkbox', name: `tasks[${i}].depends_on`, value: o.key, checked: r.depends_on.includes(o.key), disabled: locked,
            data: { task: r.key, dep: o.key },
          });
          box.addEventListener('change', () => {
            r.depends_on = box.checked ? [...r.depends_on, o.key] : r.depends_on.filter((k) => k !== o.key);
          });
          return checkbox(taskLabel(o), box);
        }) : empty(t('common.none')));
      const up = h('button', { type: 'button', class: 'btn btn-small btn-quiet move-up', disabled: i === 0, 'aria-label': t('planedit.up_task', { task: label }), text: '↑' });
      const down = h('button', { type: 'button', class: 'btn btn-small btn-quiet move-down', disabled: i === rows.length - 1, 'aria-label': t('planedit.down_task', { task: label }), text: '↓' });
      up.addEventListener('click', () => move(i, -1));
      down.addEventListener('click', () => move(i, 1));
      let remove = null;
      if (!locked && r.key !== ACCEPTANCE_TEST) {
        remove = h('button', { type: 'button', class: 'btn btn-small btn-danger remove-task', 'aria-label': t('planedit.remove_task', { task: label }), text: t('planedit.remove') });
        remove.addEventListener('click', () => {
          rows.splice(i, 1);
          for (const o of rows) o.depends_on = o.depends_on.filter((k) => k !== r.key);
          redraw([`li.plan-row:nth-child(${Math.min(i + 1, rows.length)}) .plan-row-title`]);
          announce(t('planedit.removed', { task: label }));
        });
      }
      return h('li', { class: 'plan-row', data: { key: r.key, status: r.status } },
        h('div', { class: 'plan-row-head' },
          h('h3', { class: 'plan-row-title', tabindex: '-1' },
            t('planedit.task_n', { n: formatNumber(i + 1) }), ': ', label, ' ', h('code', { class: 'plan-key', text: r.key })),
          taskStatusBadge(r.status),
          h('span', { class: 'plan-row-tools' }, up, down, remove)),
        h('div', { class: 'field-row' },
          field(t('planedit.title_field'), title, { hint: t('planedit.title_hint'), className: 'grow' }),
          field(t('planedit.assignee'), assignee),
          field(t('planedit.due'), due)),
        deps);
    };
    redraw();

    // A new task: its key and title; it is added at the end, to be moved into place.
    const newKey = h('input', { name: 'new_key', id: 'plan-new-key', maxlength: '40', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' });
    const newTitle = h('input', { name: 'new_title', id: 'plan-new-title', maxlength: '200' });
    const addMsg = h('p', { class: 'field-error', id: 'plan-new-key-err', hidden: true });
    newKey.setAttribute('aria-describedby', 'plan-new-key-hint plan-new-key-err');
    const add = h('button', { type: 'button', class: 'btn btn-small', id: 'plan-add', text: t('planedit.add') });
    add.addEventListener('click', () => {
      const key = newKey.value.trim();
      let problem = '';
      if (!/^[a-z][a-z0-9_]{0,39}$/.test(key)) problem = t('planedit.key_hint');
      else if (rows.some((r) => r.key === key)) problem = t('planedit.key_taken');
      addMsg.textContent = problem;
      addMsg.hidden = !problem;
      if (problem) {
        newKey.setAttribute('aria-invalid', 'true');
        newKey.focus();
        return;
      }
      newKey.removeAttribute('aria-invalid');
      const r = { key, title: newTitle.value.trim(), assignee: '', due: '', depends_on: [], status: 'pending' };
      rows.push(r);
      newKey.value = '';
      newTitle.value = '';
      redraw([`li[data-key="${key}"] .plan-row-title`]);
      announce(t('planedit.added', { task: taskLabel(r) }));
    });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'plan-save', text: t('planedit.save') });
    const form = h('form', { novalidate: true, id: 'plan-form' },
      h('p', { class: 'hint', text: t('planedit.hint') }),
      engineers.length ? null : h('p', { class: 'notice', text: t('planedit.no_engineers') }),
      list,
      h('fieldset', { class: 'plan-add' }, h('legend', { text: t('planedit.add_title') }),
        h('div', { class: 'field-row' },
          h('div', { class: 'field' }, h('label', { for: newKey.id, text: t('planedit.key') }),
            h('p', { class: 'hint', id: 'plan-new-key-hint', text: t('planedit.key_hint') }), newKey, addMsg),
          field(t('planedit.title_field'), newTitle, { className: 'grow' }),
          h('div', { class: 'field-aside' }, add))),
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
      if (!validate(form)) return;
      const body = {
        tasks: rows.map((r) => {
          const spec = { key: r.key, depends_on: r.depends_on.filter((k) => rows.some((o) => o.key === k)) };
          if (r.title.trim()) spec.title = r.title.trim();
          if (r.assignee) spec.assignee = r.assignee;
          if (r.due) spec.due = r.due;
          return spec;
        }),
      };
      try {
        const p = await api('PUT', `${st.path}/delivery`, body);
        close();
        await settle(st, p.seq);
        await st.ctx.refresh({ text: t('planedit.saved') });
      } catch (err) {
        planError(form, msg, err, rows);
      }
    }));
    return form;
  });
  dlg.classList.add('dialog-wide');
}

// planError shows why the API refused a plan: the error, and what in the plan it concerns — a
// task's field (marked), or the circle the tasks' dependencies make.
function planError(form, msg, err, rows) {
  const f = err instanceof ApiError && typeof err.details?.field === 'string' ? err.details.field : '';
  const base = err instanceof ApiError ? errorText(new ApiError(err.status, err.code, err.message)) : errorText(err);
  let detail = '';
  const m = /^tasks\[(\d+)\]\.(\w+)$/.exec(f);
  if (m && rows[Number(m[1])]) {
    const r = rows[Number(m[1])];
    detail = t('planedit.task_field', { n: formatNumber(Number(m[1]) + 1), task: taskLabel(r), what: t(PLAN_FIELDS[m[2]] || 'planedit.title_field') });
    const el = form.querySelector(`[name="${CSS.escape(f)}"]`);
    if (el) {
      el.setAttribute('aria-invalid', 'true');
      if (!el.disabled) el.focus();
    }
  } else if (f === 'tasks') {
    const cycle = findCycle(rows);
    if (cycle) {
      detail = t('planedit.cycle', { path: cycle.map((k) => taskLabel(rows.find((r) => r.key === k) || k)).join(' → ') });
      for (const k of new Set(cycle)) form.querySelector(`li.plan-row[data-key="${CSS.escape(k)}"]`)?.classList.add('is-invalid');
    }
  }
  const box = h('div', { class: 'alert alert-error', id: 'plan-error', tabindex: '-1' },
    h('p', { text: base }), detail ? h('p', { class: 'plan-error-detail', text: detail }) : null);
  replace(msg, box);
  if (!m) box.focus(); // else the field has the keyboard
}
