// Accounts: the list (with a search, the segment and lifecycle filters, the value-score order, the
// 80/20 view and a way to add one) and an account's page: the key-account record (keyaccount.js),
// its deals, the stakeholders recorded on its deals, and its proactive service report for the
// customer's head office.

import { api, apiAll } from '../api.js';
import { t, formatMoney, formatPercent, formatDate, formatList, formatNumber } from '../i18n.js';
import { h, replace, newId, select } from '../dom.js';
import { barChart, legend } from '../chart.js';
import { stageLabel, statusLabel, roleLabel, satisfactionLabel } from '../domain.js';
import { badges, gradeBadge, newAccountDialog, newDealDialog, table, empty, formError, csvHref, csvLink, query, personNames, personName } from './common.js';
import { stanceTag } from './deal.js';
import { keyAccountPanels, segmentBadge, segmentLabel, phaseLabel, rungLabel, SEGMENTS, PHASES } from './keyaccount.js';

export async function accountsView(root, ctx) {
  await personNames();
  const q = ctx.query.get('q') || '';
  const segment = SEGMENTS.includes(ctx.query.get('segment')) ? ctx.query.get('segment') : '';
  const lifecycle = PHASES.includes(ctx.query.get('lifecycle')) ? ctx.query.get('lifecycle') : '';
  const sort = ctx.query.get('sort') === 'value_score' ? 'value_score' : '';
  const listQuery = listParams({ q, segment, lifecycle, sort });
  const [accounts, pareto] = await Promise.all([
    apiAll(`/accounts${listQuery ? `?${listQuery}` : ''}`),
    api('GET', '/accounts/pareto').catch(() => null),
  ]);
  if (!ctx.alive()) return;
  const search = h('input', { type: 'search', id: 'account-search', name: 'q', value: q, autocomplete: 'off' });
  const segSel = select('segment', [{ value: '', label: t('accounts.all_segments') }, ...SEGMENTS.map((x) => ({ value: x, label: segmentLabel(x) }))], segment, { id: 'account-segment' });
  const phaseSel = select('lifecycle', [{ value: '', label: t('accounts.all_phases') }, ...PHASES.map((x) => ({ value: x, label: phaseLabel(x) }))], lifecycle, { id: 'account-lifecycle' });
  const sortSel = select('sort', [{ value: '', label: t('accounts.sort_name') }, { value: 'value_score', label: t('accounts.sort_value') }], sort, { id: 'account-sort' });
  const form = h('form', { class: 'filters', role: 'search' },
    h('div', { class: 'field grow' }, h('label', { for: 'account-search', text: t('accounts.search') }), search),
    h('div', { class: 'field' }, h('label', { for: 'account-segment', text: t('value.segment') }), segSel),
    h('div', { class: 'field' }, h('label', { for: 'account-lifecycle', text: t('lifecycle.phase') }), phaseSel),
    h('div', { class: 'field' }, h('label', { for: 'account-sort', text: t('accounts.sort') }), sortSel),
    h('div', { class: 'field-aside' }, h('button', { type: 'submit', class: 'btn', text: t('accounts.search_go') })));
  const go = () => {
    const v = listParams({ q: search.value.trim(), segment: segSel.value, lifecycle: phaseSel.value, sort: sortSel.value });
    ctx.navigate(`/accounts${v ? `?${v}` : ''}`, { replace: true });
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go();
  });
  for (const el of [segSel, phaseSel, sortSel]) el.addEventListener('change', go);
  const add = h('button', { type: 'button', class: 'btn btn-primary', id: 'new-account', text: t('account.new') });
  add.addEventListener('click', () => newAccountDialog((a) => ctx.navigate(`/accounts/${a.id}`, { flash: { text: t('account.created', { name: a.name }) } })));
  const rows = accounts.map((a) => h('tr', { data: { accountId: a.id, segment: a.segment || '', phase: a.phase || '' } },
    h('th', { scope: 'row' }, h('a', { href: `/accounts/${a.id}`, 'data-link': true, text: a.name })),
    h('td', { text: a.industry || '' }), h('td', { text: a.region || '' }), h('td', { text: personName(a.owner) }),
    h('td', { class: 'num value-score', text: formatNumber(a.value_score ?? 0, { maximumFractionDigits: 1 }) }),
    h('td', null, segmentBadge(a.segment)),
    h('td', { text: a.phase ? phaseLabel(a.phase) : '' }),
    h('td', { text: a.rung ? rungLabel(a.rung) : '' }),
    h('td', { text: formatDate(a.created_at.slice(0, 10)) })));
  const filtered = Boolean(q || segment || lifecycle);
  replace(root,
    h('div', { class: 'page-head' }, h('h1', { text: t('accounts.title') }), h('div', { class: 'page-actions' }, add)),
    form,
    accounts.length
      ? table(null, [t('field.name'), t('field.industry'), t('field.region'), t('accounts.owner'), t('value.score'), t('value.segment'),
        t('lifecycle.phase'), t('lifecycle.rung'), t('accounts.since')], rows, { id: 'accounts-table' })
      : empty(filtered ? t('accounts.no_match') : t('accounts.empty')),
    pareto ? paretoPanel(pareto) : null);
}

