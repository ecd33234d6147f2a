// The reports of the pipeline for KAMs and directors: the funnel, time in stage with forcing and
// losses, and the weighted forecast. Each report is a chart (chart.js) with its figures in a
// table, and a CSV download of the same report. The period, interval, team, owner and as-of date
// live in the URL, so that a report can be reloaded and shared; dates are read in the browser's
// time zone.

import { api } from '../api.js';
import { t, tp, locale, formatNumber, formatMoney, formatPercent, formatDate, formatDateTime } from '../i18n.js';
import { h, replace, newId, field, validate, markField } from '../dom.js';
import { STAGES, stageLabel, statusLabel, today, addDays } from '../domain.js';
import { barChart, legend } from '../chart.js';
import { formError, table, empty, query, csvHref, csvLink, timeZone, personNames, personName } from './common.js';

// Owners seen in the forecast this session, for the owner filter (the API lists users to admins).
const knownOwners = new Set();

// The filter fields an API error may name, so that it is shown next to the field.
const FILTER_FIELDS = ['from', 'to', 'interval', 'team', 'owner', 'tz'];

// The first day of the month `back` months before the date.
function monthStart(date, back) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - back);
  return d.toISOString().slice(0, 10);
}

/** A forecast month "2026-07" or a funnel period "2026-07" / "2026-Q3" in the UI's language. */
export function periodLabel(label) {
  const q = /^(\d{4})-Q([1-4])$/.exec(label || '');
  if (q) return t('reports.quarter', { year: q[1], q: q[2] });
  const m = /^(\d{4})-(\d{2})$/.exec(label || '');
  if (!m) return label || t('reports.no_close_month');
  return new Intl.DateTimeFormat(locale(), { year: 'numeric', month: 'short', timeZone: 'UTC' })
    .format(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1)));
}

const pct = (ratio) => formatPercent(ratio * 100, 1);
const round1 = (n) => Math.round(n * 10) / 10;
const count = (n) => formatNumber(n);

export async function reportsView(root, ctx) {
  await personNames();
  const labels = loadLossLabels(); // awaited before the losses are drawn, below
  const q = ctx.query;
  const f = {
    from: q.get('from') || monthStart(today(), 5),
    to: q.get('to') || today(),
    interval: ['month', 'quarter'].includes(q.get('interval')) ? q.get('interval') : '',
    team: q.get('team') || '',
    owner: q.get('owner') || '',
    as_of: q.get('as_of') || '',
  };
  const tz = timeZone();
  const scope = { team: f.team, owner: f.owner, tz };
  const period = { from: f.from, to: f.to, ...scope };
  const funnelQ = { ...period, interval: f.interval };
  const forecastQ = { as_of: f.as_of, ...scope };
  const director = ctx.user.role === 'director';
  const [funnel, times, forecast, teams] = await Promise.allSettled([
    api('GET', `/reports/funnel?${query(funnelQ)}`),
    api('GET', `/reports/stage-times?${query(period)}`),
    api('GET', `/reports/forecast?${query(forecastQ)}`),
    director ? api('GET', '/teams').then((r) => r.items || []) : Promise.resolve([]),
  ]);
  await labels;
  if (!ctx.alive()) return;
  if (ctx.user.role === 'kam') knownOwners.add(ctx.user.username);
  if (f.owner) knownOwners.add(f.owner);
  if (forecast.status === 'fulfilled') for (const r of forecast.value.by_owner || []) knownOwners.add(r.owner);

  const go = (next) => ctx.navigate(`/reports${query(next) ? `?${query(next)}` : ''}`, { replace: true });
  const filters = filterForm(f, teams.status === 'fulfilled' ? teams.value : [], go);
  // An error about a filter (a date the server refused) is shown at the field as well.
  for (const r of [funnel, times, forecast]) {
    if (r.status === 'rejected' && FILTER_FIELDS.includes(r.reason?.details?.field)) {
      formError(filters, filters.querySelector('.form-msg'), r.reason);
      break;
    }
  }

  replace(root,
    h('div', { class: 'page-head' }, h('h1', { text: t('reports.title') })),
    h('p', { class: 'lead', text: t('reports.lead') }),
    filters,
    h('p', { class: 'summary', id: 'report-period' }, t('reports.period', { from: formatDate(f.from), to: formatDate(f.to), tz })),
    h('div', { class: 'reports' },
      settled(funnel, (r) => funnelPanel(r, csvHref('/reports/funnel', funnelQ)), 'report-funnel', t('reports.funnel_title')),
      settled(times, (r) => stageTimesPanel(r, csvHref('/reports/stage-times', { ...period, table: 'times' })), 'report-stage-times', t('reports.times_title')),
      settled(times, (r) => forcingPanel(r.forcing, csvHref('/reports/stage-times', { ...period, table: 'forcing' })), 'report-forcing', t('reports.forcing_title')),
      settled(times, (r) => lossesPanel(r.losses, csvHref('/reports/stage-times', { ...period, table: 'losses' })), 'report-losses', t('reports.losses_title')),
      settled(forecast, (r) => forecastPanel(r, f, csvHref('/reports/forecast', forecastQ), go), 'report-forecast', t('reports.forecast_title'))));
}

