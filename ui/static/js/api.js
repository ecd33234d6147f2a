// The JSON API client. The session lives in the HttpOnly cookie the server set at sign-in; the
// UI keeps only the session's CSRF token, in memory, and sends it with every write. Nothing about
// the session is stored in the browser beyond the cookie.

import { t, formatList, has } from './i18n.js';

let csrfToken = null;
let unauthorized = () => {};

export function setCsrf(token) {
  csrfToken = token || null;
}

/** onUnauthorized sets what happens when the session has ended (a 401 outside sign-in). */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

/** ApiError is an error answer of the API: {"error":{"code","message","details"}}. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

function idempotencyKey() {
  // crypto.getRandomValues works on plain-HTTP intranet installations too (randomUUID does not).
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * api calls the API: api('GET', '/deals?stage=bid'), api('POST', '/deals', {...}). It returns the
 * decoded JSON answer, or throws an ApiError. A write carries a fresh Idempotency-Key, so that
 * the server never applies it twice even if the network repeats it.
 */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const write = method !== 'GET' && method !== 'HEAD';
  if (write) {
    headers['Content-Type'] = 'application/json';
    headers['Idempotency-Key'] = idempotencyKey();
    if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
  }
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: write ? JSON.stringify(body ?? {}) : undefined,
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'network', 'network error');
  }
  let data = null;
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    const err = new ApiError(res.status, e.code || (res.status >= 500 ? 'internal' : 'invalid'), e.message, e.details);
    if (res.status === 401 && path !== '/auth/login') unauthorized(err);
    throw err;
  }
  return data;
}

/**
 * upload sends a file as multipart/form-data (in the part named file) to path with POST: the
 * browser sets the Content-Type with its boundary; the CSRF token and an Idempotency-Key go as for
 * every write. It returns the decoded JSON answer, or throws an ApiError.
 */
export async function upload(path, file) {
  const form = new FormData();
  form.append('file', file, file.name);
  const headers = { Accept: 'application/json', 'Idempotency-Key': idempotencyKey() };
  if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(`/api/v1${path}`, { method: 'POST', headers, body: form, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', 'network error');
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    const err = new ApiError(res.status, e.code || (res.status >= 500 ? 'internal' : 'invalid'), e.message, e.details);
    if (res.status === 401) unauthorized(err);
    throw err;
  }
  return data;
}

/** Fetches every page of a list (the API gives at most 200 items a page). */
export async function apiAll(path, max = 1000) {
  const sep = path.includes('?') ? '&' : '?';
  const items = [];
  for (let offset = 0; offset < max; offset += 200) {
    const page = await api('GET', `${path}${sep}limit=200&offset=${offset}`);
    items.push(...page.items);
    if (offset + 200 >= page.total) break;
  }
  return items;
}

/** The label of a gate key, e.g. "Opportunity assessed and passed". */
export function gateLabel(key) {
  return has(`gate.${key}`) ? t(`gate.${key}`) : key;
}

/**
 * errorText is what to tell the user about an error, in their language: the error code's
 * message, the field it concerns, and for an unmet gate the missing key-node items.
 */
export function errorText(err) {
  if (!(err instanceof ApiError)) return t('error.internal');
  const d = err.details || {};
  // The deal's changes cannot be saved for now: retrying will not help until an admin has.
  if (d.attention === true) return t('error.attention');
  const code = has(`error.${err.code}`) ? err.code : 'internal';
  let msg = t(`error.${code}`);
  // A refusal that says why in a stable reason (a loss reason, an amount) says it in words.
  if (typeof d.reason === 'string' && has(`forms.reason.${d.reason}`)) msg = t(`forms.reason.${d.reason}`);
  else if (typeof d.reason === 'string' && has(`amount.${d.reason}`)) msg = t(`amount.${d.reason}`);
  if (Array.isArray(d.missing) && d.missing.length) {
    msg += ` ${t('error.missing', { items: formatList(d.missing.map(gateLabel)) })}`;
  }
  if (typeof d.field === 'string' && d.field) {
    msg += ` ${t('error.field', { field: fieldLabel(d.field) })}`;
  }
  return msg;
}

export function fieldLabel(name) {
  if (name.startsWith('scores.')) return factorLabel(name.slice(7));
  return has(`field.${name}`) ? t(`field.${name}`) : name;
}

function factorLabel(f) {
  return has(`factor.${f}`) ? t(`factor.${f}`) : f;
}
