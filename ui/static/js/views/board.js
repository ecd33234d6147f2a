// The pipeline board: six columns in stage order with their count, stalled count and value per
// currency, and a card per active deal. Filters by owner, grade and stalled live in the URL.

import { api, apiAll } from '../api.js';
import { t, tp, formatMoney, formatPercent, formatNumber } from '../i18n.js';
import { h, replace, newId } from '../dom.js';
import { STAGES, GRADES, stageLabel } from '../domain.js';
import { badges, gradeBadge, accountNames, newDealDialog, newAccountDialog, personNames, personName } from './common.js';

// Owners seen on the board this session, for the owner filter (the API lists users to admins only).
const knownOwners = new Set();

export async function boardView(root, ctx) {
  const q = ctx.query;
  const filters = { owner: q.get('owner') || '', grade: q.get('grade') || '', stalled: q.get('stalled') === 'true' };
  const qs = new URLSearchParams();
  if (filters.owner) qs.set('owner', filters.owner);
  if (filters.grade) qs.set('grade', filters.grade);
  if (filters.stalled) qs.set('stalled', 'true');
  const fq = qs.toString() ? `&${qs}` : '';

  // Active deals are open, or won and not yet delivered (negotiation after signing, delivery).
  const lists = STAGES.map((s) => {
    const open = apiAll(`/deals?stage=${s}&status=open${fq}`);
    const won = s === 'negotiation' || s === 'delivery' ? apiAll(`/deals?stage=${s}&status=won${fq}`) : Promise.resolve([]);
    return Promise.all([open, won]).then(([a, b]) => [...a, ...b]);
  });
  const [report, ...perStage] = await Promise.all([api('GET', `/reports/pipeline${qs.toString() ? `?${qs}` : ''}`), ...lists]);
  const all = perStage.flat();
  const [names] = await Promise.all([accountNames(all.map((d) => d.account_id)), personNames()]);
  knownOwners.add(ctx.user.username);
  for (const d of all) knownOwners.add(d.owner);
  if (!ctx.alive()) return;

  const apply = (next) => {
    const p = new URLSearchParams();
    if (next.owner) p.set('owner', next.owner);
    if (next.grade) p.set('grade', next.grade);
    if (next.stalled) p.set('stalled', 'true');
    ctx.navigate(`/board${p.toString() ? `?${p}` : ''}`, { replace: true });
  };
  const ownerSel = h('select', { id: 'filter-owner', name: 'owner' },
    h('option', { value: '', text: t('board.all_owners') }),
    [...knownOwners].sort((a, b) => personName(a).localeCompare(personName(b))).map((o) => h('option', { value: o, selected: o === filters.owner, text: o === ctx.user.username ? t('board.me', { name: personName(o) }) : personName(o) })));
  const gradeSel = h('select', { id: 'filter-grade', name: 'grade' },
    h('option', { value: '', text: t('board.all_grades') }),
    GRADES.map((g) => h('option', { value: g, selected: g === filters.grade, text: t('deal.grade_short', { grade: g }) })));
  const stalledBox = h('input', { type: 'checkbox', id: 'filter-stalled', name: 'stalled', checked: filters.stalled });
  ownerSel.addEventListener('change', () => apply({ ...filters, owner: ownerSel.value }));
  gradeSel.addEventListener('change', () => apply({ ...filters, grade: gradeSel.value }));
  stalledBox.addEventListener('change', () => apply({ ...filters, stalled: stalledBox.checked }));

  const newDeal = h('button', { type: 'button', class: 'btn btn-primary', id: 'new-deal', text: t('deal.new') });
  newDeal.addEventListener('click', () => newDealDialog((d) => ctx.navigate(`/deals/${d.id}`, { flash: { text: t('deal.created', { title: d.title }) } })));
  const newAcc = h('button', { type: 'button', class: 'btn', id: 'new-account', text: t('account.new') });
  newAcc.addEventListener('click', () => newAccountDialog((a) => ctx.refresh({ text: t('account.created', { name: a.name }) })));

  const filtered = Boolean(filters.owner || filters.grade || filters.stalled);
  const total = report.stages.reduce((n, s) => n + s.count, 0);
  const stalledTotal = report.stages.reduce((n, s) => n + s.stalled, 0);
  replace(root,
    h('div', { class: 'page-head' },
      h('h1', { text: t('board.title') }),
      h('div', { class: 'page-actions' }, newDeal, newAcc)),
    h('form', { class: 'filters', 'aria-label': t('board.filters'), onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'field' }, h('label', { for: 'filter-owner', text: t('board.owner') }), ownerSel),
      h('div', { class: 'field' }, h('label', { for: 'filter-grade', text: t('board.grade') }), gradeSel),
      h('div', { class: 'field field-check' }, stalledBox, h('label', { for: 'filter-stalled', text: t('board.stalled_only') })),
      filtered ? h('a', { href: '/board', 'data-link': true, class: 'btn btn-quiet', text: t('board.clear_filters') }) : null),
    h('p', { class: 'summary', id: 'board-summary' },
      tp('board.summary_deals', total), stalledTotal ? ` · ${tp('board.summary_stalled', stalledTotal)}` : ''),
    h('div', { class: 'board', id: 'board' },
      STAGES.map((s, i) => column(s, i, report.stages.find((x) => x.stage === s) || { count: 0, stalled: 0, value: [] }, perStage[i], names))));
}

function column(stage, index, sum, deals, names) {
  const hid = newId('col');
  return h('section', { class: 'column', 'aria-labelledby': hid, data: { stage } },
    h('header', { class: 'column-head' },
      h('h2', { id: hid },
        h('span', { class: 'column-num', 'aria-hidden': 'true', text: formatNumber(index + 1) }), ' ', stageLabel(stage)),
      h('p', { class: 'column-meta' },
        h('span', { class: 'column-count', data: { count: sum.count } }, tp('board.deals', sum.count)),
        sum.stalled ? h('span', { class: 'column-stalled' }, ` · ${tp('board.stalled_count', sum.stalled)}`) : null),
      h('p', { class: 'column-value' },
        sum.value.length
          ? sum.value.map((v, i) => [i ? ' + ' : '', h('span', { class: 'money' }, formatMoney(v.total, v.currency, { compact: true }))])
          : h('span', { class: 'muted', text: t('board.no_value') }))),
    deals.length
      ? h('ol', { class: 'cards' }, deals.map((d) => card(d, names)))
      : h('p', { class: 'empty column-empty', text: t('board.empty_column') }));
}

function card(d, names) {
  return h('li', { class: ['deal-card', d.stalled && 'is-stalled', d.forced && 'is-forced'], data: { dealId: d.id } },
    h('p', { class: 'card-account', text: names.get(d.account_id) || t('deal.unknown_account') }),
    h('h3', { class: 'card-title' }, h('a', { href: `/deals/${d.id}`, 'data-link': true, text: d.title })),
    h('p', { class: 'card-value money', text: formatMoney(d.value, d.currency, { whole: true }) }),
    h('p', { class: 'card-meta' },
      gradeBadge(d.grade),
      h('span', { class: 'prob', title: t('deal.win_probability') }, t('board.card_probability', { p: formatPercent(d.win_probability) })),
      h('span', { class: 'days' }, tp('board.days_in_stage', d.days_in_stage))),
    h('div', { class: 'badges' }, badges(d)),
    h('p', { class: 'card-owner', data: { owner: d.owner } }, t('board.card_owner', { owner: personName(d.owner) })));
}
