// A change refused because its record changed since the page read it (409 conflict with the
// record's version): who changed it, by name, and the choice between applying one's own change
// again to the record as it now is and dropping it to read the record anew. Forms send only the
// fields the user changed, so applying them again keeps the other person's change of the rest.

import { ApiError } from '../api.js';
import { t } from '../i18n.js';
import { h, replace, busy } from '../dom.js';
import { formError } from './common.js';

/** isChangedMeanwhile tells a version conflict from every other error. */
export function isChangedMeanwhile(err) {
  return err instanceof ApiError && err.code === 'conflict' && Number.isInteger(err.details?.version) && err.details.current != null;
}

/**
 * changedMeanwhile shows a version conflict in box: "changed by {name} meanwhile", with an
 * "Apply my change again" button (reapply(version) sends the same change against the version the
 * record is at now, and does what a save does on success) and a "Discard mine and reload" button
 * (reload()). Another conflict while reapplying is shown the same way; any other error in box
 * too (and on form's field, if it names one).
 */
export function changedMeanwhile(box, err, { reapply, reload, form = null }) {
  const d = err.details;
  const name = d.updated_by_name || d.updated_by || t('conflict.someone');
  const again = h('button', { type: 'button', class: 'btn btn-primary btn-small conflict-reapply', text: t('conflict.reapply') });
  const drop = h('button', { type: 'button', class: 'btn btn-small conflict-reload', text: t('conflict.reload') });
  const msg = h('div', { class: 'form-msg', role: 'alert' });
  again.addEventListener('click', busy(again, async () => {
    replace(msg);
    try {
      await reapply(d.version);
    } catch (e) {
      if (isChangedMeanwhile(e)) changedMeanwhile(box, e, { reapply, reload, form });
      else formError(form, msg, e);
    }
  }));
  drop.addEventListener('click', () => reload());
  replace(box, h('div', { class: 'alert alert-warn changed-meanwhile', data: { version: String(d.version), updatedBy: d.updated_by || '' } },
    h('p', { class: 'alert-title', text: t('conflict.changed_by', { name }) }),
    h('p', { text: t('conflict.explain') }),
    h('div', { class: 'actions' }, again, drop),
    msg));
  again.focus();
}

/**
 * saveError shows what refused a save: a version conflict with its choices (see
 * changedMeanwhile), anything else as formError does.
 */
export function saveError(form, box, err, choices) {
  if (isChangedMeanwhile(err)) changedMeanwhile(box, err, { ...choices, form });
  else formError(form, box, err);
}
