// The admin's settings: the escalation ladder of each stage — its SLA (when a deal stalls and its
// KAM is told) and the director's rung (when its team's directors are told, as a multiple of the
// SLA) — with per-team overrides; the proactive service cadence (when the service visits come
// after a project closes); and the margin floor and assessment model (shown). Every change
// reaches the open deals by a fan-out on the server; the answer says how many are to be told and
// how far it has come, and the page shows "told N of M" while it runs. Each form sends only what the user
// changed, with the version of the settings the page shows: when someone else changed them
// meanwhile, the page says who, and the user applies their change again or reloads.

import { api } from '../api.js';
import { t, tp, formatNumber, formatPercent, formatList } from '../i18n.js';
import { h, replace, validate, busy, newId, field } from '../dom.js';
import { STAGES, FACTORS, stageLabel, factorLabel, formatSLA } from '../domain.js';
import { table, empty } from './common.js';
import { saveError } from './conflict.js';
import { VALUE_MONEY, VALUE_JUDGED } from './keyaccount.js';
import { durationInput, durationSeconds } from '../duration.js';
import { modelSection, lossReasonsSection } from './settings_forms.js';

const DEFAULT_DIRECTOR_AFTER = 2;

// The director's rung, 1–20 times the SLA; empty is "not set".
function afterInput(attrs) {
  return h('input', { type: 'number', name: 'director_after', min: '1', max: '20', step: '0.1', inputmode: 'decimal', autocomplete: 'off', ...attrs });
}

// settingsSave sends a change of the settings (PUT path with body, against version) and, once
// saved, refreshes the page with done(answer)'s message; a refused change is shown in msg (a
// version conflict with its choices).
async function settingsSave(ctx, form, msg, path, body, version, done) {
  const save = async (v) => {
    const res = await api('PUT', path, { ...body, version: v });
    await ctx.refresh({ text: done(res) });
  };
  try {
    await save(version);
  } catch (err) {
    saveError(form, msg, err, { reapply: save, reload: () => ctx.refresh() });
  }
}

// The sentence after a save: what the stage's ladder is now, and how far telling the open deals
// has come.
function savedText(key, res, params) {
  return `${t(key, { stage: stageLabel(res.stage), sla: formatSLA(res.sla), after: formatNumber(res.director_after), ...params })} ${fanoutText(res.fanout, res.deals_to_tell)}`;
}

// fanoutText is how far the fan-out of a change to the open deals has come: told N of M while
// it runs (or before it has begun), every deal told once done. A change that saved nothing has
// none.
function fanoutText(f, toTell) {
  if (!f) return toTell ? tp('settings.fanout_running', toTell, { told: formatNumber(0) }) : '';
  switch (f.status) {
    case 'done': return tp('settings.fanout_done', f.told);
    case 'superseded': return t('settings.fanout_superseded');
    default: return tp('settings.fanout_running', f.total, { told: formatNumber(f.told) });
  }
}

const FANOUT_POLL_MS = 2000;

// fanoutLine shows the latest change's fan-out while it runs, read again every two seconds until
// it is over (or the page is left).
function fanoutLine(s, ctx) {
  const line = h('p', { id: 'settings-fanout', class: 'hint', role: 'status' });
  const show = (f) => {
    const running = f && (f.status === 'running' || f.status === 'pending');
    line.hidden = !running;
    replace(line, running ? fanoutText(f) : '');
    return running;
  };
  const poll = async () => {
    if (!ctx.alive() || !line.isConnected) return;
    try {
      const now = await api('GET', '/settings');
      if (show(now.fanout)) setTimeout(poll, FANOUT_POLL_MS);
    } catch {
      setTimeout(poll, FANOUT_POLL_MS);
    }
  };
  if (show(s.fanout)) setTimeout(poll, FANOUT_POLL_MS);
  return line;
}

