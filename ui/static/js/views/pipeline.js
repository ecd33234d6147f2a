// What the board and the list view share: their filters, read from and written to the URL's
// query; the filter bar; the views a user saves by name; the money sums per currency; moving a
// deal to its next stage (the server's key node decides; a director may force).

import { api, ApiError, gateLabel, errorText } from '../api.js';
import { t, formatMoney } from '../i18n.js';
import { h, replace, field, validate, busy, openDialog, announce } from '../dom.js';
import { GRADES, stageLabel, nextStage } from '../domain.js';
import { personName, formError } from './common.js';
import { forceDialog, movedMeanwhile } from './force.js';

/** The filters' names in the URL, in the order they are written. */
export const FILTERS = ['owner', 'team', 'grade', 'stalled', 'close_month', 'account_id', 'q'];

/** readFilters reads the filters (and sort, offset) of a view's URL query. */
export function readFilters(q) {
  const f = {};
  for (const k of [...FILTERS, 'sort', 'offset']) f[k] = q.get(k) || '';
  f.stalled = f.stalled === 'true' ? 'true' : '';
  return f;
}

/** filterQuery is the query string of the filters that have a value (and sort, offset if set). */
export function filterQuery(f, { sort = true, offset = true } = {}) {
  const p = new URLSearchParams();
  for (const k of FILTERS) if (f[k]) p.set(k, f[k]);
  if (sort && f.sort) p.set('sort', f.sort);
  if (offset && f.offset && f.offset !== '0') p.set('offset', f.offset);
  return p.toString();
}

/** active reports whether any filter is set. */
export const filtered = (f) => FILTERS.some((k) => f[k]);

/** sums says amounts per currency ("¥1.2M + $30K"), or none. */
export function sums(list, none) {
  return list && list.length
    ? list.map((v, i) => [i ? ' + ' : '', h('span', { class: 'money', data: { currency: v.currency } }, formatMoney(v.total, v.currency, { compact: true }))])
    : h('span', { class: 'muted', text: none });
}

// Owners and teams seen this session, for the filters (the API lists users to admins only).
const knownOwners = new Set();
let teamNames = null;

/**
 * filterBar builds the filters' form for a page (board or list): owner, team, grade, stalled,
 * close month, account, text; each change goes to the URL through apply(next filters).
 */
