// The deal page: where the deal stands (stage, key node as a checklist, win probability), the
// current stage's work as forms, the advance and force controls, pause/resume/close, and the
// deal's stage history and timeline.

import { api, ApiError, gateLabel, errorText } from '../api.js';
import { t, tp, locale, formatMoney, formatPercent, formatDate, formatDateTime, formatNumber, formatList } from '../i18n.js';
import { h, replace, field, checkbox, select, validate, busy, openDialog, newId } from '../dom.js';
import {
  STAGES, CURRENCIES, PROJECT_FACTORS, COMPETITION_FACTORS, FACTORS, ROLES, STANCES, FAVOURS, GRADES, ACCEPTANCE,
  nextStage, isActive, score, computeGrade, parseMoney, marginPct, today, addDays,
  stageLabel, statusLabel, roleLabel, stanceLabel, favoursLabel, factorLabel, acceptanceLabel,
  taskLabel, stepLabel,
} from '../domain.js';
import { say, sayable, gateDetail, probabilityFactor } from '../text.js';
import { badges, gradeBadge, formError, table, empty, personNames, personName, peoplePicker } from './common.js';
import { confirmAction } from './confirm.js';
import { forceDialog, movedMeanwhile } from './force.js';
import { moneyField, settleAmounts, amountOf, understood } from '../amount.js';
import { deliveryPanel, reportLine } from './delivery.js';
import { approvalPart, directDialog, historySection as approvalHistory, timelineLine as approvalLine, nameOf, loadNames } from './approvals.js';

export async function dealView(root, ctx) {
  const id = ctx.params[0];
  const path = `/deals/${encodeURIComponent(id)}`;
  const [deal, settings, history, timeline] = await Promise.all([
    api('GET', path), api('GET', '/settings'), api('GET', `${path}/history`), api('GET', `${path}/timeline?limit=100`),
    personNames(),
  ]);
  let account = null;
  try {
    account = await api('GET', `/accounts/${encodeURIComponent(deal.account_id)}`);
  } catch {
    account = null; // not visible to this user
  }
  await loadNames(); // the approvals' people, by name (approvals.js)
  // A deal that entered delivery has a delivery plan; just after the move it may not be written
  // yet, and the panel looks for it.
  let plan = null;
  if (deal.delivery_planned) {
    try {
      plan = await api('GET', `${path}/delivery`);
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'not_found') throw err;
    }
  }
  if (!ctx.alive()) return;

  const role = ctx.user.role;
  const page = {
    deal, settings, path, ctx,
    sales: role === 'kam' || role === 'director',
    director: role === 'director',
    engineer: role === 'engineer',
    active: isActive(deal),
    // run sends a command and renders the page again with a message, or returns the error.
    async run(method, sub, body, okText) {
      const out = await api(method, `${path}${sub}`, body);
      let flash = typeof okText === 'function' ? okText(out) : okText;
      if (typeof flash === 'string') flash = { text: flash };
      await ctx.refresh(flash);
      return out;
    },
  };

  const work = stageWork(page);
  replace(root,
    header(page, account),
    h('div', { class: 'deal-grid' },
      h('div', { class: 'deal-main' },
        keyNode(page),
        work,
        deal.delivery_planned ? deliveryPanel(deal, plan, ctx) : null,
        deal.stage !== 'entry' ? buyingCenter(page, false) : null,
        deal.stage !== 'proposal' && (deal.criteria?.length || ['entry', 'bid'].includes(deal.stage)) ? criteriaSection(page, false) : null,
        approvalHistory(deal),
        historySection(page, history.items),
        timelineSection(timeline.items, deal)),
      h('aside', { class: 'deal-side', 'aria-label': t('deal.side_label') },
        probabilityPanel(deal),
        lifecyclePanel(page),
        engineersPanel(page))));
}

function header(page, account) {
  const d = page.deal;
  const back = page.engineer ? ['/delivery', t('nav.delivery')] : ['/board', t('nav.board')];
  const idx = STAGES.indexOf(d.stage);
  return h('div', { class: 'deal-head' },
    h('nav', { class: 'breadcrumb', 'aria-label': t('deal.breadcrumb') },
      h('a', { href: back[0], 'data-link': true, text: back[1] }),
      account ? [h('span', { 'aria-hidden': 'true', text: ' / ' }), h('a', { href: `/accounts/${account.id}`, 'data-link': true, text: account.name })] : null),
    h('h1', { id: 'deal-title', text: d.title }),
    h('div', { class: 'badges', id: 'deal-badges' }, badges(d)),
    h('ol', { class: 'stepper', 'aria-label': t('deal.stages'), id: 'stepper', data: { stageCurrent: d.stage } },
      STAGES.map((s, i) => {
        const state = i < idx ? 'done' : i === idx ? 'current' : 'todo';
        return h('li', { class: `step step-${state}`, 'aria-current': state === 'current' ? 'step' : null, data: { stage: s } },
          h('span', { class: 'step-num', 'aria-hidden': 'true', text: state === 'done' ? '✓' : formatNumber(i + 1) }),
          h('span', { class: 'step-label', text: stageLabel(s) }),
          h('span', { class: 'visually-hidden', text: ` (${t(`deal.step_${state}`)})` }));
      })),
    h('dl', { class: 'facts' },
      fact(t('field.account_id'), account ? account.name : t('deal.unknown_account')),
      fact(t('deal.owner'), h('span', { id: 'deal-owner', data: { username: d.owner } }, personName(d.owner)), reassignButton(page)),
      fact(t('field.value'), h('span', { class: 'money', id: 'deal-value' }, formatMoney(d.value, d.currency))),
      fact(t('field.expected_close'), d.expected_close ? formatDate(d.expected_close) : t('common.none')),
      fact(t('deal.grade'), gradeBadge(d.grade)),
      fact(t('deal.status'), statusLabel(d.status)),
      fact(t('deal.days_in_stage'), tp('unit.days', d.days_in_stage)),
      fact(t('deal.stage_sla'), durationText(d.stage_sla)),
      d.stall_deadline ? fact(d.stalled ? t('deal.stalled_since') : t('deal.stall_deadline'), formatDateTime(d.stalled ? d.stalled_since : d.stall_deadline)) : null,
      d.notes ? fact(t('field.notes'), h('span', { id: 'deal-notes', class: 'deal-notes', text: d.notes })) : null),
    editButton(page));
}

function fact(label, value, extra) {
  return h('div', { class: 'fact' }, h('dt', { text: label }), h('dd', null, value, extra ? [' ', extra] : null));
}

// ---- editing the deal in place, and reassigning it

/** editButton turns the deal's header into a form for its title, value, currency, close and notes. */
function editButton(page) {
  if (!page.sales || !page.active) return null;
  const btn = h('button', { type: 'button', class: 'btn btn-small', id: 'edit-deal', text: t('dealedit.edit') });
  btn.addEventListener('click', () => {
    const head = btn.closest('.deal-head');
    head.replaceWith(editForm(page, head));
  });
  return h('div', { class: 'actions' }, btn);
}

