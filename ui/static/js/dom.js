// DOM helpers. Text is always set as text (never parsed as HTML), and nothing sets a style
// attribute: the server's Content-Security-Policy allows styles from the stylesheet only.

import { t } from './i18n.js';

let uid = 0;
/** A fresh id for label/aria wiring. */
export function newId(prefix = 'k') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/**
 * h builds an element. attrs: class, text, on<Event> handlers, dataset (data), aria-* and any
 * attribute; boolean true sets an empty attribute, false/null/undefined leaves it out. Children
 * are nodes, strings or arrays of them (null and false are skipped).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'data') for (const [dk, dv] of Object.entries(v)) { if (dv !== undefined && dv !== null) el.dataset[dk] = dv; }
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
      else if (k === 'value' && (tag === 'input' || tag === 'select' || tag === 'textarea')) el.value = v;
      else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'required' || k === 'hidden' || k === 'open') el[k] = Boolean(v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces the children of el. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A labelled form field: a wrapper with the label, the control, an optional hint and an error slot. */
export function field(label, control, { hint, className } = {}) {
  if (!control.id) control.id = newId('f');
  const err = h('p', { class: 'field-error', id: `${control.id}-err`, hidden: true });
  const parts = [h('label', { for: control.id, text: label })];
  const described = [];
  if (hint) {
    const hid = `${control.id}-hint`;
    parts.push(h('p', { class: 'hint', id: hid, text: hint }));
    described.push(hid);
  }
  described.push(err.id);
  control.setAttribute('aria-describedby', described.join(' '));
  parts.push(control, err);
  return h('div', { class: ['field', className] }, parts);
}

/** A checkbox with its label after it. */
export function checkbox(label, input) {
  if (!input.id) input.id = newId('c');
  return h('div', { class: 'field field-check' }, input, h('label', { for: input.id, text: label }));
}

/** A select of options [{value, label}] with the selected value. */
export function select(name, options, selected, attrs = {}) {
  return h('select', { name, ...attrs },
    options.map((o) => h('option', { value: o.value, selected: String(o.value) === String(selected ?? '') }, o.label)));
}

/**
 * validate checks a form with the browser's constraints but shows our own, translated messages
 * next to each field (the browser's own bubbles speak the browser's language, not the UI's).
 * It returns true when the form is valid, and focuses the first invalid field otherwise.
 */
export function validate(form) {
  let first = null;
  for (const el of form.elements) {
    if (!el.willValidate) continue;
    const errEl = el.id ? form.querySelector(`#${CSS.escape(el.id)}-err`) : null;
    let msg = '';
    if (el.dataset.check) {
      const custom = CHECKS[el.dataset.check]?.(el.value, el);
      el.setCustomValidity(custom || '');
    }
    if (!el.checkValidity()) {
      const v = el.validity;
      if (v.valueMissing) msg = t('validation.required');
      else if (v.rangeUnderflow || v.rangeOverflow) msg = t('validation.range', { min: el.min, max: el.max });
      else if (v.tooLong) msg = t('validation.too_long', { max: el.maxLength });
      else if (v.customError) msg = el.validationMessage;
      else if (v.patternMismatch && el.dataset.pattern) msg = t(el.dataset.pattern);
      else msg = t('validation.invalid');
    }
    if (errEl) {
      errEl.textContent = msg;
      errEl.hidden = !msg;
    }
    if (msg) el.setAttribute('aria-invalid', 'true');
    else el.removeAttribute('aria-invalid');
    if (msg && !first) first = el;
  }
  if (first) first.focus();
  return !first;
}

/** Marks the field named by a server error (details.field) invalid, with the message. */
export function markField(form, fieldName, message) {
  if (!form || !fieldName) return false;
  const el = form.querySelector(`[name="${CSS.escape(fieldName)}"]`);
  if (!el) return false;
  const errEl = el.id ? form.querySelector(`#${CSS.escape(el.id)}-err`) : null;
  if (errEl) {
    errEl.textContent = message;
    errEl.hidden = false;
  }
  el.setAttribute('aria-invalid', 'true');
  el.focus();
  return true;
}

// Checks that the constraint attributes cannot express.
const CHECKS = {
  // A forgiving money field (amount.js) is valid once the server has read its text.
  money: (v, el) => {
    if (v === '' || /^\d{1,12}(\.\d{1,2})?$/.test(v.trim())) return '';
    if (el?.dataset.amountFor === v) return el.dataset.amount ? '' : (el.dataset.amountError || t('validation.money'));
    return t('validation.money');
  },
  currency: (v) => (/^[A-Z]{3}$/.test(v.trim()) ? '' : t('validation.currency')),
  duration: (v) => (/^(\d+d)?(\d+(\.\d+)?(h|m|s|ms))*$/i.test(v.trim()) && v.trim() !== '' ? '' : t('validation.duration')),
};

/** Announces a message to screen readers through the page's polite live region. */
export function announce(message) {
  const region = document.getElementById('status');
  if (!region) return;
  region.textContent = '';
  // A new text node after a tick makes screen readers read the same message again.
  setTimeout(() => { region.textContent = message; }, 30);
}

/** A button that shows it is working while fn runs, so that it is not pressed twice. */
export function busy(button, fn) {
  return async (ev) => {
    if (ev) ev.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      await fn(ev);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  };
}

/** Opens a modal dialog built by build(close); the dialog is removed again when it closes. */
export function openDialog(title, build) {
  const titleId = newId('dlg');
  const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': titleId });
  const close = () => { if (dlg.open) dlg.close(); };
  dlg.addEventListener('close', () => dlg.remove());
  dlg.append(h('h2', { id: titleId, text: title }), build(close));
  document.body.appendChild(dlg);
  dlg.showModal();
  const first = dlg.querySelector('input:not([type=hidden]), select, textarea');
  if (first) first.focus();
  return dlg;
}