export async function filterBar(ctx, f, deals, names, apply) {
  knownOwners.add(ctx.user.username);
  for (const d of deals) knownOwners.add(d.owner);
  if (f.owner) knownOwners.add(f.owner);
  const teams = [...new Set([...(ctx.user.teams || []), ...(f.team ? [f.team] : [])])];
  if (!teamNames && ctx.user.role === 'director') {
    try {
      teamNames = new Map((await api('GET', '/teams')).items.map((x) => [x.id, x.name]));
    } catch {
      teamNames = new Map();
    }
  }
  const teamName = (id) => (teamNames && teamNames.get(id)) || id;
  const opt = (value, text, sel) => h('option', { value, selected: value === sel, text });
  const ownerSel = h('select', { id: 'filter-owner', name: 'owner' }, opt('', t('board.all_owners'), f.owner),
    [...knownOwners].sort((a, b) => personName(a).localeCompare(personName(b)))
      .map((o) => opt(o, o === ctx.user.username ? t('board.me', { name: personName(o) }) : personName(o), f.owner)));
  const teamSel = h('select', { id: 'filter-team', name: 'team' }, opt('', t('board.all_teams'), f.team),
    teams.map((x) => opt(x, teamName(x), f.team)));
  const gradeSel = h('select', { id: 'filter-grade', name: 'grade' }, opt('', t('board.all_grades'), f.grade),
    GRADES.map((g) => opt(g, t('deal.grade_short', { grade: g }), f.grade)));
  const accounts = [...names.entries()].sort((a, b) => a[1].localeCompare(b[1]));
  const accountSel = h('select', { id: 'filter-account', name: 'account_id' }, opt('', t('board.all_accounts'), f.account_id),
    accounts.map(([id, name]) => opt(id, name, f.account_id)));
  const stalledBox = h('input', { type: 'checkbox', id: 'filter-stalled', name: 'stalled', checked: Boolean(f.stalled) });
  const month = h('input', { type: 'month', id: 'filter-close', name: 'close_month', value: f.close_month });
  const text = h('input', { type: 'search', id: 'filter-q', name: 'q', value: f.q, maxlength: '200', placeholder: t('board.text_placeholder') });
  const set = (k, v) => apply({ ...f, [k]: v, offset: '' });
  ownerSel.addEventListener('change', () => set('owner', ownerSel.value));
  teamSel.addEventListener('change', () => set('team', teamSel.value));
  gradeSel.addEventListener('change', () => set('grade', gradeSel.value));
  accountSel.addEventListener('change', () => set('account_id', accountSel.value));
  stalledBox.addEventListener('change', () => set('stalled', stalledBox.checked ? 'true' : ''));
  month.addEventListener('change', () => set('close_month', month.value));
  text.addEventListener('change', () => set('q', text.value.trim()));
  const fld = (label, control) => h('div', { class: 'field' }, h('label', { for: control.id, text: label }), control);
  return h('form', { class: 'filters', 'aria-label': t('board.filters'), onsubmit: (e) => { e.preventDefault(); set('q', text.value.trim()); } },
    fld(t('board.text'), text),
    fld(t('board.owner'), ownerSel),
    teams.length > 1 || f.team ? fld(t('board.team'), teamSel) : null,
    fld(t('board.grade'), gradeSel),
    fld(t('board.account'), accountSel),
    fld(t('board.close_month'), month),
    h('div', { class: 'field field-check' }, stalledBox, h('label', { for: 'filter-stalled', text: t('board.stalled_only') })),
    filtered(f) ? h('a', { href: location.pathname, 'data-link': true, class: 'btn btn-quiet', id: 'clear-filters', text: t('board.clear_filters') }) : null);
}

/**
 * savedViews is the saved views' control of a page: a select of the user's views of the page
 * (choosing one opens it), Save view (a name; the same name replaces it) and Delete for the
 * view shown.
 */
export async function savedViews(ctx, page, query) {
  let views = [];
  try {
    views = (await api('GET', `/saved-views?page=${page}`)).items;
  } catch {
    views = [];
  }
  const path = location.pathname;
  const current = views.find((v) => v.query === query && query !== '');
  const sel = h('select', { id: 'saved-views', name: 'view' },
    h('option', { value: '', text: t('views.choose') }),
    views.map((v) => h('option', { value: v.id, selected: current && v.id === current.id, text: v.name })));
  sel.addEventListener('change', () => {
    const v = views.find((x) => x.id === sel.value);
    if (v) ctx.navigate(`${path}${v.query ? `?${v.query}` : ''}`);
  });
  const save = h('button', { type: 'button', class: 'btn', id: 'save-view', text: t('views.save') });
  save.addEventListener('click', () => openDialog(t('views.save_title'), (close) => {
    const name = h('input', { name: 'name', id: 'view-name', required: true, maxlength: '80', value: current ? current.name : '' });
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'view-save-confirm', text: t('common.save') });
    const form = h('form', { novalidate: true, id: 'save-view-form' },
      h('p', { class: 'hint', text: t('views.save_hint') }),
      field(t('views.name'), name), msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      try {
        const v = await api('POST', '/saved-views', { name: name.value.trim(), page, query });
        close();
        await ctx.refresh({ text: t('views.saved', { name: v.name }) });
      } catch (err) {
        formError(form, msg, err);
      }
    }));
    return form;
  }));
  const del = current ? h('button', { type: 'button', class: 'btn btn-quiet', id: 'delete-view', text: t('views.delete', { name: current.name }) }) : null;
  if (del) {
    del.addEventListener('click', busy(del, async () => {
      await api('DELETE', `/saved-views/${encodeURIComponent(current.id)}`);
      await ctx.refresh({ text: t('views.deleted', { name: current.name }) });
    }));
  }
  return h('div', { class: 'saved-views' },
    h('label', { for: 'saved-views', class: 'visually-hidden', text: t('views.label') }), sel, save, del);
}