function editForm(page, head) {
  const d = page.deal;
  const title = h('input', { name: 'title', id: 'edit-title', required: true, maxlength: '200', value: d.title });
  const value = h('input', { name: 'value', id: 'edit-value', required: true, inputmode: 'decimal', autocomplete: 'off', data: { check: 'money' }, value: d.value });
  const currency = select('currency', CURRENCIES.map((c) => ({ value: c, label: c })), d.currency, { id: 'edit-currency', required: true, disabled: Boolean(d.bid) });
  const close = h('input', { name: 'expected_close', id: 'edit-close', type: 'date', value: d.expected_close || '' });
  const notes = h('textarea', { name: 'notes', id: 'edit-notes', rows: '3', maxlength: '4000', value: d.notes || '' });
  const msg = msgBox();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'edit-save', text: t('dealedit.save') });
  const cancel = h('button', { type: 'button', class: 'btn', text: t('common.cancel') });
  const form = h('form', { class: 'deal-head deal-edit', id: 'deal-edit-form', novalidate: true },
    field(t('field.title'), title),
    h('div', { class: 'field-row' },
      field(t('field.value'), value, { hint: t('deal.value_hint'), className: 'grow' }),
      field(t('field.currency'), currency, { hint: d.bid ? t('dealedit.currency_fixed') : null })),
    field(t('field.expected_close'), close),
    field(t('field.notes'), notes),
    msg,
    h('div', { class: 'actions' }, submit, cancel));
  cancel.addEventListener('click', () => form.replaceWith(head));
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    // Only what changed is sent: the timeline then says exactly that.
    const body = {};
    if (title.value.trim() !== d.title) body.title = title.value.trim();
    if (value.value.trim() !== String(d.value)) body.value = value.value.trim();
    if (!d.bid && currency.value !== d.currency) body.currency = currency.value;
    if (close.value && close.value !== (d.expected_close || '')) body.expected_close = close.value;
    if (notes.value.trim() !== (d.notes || '')) body.notes = notes.value.trim();
    if (!Object.keys(body).length) {
      form.replaceWith(head);
      return;
    }
    try {
      await page.run('PATCH', '', body, { text: t('dealedit.saved') });
    } catch (err) {
      formError(form, msg, err);
    }
  }));
  setTimeout(() => title.focus(), 0);
  return form;
}

/** reassignButton: a director gives the deal to another KAM of its team, chosen by name. */
function reassignButton(page) {
  if (!page.director || !page.active) return null;
  const btn = h('button', { type: 'button', class: 'btn btn-small', id: 'reassign', text: t('dealedit.reassign') });
  btn.addEventListener('click', () => reassignDialog(page));
  return btn;
}

function reassignDialog(page) {
  openDialog(t('dealedit.reassign_title'), (close) => {
    const picker = peoplePicker(page.path, 'owner', { admin: page.ctx.user.role === 'admin', id: 'reassign-picker' });
    const reason = h('textarea', { name: 'reason', id: 'reassign-reason', maxlength: '1000', rows: '2' });
    const msg = msgBox();
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'reassign-confirm', text: t('dealedit.reassign_confirm') });
    const form = h('form', { novalidate: true, id: 'reassign-form' },
      h('p', { class: 'hint', text: t('dealedit.reassign_hint', { owner: personName(page.deal.owner) }) }),
      picker.el, field(t('field.reason'), reason), msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      const [owner] = picker.value();
      if (!owner) {
        replace(msg, h('p', { class: 'alert alert-error', text: t('dealedit.choose_owner') }));
        return;
      }
      const body = { owner };
      if (reason.value.trim()) body.reason = reason.value.trim();
      try {
        await api('POST', `${page.path}/reassign`, body);
        close();
        await page.ctx.refresh({ text: t('dealedit.reassigned', { name: personName(owner) }) });
      } catch (err) {
        formError(form, msg, err);
      }
    }));
    return form;
  });
}

function durationText(s) {
  const m = /^(\d+)d$/.exec(s || '');
  return m ? tp('unit.days', Number(m[1])) : s || t('common.none');
}

// ---- the key node and the advance / force controls

function keyNode(page) {
  const d = page.deal;
  const next = nextStage(d.stage);
  const hid = newId('kn');
  const result = h('div', { id: 'advance-result', class: 'advance-result', role: 'alert', 'aria-live': 'assertive' });
  const actions = [];
  if (page.sales && page.active && next) {
    const adv = h('button', { type: 'button', class: 'btn btn-primary', id: 'advance', text: t('deal.advance_to', { stage: stageLabel(next) }) });
    adv.addEventListener('click', busy(adv, async () => {
      replace(result);
      try {
        // from: a repeated click (or a retry) after the move is refused, never a second move.
        await page.run('POST', '/advance', { from: d.stage }, { text: t('deal.advanced', { stage: stageLabel(next) }) });
      } catch (err) {
        showRefusal(result, err, d, next);
      }
    }));
    actions.push(adv);
    if (page.director && !d.gate.met && next !== 'delivery') {
      const force = h('button', { type: 'button', class: 'btn btn-warn', id: 'force', text: t('deal.force_to', { stage: stageLabel(next) }) });
      force.addEventListener('click', () => forceDialog({
        dealPath: page.path, from: d.stage, next, missing: d.gate.items.filter((i) => !i.met).map((i) => i.key),
        probability: d.win_probability, onForced: (out, before, reason) => page.ctx.refresh({ node: forcedNote(out, before, reason) }),
      }));
      actions.push(force);
    }
  }
  return h('section', { class: 'panel keynode', id: 'keynode', 'aria-labelledby': hid, data: { met: String(d.gate.met) } },
    h('h2', { id: hid, text: t('deal.keynode_title', { stage: stageLabel(d.stage) }) }),
    h('ul', { class: 'checklist' },
      d.gate.items.map((it) => h('li', { class: ['check', it.met ? 'is-met' : 'is-unmet'], data: { key: it.key, met: String(it.met) } },
        h('span', { class: 'check-icon', 'aria-hidden': 'true', text: it.met ? '✓' : '✗' }),
        h('span', { class: 'check-body' },
          h('span', { class: 'check-label', text: gateLabel(it.key) }), ' ',
          h('span', { class: ['check-state', it.met ? 'state-met' : 'state-unmet'], text: it.met ? t('gate.state_met') : t('gate.state_unmet') }),
          h('span', { class: 'check-detail', text: gateDetail(it) }))))),
    h('p', { class: 'keynode-status' },
      d.gate.met ? (next ? t('deal.gate_met_next', { stage: stageLabel(next) }) : t('deal.gate_met_last')) : t('deal.gate_unmet')),
    actions.length ? h('div', { class: 'actions' }, actions) : null,
    result);
}

/** showRefusal explains a refused move: for an unmet key node, exactly which items are missing. */
function showRefusal(box, err, deal, next) {
  if (err instanceof ApiError && err.code === 'gate_not_met' && Array.isArray(err.details.missing)) {
    replace(box, h('div', { class: 'alert alert-error', id: 'gate-missing' },
      h('p', { class: 'alert-title', text: t('deal.cannot_advance', { stage: stageLabel(next), current: stageLabel(deal.stage) }) }),
      h('p', { text: t('deal.missing_items') }),
      h('ul', { class: 'missing-list' }, err.details.missing.map((k) => h('li', { data: { missing: k } }, gateLabel(k))))));
  } else if (movedMeanwhile(err)) {
    replace(box, h('p', { class: 'alert alert-warn', id: 'moved-meanwhile', text: t('deal.moved_meanwhile', { stage: stageLabel(err.details.stage) }) }));
  } else {
    replace(box, h('p', { class: 'alert alert-error', text: errorText(err) }));
  }
}

function forcedNote(out, before, reason) {
  return h('div', { id: 'force-result' },
    h('p', { class: 'alert-title', text: t('deal.forced_to', { stage: stageLabel(out.stage) }) }),
    h('p', { text: t('deal.forced_reason', { reason }) }),
    h('p', { class: 'prob-change' },
      t('deal.prob_change', { before: formatPercent(before), after: formatPercent(out.win_probability) })),
    h('ul', { class: 'factors' }, out.probability.factors.map((f) => factorItem(out, f))));
}

function factorItem(deal, f) {
  const eff = f.key === 'base' || f.key === 'outcome' ? formatPercent(f.effect) : t('prob.points', { n: formatNumber(f.effect, { signDisplay: 'exceptZero' }) });
  return h('li', { class: ['factor', `factor-${f.key}`], data: { factor: f.key } },
    h('span', { class: 'factor-label', text: probabilityFactor(f) }), ' ', h('span', { class: 'factor-effect', text: eff }));
}

function probabilityPanel(deal) {
  const hid = newId('pp');
  return h('section', { class: 'panel', id: 'probability', 'aria-labelledby': hid },
    h('h2', { id: hid, text: t('deal.win_probability') }),
    h('p', { class: 'big-number', id: 'win-probability', text: formatPercent(deal.win_probability) }),
    h('ul', { class: 'factors' }, deal.probability.factors.map((f) => factorItem(deal, f))));
}

// ---- the stage's work

