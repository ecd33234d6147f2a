// The account as a key-account record: its profile (organisation, decision structure, business
// trends), its value score and segment, its lifecycle phase and loyalty rung with the marketing
// mix, its account team and handover; the buying center of its contacts with their org chart;
// the interactions logged with them and the account's timeline.

import { api, ApiError } from '../api.js';
import { t, tp, has, locale, formatMoney, formatNumber, formatPercent, formatDate, formatDateTime, formatList } from '../i18n.js';
import { h, replace, field, select, validate, busy, openDialog, newId } from '../dom.js';
import { ROLES, STANCES, roleLabel, stanceLabel, stageLabel } from '../domain.js';
import { formError, table, empty } from './common.js';
import { saveError } from './conflict.js';
import { stanceTag } from './deal.js';
import { orgTree, orgChart, orgList } from '../orgchart.js';

export const PROFILE_FIELDS = ['organisation', 'products', 'market', 'finance', 'credit', 'competitors', 'strategy'];
const CONTACT_FIELDS = ['phone', 'email', 'website'];
export const VALUE_MONEY = ['gross_profit', 'sales_volume', 'marketing_cost'];
export const VALUE_JUDGED = ['industry_position', 'cooperation_years', 'satisfaction'];
export const SEGMENTS = ['strategic', 'general'];
export const PHASES = ['exploration', 'formation', 'stability', 'decline'];
export const RUNGS = ['prospect', 'first_time_buyer', 'repeat_buyer', 'supporter', 'advocate', 'partner'];
export const INTERACTION_KINDS = ['visit', 'call', 'meeting', 'demo', 'factory_visit', 'reference_visit'];
export const REACTIONS = ['positive', 'neutral', 'negative'];

export const segmentLabel = (s) => t(`segment.${s}`);
export const phaseLabel = (p) => t(`phase.${p}`);
export const rungLabel = (r) => t(`rung.${r}`);

/** The advice of the source texts in the UI's language. */
function advice(a) {
  return a ? a[locale()] || a.en || '' : '';
}

/** A segment badge: strategic or general, in words. */
export function segmentBadge(segment) {
  if (!segment) return h('span', { class: 'segment segment-none', text: t('segment.none') });
  return h('span', { class: `segment segment-${segment}`, data: { segment } }, segmentLabel(segment));
}

function section(id, title, ...content) {
  const hid = newId('ka');
  return h('section', { class: 'panel', id, 'aria-labelledby': hid }, h('h2', { id: hid, text: title }), content);
}

function msgBox() {
  return h('div', { class: 'form-msg', role: 'alert' });
}

/**
 * keyAccountPanels builds the account page's key-account panels. page: { account, contacts,
 * settings (contact list's stale_contact_days), timeline, deals (summaries), ctx, sales, director }.
 */
export function keyAccountPanels(page) {
  return {
    profile: profilePanel(page),
    value: valuePanel(page),
    lifecycle: lifecyclePanel(page),
    team: teamPanel(page),
    contacts: contactsPanel(page),
    orgChart: orgChartPanel(page),
    interactions: page.sales ? interactionPanel(page) : null,
    timeline: timelinePanel(page),
  };
}

// ---- profile

function profilePanel(page) {
  const a = page.account;
  const p = a.profile || {};
  const items = [...CONTACT_FIELDS, ...PROFILE_FIELDS].filter((f) => p[f]);
  const dl = h('dl', { class: 'profile-facts' }, items.map((f) => h('div', { class: ['profile-fact', PROFILE_FIELDS.includes(f) ? 'profile-long' : null], data: { field: f } },
    h('dt', { text: t(`profile.${f}`) }), h('dd', { text: p[f] }))));
  let edit = null;
  if (page.sales) {
    edit = h('button', { type: 'button', class: 'btn btn-small', id: 'edit-profile', text: t('profile.edit') });
    edit.addEventListener('click', () => profileDialog(page));
  }
  return section('account-profile', t('profile.title'),
    h('p', { class: 'hint', text: t('profile.hint') }),
    items.length ? dl : empty(t('profile.empty')),
    edit ? h('div', { class: 'actions' }, edit) : null);
}

