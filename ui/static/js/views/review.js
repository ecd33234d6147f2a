// The director's review: first the approvals waiting for a director (approvals.js: the requests
// KAMs made, the longest waiting first, answered here after a confirmation); then stalled deals
// grouped by stage and owner, oldest stall first, with days over the SLA, whether the directors
// have been told (the escalation ladder's second rung) and the key-node items they still lack —
// why each is stuck; the counts by stage, owner and team; a CSV download; and the teams' recent
// approval history. Filters by stage, owner and team live in the URL.

import { api, gateLabel } from '../api.js';
import { t, tp, formatMoney, formatDateTime, formatNumber } from '../i18n.js';
import { h, replace, newId } from '../dom.js';
import { STAGES, stageLabel, formatSLA } from '../domain.js';
import { accountNames, table, empty, query, csvHref, csvLink, timeZone, personName, personNames } from './common.js';
import { waitingSection, recentSection, loadNames } from './approvals.js';

// Owners and teams seen in the review this session, for the filters.
const knownOwners = new Set();

export async function reviewView(root, ctx) {
  const q = ctx.query;
  const f = { stage: STAGES.includes(q.get('stage')) ? q.get('stage') : '', owner: q.get('owner') || '', team: q.get('team') || '' };
  const sq = query(f);
  const [stalled, approvals, teams, approvalHistory] = await Promise.all([
    api('GET', `/reports/stalled${sq ? `?${sq}` : ''}`),
    api('GET', '/reports/approvals'),
    // Team names for the team column and filter; without them the team's ID is shown.
    api('GET', '/teams').then((r) => r.items || [], () => []),
    api('GET', '/reports/approvals/history?limit=20'),
  ]);
  const names = await accountNames([...stalled.items, ...approvals.items].map((d) => d.account_id));
  await loadNames(); // the approvals' people, by name (approvals.js)
  await personNames(); // the owners, by name
  if (!ctx.alive()) return;
  for (const o of stalled.by_owner || []) knownOwners.add(o.key);
  if (f.owner) knownOwners.add(f.owner);
  const teamNames = new Map(teams.map((x) => [x.id, x.name]));
  const teamName = (id) => (id ? teamNames.get(id) || id : t('review.no_team'));

  replace(root,
    h('h1', { text: t('review.title') }),
    h('p', { class: 'lead', text: t('review.lead') }),
    waitingSection(approvals.items, names, ctx),
    stalledSection(stalled, names, teamName, f, teams, ctx),
    recentSection(approvalHistory));
}

function filters(f, teams, ctx) {
  const apply = (next) => {
    const qs = query(next);
    ctx.navigate(`/review${qs ? `?${qs}` : ''}`, { replace: true });
  };
  const stage = h('select', { id: 'review-stage', name: 'stage' }, h('option', { value: '', text: t('review.all_stages') }),
    STAGES.map((s) => h('option', { value: s, selected: s === f.stage, text: stageLabel(s) })));
  const owner = h('select', { id: 'review-owner', name: 'owner' }, h('option', { value: '', text: t('board.all_owners') }),
    [...knownOwners].sort((a, b) => personName(a).localeCompare(personName(b))).map((o) => h('option', { value: o, selected: o === f.owner, text: personName(o) })));
  const team = h('select', { id: 'review-team', name: 'team' }, h('option', { value: '', text: t('reports.all_teams') }),
    teams.map((x) => h('option', { value: x.id, selected: x.id === f.team, text: x.name })));
  stage.addEventListener('change', () => apply({ ...f, stage: stage.value }));
  owner.addEventListener('change', () => apply({ ...f, owner: owner.value }));
  team.addEventListener('change', () => apply({ ...f, team: team.value }));
  const filtered = Boolean(f.stage || f.owner || f.team);
  return h('form', { class: 'filters', 'aria-label': t('board.filters'), onsubmit: (e) => e.preventDefault() },
    h('div', { class: 'field' }, h('label', { for: stage.id, text: t('deal.stage') }), stage),
    h('div', { class: 'field' }, h('label', { for: owner.id, text: t('board.owner') }), owner),
    teams.length ? h('div', { class: 'field' }, h('label', { for: team.id, text: t('reports.team') }), team) : null,
    filtered ? h('a', { href: '/review', 'data-link': true, class: 'btn btn-quiet', text: t('board.clear_filters') }) : null);
}

