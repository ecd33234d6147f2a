// Approvals as a process: a KAM asks the team's directors to approve a bid below the margin floor
// or a contract, with a note; a director approves it or sends it back with a comment, each after
// a dialog that says what will happen. Who may do what comes from the deal's approval_actions
// (the API asks the domain's rules); the deal's approvals are its approval history.
//
// Used by the deal page (the bid and contract panels, the history section, the timeline lines)
// and by the director review (the approvals waiting, first, and the recent history).

import { api, ApiError, errorText } from '../api.js';
import { t, formatMoney, formatPercent, formatDateTime } from '../i18n.js';
import { h, replace, field, validate, busy, openDialog, newId, markField } from '../dom.js';
import { stageLabel } from '../domain.js';
import { formError, empty } from './common.js';

// ---- people by name

// The directory of display names, read once per page load of the app (GET /people); a username
// stands in for a name until it is read, or when it cannot be.
let directory = null;
const names = new Map();

/** loadNames reads the directory of display names (once); it never fails. */
export function loadNames() {
  if (!directory) {
    directory = api('GET', '/people').then((r) => {
      for (const p of r.items || []) names.set(p.username, p.name || p.username);
    }, () => { directory = null; });
  }
  return directory || Promise.resolve();
}

/** nameOf is a user's display name (their username until the directory is read). */
export function nameOf(username) {
  return names.get(username) || username || '';
}

// person is a user's name as shown, marked so that fillNames can put the name in once known.
function person(username) {
  return h('span', { class: 'person', data: { person: username }, text: nameOf(username) });
}

/** fillNames reads the directory, then shows every person in root by name. */
export function fillNames(root) {
  loadNames().then(() => {
    for (const el of root.querySelectorAll('[data-person]')) el.textContent = nameOf(el.dataset.person);
  });
}

// ---- what a request is

/** subjectText says what a request asks for: the bid's margin below the floor, or the contract. */
function subjectText(a) {
  if (a.subject === 'margin') return t('approval.subject_margin', { margin: formatPercent(a.margin_pct, 2), floor: formatPercent(a.floor, 2) });
  return t('approval.subject_contract');
}

function statusBadge(a) {
  const icon = { pending: '⏳', approved: '✓', sent_back: '↩', withdrawn: '–' }[a.status] || '';
  return h('span', { class: ['badge', `approval-status approval-${a.status}`], data: { status: a.status } },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: icon }), t(`approval.status.${a.status}`));
}

// requestLines are a request's who, when and note, and its answer's.
function requestLines(a) {
  const out = [h('p', { class: 'approval-asked' },
    t('approval.asked_by_prefix'), person(a.requested_by), ' · ', h('time', { datetime: a.requested_at, text: formatDateTime(a.requested_at) }))];
  if (a.note) out.push(h('p', { class: 'approval-note' }, h('span', { class: 'muted', text: t('approval.note_label') }), h('q', { text: a.note })));
  if (a.status === 'approved' || a.status === 'sent_back') {
    out.push(h('p', { class: 'approval-answered' },
      t(a.status === 'approved' ? 'approval.approved_by_prefix' : 'approval.sent_back_by_prefix'), person(a.answered_by), ' · ',
      h('time', { datetime: a.answered_at, text: formatDateTime(a.answered_at) })));
    if (a.comment) out.push(h('p', { class: 'approval-comment' }, h('span', { class: 'muted', text: t('approval.comment_label') }), h('q', { text: a.comment })));
  } else if (a.status === 'withdrawn') {
    out.push(h('p', { class: 'muted', text: t('approval.withdrawn_note') }));
  }
  return out;
}

// ---- the deal page

/**
 * approvalPart is the approval process of one subject on the deal page, under the bid (margin)
 * or in the contract panel: where it stands, the KAM's request form, the director's answers.
 * dealPath is the deal's API path; done(text) renders the page again with a message.
 */