function stageWork(page) {
  const d = page.deal;
  const hid = newId('sw');
  let body;
  if (!page.active) {
    body = closedNote(d, page.settings);
  } else if (page.engineer && d.stage !== 'delivery') {
    body = empty(t('deal.engineer_delivery_only'));
  } else {
    switch (d.stage) {
      case 'development': body = assessmentForm(page); break;
      case 'entry': body = buyingCenter(page, true); break;
      case 'proposal': body = [criteriaSection(page, true), proposalForm(page)]; break;
      case 'bid': body = bidForm(page); break;
      case 'negotiation': body = contractPanel(page); break;
      case 'delivery': body = acceptancePanel(d, page.ctx, (text) => page.ctx.refresh({ text })); break;
      default: body = null;
    }
  }
  return h('section', { class: 'panel stage-work', id: 'stage-work', 'aria-labelledby': hid },
    h('h2', { id: hid, text: t('deal.work_title', { stage: stageLabel(d.stage) }) }),
    h('p', { class: 'lead', text: t(`stage.${d.stage}.work`) }),
    body);
}

// lossReasonLabel is a loss reason's label in the UI's language, from the settings' list.
export function lossReasonLabel(code, settings) {
  if (code === 'other') return t('forms.reason_other');
  const r = (settings?.loss_reasons || []).find((x) => x.code === code);
  return r?.labels?.[locale() === 'zh-CN' ? 'zh-CN' : 'en'] || code;
}

function closedNote(d, settings) {
  const c = d.closing;
  return h('div', { class: 'closed-note' },
    h('p', { text: t('deal.closed_note', { status: statusLabel(d.status) }) }),
    c?.reason_code ? h('p', { class: 'closing-reason-code', text: t('deal.closing_reason_code', { reason: lossReasonLabel(c.reason_code, settings) }) }) : null,
    c ? h('p', { text: t('deal.closing_reason', { reason: c.reason, who: personName(c.by), date: formatDateTime(c.at) }) }) : null,
    c && c.competitor ? h('p', { text: t('deal.closing_competitor', { competitor: c.competitor }) }) : null);
}

function msgBox() {
  return h('div', { class: 'form-msg', role: 'alert' });
}

function scoreOptions() {
  return [1, 2, 3, 4, 5].map((n) => ({ value: n, label: t(`assess.score_${n}`, { n: formatNumber(n) }) }));
}

function assessmentForm(page) {
  const d = page.deal;
  const model = page.settings.assessment;
  const prev = d.assessment;
  const scoreField = (f) => field(factorLabel(f),
    select(`scores.${f}`, scoreOptions(), prev?.scores?.[f] ?? 3, { id: `score-${f}`, required: true }),
    { hint: t(`factor.${f}.hint`) });
  const expected = h('input', { type: 'date', name: 'expected_close', id: 'assess-close', required: true, value: prev?.expected_close || d.expected_close || '' });
  const likelihood = h('input', { type: 'number', name: 'likelihood', id: 'assess-likelihood', required: true, min: '0', max: '100', step: '1', inputmode: 'numeric', value: prev ? String(prev.likelihood) : '' });
  const grade = select('grade', [{ value: '', label: t('assess.grade_computed') }, ...GRADES.map((g) => ({ value: g, label: `${t('deal.grade_short', { grade: g })} — ${t(`grade.${g}.meaning`)}` }))],
    prev && !prev.grade_computed ? prev.grade : '', { id: 'assess-grade' });
  const live = h('output', { class: 'live-score', id: 'assessment-live', 'aria-live': 'polite' });
  const msg = msgBox();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'save-assessment', text: t('assess.save') });
  const form = h('form', { id: 'assessment-form', novalidate: true },
    h('fieldset', { class: 'factors-grid' }, h('legend', { text: t('assess.project_factors') }), PROJECT_FACTORS.map(scoreField)),
    h('fieldset', { class: 'factors-grid' }, h('legend', { text: t('assess.competition_factors') }), COMPETITION_FACTORS.map(scoreField)),
    h('div', { class: 'field-row' },
      field(t('field.expected_close'), expected),
      field(t('field.likelihood'), likelihood, { hint: t('assess.likelihood_hint') }),
      field(t('field.grade'), grade, { hint: t('assess.grade_hint') })),
    live,
    prev ? h('p', { class: 'recorded', id: 'assessment-result' },
      t('assess.recorded', {
        score: formatNumber(prev.score, { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
        verdict: prev.passed ? t('assess.passed') : t('assess.failed'),
        grade: prev.grade, who: personName(prev.assessed_by), date: formatDateTime(prev.assessed_at),
      })) : null,
    msg,
    page.sales ? h('div', { class: 'actions' }, submit) : null);
  const update = () => {
    const scores = {};
    for (const f of FACTORS) scores[f] = Number(form.elements[`scores.${f}`].value);
    const s = score(model.weights, scores);
    const pass = s >= model.threshold;
    const lk = likelihood.value === '' ? null : Number(likelihood.value);
    const g = grade.value || (expected.value && lk !== null ? computeGrade(expected.value, lk) : null);
    replace(live,
      h('span', { class: ['live-score-value', pass ? 'is-pass' : 'is-fail'], id: 'live-score', data: { score: String(s), pass: String(pass) } },
        t('assess.live_score', {
          score: formatNumber(s, { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
          threshold: formatNumber(model.threshold, { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
        }), ' ',
        h('strong', { text: pass ? t('assess.passes') : t('assess.fails') })),
      h('span', { class: 'live-grade', id: 'live-grade' },
        g ? t(grade.value ? 'assess.live_grade_set' : 'assess.live_grade', { grade: g, meaning: t(`grade.${g}.meaning`) }) : t('assess.live_grade_unknown')));
  };
  form.addEventListener('input', update);
  form.addEventListener('change', update);
  update();
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    const scores = {};
    for (const f of FACTORS) scores[f] = Number(form.elements[`scores.${f}`].value);
    const body = { scores, expected_close: expected.value, likelihood: Number(likelihood.value) };
    if (grade.value) body.grade = grade.value;
    try {
      await page.run('PUT', '/assessment', body, (out) => ({
        text: t('assess.saved', {
          score: formatNumber(out.assessment.score, { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
          verdict: out.assessment.passed ? t('assess.passed') : t('assess.failed'),
          grade: out.grade,
        }),
      }));
    } catch (err) {
      formError(form, msg, err);
    }
  }));
  return form;
}

function buyingCenter(page, asWork) {
  const d = page.deal;
  const people = d.stakeholders || [];
  const hid = newId('bc');
  const editable = page.sales && page.active;
  const rows = people.map((p) => h('tr', { class: p.stale ? 'is-stale' : null, data: { person: p.name, contactId: p.contact_id || null, stale: p.stale ? 'true' : null } },
    h('th', { scope: 'row' }, p.name, p.stale ? [' ', staleMark(p)] : null),
    h('td', { text: p.title || '' }),
    h('td', null, h('span', { class: ['role', `role-${p.role}`], text: roleLabel(p.role) })),
    h('td', null, stanceTag(p.stance)),
    h('td', { text: p.engaged ? t('common.yes') : t('common.no') }),
    h('td', { text: p.influence ? formatNumber(p.influence) : '' }),
    h('td', { text: p.notes || '' }),
    editable && p.contact_id ? h('td', { class: 'nowrap' },
      h('button', { type: 'button', class: 'btn btn-small edit-person', 'aria-label': t('bc.edit_who', { name: p.name }), text: t('bc.edit'), onclick: () => stakeholderEditDialog(page, p) }), ' ',
      h('button', { type: 'button', class: 'btn btn-small btn-danger remove-person', 'aria-label': t('bc.remove_who', { name: p.name }), text: t('bc.remove'), onclick: () => removeStakeholder(page, p) })) : (editable ? h('td') : null)));
  const heads = [t('field.name'), t('field.person_title'), t('field.role'), t('field.stance'), t('field.engaged'), t('field.influence'), t('field.notes')];
  if (editable) heads.push(t('common.actions'));
  const content = [
    people.length ? table(null, heads, rows, { className: 'stakeholders' }) : empty(t('bc.empty')),
    h('div', { id: 'bc-result', role: 'alert', 'aria-live': 'assertive' }),
    editable ? stakeholderForm(page) : null,
  ];
  if (asWork) return h('div', { id: 'buying-center' }, content);
  return h('section', { class: 'panel', id: 'buying-center', 'aria-labelledby': hid },
    h('h2', { id: hid, text: t('bc.title') }),
    people.length || !editable ? content : h('details', null, h('summary', { text: t('bc.add_person') }), content));
}

// staleMark says that there has been no contact with a stakeholder for too long (since when): a
// stale insider or decision maker no longer counts toward the entry stage's key node.
function staleMark(p) {
  const days = p.stale_since ? Math.floor((Date.now() - Date.parse(p.stale_since)) / 86400000) : NaN;
  return h('span', { class: 'badge badge-stale', data: { badge: 'stale' } },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⌛' }),
    Number.isFinite(days) && days > 0 ? t('contact.stale_days', { days: tp('unit.days', days) }) : t('bc.stale'));
}

export function stanceTag(s) {
  const icon = { supporter: '+', neutral: '=', opponent: '−' }[s] || '';
  return h('span', { class: ['stance', `stance-${s}`] }, h('span', { 'aria-hidden': 'true', class: 'stance-icon', text: icon }), ' ', stanceLabel(s));
}

// partFields are the controls of a stakeholder's part on the deal (role, stance, influence,
// engagement, notes), filled with p's; body() reads them.
function partFields(p, prefix) {
  const role = select('role', ROLES.map((r) => ({ value: r, label: roleLabel(r) })), p.role || 'decision_maker', { id: `${prefix}-role`, required: true });
  const stance = select('stance', STANCES.map((s) => ({ value: s, label: stanceLabel(s) })), p.stance || 'neutral', { id: `${prefix}-stance`, required: true });
  const influence = select('influence', [{ value: '', label: t('common.none') }, ...[1, 2, 3, 4, 5].map((n) => ({ value: n, label: formatNumber(n) }))], p.influence || '', { id: `${prefix}-influence` });
  const engaged = h('input', { type: 'checkbox', name: 'engaged', id: `${prefix}-engaged`, checked: !!p.engaged });
  const notes = h('textarea', { name: 'notes', id: `${prefix}-notes`, rows: '2', maxlength: '4000', value: p.notes || '' });
  return {
    nodes: [
      h('div', { class: 'field-row' }, field(t('field.role'), role), field(t('field.stance'), stance), field(t('field.influence'), influence, { hint: t('bc.influence_hint') })),
      checkbox(t('bc.engaged_label'), engaged),
      field(t('field.notes'), notes),
    ],
    body() {
      const b = { role: role.value, stance: stance.value, engaged: engaged.checked };
      if (influence.value) b.influence = Number(influence.value);
      if (notes.value.trim()) b.notes = notes.value.trim();
      return b;
    },
  };
}

// stakeholderForm records a stakeholder: one of the account's contacts not yet on the deal, or a
// new person, whom the server makes the account's contact.
function stakeholderForm(page) {
  const d = page.deal;
  const onDeal = new Set((d.stakeholders || []).map((p) => p.contact_id).filter(Boolean));
  const who = h('select', { name: 'contact_id', id: 'person-contact' }, h('option', { value: '', text: t('bc.new_person') }));
  const name = h('input', { name: 'name', id: 'person-name', required: true, maxlength: '200' });
  const title = h('input', { name: 'title', id: 'person-title', maxlength: '200' });
  const newPart = h('div', { class: 'field-row', id: 'person-new' }, field(t('field.name'), name), field(t('field.person_title'), title));
  const part = partFields({}, 'person');
  const msg = msgBox();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'save-person', text: t('bc.save') });
  const contacts = new Map();
  const pick = () => {
    const c = contacts.get(who.value);
    newPart.hidden = !!c;
    name.required = !c;
    name.disabled = title.disabled = !!c;
  };
  who.addEventListener('change', pick);
  const form = h('form', { id: 'stakeholder-form', class: 'subform', novalidate: true },
    h('h3', { text: t('bc.add_person') }),
    h('p', { class: 'hint', text: t('bc.hint') }),
    field(t('bc.who'), who, { hint: t('bc.who_hint') }),
    newPart,
    part.nodes,
    msg,
    h('div', { class: 'actions' }, submit));
  // The account's contacts not yet on the deal, by name and title.
  api('GET', `/accounts/${encodeURIComponent(d.account_id)}/contacts`).then((out) => {
    for (const c of out.items || []) {
      if (onDeal.has(c.id) || (c.stakeholder_on || []).some((s) => s.deal_id === d.id)) continue;
      contacts.set(c.id, c);
      who.append(h('option', { value: c.id, text: c.title ? `${c.name} · ${c.title}` : c.name }));
    }
  }).catch(() => {});
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    const c = contacts.get(who.value);
    const body = part.body();
    if (c) {
      body.contact_id = c.id;
    } else {
      body.name = name.value.trim();
      if (title.value.trim()) body.title = title.value.trim();
    }
    try {
      await page.run('POST', '/stakeholders', body, { text: t('bc.saved', { name: c ? c.name : body.name }) });
    } catch (err) {
      formError(form, msg, err);
    }
  }));
  return form;
}