// counts is one of the summaries: per stage, owner or team, the stalled deals, how many of them
// the directors have been told of, and the most days over the SLA.
function counts(id, caption, keyHead, rows, label) {
  return h('div', { class: 'stalled-count', id },
    table(caption, [keyHead, t('review.stalled_col'), t('review.escalated_col'), t('review.max_over_col')],
      rows.map((r) => h('tr', { data: { key: r.key } },
        h('th', { scope: 'row', text: label(r.key) }),
        h('td', { class: 'num', text: formatNumber(r.deals) }),
        h('td', { class: 'num', text: formatNumber(r.director_due) }),
        h('td', { class: 'num', text: tp('unit.days', r.max_days_over_sla) }))),
      { className: 'report-table' }));
}

function escalation(d) {
  if (d.director_due) {
    return h('span', { class: 'badge badge-escalated', data: { badge: 'escalated' } },
      h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⇧' }), t('review.escalated'));
  }
  return h('span', { class: 'muted', text: t('review.director_at', { n: formatNumber(d.director_after || 2) }) });
}

function stalledSection(report, names, teamName, f, teams, ctx) {
  const items = report.items;
  const hid = newId('st');
  const groups = [];
  for (const stage of STAGES) {
    const inStage = items.filter((d) => d.stage === stage);
    if (!inStage.length) continue;
    const owners = [...new Set(inStage.map((d) => d.owner))].sort();
    // Oldest stall first: the owner whose deal has been stuck longest comes first too.
    const oldest = (o) => Math.min(...inStage.filter((d) => d.owner === o).map((d) => Date.parse(d.stalled_since || d.updated_at)));
    owners.sort((a, b) => oldest(a) - oldest(b));
    const gid = newId('sg');
    groups.push(h('section', { class: 'review-group', 'aria-labelledby': gid, data: { stage } },
      h('h3', { id: gid }, stageLabel(stage), ' ', h('span', { class: 'count', text: `(${tp('board.deals', inStage.length)})` })),
      owners.map((o) => {
        const deals = inStage.filter((d) => d.owner === o)
          .sort((a, b) => Date.parse(a.stalled_since || a.updated_at) - Date.parse(b.stalled_since || b.updated_at));
        return h('div', { class: 'owner-group', data: { owner: o } },
          h('h4', { text: t('review.owner', { owner: personName(o) }) }),
          table(null, [t('review.deal'), t('review.account'), t('reports.team'), t('review.over_sla'), t('review.escalation'), t('review.stalled_since'), t('review.missing')],
            deals.map((d) => h('tr', { data: { dealId: d.id, directorDue: String(Boolean(d.director_due)) } },
              h('th', { scope: 'row' }, h('a', { href: `/deals/${d.id}`, 'data-link': true, text: d.title }),
                h('span', { class: 'cell-sub money', text: formatMoney(d.value, d.currency, { whole: true }) })),
              h('td', { text: names.get(d.account_id) || '' }),
              h('td', { class: 'team', text: teamName(d.team_id) }),
              h('td', { class: 'over-sla' }, h('span', { class: 'badge badge-stalled' },
                h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⚠' }),
                d.days_over_sla > 0 ? tp('review.days_over', d.days_over_sla) : t('review.under_a_day')),
              h('span', { class: 'cell-sub', text: t('review.sla_in_stage', { sla: formatSLA(d.sla), days: tp('unit.days', d.days_in_stage) }) })),
              h('td', { class: 'escalation' }, escalation(d)),
              h('td', { text: formatDateTime(d.stalled_since) }),
              h('td', { class: 'missing' }, d.missing?.length
                ? h('ul', { class: 'plain-list' }, d.missing.map((k) => h('li', { data: { missing: k }, text: gateLabel(k) })))
                : t('review.nothing_missing'))))));
      })));
  }
  const byStage = (report.by_stage || []).filter((r) => r.deals > 0);
  const href = csvHref('/reports/stalled', { ...f, tz: timeZone() });
  return h('section', { class: 'panel', id: 'stalled', 'aria-labelledby': hid },
    h('div', { class: 'report-head' },
      h('h2', { id: hid }, t('review.stalled_title'), ' ', h('span', { class: 'count', text: `(${items.length})` })),
      csvLink(href, t('reports.csv_of', { report: t('review.stalled_title') }), 'stalled')),
    filters(f, teams, ctx),
    items.length
      ? h('div', { class: 'stalled-counts', id: 'stalled-counts' },
        counts('stalled-by-stage', t('review.by_stage'), t('deal.stage'), byStage, stageLabel),
        counts('stalled-by-owner', t('review.by_owner'), t('review.owner_col'), report.by_owner || [], personName),
        counts('stalled-by-team', t('review.by_team'), t('reports.team'), report.by_team || [], teamName))
      : null,
    groups.length ? groups : empty(t('review.no_stalled')));
}