/** The links between the board and the list view, with the filters. */
export function viewSwitch(current, f) {
  const q = filterQuery(f, { offset: false });
  const link = (page, path, id) => h('a', { href: `${path}${q ? `?${q}` : ''}`, 'data-link': true, id, class: ['btn', page === current && 'is-current'], 'aria-current': page === current ? 'page' : null, text: t(`views.${page}`) });
  return h('nav', { class: 'view-switch', 'aria-label': t('views.switch') }, link('board', '/board', 'view-board'), link('list', '/deals', 'view-list'));
}

/** mayMove reports whether the user may move the deal on: sales work on an active deal with a next stage. */
export function mayMove(ctx, d) {
  return (ctx.user.role === 'kam' || ctx.user.role === 'director') && (d.status === 'open' || d.status === 'won') && Boolean(nextStage(d.stage));
}

/**
 * moveDeal asks the server to move deal d on to its next stage. The key node decides: on success
 * onMoved(text) is called; a refusal is shown in box (the missing items, in the user's language),
 * said to screen readers, and onRefused() called; a director is then offered the force dialog,
 * which calls onMoved when the deal is forced.
 */
export async function moveDeal(ctx, d, box, { onMoved, onRefused }) {
  const next = nextStage(d.stage);
  const path = `/deals/${encodeURIComponent(d.id)}`;
  announce(t('board.moving', { title: d.title, stage: stageLabel(next) }));
  try {
    await api('POST', `${path}/advance`, { from: d.stage });
  } catch (err) {
    onRefused();
    const gate = err instanceof ApiError && err.code === 'gate_not_met' && Array.isArray(err.details.missing);
    const director = ctx.user.role === 'director';
    if (gate) {
      const missing = err.details.missing;
      replace(box, h('div', { class: 'alert alert-error', id: 'move-refused', tabindex: '-1', data: { dealId: d.id } },
        h('p', { class: 'alert-title', text: t('board.refused', { title: d.title, stage: stageLabel(next) }) }),
        h('p', { text: t('deal.missing_items') }),
        h('ul', { class: 'missing-list' }, missing.map((k) => h('li', { data: { missing: k } }, gateLabel(k)))),
        director || next === 'delivery' ? null : h('p', { class: 'hint', text: t('board.director_may_force') })));
      if (director && next !== 'delivery') {
        forceDialog({
          dealPath: path, from: d.stage, next, missing, probability: d.win_probability,
          onForced: (out) => onMoved(t('board.forced', { title: d.title, stage: stageLabel(out.stage) })),
        });
      }
    } else if (movedMeanwhile(err)) {
      replace(box, h('p', { class: 'alert alert-warn', id: 'move-refused', text: t('deal.moved_meanwhile', { stage: stageLabel(err.details.stage) }) }));
    } else {
      replace(box, h('p', { class: 'alert alert-error', id: 'move-refused', text: errorText(err) }));
    }
    return;
  }
  await onMoved(t('board.moved', { title: d.title, stage: stageLabel(next) }));
}

/** moveDialog is the keyboard's and the phone's way to move a deal: "Move to…" and its choice. */
export function moveDialog(d, onChoose) {
  const next = nextStage(d.stage);
  openDialog(t('board.move_title', { title: d.title }), (close) => {
    const go = h('button', { type: 'button', class: 'btn btn-primary', id: 'move-confirm', data: { stage: next }, text: t('board.move_to_stage', { stage: stageLabel(next) }) });
    go.addEventListener('click', () => { close(); onChoose(); });
    const cancel = h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') });
    const body = h('div', { id: 'move-dialog' },
      h('p', { text: t('board.move_explain', { stage: stageLabel(d.stage) }) }),
      h('div', { class: 'actions' }, go, cancel));
    setTimeout(() => go.focus(), 0);
    return body;
  });
}