export async function settingsView(root, ctx) {
  const [s, teams, seg] = await Promise.all([api('GET', '/settings'), api('GET', '/teams').then((r) => r.items || []), api('GET', '/settings/segmentation')]);
  if (!ctx.alive()) return;
  const esc = s.escalation || {};
  const hs = newId('se');
  const ht = newId('se');
  replace(root,
    h('h1', { text: t('settings.title') }),
    h('section', { class: 'panel', 'aria-labelledby': hs },
      h('h2', { id: hs, text: t('settings.sla_title') }),
      fanoutLine(s, ctx),
      h('p', { class: 'hint', id: 'settings-sla-hint', text: t('settings.sla_hint') }),
      h('p', { class: 'hint', id: 'settings-after-hint', text: t('settings.after_hint') }),
      table(null, [t('deal.stage'), t('settings.ladder')], STAGES.map((st) => stageRow(st, s, esc, ctx)), { id: 'stage-ladders' })),
    h('section', { class: 'panel', id: 'team-overrides', 'aria-labelledby': ht },
      h('h2', { id: ht, text: t('settings.teams_title') }),
      h('p', { class: 'hint', text: t('settings.teams_hint') }),
      teams.length ? [overridesTable(esc, teams, ctx, s.version), overrideForm(esc, teams, ctx, s.version)] : empty(t('settings.no_teams'))),
    cadenceSection(s, ctx),
    segmentationSection(seg, ctx),
    lossReasonsSection(s, ctx, settingsSave),
    modelSection(s, ctx, settingsSave, fanoutText));
}

// stageRow is a stage's ladder: its SLA and its director's rung (empty: the default, 2×).
function stageRow(st, s, esc, ctx) {
  const sla0 = s.sla?.[st] || '';
  const after0 = esc.stages?.[st]?.director_after ? String(esc.stages[st].director_after) : '';
  // A number and a unit (hours, days, weeks) instead of a code; the API keeps "21d".
  const slaCtl = durationInput({ id: `sla-${st}`, name: 'sla', value: sla0, required: true });
  const sla = slaCtl.num;
  const after = afterInput({ id: `director-after-${st}`, value: after0, placeholder: String(DEFAULT_DIRECTOR_AFTER) });
  const msg = h('div', { class: 'form-msg', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-small', text: t('settings.save'), 'aria-label': t('settings.save_for', { stage: stageLabel(st) }) });
  const form = h('form', { class: 'inline-form ladder-form', novalidate: true, data: { stage: st } },
    h('label', { for: sla.id, text: t('settings.sla') }), slaCtl.box,
    h('p', { class: 'field-error', id: `${sla.id}-err`, hidden: true }),
    h('label', { for: after.id, text: t('settings.director_after') }), after,
    h('span', { class: 'unit', 'aria-hidden': 'true', text: t('settings.times_sla') }),
    h('p', { class: 'field-error', id: `${after.id}-err`, hidden: true }),
    submit, msg);
  sla.setAttribute('aria-describedby', `${sla.id}-err settings-sla-hint`);
  after.setAttribute('aria-describedby', `${after.id}-err settings-after-hint`);
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    // Only what changed: an SLA alone is recorded as an SLA change in the audit trail.
    const body = {};
    const slaNow = slaCtl.value();
    if (slaNow !== sla0) body.sla = slaNow;
    if (after.value.trim() !== after0) body.director_after = after.value.trim() === '' ? 0 : Number(after.value);
    if (!Object.keys(body).length) body.sla = slaNow;
    await settingsSave(ctx, form, msg, `/settings/stages/${st}`, body, s.version, (res) => savedText('settings.saved_stage', res));
  }));
  return h('tr', { data: { stage: st } }, h('th', { scope: 'row', text: stageLabel(st) }), h('td', null, form));
}

// overridesTable lists the teams' overrides, each with a button that removes it.
function overridesTable(esc, teams, ctx, version) {
  const rows = [];
  for (const team of teams) {
    for (const st of STAGES) {
      const o = esc.teams?.[team.id]?.[st];
      if (!o) continue;
      const msg = h('div', { class: 'form-msg', role: 'alert' });
      const reset = h('button', {
        type: 'button', class: 'btn btn-small btn-quiet reset-override', data: { team: team.id, stage: st },
        text: t('settings.reset'), 'aria-label': t('settings.reset_for', { team: team.name, stage: stageLabel(st) }),
      });
      reset.addEventListener('click', busy(reset, async () => {
        replace(msg);
        await settingsSave(ctx, null, msg, `/settings/stages/${st}`, { team: team.id, reset: true }, version,
          (res) => savedText('settings.override_reset', res, { team: team.name }));
      }));
      rows.push(h('tr', { data: { team: team.id, stage: st } },
        h('th', { scope: 'row', text: team.name }),
        h('td', { text: stageLabel(st) }),
        h('td', { class: 'override-sla', text: o.sla ? formatSLA(o.sla) : t('settings.stage_own') }),
        h('td', { class: 'override-after', text: o.director_after ? t('settings.times', { n: formatNumber(o.director_after) }) : t('settings.stage_own') }),
        h('td', null, reset, msg)));
    }
  }
  return rows.length
    ? table(t('settings.overrides_caption'), [t('reports.team'), t('deal.stage'), t('settings.sla'), t('settings.director_after'), t('review.action')], rows, { id: 'override-list' })
    : empty(t('settings.no_overrides'));
}