function profileDialog(page) {
  const p = page.account.profile || {};
  openDialog(t('profile.edit'), (close) => {
    const inputs = {};
    const fields = [
      ...CONTACT_FIELDS.map((f) => {
        inputs[f] = h('input', { name: `profile.${f}`, id: `profile-${f}`, maxlength: '200', value: p[f] || '', type: f === 'email' ? 'email' : 'text' });
        return field(t(`profile.${f}`), inputs[f]);
      }),
      ...PROFILE_FIELDS.map((f) => {
        inputs[f] = h('textarea', { name: `profile.${f}`, id: `profile-${f}`, rows: '2', maxlength: '4000', value: p[f] || '' });
        return field(t(`profile.${f}`), inputs[f], { hint: t(`profile.${f}.hint`) });
      }),
    ];
    const msg = msgBox();
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'profile-save', text: t('common.save') });
    const form = h('form', { novalidate: true, id: 'profile-form' }, fields, msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      // Only what the user changed, against the version the page shows: a change someone else
      // made meanwhile is reported, never overwritten.
      const profile = {};
      for (const [f, el] of Object.entries(inputs)) if (el.value.trim() !== (p[f] || '')) profile[f] = el.value.trim();
      if (!Object.keys(profile).length) { close(); return; }
      const save = async (version) => {
        await api('PATCH', `/accounts/${encodeURIComponent(page.account.id)}`, { profile, version });
        close();
        page.ctx.refresh({ text: t('profile.saved') });
      };
      try {
        await save(page.account.version);
      } catch (err) {
        saveError(form, msg, err, { reapply: save, reload: () => { close(); page.ctx.refresh(); } });
      }
    }));
    return form;
  });
}

// ---- value and segment

function valuePanel(page) {
  const a = page.account;
  const seg = a.segmentation || { score: a.value_score, factors: [], threshold: 0 };
  const v = a.value || {};
  const currency = 'CNY';
  const input = (f) => {
    if (VALUE_MONEY.includes(f)) return Number(v[f]) ? formatMoney(v[f], currency, { whole: true }) : t('common.none');
    if (f === 'cooperation_years') return v[f] ? tp('unit.years', v[f]) : t('common.none');
    return v[f] ? `${formatNumber(v[f])} / 5` : t('value.not_judged');
  };
  const rows = (seg.factors || []).map((f) => h('tr', { data: { factor: f.factor } },
    h('th', { scope: 'row', text: t(`value.${f.factor}`) }),
    h('td', { text: input(f.factor) }),
    h('td', { class: 'num', text: formatPercent(f.score * 100) }),
    h('td', { class: 'num', text: formatNumber(f.weight) }),
    h('td', { class: 'num', text: formatNumber(f.points, { maximumFractionDigits: 2 }) })));
  let edit = null;
  if (page.sales) {
    edit = h('button', { type: 'button', class: 'btn btn-small', id: 'edit-value', text: t('value.edit') });
    edit.addEventListener('click', () => valueDialog(page));
  }
  return section('account-value', t('value.title'),
    h('ul', { class: 'figures' },
      h('li', { class: 'figure', data: { figure: 'value_score' } },
        h('span', { class: 'figure-value', id: 'value-score', text: formatNumber(seg.score, { maximumFractionDigits: 1 }) }),
        h('span', { class: 'figure-label', text: t('value.score') }),
        h('span', { class: 'figure-sub', text: t('value.threshold', { threshold: formatNumber(seg.threshold) }) })),
      h('li', { class: 'figure', data: { figure: 'segment' } },
        h('span', { class: 'figure-value', id: 'value-segment' }, segmentBadge(seg.segment || a.segment)),
        h('span', { class: 'figure-label', text: t('value.segment') }))),
    seg.care ? h('p', { class: 'advice', id: 'value-care' }, h('strong', { text: t('value.care') }), ' ', advice(seg.care)) : null,
    rows.length
      ? table(t('value.factors'), [t('value.factor'), t('value.input'), t('value.normalised'), t('value.weight'), t('value.points')], rows, { id: 'value-factors' })
      : null,
    edit ? h('div', { class: 'actions' }, edit) : null);
}

function valueDialog(page) {
  const v = page.account.value || {};
  openDialog(t('value.edit'), (close) => {
    const inputs = {};
    const fields = [
      ...VALUE_MONEY.map((f) => {
        inputs[f] = h('input', { name: `value.${f}`, id: `value-${f}`, inputmode: 'decimal', autocomplete: 'off', data: { check: 'money' }, value: Number(v[f]) ? v[f] : '' });
        return field(t(`value.${f}`), inputs[f], { hint: t(`value.${f}.hint`) });
      }),
      ...VALUE_JUDGED.map((f) => {
        const max = f === 'cooperation_years' ? '200' : '5';
        inputs[f] = h('input', { name: `value.${f}`, id: `value-${f}`, type: 'number', min: '0', max, step: '1', value: String(v[f] ?? 0) });
        return field(t(`value.${f}`), inputs[f], { hint: t(`value.${f}.hint`) });
      }),
    ];
    const msg = msgBox();
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'value-save', text: t('common.save') });
    const form = h('form', { novalidate: true, id: 'value-form' }, fields, msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      // Only the inputs the user changed, against the version the page shows.
      const value = {};
      for (const f of VALUE_MONEY) if (inputs[f].value.trim() !== (Number(v[f]) ? v[f] : '')) value[f] = inputs[f].value.trim() || '0';
      for (const f of VALUE_JUDGED) if (Number(inputs[f].value || 0) !== (v[f] ?? 0)) value[f] = Number(inputs[f].value || 0);
      if (!Object.keys(value).length) { close(); return; }
      const save = async (version) => {
        const out = await api('PATCH', `/accounts/${encodeURIComponent(page.account.id)}`, { value, version });
        close();
        page.ctx.refresh({ text: t('value.saved', { score: formatNumber(out.value_score ?? 0, { maximumFractionDigits: 1 }) }) });
      };
      try {
        await save(page.account.version);
      } catch (err) {
        saveError(form, msg, err, { reapply: save, reload: () => { close(); page.ctx.refresh(); } });
      }
    }));
    return form;
  });
}

