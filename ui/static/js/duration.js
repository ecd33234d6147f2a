// A duration a person sets (a stage's SLA, a team's override) is a number and a unit — hours,
// days or weeks — instead of a code such as "30d"; the API keeps its format ("21d", "36h").
// Durations are shown in words by formatSLA (domain.js).

import { t } from './i18n.js';
import { h } from './dom.js';

const UNITS = [['weeks', 7 * 24 * 3600], ['days', 24 * 3600], ['hours', 3600]];
// Minutes and seconds are offered only for a duration that needs them (the test settings' "2s").
const FINE = [['minutes', 60], ['seconds', 1]];

// splitDuration reads the API's form ("21d", "36h", "1d12h", "2s") into a whole number and the
// largest unit that holds it whole.
export function splitDuration(s) {
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(String(s ?? ''));
  if (!s || !m) return null;
  const secs = Number(m[1] || 0) * 86400 + Number(m[2] || 0) * 3600 + Number(m[3] || 0) * 60 + Number(m[4] || 0);
  if (!(secs > 0)) return null;
  for (const [unit, per] of [...UNITS, ...FINE]) if (secs % per === 0) return { n: secs / per, unit };
  return null;
}

/** durationSeconds is the length of a duration in the API's form, in seconds (NaN when it is none). */
export function durationSeconds(s) {
  const d = splitDuration(s);
  if (!d) return NaN;
  const per = [...UNITS, ...FINE].find(([u]) => u === d.unit)[1];
  return d.n * per;
}

/** joinDuration is the API's form of n units: "21d" for 3 weeks, "36h" for 36 hours. */
export function joinDuration(n, unit) {
  switch (unit) {
    case 'weeks': return `${n * 7}d`;
    case 'days': return `${n}d`;
    case 'hours': return `${n}h`;
    case 'minutes': return `${n}m`;
    default: return `${n}s`;
  }
}

/**
 * durationInput is the control: a whole number and a unit (hours, days, weeks). value() is the
 * API's string ('' when empty); left as it was, the value it was given. id names the number
 * (its unit is id-unit).
 */
export function durationInput({ id, name, value, required = false }) {
  const cur = splitDuration(value);
  const units = cur && FINE.some(([u]) => u === cur.unit) ? [...UNITS, ...FINE] : UNITS;
  const num = h('input', { type: 'number', id, name, min: '1', max: '100000', step: '1', inputmode: 'numeric', required, value: cur ? String(cur.n) : '', class: 'duration-n' });
  const unit = h('select', { id: `${id}-unit`, name: `${name}_unit`, class: 'duration-unit', 'aria-label': t('duration.unit') },
    units.map(([u]) => h('option', { value: u, selected: (cur?.unit || 'days') === u, text: t(`duration.${u}`) })));
  const box = h('span', { class: 'duration-input' }, num, unit);
  const given = cur ? `${cur.n} ${cur.unit}` : '';
  return {
    box, num, unit,
    value: () => {
      if (num.value.trim() === '') return '';
      if (value && `${num.value.trim()} ${unit.value}` === given) return value;
      return joinDuration(Number(num.value), unit.value);
    },
  };
}