// listParams is the list's query string, its values percent-encoded (a space as %20).
function listParams(params) {
  return Object.entries(params).filter(([, v]) => v).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
}

// paretoPanel is the 80/20 test: the share of the gross profit the top fifth of the accounts
// brings, and each account's share as a bar (the top fifth in its own colour) with the
// cumulative share at its end; the same figures in a table.
function paretoPanel(p) {
  const hid = newId('pa');
  const pct = (x) => formatPercent(x * 100, 1);
  const total = Number(p.total_gross_profit) || 0;
  const shown = p.points.slice(0, 12);
  let prev = 0;
  const rows = shown.map((pt) => {
    const share = pt.profit_share - prev;
    prev = pt.profit_share;
    const top = pt.rank <= p.top_accounts;
    return {
      key: pt.account_id, label: pt.name.length > 18 ? `${pt.name.slice(0, 17)}…` : pt.name, note: pct(pt.profit_share),
      bars: [{ segments: [{ value: share * 100, series: top ? 'top' : 'rest', text: `${pt.name}: ${pct(share)}` }] }],
    };
  });
  return h('section', { class: 'panel report', id: 'pareto', 'aria-labelledby': hid },
    h('h2', { id: hid, text: t('pareto.title') }),
    p.accounts
      ? [
        h('p', { class: 'summary', id: 'pareto-summary', text: t('pareto.summary', {
          top: formatNumber(p.top_accounts), accounts: formatNumber(p.accounts), share: pct(p.top_share),
          total: formatMoney(total, 'CNY', { whole: true }),
        }) }),
        h('div', { class: 'chart-wrap chart-small' }, barChart({
          id: 'pareto-chart', title: t('pareto.chart_title'), desc: t('pareto.chart_desc', { share: pct(p.top_share), top: formatNumber(p.top_accounts) }),
          rows, format: (v) => formatPercent(v, 0),
        })),
        legend([{ series: 'top', label: t('pareto.top_fifth') }, { series: 'rest', label: t('pareto.rest') }]),
        table(t('pareto.table'), [t('pareto.rank'), t('field.name'), t('value.gross_profit'), t('pareto.cumulative')],
          p.points.map((pt) => h('tr', { data: { accountId: pt.account_id, top: String(pt.rank <= p.top_accounts) } },
            h('td', { class: 'num', text: formatNumber(pt.rank) }),
            h('th', { scope: 'row' }, h('a', { href: `/accounts/${pt.account_id}`, 'data-link': true, text: pt.name })),
            h('td', { class: 'money', text: formatMoney(pt.gross_profit, 'CNY', { whole: true }) }),
            h('td', { class: 'num', text: pct(pt.profit_share) }))), { id: 'pareto-table' }),
      ]
      : empty(t('pareto.empty')));
}

