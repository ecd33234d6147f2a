// The inbox: the signed-in user's notifications, whatever their role — a deal stalled or
// escalated, an approval asked for or answered, a task overdue or failed, an import to approve,
// the digest. The header's bell shows how many are unread and follows new ones without a reload
// (it asks the server every 30 s while the page is visible, every 2 minutes in the background); the list shows each notice in the
// reader's language as the server renders it (GET /notifications?lang=, its `text`), links it to
// its deal, marks it read when it is opened, and marks all read up to the newest one shown, so
// that a notice arriving meanwhile stays unread.

import { api, errorText } from '../api.js';
import { t, tp, locale, formatDateTime, formatNumber } from '../i18n.js';
import { h, replace, busy } from '../dom.js';
import { empty } from './common.js';

const PAGE = 20;
// How often the bell asks, in ms; a test shortens it with localStorage 'kamflow.inboxPollMs'.
function pollEvery() {
  try {
    const v = Number(localStorage.getItem('kamflow.inboxPollMs'));
    if (v >= 100) return v;
  } catch {
    // storage disabled: the default
  }
  return 30000;
}

const state = { unread: 0, newest: 0, timer: null, onNew: null, asked: 0 };
// The header is drawn again with every view: the bell is the latest one drawn.
let current = null;

function paint(b = current) {
  if (!b) return;
  const count = b.querySelector('.bell-count');
  count.textContent = state.unread > 99 ? '99+' : formatNumber(state.unread);
  count.hidden = state.unread === 0;
  b.setAttribute('aria-label', state.unread ? tp('inbox.bell_unread', state.unread) : t('inbox.bell_none'));
  b.classList.toggle('has-unread', state.unread > 0);
}

// bellIcon is a bell drawn in SVG: no emoji font is needed.
function bellIcon() {
  const NS = 'http://www.w3.org/2000/svg';
  const el = (name, attrs) => {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  };
  const svg = el('svg', { viewBox: '0 0 24 24', width: '20', height: '20', fill: 'none', stroke: 'currentColor', 'stroke-width': '2', 'stroke-linecap': 'round', 'stroke-linejoin': 'round' });
  svg.append(el('path', { d: 'M4.5 17.5h15L17.5 15v-4.5a5.5 5.5 0 0 0-11 0V15z' }), el('circle', { cx: '12', cy: '20', r: '1.4' }), el('path', { d: 'M12 3.5v1.5' }));
  return h('span', { class: 'bell-icon', 'aria-hidden': 'true' }, svg);
}

/** bell is the header's link to the inbox with the unread count. */
export function bell(here) {
  const b = h('a', { href: '/inbox', 'data-link': true, id: 'inbox-bell', class: 'bell', 'aria-current': here ? 'page' : null },
    bellIcon(),
    h('span', { class: 'bell-count', id: 'inbox-count', 'aria-hidden': 'true' }));
  current = b;
  paint(b);
  return b;
}

async function poll() {
  // A page in the background asks four times less often.
  if (document.visibilityState === 'hidden' && Date.now() - state.asked < 4 * pollEvery()) return;
  state.asked = Date.now();
  try {
    const r = await api('GET', `/notifications?limit=1&lang=${encodeURIComponent(locale())}`);
    const newest = r.items[0]?.id || 0;
    const arrived = newest > state.newest && state.newest > 0;
    state.unread = r.unread;
    state.newest = Math.max(state.newest, newest);
    paint();
    if (arrived && state.onNew) state.onNew();
  } catch {
    // signed out or the server away: the next round asks again
  }
}

/** startInbox follows the signed-in user's unread count; stopInbox ends it (signed out). */
export function startInbox() {
  stopInbox();
  state.unread = 0;
  state.newest = 0;
  poll();
  state.timer = setInterval(poll, pollEvery());
}

export function stopInbox() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
  state.onNew = null;
}

document.addEventListener('visibilitychange', () => {
  if (state.timer && document.visibilityState === 'visible') poll();
});

