// The pipeline board: six columns in stage order with their count, stalled count, value and
// weighted value per currency (the server's sums), and a card per active deal, sorted within the
// columns. A card is dragged to the next stage to move the deal on, or moved with its "Move to…"
// button (the keyboard's and the phone's way); the server's key node decides, a refused move
// springs back and says what is missing, a director is offered the force dialog. On a phone one
// stage shows at a time, under tabs with their counts. Filters, order and saved views live in the
// URL (pipeline.js).

import { apiAll, api } from '../api.js';
import { t, tp, formatMoney, formatPercent, formatNumber } from '../i18n.js';
import { h, replace, newId, announce } from '../dom.js';
import { STAGES, stageLabel, nextStage } from '../domain.js';
import { badges, gradeBadge, accountNames, newDealDialog, newAccountDialog, personNames, personName } from './common.js';
import { readFilters, filterQuery, filterBar, savedViews, viewSwitch, sums, mayMove, moveDeal, moveDialog } from './pipeline.js';

// The sorts within the columns, by their URL value ('' is the last change first).
const SORTS = ['', '-value', 'close', '-days', '-probability'];

// The stage shown on a phone, kept while the board is re-rendered.
let phoneStage = STAGES[0];

export async function boardView(root, ctx) {
  const f = readFilters(ctx.query);
  if (!SORTS.includes(f.sort)) f.sort = '';
  const fq = filterQuery(f, { sort: false, offset: false });
  const sortQ = f.sort ? `&sort=${encodeURIComponent(f.sort)}` : '';
  const lists = STAGES.map((s) => apiAll(`/deals?stage=${s}&status=active${fq ? `&${fq}` : ''}${sortQ}`));
  const [report, ...perStage] = await Promise.all([api('GET', `/reports/pipeline${fq ? `?${fq}` : ''}`), ...lists]);
  const all = perStage.flat();
  const [names] = await Promise.all([accountNames(all.map((d) => d.account_id)), personNames()]);
  const apply = (next) => {
    const q = filterQuery(next, { offset: false });
    ctx.navigate(`/board${q ? `?${q}` : ''}`, { replace: true });
  };
  const [filters, views] = await Promise.all([filterBar(ctx, f, all, names, apply), savedViews(ctx, 'board', filterQuery(f, { offset: false }))]);
  if (!ctx.alive()) return;

  const sortSel = h('select', { id: 'board-sort', name: 'sort' },
    SORTS.map((s) => h('option', { value: s, selected: s === f.sort, text: t(`board.sort.${s.replace('-', '') || 'updated'}`) })));
  sortSel.addEventListener('change', () => apply({ ...f, sort: sortSel.value }));

  const newDeal = h('button', { type: 'button', class: 'btn btn-primary', id: 'new-deal', text: t('deal.new') });
  newDeal.addEventListener('click', () => newDealDialog((d) => ctx.navigate(`/deals/${d.id}`, { flash: { text: t('deal.created', { title: d.title }) } })));
  const newAcc = h('button', { type: 'button', class: 'btn', id: 'new-account', text: t('account.new') });
  newAcc.addEventListener('click', () => newAccountDialog((a) => ctx.refresh({ text: t('account.created', { name: a.name }) })));

  const total = report.stages.reduce((n, s) => n + s.count, 0);
  const stalledTotal = report.stages.reduce((n, s) => n + s.stalled, 0);
  const result = h('div', { id: 'move-result', class: 'move-result', role: 'alert' });
  const board = { ctx, f, result, dragged: null };
  const sumOf = (s) => report.stages.find((x) => x.stage === s) || { count: 0, stalled: 0, value: [], weighted: [] };
  if (!STAGES.includes(phoneStage)) phoneStage = STAGES[0];
  const columns = STAGES.map((s, i) => column(board, s, i, sumOf(s), perStage[i], names));
  replace(root,
    h('div', { class: 'page-head' },
      h('h1', { text: t('board.title') }),
      h('div', { class: 'page-actions' }, viewSwitch('board', f), newDeal, newAcc)),
    filters,
    h('div', { class: 'board-tools' },
      h('div', { class: 'field field-inline' }, h('label', { for: 'board-sort', text: t('board.sort_label') }), sortSel),
      views),
    h('p', { class: 'summary', id: 'board-summary' },
      tp('board.summary_deals', total), stalledTotal ? ` · ${tp('board.summary_stalled', stalledTotal)}` : ''),
    result,
    stageTabs(columns, report),
    h('div', { class: 'board', id: 'board' }, columns));
}

