// The domain as the UI needs it: the stages, the assessment factors and the buying-center
// vocabulary, and the few computations the UI shows live before the server has the last word
// (assessment score and grade, bid margin). They mirror the Go domain (assessment.go, command.go);
// the server recomputes everything it stores.

import { t, tp, has } from './i18n.js';

export const STAGES = ['development', 'entry', 'proposal', 'bid', 'negotiation', 'delivery'];
export const PROJECT_FACTORS = ['project_level', 'funding', 'technical_fit', 'relationship', 'credit'];
export const COMPETITION_FACTORS = ['product', 'price', 'solution', 'service'];
export const FACTORS = [...PROJECT_FACTORS, ...COMPETITION_FACTORS];
export const ROLES = ['decision_maker', 'influencer', 'user', 'technical_evaluator', 'purchaser', 'executor', 'insider'];
export const STANCES = ['supporter', 'neutral', 'opponent'];
export const FAVOURS = ['us', 'neutral', 'competitor'];
export const GRADES = ['A', 'B', 'C', 'D'];
export const ACCEPTANCE = ['pass', 'pass_with_punch_list', 'fail'];
export const CURRENCIES = ['CNY', 'USD', 'EUR', 'JPY', 'HKD', 'GBP'];
export const FINAL = ['lost', 'withdrawn', 'abandoned', 'delivered'];
// Delivery (delivery.go): the acceptance test's key, what a task does when started, the customer's
// feedback at a service visit.
export const ACCEPTANCE_TEST = 'acceptance_test';
export const SATISFACTION = ['satisfied', 'neutral', 'dissatisfied'];
// A task whose steps are running or being undone: its plan changes by itself.
export const TASK_BUSY = ['running', 'undoing'];

export function nextStage(s) {
  const i = STAGES.indexOf(s);
  return i >= 0 && i < STAGES.length - 1 ? STAGES[i + 1] : null;
}

export function isActive(deal) {
  return !FINAL.includes(deal.status);
}

/** score weighs 1–5 scores into 0–100, one decimal, as AssessmentModel.Score does. */
export function score(weights, scores) {
  let sum = 0;
  let total = 0;
  for (const f of FACTORS) {
    const w = Number(weights?.[f] ?? 0);
    total += w;
    sum += (w * (Number(scores[f] ?? 1) - 1)) / 4;
  }
  if (total === 0) return 0;
  return Math.round((sum / total) * 1000) / 10;
}

/** computeGrade grades by expected close and likelihood, as ComputeGrade does. */
export function computeGrade(expectedClose, likelihood, today = new Date()) {
  const close = Date.parse(`${expectedClose}T00:00:00Z`);
  if (Number.isNaN(close)) return null;
  const day = 24 * 3600 * 1000;
  const start = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const days = Math.trunc((close - start) / day);
  if (likelihood >= 70 && days <= 183) return 'A';
  if (likelihood >= 50 && days <= 366) return 'B';
  if (likelihood >= 30) return 'C';
  return 'D';
}

/** parseMoney reads a decimal string into minor units, or null when it is not one. */
export function parseMoney(s) {
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(String(s ?? '').trim());
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'));
}

/** marginPct is (price − cost) / price in percent, two decimals, as MarginPct does. */
export function marginPct(cost, price) {
  if (!(price > 0)) return 0;
  return Math.round(((price - cost) / price) * 10000) / 100;
}

export function today() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function addDays(date, n) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/**
 * formatSLA shows a duration as the API writes it ("30d", "36h0m0s", "2s") in words of the
 * UI's language ("30 days", "36 hours"); anything else as it is.
 */
export function formatSLA(s) {
  const str = String(s ?? '');
  const d = /^(\d+)d$/.exec(str);
  if (d) return tp('unit.days', Number(d[1]));
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(str);
  if (!str || !m) return str;
  const parts = [];
  if (Number(m[1])) parts.push(tp('unit.hours', Number(m[1])));
  if (Number(m[2])) parts.push(tp('unit.minutes', Number(m[2])));
  if (Number(m[3])) parts.push(tp('unit.seconds', Number(m[3])));
  return parts.length ? parts.join(' ') : str;
}

export const stageLabel = (s) => t(`stage.${s}`);
export const statusLabel = (s) => t(`status.${s}`);
export const roleLabel = (r) => t(`role.${r}`);
export const stanceLabel = (s) => t(`stance.${s}`);
export const favoursLabel = (f) => t(`favours.${f}`);
export const factorLabel = (f) => t(`factor.${f}`);
export const acceptanceLabel = (r) => t(`acceptance.${r}`);
export const userRoleLabel = (r) => t(`userrole.${r}`);
export const taskStatusLabel = (s) => (has(`taskstatus.${s}`) ? t(`taskstatus.${s}`) : s);
export const stepStatusLabel = (s) => (has(`stepstatus.${s}`) ? t(`stepstatus.${s}`) : s);
export const satisfactionLabel = (s) => (has(`satisfaction.${s}`) ? t(`satisfaction.${s}`) : s);

/**
 * taskLabel names a delivery task (a task, or a key): the title its plan gave it, else the name
 * of a default task in the UI's language, else its key.
 */
export function taskLabel(task) {
  const key = typeof task === 'string' ? task : task.key;
  const title = typeof task === 'string' ? '' : (task.title || '').trim();
  if (title) return title;
  return has(`task.${key}`) ? t(`task.${key}`) : key;
}

/** stepLabel names a step of a delivery task (the work order, the parts, the customer's notice). */
export function stepLabel(key) {
  return has(`step.${key}`) ? t(`step.${key}`) : key;
}

