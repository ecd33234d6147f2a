// Pieces several views share: status badges, account names, the new-deal and new-account forms.

import { api, apiAll, errorText, fieldLabel, ApiError } from '../api.js';
import { t, tp, locale } from '../i18n.js';
import { h, replace, field, select, validate, busy, openDialog, markField } from '../dom.js';
import { CURRENCIES, statusLabel, stageLabel, addDays, today } from '../domain.js';
import { moneyField, settleAmounts, amountOf, understood } from '../amount.js';


/**
 * badges marks a deal's state in words and colour together (never colour alone): stalled with
 * its days over the SLA, forced, paused, and a status other than open.
 */
export function badges(d) {
  const out = [];
  if (d.stalled) {
    out.push(h('span', { class: 'badge badge-stalled', data: { badge: 'stalled' } },
      h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⚠' }),
      d.days_over_sla > 0 ? t('badge.stalled_days', { days: tp('unit.days', d.days_over_sla) }) : t('badge.stalled')));
  }
  if (d.forced) {
    out.push(h('span', { class: 'badge badge-forced', data: { badge: 'forced' } },
      h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⤼' }), t('badge.forced')));
  }
  if (d.paused || d.pause) {
    out.push(h('span', { class: 'badge badge-paused', data: { badge: 'paused' } },
      h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⏸' }), t('badge.paused')));
  }
  if (d.imported) {
    out.push(h('span', {
      class: 'badge badge-imported', data: { badge: 'imported' },
      title: t('badge.imported_title', { stage: stageLabel(d.imported.stage), line: d.imported.line }),
    }, h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⇪' }), t('badge.imported')));
  }
  if (d.status && d.status !== 'open') {
    out.push(h('span', { class: `badge badge-status badge-${d.status}`, data: { badge: d.status } }, statusLabel(d.status)));
  }
  return out;
}

export function gradeBadge(grade) {
  return grade
    ? h('span', { class: `grade grade-${grade}`, title: t(`grade.${grade}.meaning`) }, t('deal.grade_short', { grade }))
    : h('span', { class: 'grade grade-none' }, t('deal.ungraded'));
}

/** accountNames maps account IDs to names: the visible accounts, then any missing one alone. */
export async function accountNames(ids = []) {
  const names = new Map();
  try {
    for (const a of await apiAll('/accounts')) names.set(a.id, a.name);
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== 'forbidden') throw err;
  }
  const missing = [...new Set(ids)].filter((id) => id && !names.has(id));
  await Promise.all(missing.map(async (id) => {
    try {
      const a = await api('GET', `/accounts/${encodeURIComponent(id)}`);
      names.set(id, a.name);
    } catch {
      // not visible to this user: the card shows no name
    }
  }));
  return names;
}

/** formError shows an API error in a form's message area and marks the field it names. */
export function formError(form, msgEl, err) {
  const text = errorText(err);
  replace(msgEl, h('p', { class: 'alert alert-error', text }));
  if (err instanceof ApiError && typeof err.details?.field === 'string') {
    markField(form, err.details.field, t('error.field_invalid', { field: fieldLabel(err.details.field) }));
  }
}

/** newAccountDialog asks for a new account; onCreated gets it. */
export function newAccountDialog(onCreated) {
  openDialog(t('account.new'), (close) => {
    const name = h('input', { name: 'name', required: true, maxlength: '200', autocomplete: 'organization' });
    const industry = h('input', { name: 'industry', maxlength: '200' });
    const region = h('input', { name: 'region', maxlength: '200' });
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: t('account.create') });
    const form = h('form', { novalidate: true, id: 'new-account-form' },
      field(t('field.name'), name),
      field(t('field.industry'), industry, { hint: t('account.industry_hint') }),
      field(t('field.region'), region),
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      try {
        const body = { name: name.value.trim() };
        if (industry.value.trim()) body.industry = industry.value.trim();
        if (region.value.trim()) body.region = region.value.trim();
        const acc = await api('POST', '/accounts', body);
        close();
        onCreated(acc);
      } catch (err) {
        formError(form, msg, err);
      }
    }));
    return form;
  });
}

/** newDealDialog asks for a new deal; onCreated gets it. */
export async function newDealDialog(onCreated, { accountId } = {}) {
  const accounts = await apiAll('/accounts');
  openDialog(t('deal.new'), (close) => {
    const acc = h('select', { name: 'account_id', required: true });
    const fillAccounts = (selected) => {
      replace(acc, h('option', { value: '', text: t('deal.choose_account') }),
        accounts.slice().sort((a, b) => a.name.localeCompare(b.name)).map((a) => h('option', { value: a.id, selected: a.id === selected, text: a.name })));
    };
    fillAccounts(accountId);
    const addAcc = h('button', { type: 'button', class: 'btn btn-small', id: 'new-deal-add-account', text: t('account.new') });
    addAcc.addEventListener('click', () => newAccountDialog((a) => {
      accounts.push(a);
      fillAccounts(a.id);
      acc.focus();
    }));
    const title = h('input', { name: 'title', required: true, maxlength: '200' });
    const value = h('input', { name: 'value', required: true, inputmode: 'decimal', autocomplete: 'off', data: { check: 'money' }, placeholder: '1200000.00' });
    const currency = select('currency', CURRENCIES.map((c) => ({ value: c, label: c })), 'CNY', { required: true });
    const [, valueSeen] = moneyField(value, () => currency.value);
    const close_ = h('input', { name: 'expected_close', type: 'date', min: today(), value: addDays(today(), 180) });
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: t('deal.create') });
    const form = h('form', { novalidate: true, id: 'new-deal-form' },
      h('div', { class: 'field-row' }, field(t('field.account_id'), acc, { className: 'grow' }), h('div', { class: 'field-aside' }, addAcc)),
      field(t('field.title'), title, { hint: t('deal.title_hint') }),
      h('div', { class: 'field-row' },
        understood(field(t('field.value'), value, { hint: t('deal.value_hint'), className: 'grow' }), valueSeen),
        field(t('field.currency'), currency)),
      field(t('field.expected_close'), close_),
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      await settleAmounts(form);
      if (!validate(form)) return;
      try {
        const body = { account_id: acc.value, title: title.value.trim(), value: amountOf(value), currency: currency.value };
        if (close_.value) body.expected_close = close_.value;
        const d = await api('POST', '/deals', body);
        close();
        onCreated(d);
      } catch (err) {
        formError(form, msg, err);
      }
    }));
    return form;
  });
}