// ---- lifecycle

function lifecyclePanel(page) {
  const a = page.account;
  const lc = a.lifecycle;
  if (!lc) return null;
  const d = lc.derived || {};
  const o = lc.override;
  const mix = lc.marketing_mix || {};
  const reason = t(`lcreason.${d.reason}`, { won: formatNumber(d.won_deals ?? 0), window: formatNumber(d.won_in_window ?? 0) });
  const parts = [
    h('ul', { class: 'figures' },
      h('li', { class: 'figure', data: { figure: 'phase' } },
        h('span', { class: 'figure-value', id: 'lifecycle-phase', data: { phase: lc.phase }, text: phaseLabel(lc.phase) }),
        h('span', { class: 'figure-label', text: t('lifecycle.phase') }),
        o?.phase ? h('span', { class: 'figure-sub', text: t('lifecycle.derived_was', { value: phaseLabel(d.phase) }) }) : null),
      h('li', { class: 'figure', data: { figure: 'rung' } },
        h('span', { class: 'figure-value', id: 'lifecycle-rung', data: { rung: lc.rung }, text: rungLabel(lc.rung) }),
        h('span', { class: 'figure-label', text: t('lifecycle.rung') }),
        o?.rung ? h('span', { class: 'figure-sub', text: t('lifecycle.derived_was', { value: rungLabel(d.rung) }) }) : null)),
    h('p', { id: 'lifecycle-reason' }, h('strong', { text: t('lifecycle.why') }), ' ', reason,
      d.last_activity_at ? ` ${t('lifecycle.last_activity', { when: formatDateTime(d.last_activity_at) })}` : ''),
    o ? h('p', { class: 'alert alert-info', id: 'lifecycle-override' },
      t('lifecycle.override_by', { who: o.by, when: formatDateTime(o.at), reason: o.reason })) : null,
    h('div', { class: 'advice', id: 'marketing-mix' },
      h('h3', { text: t('mix.title') }),
      h('p', null, h('strong', { text: t('mix.primary') }), ' ', t(`mix.${mix.primary}`),
        mix.secondary ? [h('span', { text: ' · ' }), h('strong', { text: t('mix.secondary') }), ' ', t(`mix.${mix.secondary}`)] : null),
      h('p', { class: 'mix-advice', text: advice(mix.advice) })),
  ];
  if (page.sales) parts.push(lifecycleForm(page));
  return section('account-lifecycle', t('lifecycle.title'), parts);
}

function lifecycleForm(page) {
  const lc = page.account.lifecycle;
  const o = lc.override || {};
  const phase = select('phase', [{ value: '', label: t('lifecycle.derived_option', { value: phaseLabel(lc.derived.phase) }) },
    ...PHASES.map((p) => ({ value: p, label: phaseLabel(p) }))], o.phase || '', { id: 'override-phase' });
  const rung = select('rung', [{ value: '', label: t('lifecycle.derived_option', { value: rungLabel(lc.derived.rung) }) },
    ...RUNGS.map((r) => ({ value: r, label: rungLabel(r) }))], o.rung || '', { id: 'override-rung' });
  const reason = h('textarea', { name: 'reason', id: 'override-reason', rows: '2', maxlength: '1000', required: true });
  const msg = msgBox();
  const submit = h('button', { type: 'submit', class: 'btn', id: 'override-save', text: t('lifecycle.override_save') });
  const form = h('form', { novalidate: true, id: 'lifecycle-form' },
    h('div', { class: 'field-row' }, field(t('lifecycle.phase'), phase), field(t('lifecycle.rung'), rung)),
    field(t('field.reason'), reason, { hint: t('lifecycle.reason_hint') }), msg, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    const body = { reason: reason.value.trim() };
    if (phase.value) body.phase = phase.value;
    if (rung.value) body.rung = rung.value;
    try {
      await api('PUT', `/accounts/${encodeURIComponent(page.account.id)}/lifecycle`, body);
      page.ctx.refresh({ text: body.phase || body.rung ? t('lifecycle.overridden') : t('lifecycle.derived_again') });
    } catch (err) {
      formError(form, msg, err);
    }
  }));
  return h('details', { class: 'override' }, h('summary', { text: t('lifecycle.override') }), form);
}

// ---- account team and handover

