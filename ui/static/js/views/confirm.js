// One confirmation for what cannot be undone (closing a project, resolving a punch item, closing
// a deal as lost): it says what will happen, may ask for a note, and runs the action only once
// confirmed; a refusal is shown in the dialog. (The approvals' own dialog is approvals.js.)

import { t } from '../i18n.js';
import { h, replace, openDialog, validate, busy, field } from '../dom.js';
import { formError } from './common.js';

/**
 * confirmAction opens the dialog. what is the sentence saying what will happen; fields are extra
 * controls (in a form, validated); note {label, required} asks for a note, given to run(note).
 * run may throw an API error, shown in the dialog; done(result) follows a success.
 */
export function confirmAction({ title, what, confirmLabel, danger = true, fields = [], note, run, done }) {
  return openDialog(title, (close) => {
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const noteEl = note ? h('textarea', { name: 'note', id: 'confirm-note', rows: '2', maxlength: '4000', required: !!note.required }) : null;
    const submit = h('button', { type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary', id: 'confirm-ok', text: confirmLabel || t('confirm.ok') });
    const form = h('form', { novalidate: true, id: 'confirm-form', class: 'confirm-form' },
      h('p', { class: 'confirm-what', id: 'confirm-what', text: what }),
      h('p', { class: 'hint', text: t('confirm.cannot_undo') }),
      fields,
      noteEl ? field(note.label, noteEl) : null,
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', id: 'confirm-cancel', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      let res;
      try {
        res = await run(noteEl ? noteEl.value.trim() : undefined);
      } catch (err) {
        formError(form, msg, err);
        return;
      }
      close();
      if (done) await done(res);
    }));
    return form;
  });
}