export async function inboxView(root, ctx) {
  const offset = Math.max(0, Number(ctx.query.get('offset')) || 0);
  const onlyUnread = ctx.query.get('unread') === 'true';
  const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset), lang: locale() });
  if (onlyUnread) q.set('unread', 'true');
  const page = await api('GET', `/notifications?${q}`);
  if (!ctx.alive()) return;
  state.unread = page.unread;
  if (!offset && page.items[0]) state.newest = Math.max(state.newest, page.items[0].id);
  paint();
  // A notice arriving while the inbox is open shows at once on its first page.
  state.onNew = () => {
    if (ctx.alive() && location.pathname === '/inbox' && !offset) ctx.refresh();
  };

  const msg = h('div', { class: 'form-msg', role: 'alert' });
  const markAll = h('button', { type: 'button', class: 'btn', id: 'inbox-read-all', text: t('inbox.read_all'), disabled: page.unread === 0 });
  markAll.addEventListener('click', busy(markAll, async () => {
    replace(msg);
    try {
      // Up to the newest one this page knows: one arriving meanwhile stays unread.
      const body = state.newest ? { up_to: state.newest } : {};
      const r = await api('POST', '/notifications/read-all', body);
      await ctx.refresh({ text: tp('inbox.marked', r.marked ?? page.unread) });
    } catch (err) {
      replace(msg, h('p', { class: 'alert alert-error', text: errorText(err) }));
    }
  }));
  const filter = h('a', {
    href: onlyUnread ? '/inbox' : '/inbox?unread=true', 'data-link': true, class: 'btn btn-quiet', id: 'inbox-filter',
    text: onlyUnread ? t('inbox.show_all') : t('inbox.show_unread'),
  });

  const items = page.items.map((n) => notice(n, ctx, msg));
  const pager = [];
  if (offset > 0) pager.push(h('a', { href: pagePath(Math.max(0, offset - PAGE), onlyUnread), 'data-link': true, class: 'btn btn-quiet', id: 'inbox-newer', text: t('inbox.newer') }));
  if (offset + page.items.length < page.total) pager.push(h('a', { href: pagePath(offset + PAGE, onlyUnread), 'data-link': true, class: 'btn btn-quiet', id: 'inbox-older', text: t('inbox.older') }));

  replace(root,
    h('div', { class: 'page-head' },
      h('h1', { text: t('inbox.title') }),
      h('p', { class: 'lead', id: 'inbox-summary', text: page.unread ? tp('inbox.unread_n', page.unread) : t('inbox.all_read') })),
    h('div', { class: 'inbox-tools' }, markAll, filter),
    msg,
    items.length ? h('ol', { class: 'inbox-list', id: 'inbox-list' }, items) : empty(onlyUnread ? t('inbox.no_unread') : t('inbox.empty')),
    pager.length ? h('nav', { class: 'pager', 'aria-label': t('inbox.pages') }, pager) : null);
}

// targetOf is where a notice leads: the admins' list of deals needing attention, the import page,
// or the deal (with its delivery plan) for everyone who may open deals.
function targetOf(n, user) {
  if (n.kind === 'attention') return '/attention';
  if (n.kind === 'import_approval' || n.kind === 'import_decision') return '/import';
  if (n.deal_id && user.role !== 'admin') return `/deals/${encodeURIComponent(n.deal_id)}`;
  return null;
}

function pagePath(offset, onlyUnread) {
  const q = new URLSearchParams();
  if (onlyUnread) q.set('unread', 'true');
  if (offset) q.set('offset', String(offset));
  const s = q.toString();
  return s ? `/inbox?${s}` : '/inbox';
}

// notice is one notification: its text (the server's rendering in this language; its English
// message for one stored before kinds had params), when, read or not, and where it leads.
function notice(n, ctx, msg) {
  const unread = !n.read_at;
  const text = n.text || n.message;
  const target = targetOf(n, ctx.user);
  const open = async (ev) => {
    ev.preventDefault();
    try {
      if (unread) await api('POST', `/notifications/${n.id}/read`);
    } catch (err) {
      replace(msg, h('p', { class: 'alert alert-error', text: errorText(err) }));
      return;
    }
    if (unread) state.unread = Math.max(0, state.unread - 1);
    paint();
    if (target) ctx.navigate(target);
    else ctx.refresh();
  };
  const body = target
    ? h('a', { href: target, class: 'notice-text', onclick: open, text: text })
    : h('span', { class: 'notice-text', text: text });
  return h('li', { class: ['notice', unread ? 'is-unread' : 'is-read'], data: { id: String(n.id), kind: n.kind, unread: String(unread) } },
    unread ? h('span', { class: 'notice-dot', 'aria-hidden': 'true' }) : null,
    h('div', { class: 'notice-main' },
      body,
      h('p', { class: 'notice-meta' },
        h('time', { datetime: n.created_at, text: formatDateTime(n.created_at) }),
        unread ? [' · ', h('span', { class: 'notice-unread', text: t('inbox.unread') })] : null,
        !target && unread ? [' ', h('button', { type: 'button', class: 'btn btn-small btn-quiet notice-mark', onclick: open, text: t('inbox.mark_read') })] : null)));
}