function teamPanel(page) {
  const a = page.account;
  const team = a.account_team || [];
  const progress = handoverProgress(page);
  const parts = [
    team.length
      ? h('ul', { class: 'team-list', id: 'account-team-list' }, team.map((m) => h('li', { data: { user: m.username } },
        h('span', { text: m.name || m.username }), ' ', h('span', { class: 'muted', text: `(${m.username})` }),
        m.owner ? [' ', h('span', { class: 'badge badge-owner', text: t('team.owner') })] : null)))
      : empty(t('team.empty')),
    progress.node,
  ];
  if (page.director) parts.push(handoverForm(page, team, progress));
  // The account's latest handover, as the account view gives it: followed while it runs.
  if (a.handover) progress.follow(a.handover);
  return section('account-team', t('team.title'), parts);
}

const HANDOVER_POLL_MS = 1500;

const handoverRunning = (ho) => ho.status === 'pending' || ho.status === 'running';

/** handoverText is a handover's progress in words: deals reassigned of those to reassign. */
function handoverText(ho) {
  if (ho.status === 'pending') return t('handover.starting');
  if (ho.status === 'conflict') return t('handover.conflict_text', { from: ho.from_name || ho.from });
  if (!ho.total) return t('handover.none_reassigned');
  return tp('handover.progress', ho.total, { done: formatNumber(ho.done) });
}

/** The reason a deal refused its reassignment: its error code in words, else the server's message. */
function refusalText(d) {
  return d.code && has(`error.${d.code}`) ? t(`error.${d.code}`) : d.message || d.code || '';
}

function handoverDetails(ho, onReload) {
  const refused = (ho.deals || []).filter((d) => d.status === 'refused');
  const finished = !handoverRunning(ho);
  return [
    h('h3', null, t('handover.latest'), ' ',
      h('span', { class: ['badge', 'handover-status', `handover-${ho.status}`], id: 'handover-status', text: t(`handover.status.${ho.status}`) })),
    h('p', { id: 'handover-who' },
      t('handover.summary', { by: ho.by_name || ho.by, from: ho.from_name || ho.from, to: ho.to_name || ho.to, when: formatDateTime(ho.at) }),
      ho.reason ? [h('br'), h('span', { class: 'muted', text: t('handover.reason', { reason: ho.reason }) })] : null),
    ho.total && ho.status !== 'conflict'
      ? h('progress', { id: 'handover-bar', max: String(Math.max(1, ho.total)), value: String(ho.done + ho.refused), 'aria-labelledby': 'handover-progress-text' })
      : null,
    h('p', { id: 'handover-progress-text', role: 'status' }, handoverText(ho),
      finished && ho.finished_at ? [' ', t('handover.finished_at', { when: formatDateTime(ho.finished_at) })] : null),
    refused.length
      ? h('div', { class: 'alert alert-warn', id: 'handover-refused' },
        h('p', { text: t('handover.refused_title') }),
        h('ul', null, refused.map((d) => h('li', { data: { dealId: d.deal_id, code: d.code } },
          h('a', { href: `/deals/${d.deal_id}`, 'data-link': true, text: d.title || d.deal_id }), ' — ',
          h('span', { class: 'refusal', title: d.message || null, text: refusalText(d) })))))
      : null,
    finished && onReload ? h('p', { class: 'actions' }, h('button', { type: 'button', class: 'btn btn-small', id: 'handover-reload', text: t('handover.reload'), onclick: onReload })) : null,
  ];
}

/**
 * handoverProgress is the box that shows the account's latest handover and follows it: while it
 * is pending or running it is read again every second or two (GET /accounts/{id}/handover), until
 * it ends or the page is left. follow(ho, onFinish) shows ho and follows it; onFinish(last) is
 * called once it has ended, if it was running when followed.
 */
function handoverProgress(page) {
  const node = h('div', { class: 'handover-progress', id: 'handover-progress', hidden: true });
  const path = `/accounts/${encodeURIComponent(page.account.id)}/handover`;
  let seq = 0;
  let watched = false;
  const show = (ho) => {
    node.hidden = false;
    node.dataset.status = ho.status;
    node.dataset.handoverId = ho.id;
    replace(node, handoverDetails(ho, watched ? () => page.ctx.refresh() : null));
  };
  const follow = (first, onFinish) => {
    const mine = ++seq;
    let last = first;
    watched = handoverRunning(first) && !onFinish;
    show(first);
    if (!handoverRunning(first)) return;
    const poll = async () => {
      if (!page.ctx.alive() || mine !== seq || !node.isConnected) return; // the page is left, or drawn again
      try {
        const now = await api('GET', path);
        if (!page.ctx.alive() || mine !== seq) return;
        // Until its workflow has recorded it, a new handover is not the latest yet.
        if (now.id === last.id || last.status !== 'pending') last = now;
      } catch (err) {
        if (!page.ctx.alive() || mine !== seq) return;
        if (err instanceof ApiError && err.status === 404 && last.status !== 'pending') {
          node.hidden = true; // none after all
          return;
        }
        // Not recorded yet, or the server away for a moment: ask again.
      }
      show(last);
      if (handoverRunning(last)) setTimeout(poll, HANDOVER_POLL_MS);
      else if (onFinish) onFinish(last);
    };
    setTimeout(poll, HANDOVER_POLL_MS);
  };
  return { node, follow };
}

