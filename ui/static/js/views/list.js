// The list view of the board's deals: a table sorted by any of its sortable columns, a page of
// 50 at a time from the server (for thousands of deals), the totals of every page (count, value
// and weighted value per currency, the server's sums), and a CSV or XLSX export of exactly the
// list shown: its filters and its order. The filters, order and page live in the URL, as the
// board's (pipeline.js).

import { api } from '../api.js';
import { t, tp, locale, formatMoney, formatPercent, formatNumber, formatDate } from '../i18n.js';
import { h, replace } from '../dom.js';
import { stageLabel } from '../domain.js';
import { badges, gradeBadge, accountNames, personNames, personName, empty } from './common.js';
import { readFilters, filterQuery, filterBar, savedViews, viewSwitch, sums } from './pipeline.js';

const PAGE = 50;

// The sortable columns: the URL's sort key and its first direction.
const COLUMNS = [
  { key: 'title', label: 'list.col.title', sort: 'title' },
  { key: 'account', label: 'list.col.account' },
  { key: 'stage', label: 'list.col.stage', sort: 'stage' },
  { key: 'owner', label: 'list.col.owner' },
  { key: 'value', label: 'list.col.value', sort: '-value', num: true },
  { key: 'close', label: 'list.col.close', sort: 'close' },
  { key: 'probability', label: 'list.col.probability', sort: '-probability', num: true },
  { key: 'days', label: 'list.col.days', sort: '-days', num: true },
  { key: 'state', label: 'list.col.state' },
];

export async function listView(root, ctx) {
  const f = readFilters(ctx.query);
  const offset = Math.max(0, Number.parseInt(f.offset, 10) || 0);
  const q = filterQuery(f, { offset: false });
  const page = await api('GET', `/deals?status=active&totals=true&limit=${PAGE}&offset=${offset}${q ? `&${q}` : ''}`);
  const [names] = await Promise.all([accountNames(page.items.map((d) => d.account_id)), personNames()]);
  const go = (next) => {
    const nq = filterQuery(next);
    ctx.navigate(`/deals${nq ? `?${nq}` : ''}`, { replace: true });
  };
  const [filters, views] = await Promise.all([filterBar(ctx, f, page.items, names, go), savedViews(ctx, 'list', q)]);
  if (!ctx.alive()) return;

  const tot = page.totals;
  const exportHref = (format) => `/api/v1/exports/deals?${new URLSearchParams({ format, lang: locale(), status: 'active', ...Object.fromEntries(new URLSearchParams(q)) })}`;
  const exports = h('div', { class: 'list-exports' },
    h('a', { class: 'btn btn-small', id: 'export-csv', href: exportHref('csv'), download: true }, h('span', { 'aria-hidden': 'true', text: '⤓' }), t('list.export_csv')),
    h('a', { class: 'btn btn-small', id: 'export-xlsx', href: exportHref('xlsx'), download: true }, h('span', { 'aria-hidden': 'true', text: '⤓' }), t('list.export_xlsx')));

  const head = COLUMNS.map((c) => {
    if (!c.sort) return h('th', { scope: 'col', class: c.num ? 'num' : null, text: t(c.label) });
    const base = c.sort.replace(/^-/, '');
    const cur = f.sort.replace(/^-/, '') === base ? (f.sort.startsWith('-') ? 'descending' : 'ascending') : null;
    // A second click turns the order round.
    const next = cur ? (cur === 'descending' ? base : `-${base}`) : c.sort;
    const b = h('button', { type: 'button', class: 'sort-btn', id: `sort-${c.key}`, data: { sort: next } },
      t(c.label), h('span', { class: 'sort-mark', 'aria-hidden': 'true', text: cur === 'ascending' ? ' ▲' : cur === 'descending' ? ' ▼' : '' }));
    b.addEventListener('click', () => go({ ...f, sort: next, offset: '' }));
    return h('th', { scope: 'col', class: c.num ? 'num' : null, 'aria-sort': cur || 'none' }, b);
  });
  const rows = page.items.map((d) => h('tr', { data: { dealId: d.id }, class: [d.stalled && 'is-stalled', d.forced && 'is-forced'] },
    h('th', { scope: 'row' }, h('a', { href: `/deals/${d.id}`, 'data-link': true, text: d.title })),
    h('td', { text: names.get(d.account_id) || t('deal.unknown_account') }),
    h('td', { text: stageLabel(d.stage) }),
    h('td', { data: { owner: d.owner }, text: personName(d.owner) }),
    h('td', { class: 'num money', text: formatMoney(d.value, d.currency, { whole: true }) }),
    h('td', { text: d.expected_close ? formatDate(d.expected_close) : '–' }),
    h('td', { class: 'num', text: formatPercent(d.win_probability) }),
    h('td', { class: 'num', text: formatNumber(d.days_in_stage) }),
    h('td', null, gradeBadge(d.grade), ' ', badges(d))));

  const last = Math.min(offset + PAGE, page.total);
  const prev = h('button', { type: 'button', class: 'btn btn-small', id: 'list-prev', disabled: offset === 0, text: t('list.prev') });
  const next = h('button', { type: 'button', class: 'btn btn-small', id: 'list-next', disabled: last >= page.total, text: t('list.next') });
  prev.addEventListener('click', () => go({ ...f, offset: String(Math.max(0, offset - PAGE)) }));
  next.addEventListener('click', () => go({ ...f, offset: String(offset + PAGE) }));

  replace(root,
    h('div', { class: 'page-head' },
      h('h1', { text: t('list.title') }),
      h('div', { class: 'page-actions' }, viewSwitch('list', f))),
    filters,
    h('div', { class: 'board-tools' }, views, exports),
    h('dl', { class: 'list-totals', id: 'list-totals', data: { count: tot.count } },
      h('div', null, h('dt', { text: t('list.total_deals') }), h('dd', { text: formatNumber(tot.count) })),
      h('div', null, h('dt', { text: t('list.total_value') }), h('dd', { id: 'total-value' }, sums(tot.value, '–'))),
      h('div', null, h('dt', { text: t('list.total_weighted') }), h('dd', { id: 'total-weighted' }, sums(tot.weighted, '–'))),
      tot.stalled ? h('div', null, h('dt', { text: t('list.total_stalled') }), h('dd', { text: formatNumber(tot.stalled) })) : null),
    page.items.length
      ? h('div', { class: 'table-wrap' },
        h('table', { class: 'table deal-table', id: 'deal-table' },
          h('caption', { class: 'visually-hidden', text: t('list.caption') }),
          h('thead', null, h('tr', null, head)),
          h('tbody', null, rows)))
      : empty(t('list.empty')),
    h('nav', { class: 'pager', 'aria-label': t('list.pages') },
      prev,
      h('span', { id: 'list-range', 'aria-live': 'polite', text: page.total ? t('list.range', { from: formatNumber(offset + 1), to: formatNumber(last), total: tp('list.deals', page.total) }) : '' }),
      next));
}
