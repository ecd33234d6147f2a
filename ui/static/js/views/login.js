// The sign-in page. The server answers with the session cookie (HttpOnly) and the session's CSRF
// token, which the UI keeps in memory only.

import { api, ApiError, errorText } from '../api.js';
import { t } from '../i18n.js';
import { h, replace, field, validate, busy } from '../dom.js';

export async function loginView(root, ctx) {
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, maxlength: '64', autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('div', { class: 'form-msg', role: 'alert', 'aria-live': 'assertive' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: t('login.submit') });
  const form = h('form', { class: 'card login-form', novalidate: true, id: 'login-form' },
    field(t('login.username'), user),
    field(t('login.password'), pass),
    msg,
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    try {
      const out = await api('POST', '/auth/login', { username: user.value.trim(), password: pass.value });
      ctx.signedIn(out.user, out.csrf_token);
      const next = ctx.query.get('next');
      // Only a path of this UI, never another site.
      const target = next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : ctx.home();
      ctx.navigate(target, { replace: true });
    } catch (err) {
      let text = errorText(err);
      if (err instanceof ApiError && err.code === 'unauthorized') text = t('login.wrong');
      replace(msg, h('p', { class: 'alert alert-error', text }));
      pass.value = '';
      pass.focus();
    }
  }));
  replace(root,
    h('div', { class: 'login' },
      h('h1', { text: t('login.title') }),
      h('p', { class: 'lead', text: t('login.lead') }),
      form));
}