function handoverForm(page, team, progress) {
  const a = page.account;
  const choices = team.filter((m) => !m.owner && m.role === 'kam');
  if (!choices.length) return h('p', { class: 'hint', text: t('handover.nobody') });
  const owner = select('owner', [{ value: '', label: t('handover.choose') }, ...choices.map((m) => ({ value: m.username, label: `${m.name || m.username} (${m.username})` }))], '', { id: 'handover-owner', required: true });
  const reason = h('textarea', { name: 'reason', id: 'handover-reason', rows: '2', maxlength: '1000', required: true });
  const msg = msgBox();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'handover-submit', text: t('handover.submit') });
  const form = h('form', { novalidate: true, id: 'handover-form' },
    h('p', { class: 'hint', text: t('handover.hint', { owner: a.owner }) }),
    field(t('handover.new_owner'), owner), field(t('field.reason'), reason), msg, h('div', { class: 'actions' }, submit));
  const details = h('details', { class: 'handover' }, h('summary', { text: t('handover.title') }), form);
  // Once the handover has ended, the page is drawn again (the account's owner and deals as they
  // now are), with the outcome on top.
  const finish = (ho) => {
    if (ho.status === 'conflict') {
      page.ctx.refresh({ error: true, text: handoverText(ho) });
      return;
    }
    page.ctx.refresh({ text: `${t('handover.done', { from: ho.from_name || ho.from, to: ho.to_name || ho.to })} ${handoverText(ho)}` });
  };
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    let ho;
    try {
      // 202: the handover runs as a workflow on the server; its progress shows above the form.
      ho = await api('POST', `/accounts/${encodeURIComponent(a.id)}/handover`, { owner: owner.value, reason: reason.value.trim() });
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && err.code === 'conflict') {
        replace(msg, h('p', { class: 'alert alert-error', id: 'handover-conflict', text: t('handover.running_conflict') }));
        // Show the handover that is running.
        try {
          progress.follow(await api('GET', `/accounts/${encodeURIComponent(a.id)}/handover`));
        } catch {
          // nothing to show: the message says enough
        }
        return;
      }
      formError(form, msg, err);
      return;
    }
    if (!page.ctx.alive()) return;
    details.open = false;
    if (handoverRunning(ho)) progress.follow(ho, finish);
    else finish(ho);
  }));
  return details;
}

// ---- contacts: the buying center

/** staleText says how long a stale contact has not been in touch. */
export function staleText(c) {
  if (!c.stale) return '';
  return c.last_contact_at ? t('contact.stale_days', { days: tp('unit.days', c.days_since_contact) }) : t('contact.stale_never', { days: tp('unit.days', c.days_since_contact) });
}