// settled builds a report's panel, or says why the report could not be read.
function settled(result, build, id, title) {
  if (result.status === 'fulfilled') return build(result.value);
  const msg = h('div', { class: 'form-msg', role: 'alert' });
  formError(null, msg, result.reason);
  return panel(id, title, null, msg);
}

// panel is one report: a heading, its CSV link, and the content.
function panel(id, title, link, ...content) {
  const hid = newId('rp');
  return h('section', { class: 'panel report', id, 'aria-labelledby': hid },
    h('div', { class: 'report-head' }, h('h2', { id: hid, text: title }), link),
    content);
}

function filterForm(f, teams, go) {
  const from = h('input', { type: 'date', name: 'from', id: 'report-from', required: true, value: f.from, max: today() });
  const to = h('input', { type: 'date', name: 'to', id: 'report-to', required: true, value: f.to });
  const interval = h('select', { name: 'interval', id: 'report-interval' },
    [['', 'reports.interval_none'], ['month', 'reports.interval_month'], ['quarter', 'reports.interval_quarter']]
      .map(([v, k]) => h('option', { value: v, selected: v === f.interval, text: t(k) })));
  const team = teams.length
    ? h('select', { name: 'team', id: 'report-team' }, h('option', { value: '', text: t('reports.all_teams') }),
      teams.map((x) => h('option', { value: x.id, selected: x.id === f.team, text: x.name })))
    : null;
  const owner = h('select', { name: 'owner', id: 'report-owner' }, h('option', { value: '', text: t('reports.all_owners') }),
    [...knownOwners].sort().map((o) => h('option', { value: o, selected: o === f.owner, text: personName(o) })));
  const msg = h('div', { class: 'form-msg', role: 'alert' });
  const form = h('form', { class: 'filters', id: 'report-filters', novalidate: true, 'aria-label': t('reports.filters') },
    field(t('reports.from'), from), field(t('reports.to'), to), field(t('reports.interval'), interval),
    team ? field(t('reports.team'), team) : null, field(t('reports.owner'), owner),
    h('button', { type: 'submit', class: 'btn btn-primary', id: 'report-apply', text: t('reports.apply') }), msg);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    replace(msg);
    if (!validate(form)) return;
    // ISO dates compare as strings.
    if (from.value > to.value) {
      markField(form, 'to', t('reports.to_before_from'));
      return;
    }
    go({ from: from.value, to: to.value, interval: interval.value, team: team ? team.value : '', owner: owner.value, as_of: f.as_of });
  });
  return form;
}

// ---- the funnel

