// A director's force of a deal past an unmet key node, as a dialog with a required reason: the
// deal page's force button and the board's refused drop (and "Move to…") open the same one.

import { api, ApiError, gateLabel } from '../api.js';
import { t, formatPercent, formatList } from '../i18n.js';
import { h, replace, field, validate, busy, openDialog } from '../dom.js';
import { stageLabel } from '../domain.js';
import { formError } from './common.js';

/** movedMeanwhile: an advance refused because the deal left the stage it was sent from. */
export function movedMeanwhile(err) {
  return err instanceof ApiError && err.code === 'conflict' && typeof err.details.stage === 'string';
}

/**
 * forceDialog asks a director for the reason to force the deal at dealPath from stage from on to
 * next, past the missing key-node items (their keys), showing the win probability before. Once
 * forced, onForced(deal, probabilityBefore, reason) is called with the deal as the API answered;
 * onCancel when the dialog closes without a force.
 */
export function forceDialog({ dealPath, from, next, missing, probability, onForced, onCancel }) {
  let forced = false;
  const dlg = openDialog(t('deal.force_title', { stage: stageLabel(next) }), (close) => {
    const reason = h('textarea', { name: 'reason', required: true, maxlength: '1000', rows: '3' });
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-warn', id: 'force-confirm', text: t('deal.force_confirm') });
    const form = h('form', { novalidate: true, id: 'force-form' },
      h('p', { text: t('deal.force_explain') }),
      h('p', null, t('deal.missing_items'), ' ', h('strong', { text: formatList(missing.map(gateLabel)) })),
      h('p', { class: 'prob-now', id: 'force-before' }, t('deal.force_before', { p: formatPercent(probability) })),
      field(t('field.reason'), reason, { hint: t('deal.force_reason_hint') }),
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      try {
        const out = await api('POST', `${dealPath}/advance`, { force: true, reason: reason.value.trim(), from });
        forced = true;
        close();
        await onForced(out, probability, reason.value.trim());
      } catch (err) {
        if (movedMeanwhile(err)) replace(msg, h('p', { class: 'alert alert-warn', id: 'moved-meanwhile', text: t('deal.moved_meanwhile', { stage: stageLabel(err.details.stage) }) }));
        else formError(form, msg, err);
      }
    }));
    return form;
  });
  dlg.addEventListener('close', () => { if (!forced && onCancel) onCancel(); });
  return dlg;
}