export function approvalPart(deal, subject, dealPath, done) {
  const may = deal.approval_actions || { request: [], answer: [] };
  const mine = (deal.approvals || []).filter((a) => a.subject === subject);
  const last = mine[mine.length - 1];
  const pending = last && last.status === 'pending' ? last : null;
  const root = h('div', { class: 'approval-part', id: `approval-${subject}`, data: { subject } });
  const parts = [];
  if (pending) {
    parts.push(h('div', { class: 'notice approval-waiting', id: `approval-waiting-${subject}` },
      h('p', { class: 'approval-title' }, statusBadge(pending), ' ', t('approval.waiting', { what: subjectText(pending) })),
      requestLines(pending)));
    if (may.answer.includes(pending.id)) parts.push(answerButtons(deal, pending, dealPath, done));
  } else if (last && last.status === 'sent_back') {
    parts.push(h('div', { class: 'alert alert-warn approval-sent-back', id: `approval-sent-back-${subject}` },
      h('p', { class: 'approval-title' }, statusBadge(last), ' ', t('approval.was_sent_back', { what: subjectText(last) })),
      requestLines(last)));
  }
  if (may.request.includes(subject)) parts.push(requestForm(deal, subject, dealPath, done, Boolean(last && last.status === 'sent_back')));
  replace(root, parts);
  fillNames(root);
  return root;
}

// requestForm is the KAM's request: a note, and a button that says what it does.
function requestForm(deal, subject, dealPath, done, again) {
  const note = h('textarea', { name: 'note', id: `approval-note-${subject}`, maxlength: '1000', rows: '3' });
  const msg = h('div', { class: 'form-msg', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: `request-approval-${subject}`,
    text: t(again ? 'approval.ask_again' : `approval.ask_${subject}`) });
  const form = h('form', { class: 'subform approval-request', id: `approval-request-${subject}`, novalidate: true },
    h('h3', { text: t(`approval.ask_title_${subject}`) }),
    h('p', { class: 'hint', text: t('approval.ask_explain') }),
    field(t('approval.note_field'), note, { hint: t('approval.note_hint') }),
    msg, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    try {
      await api('POST', `${dealPath}/approvals`, { subject, note: note.value.trim() });
      await done(t('approval.asked_ok'));
    } catch (err) {
      formError(form, msg, err);
    }
  }));
  return form;
}

// answerButtons are a director's two answers to a pending request, each through its dialog.
function answerButtons(deal, a, dealPath, done) {
  const approve = h('button', { type: 'button', class: 'btn btn-primary', id: `approve-request-${a.subject}`, data: { approval: String(a.id) },
    text: t('approval.approve') });
  const back = h('button', { type: 'button', class: 'btn btn-warn', id: `send-back-request-${a.subject}`, data: { approval: String(a.id) },
    text: t('approval.send_back') });
  approve.addEventListener('click', () => answerDialog(deal, a, 'approve', dealPath, done));
  back.addEventListener('click', () => answerDialog(deal, a, 'send_back', dealPath, done));
  return h('div', { class: 'actions approval-answers' }, approve, back);
}

/**
 * answerDialog asks a director to confirm an answer, saying what will happen: an approval meets
 * the key node's item and cannot be taken back; a send-back returns the request to the KAM with
 * the comment, which it requires. deal needs its title; dealPath is the deal's
 * API path; done(text) is called once answered.
 */
export function answerDialog(deal, a, decision, dealPath, done) {
  const what = subjectText(a);
  openDialog(t(decision === 'approve' ? 'approval.approve_title' : 'approval.send_back_title', { title: deal.title }), (close) => {
    const comment = h('textarea', { name: 'comment', id: 'approval-comment', maxlength: '1000', rows: '3', required: decision === 'send_back' });
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: decision === 'approve' ? 'btn btn-primary' : 'btn btn-warn', id: 'approval-confirm',
      text: t(decision === 'approve' ? 'approval.approve_confirm' : 'approval.send_back_confirm') });
    const explain = decision === 'approve'
      ? t(`approval.approve_explain_${a.subject}`, { what, kam: nameOf(a.requested_by) })
      : t('approval.send_back_explain', { what, kam: nameOf(a.requested_by) });
    const form = h('form', { novalidate: true, id: 'approval-form', data: { decision, approval: String(a.id) } },
      h('p', { class: 'approval-what', text: explain }),
      a.note ? h('p', { class: 'approval-note' }, h('span', { class: 'muted', text: t('approval.note_label') }), h('q', { text: a.note })) : null,
      decision === 'approve' ? h('p', { class: 'notice', text: t('approval.approve_final') }) : null,
      field(t(decision === 'approve' ? 'approval.comment_optional' : 'approval.comment_required_field'), comment,
        { hint: t(decision === 'approve' ? 'approval.comment_hint_approve' : 'approval.comment_hint_send_back') }),
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      try {
        await api('POST', `${dealPath}/approvals/${a.id}/answer`, { decision, comment: comment.value.trim() });
        close();
        await done(t(decision === 'approve' ? 'approval.approved_ok' : 'approval.sent_back_ok', { title: deal.title }));
      } catch (err) {
        if (err instanceof ApiError && err.details?.field === 'comment') {
          // The server's rule, said in words: a send-back needs a comment.
          replace(msg, h('p', { class: 'alert alert-error', id: 'approval-comment-required', text: t('approval.comment_required') }));
          markField(form, 'comment', t('approval.comment_required'));
          comment.focus();
        } else if (err instanceof ApiError && err.code === 'conflict') {
          replace(msg, h('p', { class: 'alert alert-warn', text: t('approval.answered_meanwhile') }));
        } else {
          formError(form, msg, err);
        }
      }
    }));
    return form;
  });
}