function funnelPanel(r, href) {
  const stages = r.stages || [];
  const rows = stages.map((s) => {
    const label = stageLabel(s.stage);
    const seg = (value, series, key) => ({ value, series, text: `${label}: ${t(key)} ${count(value)}` });
    return {
      key: s.stage, label,
      bars: [{ segments: [seg(s.advanced - s.forced, 'advanced', 'reports.advanced_unforced'), seg(s.forced, 'forced', 'reports.forced'),
        seg(s.closed, 'closed', 'reports.closed'), seg(s.open, 'open', 'reports.open')] }],
      note: s.entered ? t('reports.conversion_note', { pct: pct(s.conversion) }) : '',
    };
  });
  const desc = stages.map((s) => t('reports.funnel_desc', {
    stage: stageLabel(s.stage), entered: count(s.entered), advanced: count(s.advanced), forced: count(s.forced),
    closed: count(s.closed), open: count(s.open), conversion: pct(s.conversion),
  })).join(' ');
  const entered = stages.reduce((n, s) => n + s.entered, 0);
  return panel('report-funnel', t('reports.funnel_title'), csvLink(href, t('reports.csv_of', { report: t('reports.funnel_title') }), 'funnel'),
    h('p', { class: 'hint', text: t('reports.funnel_hint') }),
    entered ? null : empty(t('reports.no_entries')),
    legend([{ series: 'advanced', label: t('reports.advanced_unforced') }, { series: 'forced', label: t('reports.forced') },
      { series: 'closed', label: t('reports.closed') }, { series: 'open', label: t('reports.open') }]),
    h('div', { class: 'chart-wrap' }, barChart({
      id: 'funnel-chart', title: t('reports.funnel_chart', { from: formatDate(r.from), to: formatDate(r.to) }), desc, rows, format: count, integer: true,
    })),
    table(t('reports.funnel_table'),
      [t('deal.stage'), t('reports.entered'), t('reports.advanced'), t('reports.of_them_forced'), t('reports.closed'), t('reports.open'), t('reports.conversion')],
      stages.map((s) => h('tr', { data: { stage: s.stage } },
        h('th', { scope: 'row', text: stageLabel(s.stage) }),
        [s.entered, s.advanced, s.forced, s.closed, s.open].map((n) => h('td', { class: 'num', text: count(n) })),
        h('td', { class: 'num', text: pct(s.conversion) }))),
      { className: 'report-table' }),
    r.periods?.length ? periodsTable(r.periods, r.interval) : null);
}

// periodsTable is the funnel of each month or quarter: per stage, entered → advanced (conversion).
function periodsTable(periods, interval) {
  return table(t(interval === 'quarter' ? 'reports.by_quarter' : 'reports.by_month'),
    [t('reports.period_col'), ...STAGES.map(stageLabel)],
    periods.map((p) => h('tr', { data: { period: p.label } },
      h('th', { scope: 'row' }, periodLabel(p.label), h('span', { class: 'cell-sub', text: `${formatDate(p.from)} – ${formatDate(p.to)}` })),
      STAGES.map((st) => {
        const s = (p.stages || []).find((x) => x.stage === st) || { entered: 0, advanced: 0, conversion: 0 };
        return h('td', { class: 'num', data: { stage: st } },
          s.entered ? t('reports.entered_advanced', { entered: count(s.entered), advanced: count(s.advanced) }) : '–',
          s.entered ? h('span', { class: 'cell-sub', text: pct(s.conversion) }) : null);
      }))),
    { className: 'report-table periods-table' });
}

// ---- time in stage