function staleBadge(c) {
  return c.stale
    ? h('span', { class: 'badge badge-stale', data: { badge: 'stale' } }, h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⌛' }), staleText(c))
    : null;
}

// localDate is the calendar day of an instant in the browser's time zone.
function localDate(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return formatDate(`${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`);
}

function rating(n) {
  return n ? `${formatNumber(n)} / 5` : '';
}

function contactsPanel(page) {
  const { contacts } = page;
  const names = new Map(contacts.map((c) => [c.id, c.name]));
  const titles = new Map(page.deals.map((d) => [d.id, d.title]));
  const rows = contacts.map((c) => h('tr', { class: c.stale ? 'is-stale' : null, data: { contactId: c.id, stale: String(Boolean(c.stale)) } },
    h('th', { scope: 'row' }, h('span', { class: 'contact-name', text: c.name }), ' ', staleBadge(c)),
    h('td', { text: [c.title, c.department].filter(Boolean).join(' · ') }),
    h('td', { text: c.reports_to ? names.get(c.reports_to) || '' : '' }),
    h('td', { text: c.role ? roleLabel(c.role) : t('contact.unmapped') }),
    h('td', null, stanceTag(c.stance)),
    h('td', { class: 'num', text: rating(c.influence) }),
    h('td', { class: 'num', text: rating(c.relationship) }),
    h('td', { class: 'nowrap' }, c.last_contact_at ? h('time', { datetime: c.last_contact_at, title: formatDateTime(c.last_contact_at), text: localDate(c.last_contact_at) }) : t('contact.never')),
    h('td', { class: 'contact-deals' }, contactDeals(c, titles)),
    page.sales ? h('td', null, h('button', {
      type: 'button', class: 'btn btn-small edit-contact', data: { contactId: c.id }, text: t('contact.edit'),
      'aria-label': t('contact.edit_who', { name: c.name }), onclick: () => contactDialog(page, c),
    })) : null));
  let add = null;
  if (page.sales) {
    add = h('button', { type: 'button', class: 'btn btn-primary btn-small', id: 'add-contact', text: t('contact.add') });
    add.addEventListener('click', () => contactDialog(page, null));
  }
  const staleN = contacts.filter((c) => c.stale).length;
  const heads = [t('field.name'), t('contact.title_dept'), t('contact.reports_to'), t('field.role'), t('field.stance'),
    t('field.influence'), t('contact.relationship'), t('contact.last_contact'), t('bc.stakeholder_on')];
  if (page.sales) heads.push(t('common.actions'));
  return section('account-contacts', t('contact.panel'),
    h('p', { class: 'hint', text: t('contact.hint', { days: tp('unit.days', page.staleDays) }) }),
    staleN ? h('p', { class: 'alert alert-warn', id: 'stale-summary', text: tp('contact.stale_count', staleN) }) : null,
    contacts.length ? table(null, heads, rows, { id: 'contacts-table', className: 'contacts' }) : empty(t('contact.empty')),
    add ? h('div', { class: 'actions' }, add) : null);
}

// contactDeals are the deals the contact is a stakeholder on, each linked, with their role and
// stance there; then the deals linked to them otherwise (by the contacts import), with the stance.
function contactDeals(c, titles) {
  const on = c.stakeholder_on || [];
  const seen = new Set(on.map((s) => s.deal_id));
  return [
    on.map((s) => h('div', { class: 'contact-deal contact-stakeholder', data: { dealId: s.deal_id } },
      h('a', { href: `/deals/${encodeURIComponent(s.deal_id)}`, 'data-link': true, text: titles.get(s.deal_id) || s.deal_id }), ' ',
      s.role ? h('span', { class: ['role', `role-${s.role}`], text: roleLabel(s.role) }) : null, s.stance ? [' ', stanceTag(s.stance)] : null)),
    (c.deals || []).filter((d) => !seen.has(d.deal_id)).map((d) => h('div', { class: 'contact-deal', data: { dealId: d.deal_id } },
      titles.get(d.deal_id) || d.deal_id, d.stance ? [' ', stanceTag(d.stance)] : null)),
  ];
}

function contactDialog(page, c) {
  const others = page.contacts.filter((x) => !c || x.id !== c.id);
  openDialog(c ? t('contact.edit_who', { name: c.name }) : t('contact.add'), (close) => {
    const v = c || {};
    const name = h('input', { name: 'name', id: 'contact-name', required: true, maxlength: '200', value: v.name || '' });
    const title = h('input', { name: 'title', id: 'contact-title', maxlength: '200', value: v.title || '' });
    const dept = h('input', { name: 'department', id: 'contact-department', maxlength: '200', value: v.department || '' });
    const reports = select('reports_to', [{ value: '', label: t('contact.reports_to_none') }, ...others.map((x) => ({ value: x.id, label: x.name }))], v.reports_to || '', { id: 'contact-reports-to' });
    const role = select('role', [{ value: '', label: t('contact.unmapped') }, ...ROLES.map((r) => ({ value: r, label: roleLabel(r) }))], v.role || '', { id: 'contact-role' });
    const stance = select('stance', STANCES.map((s) => ({ value: s, label: stanceLabel(s) })), v.stance || 'neutral', { id: 'contact-stance' });
    const scale = (nm, id, val) => select(nm, [{ value: '0', label: t('contact.not_judged') }, ...[1, 2, 3, 4, 5].map((n) => ({ value: String(n), label: t(`scale.${nm}.${n}`) }))], String(val || 0), { id });
    const influence = scale('influence', 'contact-influence', v.influence);
    const relationship = scale('relationship', 'contact-relationship', v.relationship);
    const phone = h('input', { name: 'phone', id: 'contact-phone', maxlength: '200', value: v.phone || '', type: 'tel' });
    const email = h('input', { name: 'email', id: 'contact-email', maxlength: '200', value: v.email || '', type: 'email' });
    const notes = h('textarea', { name: 'notes', id: 'contact-notes', rows: '2', maxlength: '4000', value: v.notes || '' });
    // Per deal: not on it, on it with their usual stance, or a stance of its own.
    const linked = new Map((v.deals || []).map((d) => [d.deal_id, d]));
    const dealSelects = page.deals.filter((d) => d.status === 'open' || linked.has(d.id)).map((d) => {
      const l = linked.get(d.id);
      const opts = [...(l ? [] : [{ value: '-', label: t('contact.deal_none') }]), { value: '', label: t('contact.deal_usual') },
        ...STANCES.map((s) => ({ value: s, label: stanceLabel(s) }))];
      const el = select(`deal.${d.id}`, opts, l ? l.stance || '' : '-', { id: newId('cd'), data: { dealId: d.id } });
      return field(d.title, el);
    });
    const msg = msgBox();
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'contact-save', text: t('common.save') });
    const form = h('form', { novalidate: true, id: 'contact-form' },
      field(t('field.name'), name),
      h('div', { class: 'field-row' }, field(t('field.person_title'), title), field(t('contact.department'), dept)),
      field(t('contact.reports_to'), reports, { hint: t('contact.reports_to_hint') }),
      h('div', { class: 'field-row' }, field(t('field.role'), role), field(t('contact.usual_stance'), stance)),
      h('div', { class: 'field-row' }, field(t('field.influence'), influence), field(t('contact.relationship'), relationship)),
      h('div', { class: 'field-row' }, field(t('contact.phone'), phone), field(t('contact.email'), email)),
      field(t('field.notes'), notes),
      dealSelects.length ? h('fieldset', { class: 'contact-deal-stances' }, h('legend', { text: t('contact.deal_stances') }), dealSelects) : null,
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      const body = {
        name: name.value.trim(), title: title.value.trim(), department: dept.value.trim(), reports_to: reports.value,
        role: role.value, stance: stance.value, influence: Number(influence.value), relationship: Number(relationship.value),
        phone: phone.value.trim(), email: email.value.trim(), notes: notes.value.trim(),
        deals: [...form.querySelectorAll('select[data-deal-id]')].filter((s) => s.value !== '-').map((s) => ({ deal_id: s.dataset.dealId, stance: s.value })),
      };
      const base = `/accounts/${encodeURIComponent(page.account.id)}/contacts`;
      const done = () => { close(); page.ctx.refresh({ text: t(c ? 'contact.saved' : 'contact.added', { name: body.name }) }); };
      if (!c) {
        try {
          await api('POST', base, body);
          done();
        } catch (err) {
          formError(form, msg, err);
        }
        return;
      }
      // Only what the user changed, against the version the dialog was opened at: a change
      // someone else made meanwhile is reported ("changed by … meanwhile"), never overwritten.
      const was = { influence: 0, relationship: 0, stance: 'neutral' };
      const change = {};
      for (const [f, val] of Object.entries(body)) {
        if (f === 'deals') continue;
        if (val !== (v[f] ?? was[f] ?? '')) change[f] = val;
      }
      const deals = body.deals.filter((d) => { const l = linked.get(d.deal_id); return !l || (l.stance || '') !== d.stance; });
      if (deals.length) change.deals = deals;
      if (!Object.keys(change).length) { close(); return; }
      const save = async (version) => {
        await api('PATCH', `${base}/${encodeURIComponent(c.id)}`, { ...change, version });
        done();
      };
      try {
        await save(c.version);
      } catch (err) {
        saveError(form, msg, err, { reapply: save, reload: () => { close(); page.ctx.refresh(); } });
      }
    }));
    return form;
  });
}

