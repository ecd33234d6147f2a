// The admin's people: users (create, disable, reset a password, role, teams, e-mail, language)
// and teams (create, rename, their directors) over /users and /teams. A team's directors are the
// directors whose teams include it; choosing one adds the team to that director's teams.

import { api } from '../api.js';
import { t, formatList } from '../i18n.js';
import { h, replace, validate, busy, newId, field, checkbox, select, openDialog } from '../dom.js';
import { userRoleLabel } from '../domain.js';
import { table, empty, formError } from './common.js';

const ROLES = ['kam', 'director', 'engineer', 'admin'];
const LANGS = [['', 'admin.lang_none'], ['en', 'admin.lang_en'], ['zh-CN', 'admin.lang_zh']];

export async function usersView(root, ctx) {
  const [users, teams] = await Promise.all([api('GET', '/users').then((r) => r.items || []), api('GET', '/teams').then((r) => r.items || [])]);
  if (!ctx.alive()) return;
  const teamName = (id) => teams.find((x) => x.id === id)?.name || id;
  const hu = newId('ad');
  const ht = newId('ad');
  const addUser = h('button', { type: 'button', class: 'btn btn-primary', id: 'user-new', text: t('admin.new_user') });
  addUser.addEventListener('click', () => userDialog(null, teams, ctx));
  const rows = users.map((u) => {
    const edit = h('button', { type: 'button', class: 'btn btn-small user-edit', data: { user: u.username }, text: t('admin.edit'), 'aria-label': t('admin.edit_user', { name: u.name || u.username }) });
    edit.addEventListener('click', () => userDialog(u, teams, ctx));
    return h('tr', { data: { user: u.username }, class: u.disabled ? 'is-disabled' : null },
      h('th', { scope: 'row', text: u.name || u.username }),
      h('td', { class: 'username', text: u.username }),
      h('td', { text: userRoleLabel(u.role) }),
      h('td', { text: formatList((u.teams || []).map(teamName)) || t('common.none') }),
      h('td', { text: u.email || t('common.none') }),
      h('td', { text: t(LANGS.find(([v]) => v === (u.language || ''))?.[1] || 'admin.lang_none') }),
      h('td', { text: u.disabled ? t('admin.disabled') : t('admin.active') }),
      h('td', null, edit));
  });
  replace(root,
    h('h1', { text: t('admin.title') }),
    h('section', { class: 'panel', id: 'users', 'aria-labelledby': hu },
      h('h2', { id: hu, text: t('admin.users_title') }),
      h('div', { class: 'actions' }, addUser),
      table(null, [t('admin.name'), t('admin.username'), t('admin.role'), t('admin.teams'), t('admin.email'), t('admin.language'), t('admin.state'), t('review.action')], rows, { id: 'user-list' })),
    h('section', { class: 'panel', id: 'teams', 'aria-labelledby': ht },
      h('h2', { id: ht, text: t('admin.teams_title') }),
      teams.length ? table(null, [t('admin.team'), t('admin.directors'), t('review.action')], teams.map((x) => teamRow(x, users, ctx)), { id: 'team-list' }) : empty(t('settings.no_teams')),
      newTeamForm(ctx)));
}

