// kamflow's web UI: the shell (header, navigation, language), the router and the session.
// Views live in ./views; each fills a root element and may ask for a refresh.

import { api, setCsrf, onUnauthorized, errorText } from './api.js';
import { initI18n, setLocale, onLocaleChange, locale, LOCALES, t } from './i18n.js';
import { h, replace, announce } from './dom.js';
import { userRoleLabel } from './domain.js';
import { loginView } from './views/login.js';
import { boardView } from './views/board.js';
import { listView } from './views/list.js';
import { dealView } from './views/deal.js';
import { reviewView } from './views/review.js';
import { engineerView } from './views/engineer.js';
import { accountsView, accountView } from './views/accounts.js';
import { settingsView } from './views/settings.js';
import { usersView } from './views/admin.js';
import { reportsView } from './views/reports.js';
import { importView } from './views/imports.js';
import { attentionView } from './views/attention.js';
import { inboxView, bell, startInbox, stopInbox } from './views/inbox.js';

const session = { user: null };

const HOME = { kam: '/board', director: '/board', engineer: '/delivery', admin: '/settings' };

const routes = [
  { re: /^\/login$/, view: loginView, public: true, title: 'login.title' },
  { re: /^\/board$/, view: boardView, roles: ['kam', 'director'], nav: 'nav.board' },
  { re: /^\/deals$/, view: listView, roles: ['kam', 'director'] },
  { re: /^\/review$/, view: reviewView, roles: ['director'], nav: 'nav.review' },
  { re: /^\/reports$/, view: reportsView, roles: ['kam', 'director'], nav: 'nav.reports' },
  { re: /^\/delivery$/, view: engineerView, roles: ['engineer'], nav: 'nav.delivery' },
  { re: /^\/accounts$/, view: accountsView, roles: ['kam', 'director'], nav: 'nav.accounts' },
  { re: /^\/accounts\/([^/]+)$/, view: accountView, roles: ['kam', 'director', 'engineer'] },
  { re: /^\/deals\/([^/]+)$/, view: dealView, roles: ['kam', 'director', 'engineer'] },
  { re: /^\/import$/, view: importView, roles: ['kam', 'director'], nav: 'nav.import' },
  { re: /^\/settings$/, view: settingsView, roles: ['admin'], nav: 'nav.settings' },
  { re: /^\/attention$/, view: attentionView, roles: ['admin'], nav: 'nav.attention' },
  { re: /^\/users$/, view: usersView, roles: ['admin'], nav: 'nav.users' },
  { re: /^\/inbox$/, view: inboxView, roles: ['kam', 'director', 'engineer', 'admin'] },
];

// The navigation of each role, in order.
const NAV = {
  kam: ['/board', '/reports', '/accounts', '/import'],
  director: ['/board', '/review', '/reports', '/accounts', '/import'],
  engineer: ['/delivery'],
  admin: ['/settings', '/users', '/attention'],
};

let renderSeq = 0;
let pendingFlash = null;
let currentKey = '';