// gateDepends explains a buying-center change refused because a key node the deal has passed
// rests on the person: which stage's, and what would be missing.
function gateDepends(err, p) {
  return h('div', { class: 'alert alert-error', id: 'gate-depends' },
    h('p', { class: 'alert-title', text: t('bc.gate_depends', { name: p.name, stage: stageLabel(err.details.stage) }) }),
    h('p', { text: t('bc.would_miss') }),
    h('ul', { class: 'missing-list' }, (err.details.missing || []).map((k) => h('li', { data: { missing: k } }, gateLabel(k)))));
}

function isGateDepends(err) {
  return err instanceof ApiError && err.code === 'gate_depends';
}

// refusedChange shows a gate_depends refusal in box; a director is offered to force the change
// with a reason (send(override) repeats it), others are told a director must.
function refusedChange(page, box, err, p, send, okText) {
  const parts = [gateDepends(err, p)];
  if (page.director) {
    const force = h('button', { type: 'button', class: 'btn btn-warn', id: 'bc-force', text: t('bc.force') });
    force.addEventListener('click', () => forceChangeDialog(page, err, p, send, okText));
    parts.push(h('div', { class: 'actions' }, force));
  } else {
    parts.push(h('p', { class: 'hint', id: 'bc-director-must', text: t('bc.director_must') }));
  }
  replace(box, parts);
}

function forceChangeDialog(page, err, p, send, okText) {
  openDialog(t('bc.force_title', { name: p.name }), (close) => {
    const reason = h('textarea', { name: 'reason', id: 'bc-force-reason', required: true, maxlength: '1000', rows: '3' });
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-warn', id: 'bc-force-confirm', text: t('bc.force_confirm') });
    const form = h('form', { novalidate: true, id: 'bc-force-form' },
      gateDepends(err, p),
      h('p', { text: t('bc.force_explain') }),
      field(t('field.reason'), reason, { hint: t('deal.force_reason_hint') }),
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      try {
        await send({ force: true, reason: reason.value.trim() });
        close();
        await page.ctx.refresh({ text: okText });
      } catch (e) {
        formError(form, msg, e);
      }
    }));
    return form;
  });
}

function stakeholderEditDialog(page, p) {
  const path = `${page.path}/stakeholders/${encodeURIComponent(p.contact_id)}`;
  openDialog(t('bc.edit_who', { name: p.name }), (close) => {
    const part = partFields(p, 'edit-person');
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'edit-person-save', text: t('common.save') });
    const form = h('form', { novalidate: true, id: 'edit-person-form' }, part.nodes, msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    const okText = t('bc.edited', { name: p.name });
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      const body = { ...part.body(), title: p.title || '' };
      const send = (override) => api('PUT', path, override ? { ...body, override } : body);
      try {
        await send();
        close();
        await page.ctx.refresh({ text: okText });
      } catch (err) {
        if (isGateDepends(err)) {
          close();
          refusedChange(page, document.getElementById('bc-result'), err, p, send, okText);
        } else formError(form, msg, err);
      }
    }));
    return form;
  });
}