export async function accountView(root, ctx) {
  await personNames();
  const id = ctx.params[0];
  const account = await api('GET', `/accounts/${encodeURIComponent(id)}`);
  const round = serviceRound(ctx.query.get('round'));
  const [summaries, settings, service, contactList, timeline] = await Promise.all([
    apiAll(`/deals?account_id=${encodeURIComponent(id)}`),
    api('GET', '/settings'),
    loadService(id, round),
    api('GET', `/accounts/${encodeURIComponent(id)}/contacts`),
    api('GET', `/accounts/${encodeURIComponent(id)}/timeline?limit=100`),
  ]);
  // The buying center is the people recorded on the account's deals (the 50 most recent).
  const full = await Promise.all(summaries.slice(0, 50).map((d) => api('GET', `/deals/${encodeURIComponent(d.id)}`)));
  if (!ctx.alive()) return;
  const sales = ctx.user.role === 'kam' || ctx.user.role === 'director';
  const panels = keyAccountPanels({
    account, ctx, sales, director: ctx.user.role === 'director', deals: summaries,
    contacts: contactList.items, staleDays: contactList.stale_contact_days, timeline: timeline.items,
  });

  const people = new Map();
  for (const d of full) {
    for (const p of d.stakeholders || []) {
      const key = p.name.toLowerCase();
      const prev = people.get(key);
      // The latest record of a person wins; every deal they appear on is listed.
      if (!prev || Date.parse(p.recorded_at) > Date.parse(prev.p.recorded_at)) people.set(key, { p, deals: prev ? prev.deals : [] });
      people.get(key).deals.push(d);
    }
  }
  const dealRows = summaries.map((d) => h('tr', { data: { dealId: d.id } },
    h('th', { scope: 'row' }, h('a', { href: `/deals/${d.id}`, 'data-link': true, text: d.title }), h('span', { class: 'badges' }, badges(d))),
    h('td', { text: stageLabel(d.stage) }), h('td', { text: statusLabel(d.status) }),
    h('td', { class: 'money', text: formatMoney(d.value, d.currency, { whole: true }) }),
    h('td', null, gradeBadge(d.grade)), h('td', { text: formatPercent(d.win_probability) }), h('td', { text: personName(d.owner) })));
  const personRows = [...people.values()].sort((a, b) => a.p.name.localeCompare(b.p.name)).map(({ p, deals }) => h('tr', null,
    h('th', { scope: 'row', text: p.name }), h('td', { text: p.title || '' }), h('td', { text: roleLabel(p.role) }),
    h('td', null, stanceTag(p.stance)), h('td', { text: p.engaged ? t('common.yes') : t('common.no') }),
    h('td', null, formatList([...new Set(deals)].map((d) => d.title)))));

  const hd = newId('ad');
  const hb = newId('ab');
  let addDeal = null;
  if (sales) {
    addDeal = h('button', { type: 'button', class: 'btn btn-primary', id: 'account-new-deal', text: t('deal.new') });
    addDeal.addEventListener('click', () => newDealDialog((d) => ctx.navigate(`/deals/${d.id}`, { flash: { text: t('deal.created', { title: d.title }) } }), { accountId: account.id }));
  }
  const fact = (label, value) => (value ? h('div', { class: 'fact' }, h('dt', { text: label }), h('dd', { text: value })) : null);
  replace(root,
    sales ? h('nav', { class: 'breadcrumb', 'aria-label': t('deal.breadcrumb') }, h('a', { href: '/accounts', 'data-link': true, text: t('nav.accounts') })) : null,
    h('div', { class: 'page-head' }, h('h1', { text: account.name }), addDeal ? h('div', { class: 'page-actions' }, addDeal) : null),
    h('dl', { class: 'facts' },
      fact(t('field.industry'), account.industry), fact(t('field.region'), account.region), fact(t('field.address'), account.address),
      fact(t('accounts.owner'), personName(account.owner)), fact(t('field.notes'), account.notes)),
    h('div', { class: 'account-grid' },
      h('div', { class: 'account-main' }, panels.profile, panels.value),
      h('div', { class: 'account-side' }, panels.lifecycle, panels.team)),
    panels.contacts,
    panels.orgChart,
    h('section', { class: 'panel', id: 'account-deals', 'aria-labelledby': hd },
      h('h2', { id: hd, text: t('accounts.deals') }),
      summaries.length
        ? table(null, [t('review.deal'), t('deal.stage'), t('deal.status'), t('field.value'), t('deal.grade'), t('deal.win_probability'), t('deal.owner')], dealRows)
        : empty(t('accounts.no_deals'))),
    h('section', { class: 'panel', id: 'account-buying-center', 'aria-labelledby': hb },
      h('h2', { id: hb, text: t('accounts.bc_deals') }),
      h('p', { class: 'hint', text: t('accounts.bc_hint') }),
      personRows.length
        ? table(null, [t('field.name'), t('field.person_title'), t('field.role'), t('field.stance'), t('field.engaged'), t('accounts.on_deals')], personRows)
        : empty(t('bc.empty'))),
    panels.interactions,
    panels.timeline,
    servicePanel(account, Math.max(4, settings.service_cadence?.length || 0), round, service, ctx));
}

// ---- the proactive service report

// serviceRound reads the round of the URL: 1–12, or 0 for each site's latest visit.
function serviceRound(v) {
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 && n <= 12 ? n : 0;
}