// stageTabs are the phone's stage tabs (hidden on a wider screen, where every column shows).
function stageTabs(columns, report) {
  const tabs = STAGES.map((s, i) => {
    const count = report.stages.find((x) => x.stage === s)?.count || 0;
    const tab = h('button', {
      type: 'button', role: 'tab', id: `tab-${s}`, class: 'stage-tab', 'aria-controls': columns[i].id,
      'aria-selected': String(s === phoneStage), tabindex: s === phoneStage ? '0' : '-1', data: { stage: s, count },
    }, h('span', { class: 'tab-label', text: stageLabel(s) }), ' ', h('span', { class: 'tab-count', 'aria-label': tp('board.deals', count), text: formatNumber(count) }));
    tab.addEventListener('click', () => select(s));
    tab.addEventListener('keydown', (e) => {
      const d = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (!d) return;
      e.preventDefault();
      const n = STAGES[(i + d + STAGES.length) % STAGES.length];
      select(n);
      list.querySelector(`#tab-${n}`).focus();
    });
    return tab;
  });
  const list = h('div', { class: 'stage-tabs', role: 'tablist', id: 'stage-tabs', 'aria-label': t('board.stages') }, tabs);
  const select = (s) => {
    phoneStage = s;
    for (const tab of tabs) {
      const on = tab.dataset.stage === s;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    for (const c of columns) c.classList.toggle('is-current', c.dataset.stage === s);
  };
  return list;
}

function column(board, stage, index, sum, deals, names) {
  const hid = newId('col');
  const cards = h('ol', { class: 'cards' }, deals.map((d) => card(board, d, names)));
  const el = h('section', {
    class: ['column', stage === phoneStage && 'is-current'], id: `column-${stage}`, role: 'tabpanel', 'aria-labelledby': hid, data: { stage },
  },
  h('header', { class: 'column-head' },
    h('h2', { id: hid },
      h('span', { class: 'column-num', 'aria-hidden': 'true', text: formatNumber(index + 1) }), ' ', stageLabel(stage)),
    h('p', { class: 'column-meta' },
      h('span', { class: 'column-count', data: { count: sum.count } }, tp('board.deals', sum.count)),
      sum.stalled ? h('span', { class: 'column-stalled' }, ` · ${tp('board.stalled_count', sum.stalled)}`) : null),
    h('p', { class: 'column-value' }, sums(sum.value, t('board.no_value'))),
    sum.count ? h('p', { class: 'column-weighted' }, t('board.weighted'), ' ', sums(sum.weighted || [], '–')) : null),
  cards,
  h('p', { class: 'empty column-empty', hidden: deals.length > 0, text: t('board.empty_column') }));
  // A card dragged from the stage before may be dropped here: the move's way is the next stage.
  el.addEventListener('dragover', (e) => {
    const d = board.dragged;
    if (!d || nextStage(d.deal.stage) !== stage) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'move';
    el.classList.add('drop-ok');
  });
  el.addEventListener('dragleave', (e) => { if (!el.contains(e.relatedTarget)) el.classList.remove('drop-ok'); });
  el.addEventListener('drop', (e) => {
    const d = board.dragged;
    el.classList.remove('drop-ok');
    if (!d || nextStage(d.deal.stage) !== stage) return;
    e.preventDefault();
    board.dragged = null;
    move(board, d.el, d.deal, cards);
  });
  return el;
}

function card(board, d, names) {
  const movable = mayMove(board.ctx, d);
  const el = h('li', {
    class: ['deal-card', d.stalled && 'is-stalled', d.forced && 'is-forced', movable && 'is-movable'],
    draggable: movable ? 'true' : null, data: { dealId: d.id, stage: d.stage },
  },
  h('p', { class: 'card-account', text: names.get(d.account_id) || t('deal.unknown_account') }),
  h('h3', { class: 'card-title' }, h('a', { href: `/deals/${d.id}`, 'data-link': true, draggable: 'false', text: d.title })),
  h('p', { class: 'card-value money', text: formatMoney(d.value, d.currency, { whole: true }) }),
  h('p', { class: 'card-meta' },
    gradeBadge(d.grade),
    h('span', { class: 'prob', title: t('deal.win_probability') }, t('board.card_probability', { p: formatPercent(d.win_probability) })),
    h('span', { class: 'days' }, tp('board.days_in_stage', d.days_in_stage)),
    d.expected_close ? h('span', { class: 'close' }, t('board.card_close', { date: d.expected_close.slice(0, 7) })) : null),
  h('div', { class: 'badges' }, badges(d)),
  h('p', { class: 'card-owner', data: { owner: d.owner } }, t('board.card_owner', { owner: personName(d.owner) })),
  movable ? moveButton(board, d) : null);
  if (movable) {
    el.addEventListener('dragstart', (e) => {
      board.dragged = { el, deal: d };
      if (e.dataTransfer) {
        e.dataTransfer.effectAllowed = 'move';
        e.dataTransfer.setData('text/plain', d.id);
      }
      el.classList.add('is-dragging');
      document.getElementById(`column-${nextStage(d.stage)}`)?.classList.add('drop-target');
      announce(t('board.drag_hint', { title: d.title, stage: stageLabel(nextStage(d.stage)) }));
    });
    el.addEventListener('dragend', () => {
      el.classList.remove('is-dragging');
      for (const c of document.querySelectorAll('.column.drop-target, .column.drop-ok')) c.classList.remove('drop-target', 'drop-ok');
      board.dragged = null;
    });
  }
  return el;
}

function moveButton(board, d) {
  const b = h('button', {
    type: 'button', class: 'btn btn-small card-move', 'aria-haspopup': 'dialog',
    'aria-label': t('board.move_aria', { title: d.title }), text: t('board.move'),
  });
  b.addEventListener('click', () => moveDialog(d, () => {
    const el = b.closest('.deal-card');
    const target = document.querySelector(`#column-${nextStage(d.stage)} .cards`);
    move(board, el, d, target, b);
  }));
  return b;
}

// move puts the card in the next column while the server decides; a refusal puts it back where it
// was (springing back) and says why.
async function move(board, el, d, target, focusBack) {
  const from = el.parentElement;
  const before = el.nextSibling;
  replace(board.result);
  el.classList.add('is-moving');
  el.setAttribute('aria-busy', 'true');
  if (target) target.prepend(el);
  await moveDeal(board.ctx, d, board.result, {
    onMoved: (text) => board.ctx.refresh({ text }),
    onRefused: () => {
      from.insertBefore(el, before);
      el.classList.remove('is-moving');
      el.removeAttribute('aria-busy');
      el.classList.remove('spring-back');
      void el.offsetWidth; // restart the animation
      el.classList.add('spring-back');
      if (focusBack && document.body.contains(focusBack)) focusBack.focus();
    },
  });
}