// userDialog creates a user (u null) or edits one: only what changed is sent.
function userDialog(u, teams, ctx) {
  openDialog(u ? t('admin.edit_user', { name: u.name || u.username }) : t('admin.new_user'), (close) => {
    const username = h('input', { name: 'username', id: 'user-username', required: true, maxlength: '64', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', value: u?.username || '' });
    const name = h('input', { name: 'name', id: 'user-name', required: true, maxlength: '200', value: u?.name || '' });
    const role = select('role', ROLES.map((r) => ({ value: r, label: userRoleLabel(r) })), u?.role || 'kam', { id: 'user-role', required: true });
    const email = h('input', { type: 'email', name: 'email', id: 'user-email', maxlength: '254', value: u?.email || '' });
    const lang = select('language', LANGS.map(([v, k]) => ({ value: v, label: t(k) })), u?.language || '', { id: 'user-language' });
    const password = h('input', { type: 'password', name: 'password', id: 'user-password', required: !u, minlength: '12', maxlength: '256', autocomplete: 'new-password' });
    const disabled = h('input', { type: 'checkbox', name: 'disabled', id: 'user-disabled', checked: !!u?.disabled });
    const boxes = teams.map((x) => h('input', { type: 'checkbox', name: 'teams', value: x.id, id: `user-team-${x.id}`, checked: (u?.teams || []).includes(x.id) }));
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'user-save', text: u ? t('settings.save') : t('admin.create') });
    const form = h('form', { novalidate: true, id: 'user-form' },
      field(t('admin.username'), username), field(t('admin.name'), name),
      h('div', { class: 'field-row' }, field(t('admin.role'), role), field(t('admin.language'), lang)),
      field(t('admin.email'), email),
      teams.length ? h('fieldset', { class: 'user-teams' }, h('legend', { text: t('admin.teams') }), boxes.map((b, i) => checkbox(teams[i].name, b))) : null,
      field(u ? t('admin.reset_password') : t('admin.password'), password, { hint: u ? t('admin.reset_hint') : t('admin.password_hint') }),
      u ? checkbox(t('admin.disable'), disabled) : null,
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      const now = {
        username: username.value.trim(), name: name.value.trim(), role: role.value, email: email.value.trim(), language: lang.value,
        teams: boxes.filter((b) => b.checked).map((b) => b.value),
      };
      const body = {};
      for (const [k, v] of Object.entries(now)) {
        const was = u ? (k === 'teams' ? u.teams || [] : u[k] ?? '') : undefined;
        if (!u || JSON.stringify(v) !== JSON.stringify(was)) body[k] = v;
      }
      if (password.value) body.password = password.value;
      if (u && disabled.checked !== !!u.disabled) body.disabled = disabled.checked;
      try {
        if (u) await api('PATCH', `/users/${u.id}`, { ...body, version: u.version });
        else await api('POST', '/users', body);
        close();
        await ctx.refresh({ text: t(u ? 'admin.user_saved' : 'admin.user_created', { name: now.name }) });
      } catch (err) {
        formError(form, msg, err);
      }
    }));
    return form;
  });
}

// teamRow is a team with its directors, a rename and the choice of another director.
function teamRow(team, users, ctx) {
  const directors = users.filter((u) => u.role === 'director' && (u.teams || []).includes(team.id));
  const others = users.filter((u) => u.role === 'director' && !u.disabled && !(u.teams || []).includes(team.id));
  const name = h('input', { name: 'name', id: `team-name-${team.id}`, required: true, maxlength: '200', value: team.name, 'aria-label': t('admin.team_name_of', { team: team.name }) });
  const msg = h('div', { class: 'form-msg', role: 'alert' });
  const rename = h('button', { type: 'submit', class: 'btn btn-small', text: t('admin.rename') });
  const renameForm = h('form', { class: 'inline-form team-rename', novalidate: true, data: { team: team.id } }, name, h('p', { class: 'field-error', id: `${name.id}-err`, hidden: true }), rename);
  renameForm.addEventListener('submit', busy(rename, async () => {
    replace(msg);
    if (!validate(renameForm)) return;
    try {
      await api('PATCH', `/teams/${team.id}`, { name: name.value.trim() });
      await ctx.refresh({ text: t('admin.team_renamed', { team: name.value.trim() }) });
    } catch (err) {
      formError(renameForm, msg, err);
    }
  }));
  const pick = h('select', { name: 'director', id: `team-director-${team.id}`, 'aria-label': t('admin.add_director_to', { team: team.name }) },
    h('option', { value: '', text: t('admin.choose_director') }), others.map((u) => h('option', { value: u.id, text: u.name || u.username })));
  const addBtn = h('button', { type: 'button', class: 'btn btn-small team-add-director', text: t('admin.add_director') });
  addBtn.addEventListener('click', busy(addBtn, async () => {
    replace(msg);
    const u = others.find((x) => x.id === pick.value);
    if (!u) return;
    try {
      await api('PATCH', `/users/${u.id}`, { teams: [...(u.teams || []), team.id], version: u.version });
      await ctx.refresh({ text: t('admin.director_added', { name: u.name || u.username, team: team.name }) });
    } catch (err) {
      formError(null, msg, err);
    }
  }));
  return h('tr', { data: { team: team.id } },
    h('th', { scope: 'row' }, renameForm),
    h('td', { class: 'team-directors', text: formatList(directors.map((u) => u.name || u.username)) || t('common.none') }),
    h('td', null, others.length ? h('div', { class: 'inline-form' }, pick, addBtn) : null, msg));
}

function newTeamForm(ctx) {
  const name = h('input', { name: 'name', id: 'team-new-name', required: true, maxlength: '200' });
  const msg = h('div', { class: 'form-msg', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'team-create', text: t('admin.create_team') });
  const form = h('form', { class: 'subform', id: 'team-form', novalidate: true }, field(t('admin.team_name'), name), msg, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', busy(submit, async () => {
    replace(msg);
    if (!validate(form)) return;
    try {
      await api('POST', '/teams', { name: name.value.trim() });
      await ctx.refresh({ text: t('admin.team_created', { team: name.value.trim() }) });
    } catch (err) {
      formError(form, msg, err);
    }
  }));
  return form;
}
