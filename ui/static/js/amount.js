// Money fields read what the import reads ("11,200,000", "¥1200000", "1200万", "1.5亿"): the
// server's one rule (GET /amounts/parse) reads what is typed, and the field shows the amount it
// understood ("= ¥12,000,000.00") or why it cannot read it, as one types. The form sends the
// decimal string the server answered (amountOf). No second parser lives here.

import { api, ApiError } from './api.js';
import { t, has, formatMoney } from './i18n.js';
import { h, replace } from './dom.js';

const DELAY_MS = 250;
// pending holds each field's read of its current text.
const pending = new WeakMap();

function reasonText(err) {
  const r = err instanceof ApiError ? err.details?.reason : '';
  return r && has(`amount.${r}`) ? t(`amount.${r}`) : t('validation.money');
}

// read asks the server what the field's text is, once per text; the answer is kept on the
// field (data-amount for the text in data-amount-for, or data-amount-error).
function read(input, out, currency) {
  const text = input.value;
  const known = pending.get(input);
  if (known && known.text === text) return known.promise;
  const promise = (async () => {
    if (text.trim() === '') {
      delete input.dataset.amount;
      delete input.dataset.amountError;
      input.dataset.amountFor = text;
      replace(out);
      return;
    }
    try {
      const res = await api('GET', `/amounts/parse?text=${encodeURIComponent(text)}`);
      if (input.value !== text) return;
      input.dataset.amount = res.amount;
      delete input.dataset.amountError;
      replace(out, t('amount.understood', { amount: formatMoney(res.amount, currency()) }));
      out.classList.remove('is-fail');
    } catch (err) {
      if (input.value !== text) return;
      delete input.dataset.amount;
      input.dataset.amountError = reasonText(err);
      replace(out, input.dataset.amountError);
      out.classList.add('is-fail');
    }
    input.dataset.amountFor = text;
    input.dispatchEvent(new Event('amount', { bubbles: true }));
  })();
  pending.set(input, { text, promise });
  return promise;
}

/**
 * moneyField makes input a forgiving money field: it returns the input and the line under it
 * that shows what was understood. currency is the currency code, or a function giving it.
 */
export function moneyField(input, currency = 'CNY') {
  const cur = typeof currency === 'function' ? currency : () => currency;
  input.dataset.check = 'money';
  input.dataset.amountField = '';
  input.removeAttribute('placeholder');
  input.setAttribute('placeholder', t('amount.placeholder'));
  const out = h('output', { class: 'amount-understood', 'aria-live': 'polite', id: input.id ? `${input.id}-understood` : undefined });
  let timer;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => read(input, out, cur), DELAY_MS);
  });
  if (input.value) read(input, out, cur);
  return [input, out];
}

/** settleAmounts waits until every money field of form has been read for its current text. */
export async function settleAmounts(form) {
  const fields = [...form.querySelectorAll('[data-amount-field]')];
  await Promise.all(fields.map((el) => {
    const known = pending.get(el);
    if (known && known.text === el.value) return known.promise;
    el.dispatchEvent(new Event('input'));
    return new Promise((resolve) => { setTimeout(() => resolve(pending.get(el)?.promise), DELAY_MS + 10); }).then((p) => p);
  }));
}

/** amountOf is the decimal string to send for a money field: what the server read, else the text. */
export function amountOf(input) {
  if (input.dataset.amountFor === input.value && input.dataset.amount) return input.dataset.amount;
  return input.value.trim();
}

/** understood puts a money field's line of what was understood under its field (dom.js field). */
export function understood(fieldEl, out) {
  fieldEl.append(out);
  return fieldEl;
}