// ---- the org chart

function orgChartPanel(page) {
  const { contacts } = page;
  if (!contacts.length) return section('org-chart-panel', t('org.title'), empty(t('org.empty')));
  const roots = orgTree(contacts);
  const label = (c) => [[c.title, c.department].filter(Boolean).join(' · ') || (c.role ? roleLabel(c.role) : ''),
    [c.role ? roleLabel(c.role) : '', stanceLabel(c.stance)].filter(Boolean).join(' · ')];
  const stale = (c) => (c.stale ? t('org.stale_box', { days: tp('unit.days', c.days_since_contact) }) : '');
  const describe = (c) => [
    h('strong', { text: c.name }),
    [c.title, c.department, c.role ? roleLabel(c.role) : '', stanceLabel(c.stance)].filter(Boolean).map((x) => ` · ${x}`).join(''),
    c.stale ? [' ', h('span', { class: 'org-list-stale', text: `(${staleText(c)})` })] : null,
  ];
  const links = contacts.filter((c) => c.reports_to && contacts.some((x) => x.id === c.reports_to)).length;
  const chart = orgChart({
    id: 'org-chart', roots, label, stale,
    title: t('org.chart_title', { account: page.account.name }),
    desc: t('org.chart_desc', { people: tp('org.people', contacts.length), lines: tp('org.lines', links) }),
  });
  const listId = newId('ol');
  return section('org-chart-panel', t('org.title'),
    h('p', { class: 'hint', text: t('org.hint') }),
    h('div', { class: 'org-wrap' }, chart),
    h('p', { class: 'org-legend' }, h('span', { class: 'swatch org-swatch-stale', 'aria-hidden': 'true' }), t('org.legend_stale')),
    h('details', { class: 'org-text' }, h('summary', { text: t('org.as_list') }), orgList(roots, describe, { id: 'org-list', 'aria-labelledby': listId })));
}

// ---- interactions