/** historySection is the deal's approval history: every request and its answer, newest first. */
export function historySection(deal) {
  const items = [...(deal.approvals || [])].reverse();
  if (!items.length) return null;
  const hid = newId('apx');
  const root = h('section', { class: 'panel', id: 'approval-history', 'aria-labelledby': hid },
    h('h2', { id: hid, text: t('approval.history_title') }),
    h('ol', { class: 'approval-list' }, items.map((a) => h('li', { class: 'approval-item', data: { approval: String(a.id), status: a.status } },
      h('p', { class: 'approval-title' }, statusBadge(a), ' ', h('strong', { text: t('approval.item_title', { what: subjectText(a) }) }),
        h('span', { class: 'muted', text: ` · ${stageLabel(a.stage)}` })),
      requestLines(a)))));
  fillNames(root);
  return root;
}

/** timelineLine says a request's or an answer's timeline entry in the reader's language. */
export function timelineLine(e, deal) {
  const a = e.after && typeof e.after === 'object' ? e.after : null;
  if (!a || !a.subject) return null;
  const what = subjectText(a);
  if (e.action === 'deal.request_approval') {
    return a.note ? t('approval.tl_requested_note', { what, note: a.note }) : t('approval.tl_requested', { what });
  }
  const key = a.status === 'sent_back' ? 'approval.tl_sent_back' : 'approval.tl_approved';
  return a.comment ? t(`${key}_comment`, { what, comment: a.comment }) : t(key, { what });
}

// ---- the director review

/**
 * waitingSection is the review's approvals waiting, first on the page: the requests a KAM made
 * (the longest waiting first, as the API orders them), then what waits with nobody asking yet.
 * Cards rather than a table, so that it reads on a phone.
 */
export function waitingSection(items, accountNames, ctx) {
  const hid = newId('ap');
  const root = h('section', { class: 'panel', id: 'approvals', 'aria-labelledby': hid },
    h('h2', { id: hid }, t('review.approvals_title'), ' ', h('span', { class: 'count', text: `(${items.length})` })),
    items.length
      ? h('ul', { class: 'approval-cards' }, items.map((d) => waitingCard(d, accountNames, ctx)))
      : empty(t('review.no_approvals')));
  fillNames(root);
  return root;
}