function removeStakeholder(page, p) {
  const path = `${page.path}/stakeholders/${encodeURIComponent(p.contact_id)}/remove`;
  const send = (override) => api('POST', path, override ? { override } : {});
  const okText = t('bc.removed', { name: p.name });
  let refused = null;
  confirmAction({
    title: t('bc.remove_who', { name: p.name }),
    what: t('bc.remove_what', { name: p.name }),
    confirmLabel: t('bc.remove'),
    async run() {
      try {
        await send();
      } catch (err) {
        if (!isGateDepends(err)) throw err;
        refused = err;
      }
    },
    async done() {
      if (refused) refusedChange(page, document.getElementById('bc-result'), refused, p, send, okText);
      else await page.ctx.refresh({ text: okText });
    },
  });
}

function criteriaSection(page, asWork) {
  const d = page.deal;
  const editable = page.sales && page.active && ['entry', 'proposal', 'bid'].includes(d.stage);
  const hid = newId('cr');
  let content;
  if (editable) {
    content = criteriaEditor(page);
  } else {
    const list = d.criteria || [];
    content = list.length
      ? table(null, [t('field.criterion'), t('field.favours'), t('field.notes')],
        list.map((c) => h('tr', null, h('th', { scope: 'row', text: c.name }), h('td', null, favoursTag(c.favours)), h('td', { text: c.notes || '' }))))
      : empty(t('criteria.empty'));
  }
  if (asWork) return h('div', { class: 'subsection' }, h('h3', { id: hid, text: t('criteria.title') }), content);
  return h('section', { class: 'panel', id: 'criteria', 'aria-labelledby': hid }, h('h2', { id: hid, text: t('criteria.title') }), content);
}

function favoursTag(f) {
  const icon = { us: '+', neutral: '=', competitor: '−' }[f] || '';
  return h('span', { class: ['stance', `favours-${f}`] }, h('span', { 'aria-hidden': 'true', class: 'stance-icon', text: icon }), ' ', favoursLabel(f));
}

function criteriaEditor(page) {
  const rowsEl = h('ol', { class: 'criteria-rows' });
  const balance = h('output', { class: 'live-score', id: 'criteria-balance', 'aria-live': 'polite' });
  const addRow = (c = { name: '', favours: 'neutral', notes: '' }) => {
    const n = rowsEl.children.length + 1;
    const name = h('input', { name: 'criterion', required: true, maxlength: '200', value: c.name });
    const fav = select('favours', FAVOURS.map((f) => ({ value: f, label: favoursLabel(f) })), c.favours);
    const notes = h('input', { name: 'criterion_notes', maxlength: '4000', value: c.notes || '' });
    const remove = h('button', { type: 'button', class: 'btn btn-small btn-quiet', text: t('criteria.remove'), 'aria-label': t('criteria.remove_n', { n }) });
    const li = h('li', { class: 'criteria-row' },
      field(t('criteria.name_n', { n }), name, { className: 'grow' }),
      field(t('criteria.favours_n', { n }), fav),
      field(t('criteria.notes_n', { n }), notes, { className: 'grow' }),
      h('div', { class: 'field-aside' }, remove));
    remove.addEventListener('click', () => {
      li.remove();
      update();
      addBtn.focus();
    });
    rowsEl.append(li);
    return name;
  };
  const update = () => {
    const favs = [...rowsEl.querySelectorAll('select[name=favours]')].map((s) => s.value);
    const us = favs.filter((f) => f === 'us').length;
    const them = favs.filter((f) => f === 'competitor').length;
    replace(balance, t('gatedetail.criteria', { us, neutral: favs.length - us - them, them }), ' — ',
      h('strong', { text: us > them ? t('criteria.favourable') : t('criteria.not_favourable') }));
  };
  const addBtn = h('button', { type: 'button', class: 'btn btn-small', id: 'add-criterion', text: t('criteria.add') });
  addBtn.addEventListener('click', () => {
    addRow().focus();
    update();
  });
  const list = page.deal.criteria?.length ? page.deal.criteria : [{ name: '', favours: 'neutral' }];
  for (const c of list) addRow(c);
  const msg = msgBox();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'save-criteria', text: t('criteria.save') });
  const form = h('form', { id: 'criteria-form', novalidate: true },
    h('p', { class: 'hint', text: t('criteria.hint') }), rowsEl, h('div', { class: 'actions' }, addBtn), balance, msg, h('div', { class: 'actions' }, submit));
  form.addEventListener('input', update);
  form.addEventListener('change', update);
  update();
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    const criteria = [...rowsEl.children].map((li) => {
      const c = { name: li.querySelector('[name=criterion]').value.trim(), favours: li.querySelector('[name=favours]').value };
      const notes = li.querySelector('[name=criterion_notes]').value.trim();
      if (notes) c.notes = notes;
      return c;
    });
    if (!criteria.length) {
      replace(msg, h('p', { class: 'alert alert-error', text: t('criteria.none') }));
      return;
    }
    try {
      await page.run('PUT', '/criteria', { criteria }, { text: t('criteria.saved') });
    } catch (err) {
      formError(form, msg, err);
    }
  }));
  return form;
}

function proposalForm(page) {
  const p = page.deal.proposal;
  const on = h('input', { type: 'date', name: 'submitted_on', id: 'proposal-date', required: true, value: p?.submitted_on || today() });
  const summary = h('textarea', { name: 'summary', id: 'proposal-summary', rows: '3', maxlength: '4000', value: p?.summary || '' });
  const msg = msgBox();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'save-proposal', text: t('proposal.save') });
  const form = h('form', { id: 'proposal-form', class: 'subform', novalidate: true },
    h('h3', { text: t('proposal.title') }),
    p ? h('p', { class: 'recorded', text: t('proposal.recorded', { date: formatDate(p.submitted_on), who: personName(p.recorded_by) }) }) : null,
    field(t('field.submitted_on'), on), field(t('field.summary'), summary), msg, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    const body = { submitted_on: on.value };
    if (summary.value.trim()) body.summary = summary.value.trim();
    try {
      await page.run('POST', '/proposal', body, { text: t('proposal.saved') });
    } catch (err) {
      formError(form, msg, err);
    }
  }));
  return form;
}

function bidForm(page) {
  const d = page.deal;
  const b = d.bid;
  const floor = b ? b.floor : page.settings.margin_floor;
  const cost = h('input', { name: 'cost', id: 'bid-cost', required: true, inputmode: 'decimal', autocomplete: 'off', data: { check: 'money' }, value: b?.cost || '' });
  const price = h('input', { name: 'price', id: 'bid-price', required: true, inputmode: 'decimal', autocomplete: 'off', data: { check: 'money' }, value: b?.price || d.value || '' });
  const deadline = h('input', { type: 'date', name: 'deadline', id: 'bid-deadline', value: b?.deadline || '' });
  const submitted = h('input', { type: 'checkbox', name: 'submitted', id: 'bid-submitted', checked: b?.submitted });
  const live = h('output', { class: 'live-score', id: 'margin-live', 'aria-live': 'polite' });
  const msg = msgBox();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'save-bid', text: t('bid.save') });
  const [, costSeen] = moneyField(cost, d.currency);
  const [, priceSeen] = moneyField(price, d.currency);
  const update = () => {
    const c = parseMoney(amountOf(cost));
    const p = parseMoney(amountOf(price));
    if (c === null || p === null || p <= 0) {
      replace(live, t('bid.live_unknown'));
      return;
    }
    const m = marginPct(c, p);
    const below = m < floor;
    replace(live, h('span', { class: ['live-score-value', below ? 'is-fail' : 'is-pass'], id: 'live-margin', data: { margin: String(m) } },
      t('bid.live_margin', { margin: formatPercent(m, 2), floor: formatPercent(floor, 2) }), ' ',
      h('strong', { text: below ? t('bid.below_floor') : t('bid.above_floor') })));
  };
  const form = h('form', { id: 'bid-form', novalidate: true },
    h('div', { class: 'field-row' },
      understood(field(t('field.cost'), cost, { hint: t('bid.money_hint', { currency: d.currency }) }), costSeen),
      understood(field(t('field.price'), price, { hint: t('bid.money_hint', { currency: d.currency }) }), priceSeen),
      field(t('field.deadline'), deadline)),
    checkbox(t('bid.submitted_label'), submitted),
    live, msg,
    page.sales ? h('div', { class: 'actions' }, submit) : null);
  form.addEventListener('input', update);
  form.addEventListener('amount', update);
  update();
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    await settleAmounts(form);
    if (!validate(form)) return;
    const body = { cost: amountOf(cost), price: amountOf(price), submitted: submitted.checked };
    if (deadline.value) body.deadline = deadline.value;
    try {
      await page.run('PUT', '/bid', body, (out) => ({ text: t('bid.saved', { margin: formatPercent(out.bid.margin_pct, 2) }) }));
    } catch (err) {
      formError(form, msg, err);
    }
  }));
  const parts = [form];
  if (b && b.margin_pct < b.floor) {
    if (b.margin_approved_by) {
      parts.push(h('p', { class: 'recorded', text: t('bid.approved_by', { who: nameOf(b.margin_approved_by), date: formatDateTime(b.margin_approved_at) }) }));
    } else {
      if (!pendingApproval(d, 'margin')) parts.push(h('p', { class: 'notice', text: t('bid.needs_approval') }));
      parts.push(approvalPart(d, 'margin', page.path, (text) => page.ctx.refresh({ text })));
      if (page.director && !pendingApproval(d, 'margin')) {
        parts.push(approveButton(page, 'approve-margin', t('bid.approve'), 'margin',
          t('review.approval_margin', { margin: formatPercent(b.margin_pct, 2), floor: formatPercent(b.floor, 2) }), t('bid.approved')));
      }
    }
  }
  return parts;
}

