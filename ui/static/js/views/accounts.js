// Accounts: the list (with a search and a way to add one) and an account's page with its deals and
// its buying center, gathered from the stakeholders recorded on its deals.

import { api, apiAll } from '../api.js';
import { t, formatMoney, formatPercent, formatDate, formatList } from '../i18n.js';
import { h, replace, newId } from '../dom.js';
import { stageLabel, statusLabel, roleLabel } from '../domain.js';
import { badges, gradeBadge, newAccountDialog, newDealDialog, table, empty } from './common.js';
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
  const summaries = await apiAll(`/deals?account_id=${encodeURIComponent(id)}`);
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
        : empty(t('bc.empty'))));
}
