// The director's review: stalled deals grouped by stage and owner, oldest stall first, with days
// over the SLA and the key-node items they still lack; and the approvals waiting for a director.

import { api, gateLabel } from '../api.js';
import { t, tp, formatMoney, formatPercent, formatDateTime } from '../i18n.js';
import { h, replace, busy, newId } from '../dom.js';
import { STAGES, stageLabel } from '../domain.js';
import { accountNames, formError, table, empty } from './common.js';

export async function reviewView(root, ctx) {
  const [stalled, approvals] = await Promise.all([api('GET', '/reports/stalled'), api('GET', '/reports/approvals')]);
  const names = await accountNames([...stalled.items, ...approvals.items].map((d) => d.account_id));
  if (!ctx.alive()) return;
  replace(root,
    h('h1', { text: t('review.title') }),
    h('p', { class: 'lead', text: t('review.lead') }),
    stalledSection(stalled.items, names),
    approvalsSection(approvals.items, names, ctx));
}

function stalledSection(items, names) {
  const hid = newId('st');
  const groups = [];
  for (const stage of STAGES) {
    const inStage = items.filter((d) => d.stage === stage);
    if (!inStage.length) continue;
    const owners = [...new Set(inStage.map((d) => d.owner))].sort();
    // Oldest stall first: the owner whose deal has been stuck longest comes first too.
    const oldest = (o) => Math.min(...inStage.filter((d) => d.owner === o).map((d) => Date.parse(d.stalled_since || d.updated_at)));
    owners.sort((a, b) => oldest(a) - oldest(b));
    const gid = newId('sg');
    groups.push(h('section', { class: 'review-group', 'aria-labelledby': gid, data: { stage } },
      h('h3', { id: gid }, stageLabel(stage), ' ', h('span', { class: 'count', text: `(${tp('board.deals', inStage.length)})` })),
      owners.map((o) => {
        const deals = inStage.filter((d) => d.owner === o)
          .sort((a, b) => Date.parse(a.stalled_since || a.updated_at) - Date.parse(b.stalled_since || b.updated_at));
        return h('div', { class: 'owner-group', data: { owner: o } },
          h('h4', { text: t('review.owner', { owner: o }) }),
          table(null, [t('review.deal'), t('review.account'), t('review.over_sla'), t('review.stalled_since'), t('review.missing')],
            deals.map((d) => h('tr', { data: { dealId: d.id } },
              h('th', { scope: 'row' }, h('a', { href: `/deals/${d.id}`, 'data-link': true, text: d.title }),
                h('span', { class: 'cell-sub money', text: formatMoney(d.value, d.currency, { whole: true }) })),
              h('td', { text: names.get(d.account_id) || '' }),
              h('td', { class: 'over-sla' }, h('span', { class: 'badge badge-stalled' },
                h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⚠' }),
                d.days_over_sla > 0 ? tp('review.days_over', d.days_over_sla) : t('review.under_a_day'))),
              h('td', { text: formatDateTime(d.stalled_since) }),
              h('td', { class: 'missing' }, d.missing?.length
                ? h('ul', { class: 'plain-list' }, d.missing.map((k) => h('li', { data: { missing: k }, text: gateLabel(k) })))
                : t('review.nothing_missing'))))));
      })));
  }
  return h('section', { class: 'panel', id: 'stalled', 'aria-labelledby': hid },
    h('h2', { id: hid }, t('review.stalled_title'), ' ', h('span', { class: 'count', text: `(${items.length})` })),
    groups.length ? groups : empty(t('review.no_stalled')));
}

function approvalsSection(items, names, ctx) {
  const hid = newId('ap');
  const rows = items.map((d) => {
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const what = d.approval === 'margin'
      ? t('review.approval_margin', { margin: formatPercent(d.margin_pct, 2), floor: formatPercent(d.floor, 2) })
      : t('review.approval_contract');
    const btn = h('button', {
      type: 'button', class: 'btn btn-primary btn-small approve', data: { dealId: d.id, approval: d.approval },
      'aria-label': t(`review.approve_${d.approval}_for`, { title: d.title }),
    }, t('review.approve'));
    btn.addEventListener('click', busy(btn, async () => {
      replace(msg);
      try {
        await api('POST', `/deals/${encodeURIComponent(d.id)}/${d.approval === 'margin' ? 'bid' : 'contract'}/approve`, {});
        await ctx.refresh({ text: t(d.approval === 'margin' ? 'review.approved_margin' : 'review.approved_contract', { title: d.title }) });
      } catch (err) {
        formError(null, msg, err);
      }
    }));
    return h('tr', { data: { dealId: d.id } },
      h('th', { scope: 'row' }, h('a', { href: `/deals/${d.id}`, 'data-link': true, text: d.title })),
      h('td', { text: names.get(d.account_id) || '' }),
      h('td', { text: d.owner }),
      h('td', { text: `${stageLabel(d.stage)} · ${what}` }),
      h('td', { class: 'money', text: formatMoney(d.value, d.currency, { whole: true }) }),
      h('td', { text: formatDateTime(d.updated_at) }),
      h('td', null, btn, msg));
  });
  return h('section', { class: 'panel', id: 'approvals', 'aria-labelledby': hid },
    h('h2', { id: hid }, t('review.approvals_title'), ' ', h('span', { class: 'count', text: `(${items.length})` })),
    items.length
      ? table(null, [t('review.deal'), t('review.account'), t('review.owner_col'), t('review.approval'), t('field.value'), t('review.waiting_since'), t('review.action')], rows)
      : empty(t('review.no_approvals')));
}