function interactionPanel(page) {
  const { contacts } = page;
  const kind = select('kind', INTERACTION_KINDS.map((k) => ({ value: k, label: t(`ikind.${k}`) })), 'visit', { id: 'interaction-kind', required: true });
  const when = h('input', { type: 'datetime-local', name: 'at', id: 'interaction-at' });
  const deal = select('deal_id', [{ value: '', label: t('interaction.no_deal') }, ...page.deals.filter((d) => d.status === 'open').map((d) => ({ value: d.id, label: d.title }))], '', { id: 'interaction-deal' });
  const people = h('fieldset', { class: 'interaction-contacts', id: 'interaction-contacts' }, h('legend', { text: t('interaction.contacts') }),
    contacts.length
      ? contacts.map((c) => {
        const id = newId('ic');
        return h('div', { class: 'field field-check' }, h('input', { type: 'checkbox', id, name: 'contact_ids', value: c.id, data: { contactId: c.id } }), h('label', { for: id, text: c.name }));
      })
      : h('p', { class: 'hint', text: t('interaction.no_contacts') }));
  const summary = h('textarea', { name: 'summary', id: 'interaction-summary', rows: '3', maxlength: '4000', required: true });
  const reaction = select('reaction', REACTIONS.map((r) => ({ value: r, label: t(`reaction.${r}`) })), 'neutral', { id: 'interaction-reaction', required: true });
  const reactionText = h('textarea', { name: 'reaction_text', id: 'interaction-reaction-text', rows: '2', maxlength: '4000' });
  const msg = msgBox();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'interaction-save', text: t('interaction.log') });
  const form = h('form', { novalidate: true, id: 'interaction-form' },
    h('div', { class: 'field-row' }, field(t('interaction.kind'), kind), field(t('interaction.at'), when, { hint: t('interaction.at_hint') }), field(t('interaction.deal'), deal, { className: 'grow' })),
    people,
    field(t('interaction.summary'), summary),
    h('div', { class: 'field-row' }, field(t('interaction.reaction'), reaction), field(t('interaction.reaction_text'), reactionText, { className: 'grow' })),
    msg, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    const body = {
      account_id: page.account.id, kind: kind.value, summary: summary.value.trim(), reaction: reaction.value,
      contact_ids: [...form.querySelectorAll('input[name=contact_ids]:checked')].map((i) => i.value),
    };
    if (deal.value) body.deal_id = deal.value;
    if (when.value) {
      const at = new Date(when.value);
      if (!Number.isNaN(at.getTime())) body.at = at.toISOString();
    }
    if (reactionText.value.trim()) body.reaction_text = reactionText.value.trim();
    try {
      await api('POST', '/interactions', body);
      page.ctx.refresh({ text: t('interaction.logged', { kind: t(`ikind.${body.kind}`) }) });
    } catch (err) {
      formError(form, msg, err);
    }
  }));
  return section('account-interaction', t('interaction.title'), form);
}

// ---- the account's timeline

function timelinePanel(page) {
  const items = page.timeline || [];
  const names = new Map(page.contacts.map((c) => [c.id, c.name]));
  const titles = new Map(page.deals.map((d) => [d.id, d.title]));
  const entry = (e) => {
    if (e.kind === 'interaction' && e.interaction) {
      const it = e.interaction;
      const who = (it.contact_ids || []).map((id) => names.get(id)).filter(Boolean);
      return h('li', { class: 'timeline-item timeline-interaction', data: { kind: 'interaction', interactionKind: it.kind } },
        h('p', { class: 'timeline-head' },
          h('time', { datetime: e.at, text: formatDateTime(e.at) }), ' · ',
          h('strong', { text: t(`ikind.${it.kind}`) }),
          who.length ? ` · ${t('timeline.with', { names: formatList(who) })}` : '',
          it.deal_id && titles.has(it.deal_id) ? [' · ', h('a', { href: `/deals/${it.deal_id}`, 'data-link': true, text: titles.get(it.deal_id) })] : null,
          ' · ', h('span', { text: t('timeline.by', { who: it.recorded_by }) })),
        h('p', { class: 'timeline-summary' }, it.summary),
        h('p', { class: 'timeline-summary' }, h('span', { class: `reaction reaction-${it.reaction}`, text: t(`reaction.${it.reaction}`) }),
          it.reaction_text ? ` — ${it.reaction_text}` : ''));
    }
    const tr = e.transition || {};
    const move = tr.from_stage && tr.from_stage !== tr.to_stage ? `${stageLabel(tr.from_stage)} → ${stageLabel(tr.to_stage)}` : stageLabel(tr.to_stage);
    return h('li', { class: 'timeline-item timeline-stage', data: { kind: 'stage', transition: tr.kind } },
      h('p', { class: 'timeline-head' },
        h('time', { datetime: e.at, text: formatDateTime(e.at) }), ' · ',
        h('strong', { text: t(`history.${tr.kind}`) }), ' · ',
        tr.deal_id ? h('a', { href: `/deals/${tr.deal_id}`, 'data-link': true, text: e.deal_title || '' }) : e.deal_title || '',
        ' · ', h('span', { text: t('timeline.by', { who: tr.actor }) })),
      h('p', { class: 'timeline-summary', text: move }));
  };
  return section('account-timeline', t('atimeline.title'),
    h('p', { class: 'hint', text: t('atimeline.hint') }),
    items.length ? h('ol', { class: 'timeline', id: 'account-timeline-list' }, items.map(entry)) : empty(t('atimeline.empty')));
}
