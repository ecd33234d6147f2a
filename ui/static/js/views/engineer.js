// The engineer's view: the deals in delivery assigned to them, with the delivery work that exists
// today (the engineering acceptance result, the project close) and where each deal stands.

import { api, apiAll } from '../api.js';
import { t } from '../i18n.js';
import { h, replace, newId } from '../dom.js';
import { isActive, statusLabel } from '../domain.js';
import { accountNames, empty } from './common.js';
import { acceptancePanel } from './deal.js';

export async function engineerView(root, ctx) {
  const list = await apiAll('/deals?stage=delivery');
  const deals = await Promise.all(list.map((d) => api('GET', `/deals/${encodeURIComponent(d.id)}`)));
  const names = await accountNames(deals.map((d) => d.account_id));
  if (!ctx.alive()) return;
  const open = deals.filter(isActive);
  const done = deals.filter((d) => !isActive(d));
  const section = (title, items, id) => {
    const hid = newId('eg');
    return h('section', { class: 'panel', id, 'aria-labelledby': hid },
      h('h2', { id: hid }, title, ' ', h('span', { class: 'count', text: `(${items.length})` })),
      items.length ? h('ul', { class: 'work-list' }, items.map((d) => workItem(d, names, ctx))) : empty(t('engineer.none')));
  };
  replace(root,
    h('h1', { text: t('engineer.title') }),
    h('p', { class: 'lead', text: t('engineer.lead') }),
    section(t('engineer.open'), open, 'delivery-open'),
    done.length ? section(t('engineer.done'), done, 'delivery-done') : null);
}

function workItem(d, names, ctx) {
  const hid = newId('wi');
  return h('li', { class: 'work-item', data: { dealId: d.id }, 'aria-labelledby': hid },
    h('div', { class: 'work-head' },
      h('h3', { id: hid }, h('a', { href: `/deals/${d.id}`, 'data-link': true, text: d.title })),
      h('p', { class: 'card-account', text: names.get(d.account_id) || '' }),
      h('p', { class: 'badges' }, h('span', { class: `badge badge-status badge-${d.status}` }, statusLabel(d.status)))),
    acceptancePanel(d, ctx, (text) => ctx.refresh({ text })));
}