// pendingApproval is the deal's request on subject waiting for a director, if any (approvals.js).
function pendingApproval(d, subject) {
  return (d.approvals || []).find((a) => a.subject === subject && a.status === 'pending');
}

// approveButton is a director's approval nobody asked for, confirmed first (approvals.js).
function approveButton(page, id, label, subject, what, okText) {
  const d = page.deal;
  const btn = h('button', { type: 'button', class: 'btn btn-primary', id, text: label });
  btn.addEventListener('click', () => directDialog({ ...d, approval: subject }, what, (text) => page.ctx.refresh({ text }), okText));
  return h('div', { class: 'approve' }, h('div', { class: 'actions' }, btn));
}

function contractPanel(page) {
  const d = page.deal;
  const c = d.contract || {};
  const parts = [];
  parts.push(h('p', { class: 'recorded', id: 'contract-approval' },
    c.approved_by ? t('contract.approved_by', { who: nameOf(c.approved_by), date: formatDateTime(c.approved_at) }) : t('contract.not_approved')));
  if (!c.approved_by && d.status === 'open') parts.push(approvalPart(d, 'contract', page.path, (text) => page.ctx.refresh({ text })));
  if (!c.approved_by && page.director && !pendingApproval(d, 'contract')) {
    parts.push(approveButton(page, 'approve-contract', t('contract.approve'), 'contract', t('review.approval_contract'), t('contract.approved')));
  }
  if (c.signed_on) {
    parts.push(h('p', { class: 'recorded', text: t('contract.signed', { date: formatDate(c.signed_on), who: personName(c.signed_by) }) }));
  } else if (page.sales) {
    const on = h('input', { type: 'date', name: 'signed_on', id: 'sign-date', required: true, value: today() });
    const msg = msgBox();
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'sign-contract', text: t('contract.sign') });
    const form = h('form', { id: 'sign-form', class: 'subform', novalidate: true },
      h('h3', { text: t('contract.sign_title') }),
      c.approved_by ? null : h('p', { class: 'notice', text: t('contract.sign_needs_approval') }),
      field(t('field.signed_on'), on), msg, h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      try {
        await page.run('POST', '/contract/sign', { signed_on: on.value }, { text: t('contract.signed_ok') });
      } catch (err) {
        formError(form, msg, err);
      }
    }));
    parts.push(form);
  }
  return parts;
}

/**
 * acceptancePanel is the delivery work: the engineering acceptance result and the project close.
 * The engineer view shows it too. done(text) is called after a change.
 */
export function acceptancePanel(deal, ctx, done) {
  const path = `/deals/${encodeURIComponent(deal.id)}`;
  const acc = deal.acceptance;
  const state = h('dl', { class: 'facts delivery-state', data: { dealId: deal.id } },
    h('div', { class: 'fact' }, h('dt', { text: t('delivery.acceptance') }),
      h('dd', { class: 'acceptance-state', data: { state: acc ? acc.result : 'none' } },
        acc ? t('delivery.acceptance_recorded', { result: acceptanceLabel(acc.result), who: personName(acc.recorded_by), date: formatDateTime(acc.recorded_at) }) : t('delivery.acceptance_none'))),
    acc && acc.notes ? h('div', { class: 'fact' }, h('dt', { text: t('field.notes') }), h('dd', { text: acc.notes })) : null,
    h('div', { class: 'fact' }, h('dt', { text: t('delivery.project') }),
      h('dd', { class: 'project-state', data: { state: deal.status } }, deal.status === 'delivered' ? t('delivery.project_closed') : t('delivery.project_open'))));
  if (!isActive(deal)) return state;
  // A deal that entered delivery with a delivery plan has its acceptance recorded by the plan's
  // acceptance test (the API refuses it here); the form is for deals from before the plans.
  const form = deal.delivery_planned
    ? h('p', { class: 'notice plan-records-acceptance', text: t('delivery.plan_records') })
    : acceptanceForm(deal, path, acc, done);
  const closeMsg = msgBox();
  const closeBtn = h('button', { type: 'button', class: 'btn close-project', text: t('delivery.close_project') });
  closeBtn.addEventListener('click', () => {
    replace(closeMsg);
    confirmAction({
      title: t('delivery.close_project'),
      what: t('forms.close_project_what', { title: deal.title }),
      confirmLabel: t('delivery.close_project'),
      run: () => api('POST', `${path}/project/close`, {}),
      done: () => done(t('delivery.closed', { title: deal.title })),
    });
  });
  const openPunch = acc?.open_punch_items || 0;
  let closeBox;
  if (!deal.gate.met) closeBox = h('p', { class: 'notice', text: t('delivery.close_needs_acceptance') });
  else if (openPunch > 0) closeBox = h('p', { class: 'notice close-needs-punch', text: tp('delivery.close_needs_punch', openPunch) });
  else if (deal.undo_failed?.length) closeBox = h('p', { class: 'notice close-needs-cleanup', text: t('delivery.close_needs_cleanup', { tasks: formatList(deal.undo_failed.map(taskLabel)) }) });
  else closeBox = h('div', { class: 'subform' }, h('h3', { text: t('delivery.close_title') }), h('p', { class: 'hint', text: t('delivery.close_hint') }), h('div', { class: 'actions' }, closeBtn), closeMsg);
  return h('div', { class: 'delivery-work' }, state, form, closeBox);
}

// acceptanceForm records the acceptance test's result directly on the deal.
function acceptanceForm(deal, path, acc, done) {
  const result = select('result', [{ value: '', label: t('delivery.choose_result') }, ...ACCEPTANCE.map((r) => ({ value: r, label: acceptanceLabel(r) }))], '',
    { required: true, id: `acceptance-result-${deal.id}` });
  const notes = h('textarea', { name: 'notes', rows: '2', maxlength: '4000', id: `acceptance-notes-${deal.id}` });
  const msg = msgBox();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary record-acceptance', text: t('delivery.record') });
  const form = h('form', { class: 'subform acceptance-form', novalidate: true, data: { dealId: deal.id } },
    h('h3', { text: t(acc ? 'delivery.record_again' : 'delivery.record_title') }),
    field(t('field.result'), result), field(t('field.notes'), notes), msg, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    const body = { result: result.value };
    if (notes.value.trim()) body.notes = notes.value.trim();
    try {
      await api('POST', `${path}/acceptance`, body);
      await done(t('delivery.recorded', { result: acceptanceLabel(body.result), title: deal.title }));
    } catch (err) {
      formError(form, msg, err);
    }
  }));
  return form;
}

// ---- pause, resume, close; engineers