function stageTimesPanel(r, href) {
  const stages = r.stages || [];
  // Hours when every stay is under a day (a young pipeline, or a test), else days.
  const hours = stages.every((s) => s.p90_days < 1) && stages.some((s) => s.p90_hours > 0);
  const unit = (n) => (hours ? tp('unit.hours', round1(n)) : tp('unit.days', round1(n)));
  const med = (s) => (hours ? s.median_hours : s.median_days);
  const p90 = (s) => (hours ? s.p90_hours : s.p90_days);
  const rows = stages.map((s) => {
    const label = stageLabel(s.stage);
    return {
      key: s.stage, label,
      bars: [{
        segments: [{ value: med(s), series: 'median', text: `${label}: ${t('reports.median')} ${unit(med(s))}` }],
        whisker: { to: p90(s), series: 'p90', text: `${label}: ${t('reports.p90')} ${unit(p90(s))}` },
      }],
      note: tp('reports.stays', s.stays),
    };
  });
  const desc = stages.map((s) => t('reports.times_desc', { stage: stageLabel(s.stage), median: unit(med(s)), p90: unit(p90(s)), stays: tp('reports.stays', s.stays) })).join(' ');
  return panel('report-stage-times', t('reports.times_title'), csvLink(href, t('reports.csv_of', { report: t('reports.times_title') }), 'stage-times'),
    h('p', { class: 'hint', text: t('reports.times_hint') }),
    legend([{ series: 'median', label: t('reports.median') }, { series: 'p90', label: t('reports.p90') }]),
    h('div', { class: 'chart-wrap' }, barChart({
      id: 'stage-times-chart', title: t(hours ? 'reports.times_chart_hours' : 'reports.times_chart_days'), desc, rows,
      format: (v) => formatNumber(v, { maximumFractionDigits: 2 }),
    })),
    table(t('reports.times_table'), [t('deal.stage'), t('reports.stays_col'), t('reports.median'), t('reports.p90'), t('reports.paused')],
      stages.map((s) => h('tr', { data: { stage: s.stage } },
        h('th', { scope: 'row', text: stageLabel(s.stage) }),
        h('td', { class: 'num', text: count(s.stays) }),
        h('td', { class: 'num', text: s.stays ? unit(med(s)) : '–' }),
        h('td', { class: 'num', text: s.stays ? unit(p90(s)) : '–' }),
        h('td', { class: 'num', text: s.paused_hours >= 24 ? tp('unit.days', round1(s.paused_hours / 24)) : tp('unit.hours', round1(s.paused_hours)) }))),
      { className: 'report-table' }));
}

// ---- forcing: does pushing a deal past its key node lower its chance?

function outcomeText(o) {
  return o.closed ? t('reports.won_of_closed', { won: count(o.won), closed: count(o.closed), rate: pct(o.win_rate) }) : t('reports.none_closed');
}

function forcingPanel(fr, href) {
  const forced = fr.forced || { deals: 0, closed: 0, won: 0, win_rate: 0 };
  const unforced = fr.unforced || { deals: 0, closed: 0, won: 0, win_rate: 0 };
  let verdict;
  if (!forced.closed || !unforced.closed) verdict = t('reports.forcing_too_few');
  else if (forced.win_rate < unforced.win_rate) verdict = t('reports.forcing_lower', { points: formatNumber(round1((unforced.win_rate - forced.win_rate) * 100)) });
  else verdict = t('reports.forcing_not_lower');
  const rows = [
    { key: 'forced', label: t('reports.forced_deals'), o: forced },
    { key: 'unforced', label: t('reports.unforced_deals'), o: unforced },
  ].map((x) => ({
    key: x.key, label: x.label, note: x.o.closed ? pct(x.o.win_rate) : t('reports.na'),
    bars: [{ segments: [{ value: x.o.win_rate * 100, series: x.key, text: `${x.label}: ${outcomeText(x.o)}` }] }],
  }));
  return panel('report-forcing', t('reports.forcing_title'), csvLink(href, t('reports.csv_of', { report: t('reports.forcing_title') }), 'forcing'),
    h('p', { class: 'hint', text: t('reports.forcing_hint') }),
    h('p', { class: 'verdict', id: 'forcing-verdict', text: verdict }),
    h('div', { class: 'chart-wrap chart-small' }, barChart({
      id: 'forcing-chart', title: t('reports.forcing_chart'), rows, max: 100, format: (v) => formatPercent(v),
      desc: `${t('reports.forced_deals')}: ${outcomeText(forced)}. ${t('reports.unforced_deals')}: ${outcomeText(unforced)}. ${verdict}`,
    })),
    table(t('reports.forcing_table'),
      [t('deal.stage'), t('reports.advances'), t('reports.forced'), t('reports.forced_rate'), t('reports.win_rate_forced'), t('reports.win_rate_unforced')],
      (fr.stages || []).map((s) => h('tr', { data: { stage: s.stage } },
        h('th', { scope: 'row', text: stageLabel(s.stage) }),
        h('td', { class: 'num', text: count(s.advances) }),
        h('td', { class: 'num', text: count(s.forced) }),
        h('td', { class: 'num', text: s.advances ? pct(s.forced_rate) : '–' }),
        h('td', { class: 'num', text: outcomeText(s.forced_outcome) }),
        h('td', { class: 'num', text: outcomeText(s.unforced_outcome) }))),
      { className: 'report-table', id: 'forcing-table' }));
}