// overrideForm sets a team's override of one stage; empty fields fall back to the stage's own.
function overrideForm(esc, teams, ctx, version) {
  const team = h('select', { name: 'team', id: 'override-team', required: true },
    h('option', { value: '', text: t('settings.choose_team') }), teams.map((x) => h('option', { value: x.id, text: x.name })));
  const stage = h('select', { name: 'stage', id: 'override-stage', required: true }, STAGES.map((st) => h('option', { value: st, text: stageLabel(st) })));
  const slaCtl = durationInput({ id: 'override-sla', name: 'sla' });
  const sla = slaCtl.num;
  const after = afterInput({ id: 'override-after' });
  // Show the override in force for the chosen team and stage, to edit it.
  const fill = () => {
    const o = esc.teams?.[team.value]?.[stage.value] || {};
    const again = durationInput({ id: 'override-sla', name: 'sla', value: o.sla || '' });
    sla.value = again.num.value;
    slaCtl.unit.value = again.unit.value;
    after.value = o.director_after ? String(o.director_after) : '';
  };
  team.addEventListener('change', fill);
  stage.addEventListener('change', fill);
  const msg = h('div', { class: 'form-msg', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'override-save', text: t('settings.save_override') });
  const form = h('form', { class: 'subform', id: 'override-form', novalidate: true },
    h('h3', { text: t('settings.override_title') }),
    h('div', { class: 'field-row' },
      field(t('reports.team'), team), field(t('deal.stage'), stage),
      field(t('settings.sla'), slaCtl.box, { hint: t('settings.empty_stage_own') }),
      field(t('settings.director_after'), after, { hint: t('settings.empty_stage_own') })),
    msg,
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    // Both fields are sent: an empty one clears that part of the override ("0s", 0), and with
    // both empty the override is gone.
    const body = {
      team: team.value,
      sla: slaCtl.value() || '0s',
      director_after: after.value.trim() === '' ? 0 : Number(after.value),
    };
    const name = team.options[team.selectedIndex].text;
    await settingsSave(ctx, form, msg, `/settings/stages/${stage.value}`, body, version,
      (res) => savedText('settings.override_saved', res, { team: name }));
  }));
  return form;
}

// The service cadence as the API gives it by default (settings without one).
const DEFAULT_CADENCE = ['30d', '90d', '180d', '365d'];

// cadenceSection sets when the proactive service visits come after a project closes: one row per
// visit, each a number and a unit after the close (durationInput), rising, 1 to 12 of them.
const MAX_VISITS = 12;

