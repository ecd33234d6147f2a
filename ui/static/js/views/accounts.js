// Accounts: the list (with a search and a way to add one) and an account's page with its deals,
// its buying center, gathered from the stakeholders recorded on its deals, and its proactive
// service report for the customer's head office.

import { api, apiAll } from '../api.js';
import { t, formatMoney, formatPercent, formatDate, formatList, formatNumber } from '../i18n.js';
import { h, replace, newId } from '../dom.js';
import { stageLabel, statusLabel, roleLabel, satisfactionLabel } from '../domain.js';
import { badges, gradeBadge, newAccountDialog, newDealDialog, table, empty, formError, csvHref, csvLink, query } from './common.js';
import { stanceTag } from './deal.js';

export async function accountsView(root, ctx) {
  const q = ctx.query.get('q') || '';
  const accounts = await apiAll(`/accounts${q ? `?q=${encodeURIComponent(q)}` : ''}`);
  if (!ctx.alive()) return;
  const search = h('input', { type: 'search', id: 'account-search', name: 'q', value: q, autocomplete: 'off' });
  const form = h('form', { class: 'filters', role: 'search' },
    h('div', { class: 'field grow' }, h('label', { for: 'account-search', text: t('accounts.search') }), search),
    h('div', { class: 'field-aside' }, h('button', { type: 'submit', class: 'btn', text: t('accounts.search_go') })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = search.value.trim();
    ctx.navigate(`/accounts${v ? `?q=${encodeURIComponent(v)}` : ''}`, { replace: true });
  });
  const add = h('button', { type: 'button', class: 'btn btn-primary', id: 'new-account', text: t('account.new') });
  add.addEventListener('click', () => newAccountDialog((a) => ctx.navigate(`/accounts/${a.id}`, { flash: { text: t('account.created', { name: a.name }) } })));
  const rows = accounts.map((a) => h('tr', { data: { accountId: a.id } },
    h('th', { scope: 'row' }, h('a', { href: `/accounts/${a.id}`, 'data-link': true, text: a.name })),
    h('td', { text: a.industry || '' }), h('td', { text: a.region || '' }), h('td', { text: a.owner }),
    h('td', { text: formatDate(a.created_at.slice(0, 10)) })));
  replace(root,
    h('div', { class: 'page-head' }, h('h1', { text: t('accounts.title') }), h('div', { class: 'page-actions' }, add)),
    form,
    accounts.length
      ? table(null, [t('field.name'), t('field.industry'), t('field.region'), t('accounts.owner'), t('accounts.since')], rows)
      : empty(q ? t('accounts.no_match') : t('accounts.empty')));
}

export async function accountView(root, ctx) {
  const id = ctx.params[0];
  const account = await api('GET', `/accounts/${encodeURIComponent(id)}`);
  const round = serviceRound(ctx.query.get('round'));
  const [summaries, settings, service] = await Promise.all([
    apiAll(`/deals?account_id=${encodeURIComponent(id)}`),
    api('GET', '/settings'),
    loadService(id, round),
  ]);
  // The buying center is the people recorded on the account's deals (the 50 most recent).
  const full = await Promise.all(summaries.slice(0, 50).map((d) => api('GET', `/deals/${encodeURIComponent(d.id)}`)));
  if (!ctx.alive()) return;
  const sales = ctx.user.role === 'kam' || ctx.user.role === 'director';

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
    h('td', null, gradeBadge(d.grade)), h('td', { text: formatPercent(d.win_probability) }), h('td', { text: d.owner })));
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
      fact(t('accounts.owner'), account.owner), fact(t('field.notes'), account.notes)),
    h('section', { class: 'panel', id: 'account-deals', 'aria-labelledby': hd },
      h('h2', { id: hd, text: t('accounts.deals') }),
      summaries.length
        ? table(null, [t('review.deal'), t('deal.stage'), t('deal.status'), t('field.value'), t('deal.grade'), t('deal.win_probability'), t('deal.owner')], dealRows)
        : empty(t('accounts.no_deals'))),
    h('section', { class: 'panel', id: 'account-buying-center', 'aria-labelledby': hb },
      h('h2', { id: hb, text: t('bc.title') }),
      h('p', { class: 'hint', text: t('accounts.bc_hint') }),
      personRows.length
        ? table(null, [t('field.name'), t('field.person_title'), t('field.role'), t('field.stance'), t('field.engaged'), t('accounts.on_deals')], personRows)
        : empty(t('bc.empty'))),
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
