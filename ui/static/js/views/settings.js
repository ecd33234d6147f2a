// The admin's settings: the SLA of each stage (editable), the margin floor and the assessment
// model (shown).

import { api } from '../api.js';
import { t, formatNumber, formatPercent } from '../i18n.js';
import { h, replace, validate, busy, newId } from '../dom.js';
import { STAGES, FACTORS, stageLabel, factorLabel } from '../domain.js';
import { formError, table } from './common.js';

export async function settingsView(root, ctx) {
  const s = await api('GET', '/settings');
  if (!ctx.alive()) return;
  const rows = STAGES.map((st) => {
    const input = h('input', { name: 'sla', id: `sla-${st}`, required: true, value: s.sla?.[st] || '', data: { check: 'duration' }, size: '8', autocomplete: 'off' });
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-small', text: t('settings.save'), 'aria-label': t('settings.save_for', { stage: stageLabel(st) }) });
    const form = h('form', { class: 'inline-form', novalidate: true, data: { stage: st } },
      h('label', { class: 'visually-hidden', for: input.id, text: t('settings.sla_for', { stage: stageLabel(st) }) }),
      input, h('p', { class: 'field-error', id: `${input.id}-err`, hidden: true }), submit, msg);
    input.setAttribute('aria-describedby', `${input.id}-err settings-sla-hint`);
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      try {
        await api('PUT', `/settings/stages/${st}`, { sla: input.value.trim() });
        await ctx.refresh({ text: t('settings.saved', { stage: stageLabel(st), sla: input.value.trim() }) });
      } catch (err) {
        formError(form, msg, err);
      }
    }));
    return h('tr', null, h('th', { scope: 'row', text: stageLabel(st) }), h('td', null, form));
  });
  const hs = newId('se');
  const ha = newId('se');
  replace(root,
    h('h1', { text: t('settings.title') }),
    h('section', { class: 'panel', 'aria-labelledby': hs },
      h('h2', { id: hs, text: t('settings.sla_title') }),
      h('p', { class: 'hint', id: 'settings-sla-hint', text: t('settings.sla_hint') }),
      table(null, [t('deal.stage'), t('deal.stage_sla')], rows)),
    h('section', { class: 'panel', 'aria-labelledby': ha },
      h('h2', { id: ha, text: t('settings.model_title') }),
      h('p', null, t('settings.margin_floor', { floor: formatPercent(s.margin_floor, 2) })),
      h('p', null, t('settings.threshold', { threshold: formatNumber(s.assessment.threshold) })),
      table(null, [t('settings.factor'), t('settings.weight')],
        FACTORS.map((f) => h('tr', null, h('th', { scope: 'row', text: factorLabel(f) }), h('td', { text: formatNumber(s.assessment.weights[f] ?? 0) }))))));
}