// loadService reads the service report, or the error to show in its place.
async function loadService(id, round) {
  try {
    return { report: await api('GET', `/accounts/${encodeURIComponent(id)}/service-report${round ? `?round=${round}` : ''}`) };
  } catch (err) {
    return { err };
  }
}

// servicePanel is the account's service report with its round selector; choosing a round reads
// the report again in place (the URL keeps the round, for a reload or a link).
function servicePanel(account, rounds, round, service, ctx) {
  const hid = newId('sr');
  const body = h('div', { class: 'service-body' });
  const link = h('span', { class: 'service-csv' });
  const choice = h('select', { id: 'service-round', name: 'round' },
    h('option', { value: '0', text: t('service.all_rounds') }),
    Array.from({ length: Math.max(rounds, round) }, (_, i) => h('option', { value: String(i + 1), text: t('service.round_n', { n: formatNumber(i + 1) }) })));
  choice.value = String(round);
  const show = (r, result) => {
    replace(link, csvLink(csvHref(`/accounts/${account.id}/service-report`, { round: r || '' }), t('service.csv_label'), 'service-report'));
    if (result.err) {
      const msg = h('div', { class: 'form-msg', role: 'alert' });
      formError(null, msg, result.err);
      replace(body, msg);
    } else {
      replace(body, serviceReport(result.report));
    }
  };
  let seq = 0;
  choice.addEventListener('change', async () => {
    const r = serviceRound(choice.value);
    const mine = ++seq;
    body.setAttribute('aria-busy', 'true');
    const result = await loadService(account.id, r);
    if (!ctx.alive() || mine !== seq) return; // a later choice wins
    body.removeAttribute('aria-busy');
    const q = query({ round: r || '' });
    history.replaceState(null, '', `${location.pathname}${q ? `?${q}` : ''}`);
    show(r, result);
  });
  show(round, service);
  return h('section', { class: 'panel report', id: 'service-report', 'aria-labelledby': hid },
    h('div', { class: 'report-head' }, h('h2', { id: hid, text: t('service.title') }), link),
    h('p', { class: 'hint', text: t('service.hint') }),
    h('div', { class: 'filters service-filter' }, h('div', { class: 'field' }, h('label', { for: 'service-round', text: t('service.round') }), choice)),
    body);
}

function serviceReport(r) {
  const pct = (ratio) => formatPercent(ratio * 100, 1);
  const n = (x) => formatNumber(x);
  const figure = (key, value, label, sub) => h('li', { class: 'figure', data: { figure: key } },
    h('span', { class: 'figure-value', text: value }), h('span', { class: 'figure-label', text: label }),
    sub ? h('span', { class: 'figure-sub', text: sub }) : null);
  return [
    h('p', { class: 'summary', id: 'service-summary' }, r.sites_visited
      ? t('service.summary', {
        visited: n(r.sites_visited), faults: n(r.sites_with_faults), fault_rate: pct(r.fault_rate), unresolved: n(r.sites_unresolved),
        satisfied: n(r.satisfied), satisfaction_rate: pct(r.satisfaction_rate),
      })
      : t('service.empty')),
    h('ul', { class: 'figures', id: 'service-figures' },
      figure('sites_visited', n(r.sites_visited), t('service.sites_visited')),
      figure('fault_rate', pct(r.fault_rate), t('service.fault_rate'), t('service.with_faults', { n: n(r.sites_with_faults) })),
      figure('sites_unresolved', n(r.sites_unresolved), t('service.unresolved'), t('service.unresolved_sub')),
      figure('satisfaction_rate', pct(r.satisfaction_rate), t('service.satisfaction_rate'), t('service.satisfied_n', { n: n(r.satisfied) }))),
    r.sites?.length
      ? table(t('service.table'),
        [t('visit.site'), t('visit.round_col'), t('visit.visited_on'), t('visit.faults_found'), t('visit.faults_unresolved'), t('visit.satisfaction')],
        r.sites.map((s) => h('tr', { data: { dealId: s.deal_id } },
          h('th', { scope: 'row' }, h('a', { href: `/deals/${s.deal_id}`, 'data-link': true, text: s.site })),
          h('td', { class: 'num', text: n(s.round) }),
          h('td', { text: formatDate(s.visited_on) }),
          h('td', { class: 'num', text: n(s.faults_found) }),
          h('td', { class: 'num', text: n(s.faults_unresolved) }),
          h('td', { class: `satisfaction satisfaction-${s.satisfaction}`, text: satisfactionLabel(s.satisfaction) }))),
        { className: 'service-table', id: 'service-sites' })
      : null,
  ];
}
