// The settings an admin edits besides the escalation ladder: the margin floor and the assessment
// model (PUT /settings/model), and the list of loss reasons a lost deal is closed with (PUT
// /settings/loss-reasons), each label in both languages of the UI.

import { t, formatNumber, formatPercent } from '../i18n.js';
import { h, replace, validate, busy, newId, field } from '../dom.js';
import { FACTORS, factorLabel } from '../domain.js';
import { table } from './common.js';

/** modelSection edits the margin floor, each factor's weight and the pass threshold. */
export function modelSection(s, ctx, save, fanoutText) {
  const hid = newId('se');
  const floor = h('input', { type: 'number', name: 'margin_floor', id: 'model-margin-floor', min: '0', max: '100', step: '0.1', required: true, value: String(s.margin_floor) });
  const threshold = h('input', { type: 'number', name: 'threshold', id: 'model-threshold', min: '0', max: '100', step: '0.1', required: true, value: String(s.assessment.threshold) });
  const weights = {};
  const rows = FACTORS.map((f) => {
    weights[f] = h('input', { type: 'number', name: `weights.${f}`, id: `model-weight-${f}`, min: '0', max: '1000', step: '0.1', required: true, value: String(s.assessment.weights[f] ?? 0) });
    return field(factorLabel(f), weights[f]);
  });
  const msg = h('div', { class: 'form-msg', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'model-save', text: t('settings.save') });
  const form = h('form', { class: 'subform', id: 'model-form', novalidate: true },
    h('div', { class: 'field-grid' },
      field(t('forms.margin_floor'), floor, { hint: t('forms.margin_floor_hint') }),
      field(t('forms.threshold'), threshold, { hint: t('forms.threshold_hint') })),
    h('fieldset', { class: 'seg-weights' }, h('legend', { text: t('settings.weight') }), h('div', { class: 'field-grid' }, rows)),
    msg, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    // Only what the user changed: another admin's change of the rest stays.
    const body = {};
    if (Number(floor.value) !== s.margin_floor) body.margin_floor = Number(floor.value);
    if (Number(threshold.value) !== s.assessment.threshold) body.threshold = Number(threshold.value);
    for (const [f, el] of Object.entries(weights)) {
      if (Number(el.value) !== (s.assessment.weights[f] ?? 0)) (body.weights ||= {})[f] = Number(el.value);
    }
    if (!Object.keys(body).length) body.margin_floor = Number(floor.value);
    await save(ctx, form, msg, '/settings/model', body, s.version,
      (res) => `${t('forms.model_saved', { floor: formatPercent(res.margin_floor, 2), threshold: formatNumber(res.assessment.threshold) })} ${fanoutText(res.fanout, res.deals_to_tell)}`);
  }));
  return h('section', { class: 'panel', id: 'model', 'aria-labelledby': hid },
    h('h2', { id: hid, text: t('settings.model_title') }),
    h('p', { class: 'hint', text: t('forms.model_hint') }),
    form);
}

/** lossReasonsSection edits the list of loss reasons: a code and a label in each language. */
export function lossReasonsSection(s, ctx, save) {
  const hid = newId('se');
  const body = h('tbody');
  const addRow = (r = { code: '', labels: {} }) => {
    const i = body.children.length;
    const code = h('input', { name: 'code', class: 'loss-code', id: `loss-code-${i}`, required: true, pattern: '[a-z][a-z0-9_]{0,39}', data: { pattern: 'forms.code_pattern' }, value: r.code, 'aria-label': t('forms.code'), autocomplete: 'off', spellcheck: 'false', size: '16' });
    const en = h('input', { name: 'en', class: 'loss-en', id: `loss-en-${i}`, required: true, maxlength: '100', value: r.labels?.en || '', 'aria-label': t('forms.label_en') });
    const zh = h('input', { name: 'zh-CN', class: 'loss-zh', id: `loss-zh-${i}`, required: true, maxlength: '100', value: r.labels?.['zh-CN'] || '', 'aria-label': t('forms.label_zh') });
    const remove = h('button', { type: 'button', class: 'btn btn-small btn-quiet', text: t('forms.remove'), 'aria-label': t('forms.remove_reason') });
    const tr = h('tr', { class: 'loss-reason' },
      h('td', null, code, h('p', { class: 'field-error', id: `${code.id}-err`, hidden: true })),
      h('td', null, en, h('p', { class: 'field-error', id: `${en.id}-err`, hidden: true })),
      h('td', null, zh, h('p', { class: 'field-error', id: `${zh.id}-err`, hidden: true })),
      h('td', null, remove));
    remove.addEventListener('click', () => tr.remove());
    body.append(tr);
  };
  for (const r of s.loss_reasons || []) addRow(r);
  const add = h('button', { type: 'button', class: 'btn btn-small', id: 'loss-add', text: t('forms.add_reason') });
  add.addEventListener('click', () => { addRow(); body.lastElementChild.querySelector('input').focus(); });
  const msg = h('div', { class: 'form-msg', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'loss-save', text: t('settings.save') });
  const tbl = table(null, [t('forms.code'), t('forms.label_en'), t('forms.label_zh'), t('review.action')], [], { id: 'loss-reasons' });
  tbl.querySelector('tbody')?.replaceWith(body);
  if (!tbl.contains(body)) tbl.append(body);
  const form = h('form', { class: 'subform', id: 'loss-form', novalidate: true }, tbl,
    h('p', { class: 'hint', text: t('forms.other_always') }), h('div', { class: 'actions' }, add), msg, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    const list = [...body.querySelectorAll('tr')].map((tr) => ({
      code: tr.querySelector('.loss-code').value.trim(),
      labels: { en: tr.querySelector('.loss-en').value.trim(), 'zh-CN': tr.querySelector('.loss-zh').value.trim() },
    }));
    await save(ctx, form, msg, '/settings/loss-reasons', { loss_reasons: list }, s.version, () => t('forms.reasons_saved', { n: formatNumber(list.length) }));
  }));
  return h('section', { class: 'panel', id: 'loss-reasons-section', 'aria-labelledby': hid },
    h('h2', { id: hid, text: t('forms.reasons_title') }),
    h('p', { class: 'hint', text: t('forms.reasons_hint') }),
    form);
}