function cadenceSection(s, ctx) {
  const hid = newId('se');
  const now = s.service_cadence?.length ? s.service_cadence : DEFAULT_CADENCE;
  const rowsEl = h('ol', { class: 'cadence-rows', id: 'service-cadence-rows' });
  const rows = [];
  const renumber = () => {
    rows.forEach((r, i) => {
      r.label.textContent = t('settings.cadence_visit_n', { n: formatNumber(i + 1) });
      r.remove.hidden = rows.length === 1;
      r.remove.setAttribute('aria-label', t('settings.cadence_remove_n', { n: formatNumber(i + 1) }));
    });
    add.hidden = rows.length >= MAX_VISITS;
  };
  const addRow = (value) => {
    const id = newId('cadence');
    const d = durationInput({ id, name: 'service_cadence', value, required: true });
    const label = h('label', { for: id, class: 'cadence-label' });
    const remove = h('button', { type: 'button', class: 'btn btn-small btn-quiet cadence-remove', text: t('settings.cadence_remove') });
    const err = h('p', { class: 'field-error', id: `${id}-err`, hidden: true });
    d.num.setAttribute('aria-describedby', err.id);
    const li = h('li', { class: 'cadence-row' }, label, d.box, remove, err);
    const row = { d, label, remove, li };
    remove.addEventListener('click', () => {
      rows.splice(rows.indexOf(row), 1);
      li.remove();
      renumber();
    });
    rows.push(row);
    rowsEl.append(li);
  };
  const add = h('button', { type: 'button', class: 'btn btn-small', id: 'service-cadence-add', text: t('settings.cadence_add') });
  add.addEventListener('click', () => {
    addRow('');
    renumber();
    rows[rows.length - 1].d.num.focus();
  });
  for (const v of now) addRow(v);
  renumber();
  const msg = h('div', { class: 'form-msg', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'service-cadence-save', text: t('settings.save') });
  const form = h('form', { class: 'subform', id: 'service-cadence-form', novalidate: true },
    h('fieldset', { class: 'cadence' }, h('legend', { text: t('settings.cadence') }),
      h('p', { class: 'hint', text: t('settings.cadence_hint') }), rowsEl, add),
    msg, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    const list = rows.map((r) => r.d.value());
    // Each visit later than the one before: the first that is not says so.
    let prev = 0;
    rows.forEach((r, i) => {
      const secs = durationSeconds(list[i]);
      r.d.num.setCustomValidity(list[i] && !(secs > prev) ? t('validation.cadence') : '');
      if (secs > prev) prev = secs;
    });
    if (!validate(form)) return;
    await settingsSave(ctx, form, msg, '/settings/service-cadence', { service_cadence: list }, s.version,
      (res) => `${t('settings.cadence_saved', { list: formatList(res.service_cadence.map(formatSLA)) })} ${fanoutText(res.fanout, res.deals_to_tell)}`);
  }));
  return h('section', { class: 'panel', id: 'service-cadence', 'aria-labelledby': hid },
    h('h2', { id: hid, text: t('settings.cadence_title') }),
    h('p', { class: 'hint', text: t('settings.cadence_lead') }),
    h('p', { id: 'service-cadence-now' }, t('settings.cadence_now', { list: formatList(now.map(formatSLA)) })),
    form);
}

// The key-account settings' whole numbers, with their ranges (AccountSettingsInput).
const SEG_NUMBERS = [
  ['strategic_threshold', 0, 100, '0.1'],
  ['full_cooperation_years', 1, 50, '1'],
  ['stale_contact_days', 1, 3650, '1'],
  ['repeat_window_years', 1, 20, '1'],
  ['dormant_months', 1, 120, '1'],
];

// segmentationSection sets how accounts are valued and segmented (the weight of each value
// factor, the strategic threshold) and when a contact goes stale and a lifecycle moves on.
function segmentationSection(seg, ctx) {
  const hid = newId('se');
  const weights = {};
  const numbers = {};
  const rows = [...VALUE_MONEY, ...VALUE_JUDGED].map((f) => {
    weights[f] = h('input', { type: 'number', name: `weights.${f}`, id: `seg-weight-${f}`, min: '0', max: '100', step: '0.1', required: true, value: String(seg.weights?.[f] ?? 0) });
    return field(t(`value.${f}`), weights[f]);
  });
  const others = SEG_NUMBERS.map(([k, min, max, step]) => {
    numbers[k] = h('input', { type: 'number', name: k, id: `seg-${k}`, min: String(min), max: String(max), step, required: true, value: String(seg[k] ?? '') });
    return field(t(`segset.${k}`), numbers[k], { hint: t(`segset.${k}.hint`) });
  });
  const msg = h('div', { class: 'form-msg', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'segmentation-save', text: t('settings.save') });
  const form = h('form', { class: 'subform', id: 'segmentation-form', novalidate: true },
    h('fieldset', { class: 'seg-weights' }, h('legend', { text: t('segset.weights') }), h('div', { class: 'field-grid' }, rows)),
    h('div', { class: 'field-grid' }, others), msg, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    // Only what the user changed: another admin's change of the rest stays.
    const body = {};
    for (const [f, el] of Object.entries(weights)) {
      if (Number(el.value) !== (seg.weights?.[f] ?? 0)) (body.weights ||= {})[f] = Number(el.value);
    }
    for (const [k, el] of Object.entries(numbers)) if (Number(el.value) !== seg[k]) body[k] = Number(el.value);
    await settingsSave(ctx, form, msg, '/settings/segmentation', body, seg.version, () => t('segset.saved'));
  }));
  return h('section', { class: 'panel', id: 'segmentation', 'aria-labelledby': hid },
    h('h2', { id: hid, text: t('segset.title') }),
    h('p', { class: 'hint', text: t('segset.hint') }),
    form);
}