/** A table with a caption and a header row; rows are arrays of cells. */
export function table(caption, headers, rows, { className, id } = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: ['table', className], id },
      caption ? h('caption', { text: caption }) : null,
      h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col', text: x })))),
      h('tbody', null, rows)));
}

export function empty(text) {
  return h('p', { class: 'empty', text });
}

// ---- the reports' links: query strings, CSV downloads, the time zone dates are read in

/** The browser's IANA time zone; the reports read dates in it. */
export function timeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** A query string of the parameters that have a value. */
export function query(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) p.set(k, v);
  return p.toString();
}

/** The link of a report's CSV download, with column heads in the UI's language. */
export function csvHref(path, params) {
  return `/api/v1${path}?${query({ ...params, format: 'csv', lang: locale() })}`;
}

/** A "Download CSV" link; label says which report, for screen readers. */
export function csvLink(href, label, report) {
  return h('a', { class: 'btn btn-small csv-link', href, download: true, data: { report }, 'aria-label': label },
    h('span', { 'aria-hidden': 'true', text: '⤓' }), t('reports.csv'));
}

// ---- people by name: the directory of display names, and the people picker

let directory = null;

/**
 * loadPeople reads everyone's display name once per page load (GET /people) and returns the
 * map username → name; personName then answers from it. A failed read leaves usernames shown.
 */
export async function loadPeople() {
  if (!directory) {
    directory = api('GET', '/people').then((r) => new Map(r.items.map((p) => [p.username, p.name])))
      .catch(() => { directory = null; return new Map(); });
  }
  return directory;
}

let names = new Map();
/** personName is the display name of a username (the username when unknown); call loadPeople first. */
export function personName(username) {
  return (username && names.get(username)) || username || '';
}
/** personNames waits for the directory so that personName answers from it. */
export async function personNames() {
  names = await loadPeople();
  return names;
}
/** forgetPeople drops the cached directory (a user's name changed). */
export function forgetPeople() {
  directory = null;
}

/**
 * peoplePicker offers the people the API says the user may choose for a purpose on a deal
 * (GET /deals/{id}/people?purpose=owner|engineers), by display name, the username as a hint for
 * an admin only. One choice (radio buttons) or several (checkboxes); value() is the usernames
 * chosen. It returns { el, value, ready } — ready resolves once the list is shown.
 */
export function peoplePicker(dealPath, purpose, { multiple = false, selected = [], admin = false, id } = {}) {
  const el = h('fieldset', { class: 'people-picker', id, data: { purpose } },
    h('legend', { class: 'visually-hidden', text: t(`picker.${purpose}`) }),
    h('p', { class: 'hint', text: t('picker.loading') }));
  const chosen = new Set(selected);
  const ready = api('GET', `${dealPath}/people?purpose=${encodeURIComponent(purpose)}`).then((r) => {
    // Someone chosen before who may no longer be (disabled, left the team) stays listed, so that
    // saving does not drop them unseen; the server decides.
    const items = [...r.items];
    for (const u of selected) if (!items.some((p) => p.username === u)) items.push({ username: u, name: personName(u) });
    if (!items.length) {
      replace(el, h('legend', { class: 'visually-hidden', text: t(`picker.${purpose}`) }), h('p', { class: 'empty', text: t(`picker.none_${purpose}`) }));
      return;
    }
    const name = newName(purpose);
    replace(el, h('legend', { class: 'visually-hidden', text: t(`picker.${purpose}`) }),
      h('ul', { class: 'picker-list' }, items.map((p) => {
        const input = h('input', { type: multiple ? 'checkbox' : 'radio', name, value: p.username, checked: chosen.has(p.username) });
        return h('li', { class: 'picker-item', data: { username: p.username } },
          h('label', null, input, ' ', h('span', { class: 'picker-name', text: p.name }),
            admin ? h('span', { class: 'hint', text: ` (${p.username})` }) : null));
      })));
  }).catch((err) => {
    replace(el, h('p', { class: 'alert alert-error', text: errorText(err) }));
  });
  const value = () => [...el.querySelectorAll('input:checked')].map((i) => i.value);
  return { el, value, ready };
}

let pickerSeq = 0;
function newName(purpose) {
  pickerSeq += 1;
  return `pick-${purpose}-${pickerSeq}`;
}