function lifecyclePanel(page) {
  const d = page.deal;
  if (!page.sales || !page.active) return null;
  const hid = newId('lc');
  const msg = msgBox();
  const parts = [];
  if (d.pause) {
    parts.push(h('p', { class: 'notice', id: 'pause-state', text: t('life.paused', { date: formatDate(d.pause.resume_on), reason: d.pause.reason }) }));
    const resume = h('button', { type: 'button', class: 'btn', id: 'resume', text: t('life.resume') });
    resume.addEventListener('click', busy(resume, async () => {
      replace(msg);
      try {
        await page.run('POST', '/resume', {}, { text: t('life.resumed') });
      } catch (err) {
        formError(null, msg, err);
      }
    }));
    parts.push(resume);
  } else {
    const pause = h('button', { type: 'button', class: 'btn', id: 'pause', text: t('life.pause') });
    pause.addEventListener('click', () => pauseDialog(page));
    parts.push(pause);
  }
  if (d.status === 'open') {
    const close = h('button', { type: 'button', class: 'btn btn-danger', id: 'close-deal', text: t('life.close') });
    close.addEventListener('click', () => closeDialog(page));
    parts.push(close);
  }
  return h('section', { class: 'panel', id: 'lifecycle', 'aria-labelledby': hid },
    h('h2', { id: hid, text: t('life.title') }), h('div', { class: 'actions actions-stack' }, parts), msg);
}

function pauseDialog(page) {
  openDialog(t('life.pause_title'), (close) => {
    const reason = h('textarea', { name: 'reason', required: true, maxlength: '1000', rows: '2' });
    const resumeOn = h('input', { type: 'date', name: 'resume_on', required: true, min: addDays(today(), 1), max: addDays(today(), 365), value: addDays(today(), 30) });
    const msg = msgBox();
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: t('life.pause') });
    const form = h('form', { novalidate: true, id: 'pause-form' },
      h('p', { class: 'hint', text: t('life.pause_hint') }),
      field(t('field.reason'), reason), field(t('field.resume_on'), resumeOn), msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      try {
        await api('POST', `${page.path}/pause`, { reason: reason.value.trim(), resume_on: resumeOn.value });
        close();
        await page.ctx.refresh({ text: t('life.paused_ok', { date: formatDate(resumeOn.value) }) });
      } catch (err) {
        formError(form, msg, err);
      }
    }));
    return form;
  });
}

// closeDialog closes the deal, once confirmed (confirm.js): a loss with a reason from the
// settings' list (or "other", in words), a withdrawal or an abandoned opportunity with a reason.
function closeDialog(page) {
  const d = page.deal;
  const lang = locale() === 'zh-CN' ? 'zh-CN' : 'en';
  const outcomes = d.stage === 'development' ? ['abandoned', 'lost'] : ['lost', 'withdrawn'];
  const outcome = select('outcome', outcomes.map((o) => ({ value: o, label: t(`life.outcome_${o}`) })), outcomes[0], { required: true, id: 'close-outcome' });
  const reasons = page.settings.loss_reasons?.length ? page.settings.loss_reasons : [];
  const code = h('select', { name: 'reason_code', id: 'close-reason-code', required: true },
    h('option', { value: '', text: t('forms.choose_reason') }),
    reasons.map((r) => h('option', { value: r.code, text: r.labels?.[lang] || r.code })),
    h('option', { value: 'other', text: t('forms.reason_other') }));
  const reason = h('textarea', { name: 'reason', id: 'close-reason', maxlength: '1000', rows: '2' });
  const competitor = h('input', { name: 'competitor', id: 'close-competitor', maxlength: '200' });
  const codeField = field(t('forms.loss_reason'), code);
  const reasonField = field(t('field.reason'), reason);
  // A loss picks its reason from the list; "other" and the other outcomes say it in words.
  const sync = () => {
    const lost = outcome.value === 'lost' && reasons.length > 0;
    codeField.hidden = !lost;
    code.disabled = !lost;
    reason.required = !lost || code.value === 'other';
    reasonField.querySelector('label').textContent = lost && code.value !== 'other' ? t('forms.reason_note') : t('field.reason');
  };
  outcome.addEventListener('change', sync);
  code.addEventListener('change', sync);
  sync();
  const what = () => t(`forms.close_what_${outcome.value}`, { title: d.title });
  const dlg = confirmAction({
    title: t('life.close_title'),
    what: what(),
    confirmLabel: t('life.close_confirm'),
    fields: [field(t('field.outcome'), outcome), codeField, reasonField,
      field(t('field.competitor'), competitor, { hint: t('life.competitor_hint') })],
    run: () => {
      const body = { outcome: outcome.value, reason: reason.value.trim() };
      if (!code.disabled) body.reason_code = code.value;
      if (competitor.value.trim()) body.competitor = competitor.value.trim();
      return api('POST', `${page.path}/close`, body).then(() => body);
    },
    done: (body) => page.ctx.refresh({ text: t('life.closed', { status: statusLabel(body.outcome) }) }),
  });
  outcome.addEventListener('change', () => { dlg.querySelector('#confirm-what').textContent = what(); });
  dlg.querySelector('form').id = 'close-form';
}

function engineersPanel(page) {
  const d = page.deal;
  const engineers = d.engineers || [];
  const hid = newId('en');
  const parts = [engineers.length ? h('p', { id: 'engineers-list', text: formatList(engineers.map(personName)) }) : empty(t('eng.none'))];
  if (page.sales && page.active) {
    // The picker offers the engineers the API says may be assigned: never a typed user name.
    const picker = peoplePicker(page.path, 'engineers', { multiple: true, selected: engineers, admin: page.ctx.user.role === 'admin', id: 'engineers-picker' });
    const msg = msgBox();
    const submit = h('button', { type: 'submit', class: 'btn btn-small', id: 'engineers-save', text: t('eng.save') });
    const form = h('form', { id: 'engineers-form', novalidate: true },
      h('p', { class: 'hint', text: t('eng.hint') }), picker.el, msg, h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      try {
        await page.run('PUT', '/engineers', { engineers: picker.value() }, { text: t('eng.saved') });
      } catch (err) {
        formError(form, msg, err);
      }
    }));
    parts.push(form);
  }
  return h('section', { class: 'panel', id: 'engineers', 'aria-labelledby': hid }, h('h2', { id: hid, text: t('eng.title') }), parts);
}

// ---- history and timeline

