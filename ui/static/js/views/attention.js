// The admin's list of the deals needing attention: deals whose change could not be saved to the
// database for good (the database refused it, or it was away for every retry). Each holds its
// changes and takes no new ones until they are saved; no other deal waits for it. The admin fixes
// the cause and retries a deal from here: confirmed, then POST /deals/{id}/retry-projection; the
// list is read again once it is saved. Admins see no deal's page, so a deal shows here by its
// title, its id and its owner.

import { api, errorText, ApiError } from '../api.js';
import { t, tp, formatDateTime, has } from '../i18n.js';
import { h, replace, busy, openDialog } from '../dom.js';
import { table, empty } from './common.js';

export async function attentionView(root, ctx) {
  const res = await api('GET', '/admin/attention');
  if (!ctx.alive()) return;
  const items = res.items || [];
  const reload = h('button', { type: 'button', class: 'btn btn-small', id: 'attention-refresh', text: t('attention.refresh') });
  reload.addEventListener('click', () => ctx.refresh());
  replace(root,
    h('div', { class: 'page-head' }, h('h1', { text: t('attention.title') }), h('div', { class: 'page-actions' }, reload)),
    h('p', { class: 'lead', text: t('attention.lead') }),
    items.length
      ? table(tp('attention.caption', items.length),
        [t('attention.deal'), t('attention.owner'), t('attention.since'), t('attention.error'), t('attention.pending'), t('common.actions')],
        items.map((a) => row(a, ctx)), { id: 'attention-list' })
      : empty(t('attention.none')));
}

// row is one deal needing attention.
function row(a, ctx) {
  const title = a.title || a.deal_id;
  const retry = h('button', {
    type: 'button', class: 'btn btn-small btn-warn', data: { retry: a.deal_id },
    text: t('attention.retry'), 'aria-label': t('attention.retry_for', { deal: title }),
  });
  retry.addEventListener('click', () => retryDialog(a, ctx));
  const owner = a.owner ? (a.owner_name && a.owner_name !== a.owner ? `${a.owner_name} (${a.owner})` : a.owner) : t('common.none');
  return h('tr', { data: { deal: a.deal_id } },
    h('th', { scope: 'row' }, h('span', { text: title }), h('span', { class: 'cell-sub', text: t('attention.deal_id', { id: a.deal_id }) })),
    h('td', { text: owner }),
    h('td', { class: 'nowrap', text: formatDateTime(a.since) }),
    h('td', null,
      h('span', { class: 'badge badge-stalled', data: { reason: a.reason || 'unknown' } },
        h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⚠' }), reasonLabel(a.reason)),
      h('span', { class: 'cell-sub attention-error', text: a.error }),
      a.attempts ? h('span', { class: 'cell-sub muted', text: tp('attention.attempts', a.attempts) }) : null),
    h('td', { class: 'num', text: tp('attention.pending_count', a.pending) }),
    h('td', { class: 'nowrap' }, retry));
}

function reasonLabel(reason) {
  return has(`attention.reason.${reason}`) ? t(`attention.reason.${reason}`) : t('attention.reason.unknown');
}

// retryDialog asks before retrying: the retry writes the deal's held changes, which only helps once
// the cause is fixed.
function retryDialog(a, ctx) {
  const title = a.title || a.deal_id;
  openDialog(t('attention.retry_title', { deal: title }), (close) => {
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-warn', id: 'retry-confirm', text: t('attention.retry_confirm') });
    const form = h('form', { novalidate: true, id: 'retry-form', data: { deal: a.deal_id } },
      h('p', { text: t('attention.retry_explain') }),
      h('p', { class: 'muted', text: tp('attention.pending_count', a.pending) }),
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      try {
        await api('POST', `/deals/${encodeURIComponent(a.deal_id)}/retry-projection`, {});
        close();
        await ctx.refresh({ text: t('attention.retried_ok', { deal: title }) });
      } catch (err) {
        replace(msg, h('p', { class: 'alert alert-error', text: retryErrorText(err) }));
      }
    }));
    return form;
  });
}

// retryErrorText is what to tell the admin when a retry fails: that the changes still cannot be
// saved (the cause is not fixed yet), or the error code's message.
function retryErrorText(err) {
  if (err instanceof ApiError && err.details && err.details.attention) return t('attention.still_failing');
  if (err instanceof ApiError && err.code === 'conflict') return t('attention.not_needed');
  return errorText(err);
}