/** navigate goes to a path of the UI. */
export function navigate(path, { replace: rep = false, flash = null } = {}) {
  if (flash) pendingFlash = flash;
  if (rep) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function routeKey() {
  return location.pathname + location.search;
}

function homeOf(user) {
  return (user && HOME[user.role]) || '/login';
}

function renderHeader() {
  const header = document.getElementById('top');
  const path = location.pathname;
  const langSel = h('select', { id: 'lang', name: 'lang' },
    LOCALES.map((l) => h('option', { value: l.code, selected: l.code === locale(), lang: l.code }, l.name)));
  langSel.addEventListener('change', () => {
    setLocale(langSel.value);
    // The profile keeps the choice: the inbox, the e-mails and the next sign-in follow it.
    if (session.user && session.user.language !== langSel.value) {
      session.user.language = langSel.value;
      api('PATCH', '/auth/me', { language: langSel.value }).catch(() => {});
    }
  });
  const tools = [h('div', { class: 'lang' }, h('label', { for: 'lang', text: t('lang.label') }), langSel)];
  let nav = null;
  if (session.user) {
    const u = session.user;
    nav = h('nav', { class: 'mainnav', 'aria-label': t('nav.label') },
      h('ul', null, (NAV[u.role] || []).map((p) => {
        const r = routes.find((x) => x.re.test(p));
        return h('li', null, h('a', { href: p, 'data-link': true, 'aria-current': path === p ? 'page' : null, text: t(r.nav) }));
      })));
    tools.push(
      bell(path === '/inbox'),
      h('p', { class: 'whoami' }, h('span', { class: 'whoami-name', text: u.name || u.username }), ' ',
        h('span', { class: 'whoami-role', text: userRoleLabel(u.role) })),
      h('button', { type: 'button', class: 'btn btn-quiet', id: 'signout', onclick: signOut, text: t('nav.signout') }),
    );
  }
  replace(header,
    h('div', { class: 'topbar' },
      h('a', { class: 'brand', href: session.user ? homeOf(session.user) : '/login', 'data-link': true },
        h('span', { class: 'brand-mark', 'aria-hidden': 'true', text: '◆' }), ' kamflow',
        h('span', { class: 'brand-sub', text: t('app.tagline') })),
      nav,
      h('div', { class: 'topbar-tools' }, tools)));
  document.querySelector('.skip').textContent = t('app.skip');
}

async function signOut() {
  try {
    await api('POST', '/auth/logout');
  } catch {
    // the session may be gone already; signing out locally is what matters
  }
  session.user = null;
  setCsrf(null);
  stopInbox();
  navigate('/login', { flash: { text: t('auth.signed_out') } });
}

/** render shows the view of the current URL. */
async function render() {
  const seq = ++renderSeq;
  currentKey = routeKey();
  const path = location.pathname;
  const main = document.getElementById('main');
  if (path === '/' || path === '') {
    history.replaceState(null, '', homeOf(session.user));
    return render();
  }
  let params = [];
  const route = routes.find((r) => {
    const m = r.re.exec(path);
    if (m) params = m.slice(1).map(decodeURIComponent);
    return Boolean(m);
  });
  if (route && !route.public && !session.user) {
    history.replaceState(null, '', `/login?next=${encodeURIComponent(routeKey())}`);
    return render();
  }
  if (route && route.public && session.user) {
    history.replaceState(null, '', homeOf(session.user));
    return render();
  }
  renderHeader();
  const root = h('div', { class: 'view', 'aria-busy': 'true' }, h('p', { class: 'loading', text: t('app.loading') }));
  replace(main, root);
  const flash = pendingFlash;
  pendingFlash = null;
  if (!route) {
    replace(root, h('h1', { tabindex: '-1', text: t('app.not_found') }), h('p', null, h('a', { href: homeOf(session.user), 'data-link': true, text: t('app.go_home') })));
  } else if (route.roles && !route.roles.includes(session.user.role)) {
    replace(root, h('h1', { tabindex: '-1', text: t('app.not_allowed') }), h('p', null, h('a', { href: homeOf(session.user), 'data-link': true, text: t('app.go_home') })));
  } else {
    const ctx = {
      params,
      query: new URLSearchParams(location.search),
      user: session.user,
      session,
      navigate,
      signedIn,
      home: () => homeOf(session.user),
      alive: () => seq === renderSeq,
      // refresh renders the view again, optionally with a message on top.
      refresh: (fl) => {
        if (fl) pendingFlash = fl;
        return render();
      },
    };
    try {
      await route.view(root, ctx);
    } catch (err) {
      if (seq !== renderSeq) return;
      replace(root, h('h1', { tabindex: '-1', text: t('app.error_title') }),
        h('p', { class: 'alert alert-error', role: 'alert', text: errorText(err) }));
    }
  }
  if (seq !== renderSeq) return;
  root.removeAttribute('aria-busy');
  const heading = root.querySelector('h1');
  document.title = heading ? `${heading.textContent} · kamflow` : 'kamflow';
  if (flash) {
    const box = h('div', { class: ['flash', flash.error ? 'flash-error' : 'flash-ok'], role: flash.error ? 'alert' : 'status', tabindex: '-1', id: 'flash' },
      flash.node || h('p', { text: flash.text }));
    const anchor = heading && (heading.closest('.page-head') || heading);
    if (anchor) anchor.after(box);
    else root.prepend(box);
    box.focus();
    if (!flash.error) announce(box.textContent);
  } else if (heading && document.activeElement === document.body) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

// Links marked data-link change the view without reloading the page.
document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-link]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  ev.preventDefault();
  if (url.pathname + url.search !== routeKey()) navigate(url.pathname + url.search);
});

window.addEventListener('popstate', () => {
  // A jump to #main (the skip link) is not a new view.
  if (routeKey() !== currentKey) render();
});

onUnauthorized(() => {
  if (!session.user) return;
  session.user = null;
  setCsrf(null);
  stopInbox();
  const next = routeKey();
  navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true, flash: { text: t('auth.session_ended'), error: true } });
});

onLocaleChange(() => {
  const active = document.activeElement && document.activeElement.id;
  render().then(() => {
    // Keep the keyboard where it was: on the language switch.
    if (active === 'lang') document.getElementById('lang')?.focus();
    announce(t('lang.changed'));
  });
});

/** signedIn is called by the sign-in view with the API's answer. */
export function signedIn(user, csrf) {
  session.user = user;
  setCsrf(csrf);
  startInbox();
  // The UI speaks the language of the user's profile, once they have chosen one.
  if (user.language && user.language !== locale()) setLocale(user.language);
}

async function start() {
  await initI18n();
  try {
    const me = await api('GET', '/auth/me');
    session.user = me.user;
    setCsrf(me.csrf_token);
    startInbox();
    if (me.user.language && me.user.language !== locale()) await setLocale(me.user.language);
  } catch {
    session.user = null; // not signed in (401) or the server is away: the sign-in page says so
  }
  await render();
}

start();