function waitingCard(d, accountNames, ctx) {
  const r = d.request;
  const path = `/deals/${encodeURIComponent(d.id)}`;
  const done = (text) => ctx.refresh({ text });
  const what = r ? t('approval.item_title', { what: subjectText(r) })
    : d.approval === 'margin'
      ? t('review.approval_margin', { margin: formatPercent(d.margin_pct, 2), floor: formatPercent(d.floor, 2) })
      : t('review.approval_contract');
  let actions;
  if (r) {
    const approve = h('button', { type: 'button', class: 'btn btn-primary btn-small approve', data: { dealId: d.id, approval: String(r.id) },
      'aria-label': t('approval.approve_for', { title: d.title }), text: t('approval.approve') });
    const back = h('button', { type: 'button', class: 'btn btn-warn btn-small send-back', data: { dealId: d.id, approval: String(r.id) },
      'aria-label': t('approval.send_back_for', { title: d.title }), text: t('approval.send_back') });
    approve.addEventListener('click', () => answerDialog(d, r, 'approve', path, done));
    back.addEventListener('click', () => answerDialog(d, r, 'send_back', path, done));
    actions = h('div', { class: 'actions' }, approve, back);
  } else {
    // Nobody asked yet: the director may still approve at once, as before, after confirming.
    const approve = h('button', { type: 'button', class: 'btn btn-small approve approve-direct', data: { dealId: d.id, approval: d.approval },
      'aria-label': t(`review.approve_${d.approval}_for`, { title: d.title }), text: t('approval.approve_unasked') });
    approve.addEventListener('click', () => directDialog(d, what, done,
      t(d.approval === 'margin' ? 'review.approved_margin' : 'review.approved_contract', { title: d.title })));
    actions = h('div', { class: 'actions' }, approve);
  }
  return h('li', { class: ['approval-card', r ? 'is-requested' : 'is-unasked'], data: { dealId: d.id, approval: d.approval } },
    h('p', { class: 'card-account', text: accountNames.get(d.account_id) || '' }),
    h('h3', { class: 'card-title' }, h('a', { href: `/deals/${d.id}`, 'data-link': true, text: d.title })),
    h('p', { class: 'approval-what' }, h('strong', { text: what })),
    h('p', { class: 'card-meta' },
      h('span', null, t('approval.owner_prefix'), person(d.owner)),
      h('span', { text: stageLabel(d.stage) }),
      h('span', { class: 'money', text: formatMoney(d.value, d.currency, { whole: true }) })),
    r ? requestLines(r) : h('p', { class: 'muted approval-unasked', text: t('approval.not_asked', { since: formatDateTime(d.updated_at) }) }),
    actions);
}

/**
 * directDialog confirms a director's approval nobody asked for (the older commands, POST
 * .../bid/approve or .../contract/approve). d needs id, title, owner and approval (the subject);
 * done(okText) follows the approval.
 */
export function directDialog(d, what, done, okText) {
  openDialog(t('approval.approve_title', { title: d.title }), (close) => {
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'approval-confirm', text: t('approval.approve_confirm') });
    const form = h('form', { novalidate: true, id: 'approval-form', data: { decision: 'approve' } },
      h('p', { class: 'approval-what', text: t(`approval.approve_explain_${d.approval}`, { what, kam: nameOf(d.owner) }) }),
      h('p', { class: 'notice', text: t('approval.approve_final') }),
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      try {
        await api('POST', `/deals/${encodeURIComponent(d.id)}/${d.approval === 'margin' ? 'bid' : 'contract'}/approve`, {});
        close();
        await done(okText);
      } catch (err) {
        replace(msg, h('p', { class: 'alert alert-error', text: errorText(err) }));
      }
    }));
    return form;
  });
}

/** recentSection is the review's approval history: the latest requests and answers of the teams. */
export function recentSection(history) {
  const hid = newId('aph');
  const items = history.items || [];
  const root = h('section', { class: 'panel', id: 'approval-recent', 'aria-labelledby': hid },
    h('h2', { id: hid, text: t('approval.recent_title') }),
    items.length
      ? h('ol', { class: 'approval-list' }, items.map((e) => h('li', { class: 'approval-item', data: { event: e.event, dealId: e.deal_id, status: e.approval.status } },
        h('p', { class: 'approval-title' },
          h('time', { datetime: e.at, text: formatDateTime(e.at) }), ' · ',
          h('a', { href: `/deals/${e.deal_id}`, 'data-link': true, text: e.title || e.deal_id }), ' · ',
          person(e.actor), ' ', t(e.event === 'requested' ? 'approval.event_requested' : `approval.event_${e.approval.status}`)),
        h('p', { class: 'approval-what', text: t('approval.item_title', { what: subjectText(e.approval) }) }),
        e.event === 'requested' && e.approval.note ? h('p', { class: 'approval-note' }, h('q', { text: e.approval.note })) : null,
        e.event === 'answered' && e.approval.comment ? h('p', { class: 'approval-comment' }, h('q', { text: e.approval.comment })) : null)))
      : empty(t('approval.recent_empty')));
  fillNames(root);
  return root;
}
