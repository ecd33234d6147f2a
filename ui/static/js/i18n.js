// Translations and locale formatting. The dictionaries are JSON files under /i18n, one per
// language, with the same keys (a Go test keeps them in step). The language is the one chosen in
// the UI (remembered in localStorage), else the browser's, else English.

export const LOCALES = [
  { code: 'en', name: 'English' },
  { code: 'zh-CN', name: '简体中文' },
];
const STORAGE_KEY = 'kamflow.lang';

let dict = {};
let current = 'en';
const listeners = [];

/** The language the browser prefers, mapped onto the UI's languages. */
function browserLocale() {
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  for (const l of langs) {
    const low = String(l).toLowerCase();
    if (low.startsWith('zh')) return 'zh-CN';
    if (low.startsWith('en')) return 'en';
  }
  return 'en';
}

function storedLocale() {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return LOCALES.some((l) => l.code === v) ? v : null;
  } catch {
    return null; // storage disabled: fall back to the browser's language
  }
}

async function load(code) {
  const res = await fetch(`/i18n/${code}.json`, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`translations ${code}: HTTP ${res.status}`);
  return res.json();
}

/** Loads the initial language. */
export async function initI18n() {
  const code = storedLocale() || browserLocale();
  dict = await load(code);
  current = code;
  document.documentElement.lang = code;
}

/** Switches the language, remembers the choice and tells the listeners (which re-render). */
export async function setLocale(code) {
  if (!LOCALES.some((l) => l.code === code)) return;
  dict = await load(code);
  current = code;
  document.documentElement.lang = code;
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // not remembered; the choice holds for this page
  }
  for (const fn of listeners) fn(code);
}

export function onLocaleChange(fn) {
  listeners.push(fn);
}

export function locale() {
  return current;
}

/** t translates key, filling {name} placeholders from params. An unknown key shows as itself. */
export function t(key, params) {
  let s = dict[key];
  if (s === undefined) s = key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, name) => (params[name] === undefined ? m : String(params[name])));
  return s;
}

/** has reports whether key is translated. */
export function has(key) {
  return Object.prototype.hasOwnProperty.call(dict, key);
}

/** tp translates a count: key.one, key.other and so on by the language's plural rules. */
export function tp(key, n, params = {}) {
  const rule = new Intl.PluralRules(current).select(n);
  const k = has(`${key}.${rule}`) ? `${key}.${rule}` : `${key}.other`;
  return t(k, { n: formatNumber(n), ...params });
}

export function formatNumber(n, opts) {
  return new Intl.NumberFormat(current, opts).format(n);
}

/** Money is a decimal string ("12000000.00") in the deal's currency. */
export function formatMoney(amount, currency, { compact = false, whole = false } = {}) {
  const n = Number(amount);
  if (!Number.isFinite(n)) return String(amount ?? '');
  const opts = { style: 'currency', currency: currency || 'CNY' };
  if (compact) {
    opts.notation = 'compact';
    opts.maximumFractionDigits = 1;
  } else if (whole) {
    opts.maximumFractionDigits = 0;
    opts.minimumFractionDigits = 0;
  }
  try {
    return new Intl.NumberFormat(current, opts).format(n);
  } catch {
    return `${formatNumber(n)} ${currency}`; // an unknown currency code
  }
}

export function formatPercent(value, digits = 0) {
  return new Intl.NumberFormat(current, { style: 'percent', maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(value / 100);
}

/** A calendar date "YYYY-MM-DD", shown without any time-zone shift. */
export function formatDate(date) {
  if (!date) return '';
  const d = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return String(date);
  return new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeZone: 'UTC' }).format(d);
}

/** An instant (RFC 3339), shown in the browser's time zone. */
export function formatDateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/** A list of words joined the language's way ("a, b and c" / "a、b和c"). */
export function formatList(items) {
  return new Intl.ListFormat(current, { style: 'long', type: 'conjunction' }).format(items);
}