// ---- losses: why deals were lost or withdrawn, and to whom

// The loss reasons' labels (the settings' list), read once the reports are shown; until then,
// and for a code no longer listed, the code.
let lossLabels = {};
function reasonLabel(code) {
  if (code === 'other') return t('forms.reason_other');
  return lossLabels[code]?.[locale() === 'zh-CN' ? 'zh-CN' : 'en'] || code;
}
async function loadLossLabels() {
  try {
    const s = await api('GET', '/settings');
    lossLabels = Object.fromEntries((s.loss_reasons || []).map((r) => [r.code, r.labels]));
  } catch {
    lossLabels = {};
  }
}

function lossesPanel(losses, href) {
  const rows = (losses || []).filter((l) => l.lost + l.withdrawn > 0);
  const list = (items, text) => (items.length
    ? h('ul', { class: 'plain-list' }, items.map((c) => h('li', { text: text(c) })))
    : h('span', { class: 'muted', text: t('common.none') }));
  return panel('report-losses', t('reports.losses_title'), csvLink(href, t('reports.csv_of', { report: t('reports.losses_title') }), 'losses'),
    h('p', { class: 'hint', text: t('reports.losses_hint') }),
    rows.length
      ? table(t('reports.losses_table'), [t('deal.stage'), t('status.lost'), t('status.withdrawn'), t('reports.reasons'), t('reports.competitors')],
        rows.map((l) => h('tr', { data: { stage: l.stage } },
          h('th', { scope: 'row', text: stageLabel(l.stage) }),
          h('td', { class: 'num', text: count(l.lost) }),
          h('td', { class: 'num', text: count(l.withdrawn) }),
          h('td', { class: 'reasons' }, list(l.reasons || [], (c) => t('reports.reason_item', {
            reason: c.code ? reasonLabel(c.code) : (c.value || t('reports.no_reason')), outcome: statusLabel(c.outcome), n: count(c.count),
          }))),
          h('td', { class: 'competitors' }, list(l.competitors || [], (c) => t('reports.count_item', { value: c.value, n: count(c.count) }))))),
        { className: 'report-table losses-table' })
      : empty(t('reports.no_losses')));
}

// ---- the forecast