function historySection(page, items) {
  const hid = newId('hs');
  const rows = items.map((x) => h('tr', { class: x.forced ? 'is-forced' : null, data: { kind: x.kind } },
    h('td', { text: formatDateTime(x.at) }),
    h('td', null, x.forced ? h('span', { class: 'badge badge-forced' }, h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⤼' }), t('history.forced')) : t(`history.${x.kind}`)),
    h('td', { text: x.from_stage && x.from_stage !== x.to_stage ? `${stageLabel(x.from_stage)} → ${stageLabel(x.to_stage)}` : stageLabel(x.to_stage) }),
    h('td', { text: personName(x.actor) }),
    h('td', { class: 'history-note' },
      x.reason ? t('history.reason', { reason: x.reason }) : '',
      x.competitor ? ` ${t('history.competitor', { competitor: x.competitor })}` : '',
      x.missing?.length ? ` ${t('history.missing', { items: formatList(x.missing.map(gateLabel)) })}` : '')));
  return h('section', { class: 'panel', id: 'history', 'aria-labelledby': hid },
    h('h2', { id: hid, text: t('history.title') }),
    items.length ? table(null, [t('history.when'), t('history.event'), t('history.stage'), t('history.by'), t('history.note')], rows) : empty(t('history.empty')));
}

function timelineSection(items, deal) {
  const hid = newId('tl');
  return h('section', { class: 'panel', id: 'timeline', 'aria-labelledby': hid },
    h('h2', { id: hid, text: t('timeline.title') }),
    items.length
      ? h('ol', { class: 'timeline' }, items.map((e) => h('li', { class: 'timeline-item', data: { action: e.action, code: e.code || null } },
        h('p', { class: 'timeline-head' },
          h('time', { datetime: e.at, text: formatDateTime(e.at) }), ' · ',
          h('strong', { text: actionLabel(e.action) }), ' · ', h('span', { class: 'timeline-by', data: { actor: e.actor }, text: t('timeline.by', { who: personName(e.actor) }) })),
        summaryLine(e, deal))))
      : empty(t('timeline.empty')));
}

// summaryLine says what a timeline entry changed, from its code and params in the UI's
// language. Entries appended before entries had codes are said from their recorded values where
// those say enough (legacySummary), and by the English summary, marked as such, otherwise.
function summaryLine(e, deal) {
  const text = sayable('tl', e.code) ? say('tl', e.code, e.params) : legacySummary(e, deal);
  if (text) return h('p', { class: 'timeline-summary', text });
  return e.summary ? h('p', { class: 'timeline-summary', lang: 'en', text: e.summary }) : null;
}

// legacySummary says an entry appended before entries had codes (before migration 0130) from its
// recorded before and after values. New entries never come here.
function legacySummary(e, deal) {
  const a = e.after && typeof e.after === 'object' ? e.after : {};
  const b = e.before && typeof e.before === 'object' ? e.before : {};
  const dec1 = (n) => formatNumber(n, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  switch (e.action) {
    case 'deal.create':
      return a.title ? t('tl.create', { title: a.title, value: formatMoney(a.value, a.currency), owner: personName(a.owner) }) : null;
    case 'deal.assessment':
      return a.score === undefined ? null : t('tl.assessment', {
        score: dec1(a.score), threshold: dec1(a.threshold), grade: a.grade, verdict: a.passed ? t('assess.passed') : t('assess.failed'),
      });
    case 'deal.stakeholder':
      return a.name ? t('tl.stakeholder', { name: a.name, role: roleLabel(a.role), stance: stanceLabel(a.stance) }) : null;
    case 'deal.remove_stakeholder': {
      if (!b.name) return null;
      // "…, forced past <missing> of the <stage> stage: <reason>" (audit.go)
      const m = /, forced past (.*) of the ([a-z_]+) stage: (.*)$/s.exec(e.summary || '');
      if (!m) return t('tl.remove_stakeholder', { name: b.name });
      return t('tl.remove_stakeholder_forced', {
        name: b.name, stage: stageLabel(m[2]), missing: formatList(m[1].split(', ').map((k) => gateLabel(k))), reason: m[3],
      });
    }
    case 'deal.criteria': {
      if (!Array.isArray(e.after)) return null;
      const us = e.after.filter((c) => c.favours === 'us').length;
      const them = e.after.filter((c) => c.favours === 'competitor').length;
      return t('gatedetail.criteria', { us, neutral: e.after.length - us - them, them });
    }
    case 'deal.proposal':
      return a.submitted_on ? t('gatedetail.proposal', { date: formatDate(a.submitted_on) }) : null;
    case 'deal.bid':
      return a.price ? t('tl.bid', {
        price: formatMoney(a.price, deal.currency), cost: formatMoney(a.cost, deal.currency),
        margin: formatPercent(a.margin_pct, 2), floor: formatPercent(a.floor, 2),
        submitted: a.submitted ? t('tl.submitted') : t('tl.not_submitted'),
      }) : null;
    case 'deal.approve_margin':
      return a.margin_pct === undefined ? null : t('tl.approve_margin', { margin: formatPercent(a.margin_pct, 2) });
    case 'deal.approve_contract':
      return t('contract.approved');
    case 'deal.request_approval':
    case 'deal.answer_approval':
      return approvalLine(e, deal);
    case 'deal.sign_contract':
      return a.contract?.signed_on ? t('tl.sign', { date: formatDate(a.contract.signed_on) }) : null;
    case 'deal.acceptance':
      return a.result ? t('tl.acceptance', { result: acceptanceLabel(a.result) }) : null;
    case 'deal.close_project':
      return t('delivery.project_closed');
    case 'deal.advance':
      if (!a.stage || !b.stage) return null;
      return t(/^forced/.test(e.summary || '') ? 'prob.forced' : 'tl.advanced', { from: stageLabel(b.stage), to: stageLabel(a.stage) });
    case 'deal.close':
      return a.closing ? t('tl.closed', { status: statusLabel(a.status), reason: a.closing.reason }) : null;
    case 'deal.pause':
      return a.resume_on ? t('life.paused', { date: formatDate(a.resume_on), reason: a.reason }) : null;
    case 'deal.resume':
      return t('life.resumed');
    case 'deal.reassign':
      return a.owner ? t('tl.reassign', { from: personName(b.owner), to: personName(a.owner) }) : null;
    case 'deal.edit':
      return editSummary(a, b);
    case 'deal.assign_engineers':
      return Array.isArray(a.engineers) ? (a.engineers.length ? t('tl.engineers', { engineers: formatList(a.engineers.map(personName)) }) : t('eng.none')) : null;
    case 'deal.contact_stale':
      return a.name ? staleSummary(e, a) : null;
    default:
      return e.action.startsWith('delivery.') ? deliverySummary(e, a) : null;
  }
}

// editSummary says what an edit changed, from the entry's before and after (the changed fields).
function editSummary(a, b) {
  const parts = [];
  if ('title' in a) parts.push(t('tl.edit_title', { title_from: b.title, title_to: a.title }));
  if ('value' in a) parts.push(t('tl.edit_value', { value_from: formatMoney(b.value, b.currency), value_to: formatMoney(a.value, a.currency) }));
  if ('expected_close' in a) parts.push(t('tl.edit_close', { date_from: b.expected_close ? formatDate(b.expected_close) : t('common.none'), date_to: formatDate(a.expected_close) }));
  if ('notes' in a) parts.push(a.notes ? t('tl.edit_notes') : t('tl.edit_notes_cleared'));
  return parts.length ? t('tl.edit', { changes: formatList(parts) }) : null;
}

// staleSummary says that kamflow marked a stakeholder stale (with the days since the last contact,
// from the entry's time and the stakeholder's stale_since) or in contact again.
function staleSummary(e, a) {
  if (!a.stale) return t('tl.contact_fresh', { name: a.name });
  const days = a.stale_since ? Math.floor((Date.parse(e.at) - Date.parse(a.stale_since)) / 86400000) : NaN;
  return Number.isFinite(days) && days > 0
    ? t('tl.contact_stale', { name: a.name, days: tp('unit.days', days) })
    : t('tl.contact_stale_nodays', { name: a.name });
}

// deliverySummary says what a change to the delivery plan did, from the entry's recorded values
// and the task its (English) summary names.
function deliverySummary(e, a) {
  const task = /^delivery task ([a-z][a-z0-9_]*) /.exec(e.summary || '')?.[1];
  switch (e.action) {
    case 'delivery.plan':
      return Array.isArray(a.tasks) ? t('tl.plan', { tasks: formatList(a.tasks.map(taskLabel)) }) : null;
    case 'delivery.start':
      return task ? t('tl.task_started', { task: taskLabel(task) }) : null;
    case 'delivery.retry':
      return task ? t('tl.task_retried', { task: taskLabel(task) }) : null;
    case 'delivery.cancel':
      return task ? t('tl.task_cancelled', { task: taskLabel(task) }) : null;
    case 'delivery.task_failed':
      return task ? t('tl.task_failed', { task: taskLabel(task), error: /failed: (.*)$/s.exec(e.summary || '')?.[1] || '' }) : null;
    case 'delivery.undo_failed':
      return task ? t('tl.undo_failed', { task: taskLabel(task), steps: formatList((a.undo_failures || []).map((f) => stepLabel(f.step))) }) : null;
    case 'delivery.resolve_undo':
      return task ? t('tl.undo_resolved', { task: taskLabel(task), note: a.note || '' }) : null;
    case 'delivery.complete':
      if (a.result) return t('tl.acceptance_test', { result: acceptanceLabel(a.result) });
      return task ? t('tl.task_completed', { task: taskLabel(task) }) : null;
    case 'delivery.resolve':
      return t('tl.punch_resolved');
    case 'delivery.report':
      return a.satisfaction ? reportLine(a) : null;
    default:
      return null;
  }
}

function actionLabel(action) {
  const key = `action.${action}`;
  const s = t(key);
  return s === key ? action : s;
}