function forecastPanel(r, f, href, go) {
  const yesterday = addDays(today(), -1);
  const asOf = h('input', { type: 'date', name: 'as_of', id: 'report-as-of', value: f.as_of, max: yesterday });
  const msg = h('div', { class: 'form-msg', role: 'alert' });
  const form = h('form', { class: 'inline-form as-of-form', id: 'as-of-form', novalidate: true },
    h('label', { for: asOf.id, text: t('reports.as_of') }), asOf,
    h('p', { class: 'field-error', id: `${asOf.id}-err`, hidden: true }),
    h('button', { type: 'submit', class: 'btn btn-small', text: t('reports.show') }),
    f.as_of ? h('button', { type: 'button', class: 'btn btn-small btn-quiet', id: 'as-of-now', text: t('reports.as_of_now'), onclick: () => go({ ...f, as_of: '' }) }) : null,
    msg);
  asOf.setAttribute('aria-describedby', `${asOf.id}-err`);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    replace(msg);
    if (asOf.value && asOf.value > yesterday) {
      markField(form, 'as_of', t('reports.as_of_past'));
      return;
    }
    go({ ...f, as_of: asOf.value });
  });

  const currencies = [...new Set((r.total || []).map((x) => x.currency))];
  const money = (v, cur) => formatMoney(v, cur, { whole: true });
  const charts = currencies.map((cur) => {
    const months = (r.by_month || []).filter((x) => x.currency === cur);
    const rows = months.map((m) => {
      const label = periodLabel(m.month);
      return {
        key: m.month || 'none', label,
        bars: [
          { segments: [{ value: Number(m.value), series: 'value', text: `${label}: ${t('reports.value')} ${money(m.value, cur)}` }] },
          { segments: [{ value: Number(m.weighted), series: 'weighted', text: `${label}: ${t('reports.weighted')} ${money(m.weighted, cur)}` }] },
        ],
      };
    });
    const desc = months.map((m) => t('reports.forecast_desc', {
      month: periodLabel(m.month), deals: tp('board.deals', m.deals), value: money(m.value, cur), weighted: money(m.weighted, cur),
    })).join(' ');
    return h('figure', { class: 'forecast-currency', data: { currency: cur } },
      h('figcaption', { text: t('reports.forecast_in', { currency: cur }) }),
      h('div', { class: 'chart-wrap' }, barChart({
        id: `forecast-chart-${cur}`, title: t('reports.forecast_chart', { currency: cur }), desc, rows,
        format: (v) => formatMoney(v, cur, { compact: true }),
      })));
  });
  return panel('report-forecast', t('reports.forecast_title'), csvLink(href, t('reports.csv_of', { report: t('reports.forecast_title') }), 'forecast'),
    h('p', { class: 'hint', text: t('reports.forecast_hint') }),
    form,
    h('p', { class: 'notice', id: 'forecast-as-of' },
      r.as_of_date ? t('reports.as_of_then', { date: formatDate(r.as_of_date), at: formatDateTime(r.as_of) }) : t('reports.as_of_today')),
    (r.total || []).length
      ? [
        h('ul', { class: 'forecast-totals', id: 'forecast-totals' }, r.total.map((x) => h('li', { data: { currency: x.currency } },
          t('reports.forecast_total', { deals: tp('board.deals', x.deals), value: money(x.value, x.currency), weighted: money(x.weighted, x.currency) })))),
        legend([{ series: 'value', label: t('reports.value') }, { series: 'weighted', label: t('reports.weighted') }]),
        charts,
        table(t('reports.by_month_table'), [t('reports.close_month'), t('field.currency'), t('reports.deals'), t('reports.value'), t('reports.weighted')],
          r.by_month.map((m) => h('tr', { data: { month: m.month, currency: m.currency } },
            h('th', { scope: 'row', text: periodLabel(m.month) }), h('td', { text: m.currency }),
            h('td', { class: 'num', text: count(m.deals) }),
            h('td', { class: 'num money', text: money(m.value, m.currency) }),
            h('td', { class: 'num money', text: money(m.weighted, m.currency) }))),
          { className: 'report-table' }),
        table(t('reports.by_owner_table'), [t('field.owner'), t('field.currency'), t('reports.deals'), t('reports.value'), t('reports.weighted')],
          (r.by_owner || []).map((o) => h('tr', { data: { owner: o.owner, currency: o.currency } },
            h('th', { scope: 'row', text: personName(o.owner) }), h('td', { text: o.currency }),
            h('td', { class: 'num', text: count(o.deals) }),
            h('td', { class: 'num money', text: money(o.value, o.currency) }),
            h('td', { class: 'num money', text: money(o.weighted, o.currency) }))),
          { className: 'report-table', id: 'forecast-owners' }),
      ]
      : empty(t('reports.no_pipeline')));
}
