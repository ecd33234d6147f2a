// Import and export: a KAM or director moves a team in from spreadsheets. Choose what the file
// holds (accounts, contacts or deals; a template of each to start from), check it with a dry run
// — every bad row with its line, column and reason — then import it for real and follow its
// progress until it is done; the rejected rows come back as a file to correct. Exports of
// everything the user may see, as CSV or XLSX.
//
// A KAM's deals past development are held for a director of the team: the KAM's import then
// waits for a director's approval (the rest of the file goes ahead), and the team's directors see
// it on this page with Approve and Reject (a reason, which the KAM reads on each rejected row).
//
// An import runs on the server's worker, whatever becomes of this page: the answer of a large
// file (a dry run too) may come before its rows are checked, so the page follows any import
// pending or running until it ends. A running import can be cancelled: what is imported stays, the
// rest is reported not imported (in the rejected file).

import { api, upload, ApiError } from '../api.js';
import { t, tp, has, locale, formatNumber, formatPercent, formatDateTime } from '../i18n.js';
import { h, replace, field, select, busy, newId, openDialog, validate } from '../dom.js';
import { formError, table, empty, query } from './common.js';

export const IMPORT_KINDS = ['accounts', 'contacts', 'deals'];
const POLL_MS = 400;

const kindLabel = (k) => t(`import.kind.${k}`);

function fileHref(path, params) {
  return `/api/v1${path}?${query({ ...params, lang: locale() })}`;
}

function download(href, text, attrs = {}) {
  return h('a', { class: 'btn btn-small', href, download: true, ...attrs }, h('span', { 'aria-hidden': 'true', text: '⤓' }), text);
}

export async function importView(root, ctx) {
  const hid = newId('im');
  const kindQ = ctx.query.get('kind');
  const kind = select('kind', IMPORT_KINDS.map((k) => ({ value: k, label: kindLabel(k) })), IMPORT_KINDS.includes(kindQ) ? kindQ : 'accounts', { id: 'import-kind' });
  const templates = h('p', { class: 'template-links', id: 'import-templates' });
  const showTemplates = () => replace(templates, t('import.templates'), ' ',
    download(fileHref('/imports/template', { kind: kind.value, format: 'csv' }), t('import.template_csv'), { data: { template: 'csv' } }), ' ',
    download(fileHref('/imports/template', { kind: kind.value, format: 'xlsx' }), t('import.template_xlsx'), { data: { template: 'xlsx' } }));
  showTemplates();
  const file = h('input', { type: 'file', name: 'file', id: 'import-file', accept: '.csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', required: true });
  const msg = h('div', { class: 'form-msg', role: 'alert', id: 'import-error' });
  const dry = h('button', { type: 'button', class: 'btn', id: 'import-dry-run', text: t('import.dry_run') });
  const real = h('button', { type: 'button', class: 'btn btn-primary', id: 'import-run', text: t('import.run') });
  const result = h('div', { id: 'import-result', 'aria-live': 'polite' });
  const form = h('form', { novalidate: true, id: 'import-form' },
    h('div', { class: 'field-row' }, field(t('import.kind'), kind), field(t('import.file'), file, { hint: t('import.file_hint'), className: 'grow' })),
    templates, msg,
    h('div', { class: 'actions' }, dry, real));
  kind.addEventListener('change', () => {
    showTemplates();
    replace(result);
  });
  form.addEventListener('submit', (e) => e.preventDefault());

  let seq = 0;
  const send = (dryRun) => async () => {
    replace(msg);
    const f = file.files && file.files[0];
    if (!f) {
      replace(msg, h('p', { class: 'alert alert-error', text: t('import.choose_file') }));
      file.focus();
      return;
    }
    const mine = ++seq;
    replace(result, h('p', { class: 'loading', text: dryRun ? t('import.checking') : t('import.uploading') }));
    let imp;
    try {
      imp = await upload(`/imports?${query({ kind: kind.value, dry_run: String(dryRun) })}`, f);
    } catch (err) {
      replace(result);
      fileError(msg, err);
      return;
    }
    if (!ctx.alive() || mine !== seq) return;
    if (dryRun && imp.status !== 'pending' && imp.status !== 'running') {
      replace(result, report(imp));
      return;
    }
    // The run goes on on the server: follow it until it ends (done, failed, cancelled, or waiting
    // for a director).
    const bar = progress(imp, (next) => { imp = next; });
    replace(result, bar.node);
    while (imp.status === 'pending' || imp.status === 'running') {
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (!ctx.alive() || mine !== seq) return;
      try {
        imp = await api('GET', `/imports/${encodeURIComponent(imp.id)}`);
      } catch (err) {
        if (!(err instanceof ApiError) || err.status === 0 || err.status >= 500) continue; // try again
        formError(null, msg, err);
        return;
      }
      bar.update(imp);
    }
    if (!ctx.alive() || mine !== seq) return;
    bar.update(imp);
    replace(result, bar.node, report(imp));
    await showHistory();
  };
  dry.addEventListener('click', busy(dry, send(true)));
  real.addEventListener('click', busy(real, send(false)));

  const history = h('div', { class: 'import-history-body' });
  const showHistory = async () => {
    try {
      const list = await api('GET', '/imports?limit=20');
      if (ctx.alive()) replace(history, historyTable(list.items || []));
    } catch (err) {
      if (ctx.alive()) formError(null, history, err);
    }
  };
  await showHistory();
  if (!ctx.alive()) return;

  // A director's imports to decide: the KAMs' imports of the team holding deals past development.
  const isDirector = ctx.user && ctx.user.role === 'director';
  const approvals = h('div', { class: 'import-approvals-body' });
  const showApprovals = async () => {
    if (!isDirector) return;
    try {
      const list = await api('GET', '/imports?status=awaiting_approval&limit=50');
      if (ctx.alive()) replace(approvals, approvalTable(list.items || [], decide));
    } catch (err) {
      if (ctx.alive()) formError(null, approvals, err);
    }
  };
  const decide = async (imp, approve, reason) => {
    const out = await api('POST', `/imports/${encodeURIComponent(imp.id)}/${approve ? 'approve' : 'reject'}`, reason ? { reason } : {});
    if (!ctx.alive()) return;
    replace(result, h('p', { class: 'alert alert-info', id: 'import-decided', data: { decision: approve ? 'approved' : 'rejected' },
      text: tp(approve ? 'import.approved_note' : 'import.rejected_note', imp.held, { file: imp.file_name, by: imp.created_by }) }),
    report(out));
    await Promise.all([showApprovals(), showHistory()]);
  };
  await showApprovals();
  if (!ctx.alive()) return;

  const exports = h('section', { class: 'panel', id: 'exports', 'aria-labelledby': `${hid}-x` },
    h('h2', { id: `${hid}-x`, text: t('export.title') }),
    h('p', { class: 'hint', text: t('export.hint') }),
    h('ul', { class: 'export-list' }, IMPORT_KINDS.map((k) => h('li', { data: { kind: k } },
      h('span', { class: 'export-kind', text: kindLabel(k) }), ' ',
      download(fileHref(`/exports/${k}`, { format: 'csv' }), 'CSV', { 'aria-label': t('export.csv', { kind: kindLabel(k) }), data: { export: k, format: 'csv' } }), ' ',
      download(fileHref(`/exports/${k}`, { format: 'xlsx' }), 'XLSX', { 'aria-label': t('export.xlsx', { kind: kindLabel(k) }), data: { export: k, format: 'xlsx' } })))));

  replace(root,
    h('div', { class: 'page-head' }, h('h1', { text: t('import.title') })),
    isDirector ? h('section', { class: 'panel', id: 'import-approvals', 'aria-labelledby': `${hid}-a` },
      h('h2', { id: `${hid}-a`, text: t('import.approvals') }),
      h('p', { class: 'hint', text: t('import.approvals_hint') }), approvals) : null,
    h('section', { class: 'panel', id: 'import', 'aria-labelledby': hid },
      h('h2', { id: hid, text: t('import.upload') }),
      h('p', { class: 'hint', text: t('import.hint') }),
      form, result),
    h('section', { class: 'panel', id: 'import-history', 'aria-labelledby': `${hid}-h` },
      h('h2', { id: `${hid}-h`, text: t('import.history') }), history),
    exports);
}

// fileError says why a file was refused whole (its reason, and line when given).
function fileError(msgEl, err) {
  const reason = err instanceof ApiError ? err.details?.reason : '';
  if (reason && has(`import.reason.${reason}`)) {
    const line = err.details?.line;
    replace(msgEl, h('p', { class: 'alert alert-error', id: 'import-refused', data: { reason } },
      t(`import.reason.${reason}`), line ? ` ${t('import.at_line', { line: formatNumber(line) })}` : ''));
    return;
  }
  formError(null, msgEl, err);
}

// progress is the bar of a run with its counts, updated as the import goes, and the button that
// cancels it while it runs (onCancel takes the import as the cancel answered).
function progress(imp, onCancel) {
  const bar = h('progress', { id: 'import-progress', max: '1', value: '0' });
  const label = h('p', { class: 'import-progress-text', id: 'import-progress-text' });
  const cancelMsg = h('span', { class: 'form-msg', role: 'alert' });
  const cancel = cancelButton(imp, onCancel, cancelMsg);
  const node = h('div', { class: 'import-progress' }, h('label', { for: 'import-progress', text: t('import.progress') }), bar, label,
    imp.dry_run ? null : h('p', { class: 'actions' }, cancel, ' ', cancelMsg));
  const update = (x) => {
    bar.max = Math.max(1, x.total);
    bar.value = x.processed;
    bar.dataset.status = x.status;
    cancel.hidden = x.status !== 'pending' && x.status !== 'running';
    replace(label, t(`import.status.${x.status}`), ' — ', t('import.processed', {
      processed: formatNumber(x.processed), total: formatNumber(x.total),
      pct: formatPercent(x.total ? (x.processed / x.total) * 100 : 100),
    }));
  };
  update(imp);
  return { node, update };
}

// cancelButton cancels a pending or running import: the run stops after its current batch.
function cancelButton(imp, onCancel, msgEl) {
  const b = h('button', { type: 'button', class: 'btn btn-small', id: 'import-cancel', data: { action: 'cancel', importId: imp.id }, text: t('import.cancel') });
  b.addEventListener('click', busy(b, async () => {
    replace(msgEl);
    try {
      const out = await api('POST', `/imports/${encodeURIComponent(imp.id)}/cancel`, {});
      if (onCancel) onCancel(out);
      replace(msgEl, t('import.cancelling'));
    } catch (err) {
      formError(null, msgEl, err);
    }
  }));
  return b;
}

// report shows an import's counts and every issue of its rows, by line.
function report(imp) {
  const figures = [['total', imp.total], ['imported', imp.imported], ['skipped', imp.skipped], ['rejected', imp.rejected]];
  if (imp.not_imported > 0) figures.push(['not_imported', imp.not_imported]);
  if (imp.held > 0) figures.push(['held', imp.held]);
  const counts = h('ul', { class: 'figures', id: 'import-counts', data: { status: imp.status, dryRun: String(imp.dry_run) } },
    figures.map(([k, n]) => h('li', { class: 'figure', data: { figure: k } },
      h('span', { class: 'figure-value', text: formatNumber(n) }), h('span', { class: 'figure-label', text: t(imp.dry_run ? `import.count_dry.${k}` : `import.count.${k}`) }))));
  const issues = imp.issues || [];
  const rowClass = { rejected: 'is-rejected', skipped: 'is-skipped', held: 'is-held', not_imported: 'is-rejected' };
  const rows = issues.map((x) => h('tr', { class: rowClass[x.outcome] || 'is-skipped', data: { line: String(x.line), code: x.code, outcome: x.outcome } },
    h('td', { class: 'num', text: formatNumber(x.line) }),
    h('td', { text: x.column || '' }),
    h('td', { text: t(`import.outcome.${x.outcome}`) }),
    h('td', { class: 'issue-reason' }, issueText(x))));
  const parts = [
    h('p', { class: 'summary', id: 'import-summary' }, imp.dry_run ? t('import.dry_summary') : imp.status === 'done' ? t('import.done_summary', { file: imp.file_name }) : t(`import.status.${imp.status}`),
      imp.encoding ? ` ${t('import.encoding', { encoding: imp.encoding })}` : ''),
    imp.error ? h('p', { class: 'alert alert-error', text: t('import.failed', { error: imp.error }) }) : null,
    imp.status === 'cancelled' ? h('p', { class: 'alert alert-warn', id: 'import-cancelled', text: t('import.cancelled_summary', { n: formatNumber(imp.not_imported) }) }) : null,
    imp.held > 0 ? h('p', { class: 'alert alert-warn', id: 'import-awaiting', data: { held: String(imp.held) },
      text: tp(imp.dry_run ? 'import.held_dry' : 'import.awaiting', imp.held) }) : null,
    imp.approval ? h('p', { class: 'hint', id: 'import-approval', data: { decision: imp.approval.decision } },
      t(`import.decision.${imp.approval.decision}`, { by: imp.approval.by, when: formatDateTime(imp.approval.at) }),
      imp.approval.reason ? ` ${t('import.decision_reason', { reason: imp.approval.reason })}` : '') : null,
    counts,
  ];
  if (!imp.dry_run && imp.rejected + (imp.not_imported || 0) > 0) {
    parts.push(h('p', { class: 'rejected-links', id: 'rejected-links' }, t('import.rejected_file'), ' ',
      download(fileHref(`/imports/${imp.id}/rejected`, { format: 'csv' }), t('import.rejected_csv'), { id: 'rejected-csv' }), ' ',
      download(fileHref(`/imports/${imp.id}/rejected`, { format: 'xlsx' }), t('import.rejected_xlsx'), { id: 'rejected-xlsx' })));
  }
  parts.push(issues.length
    ? table(tp('import.issues', issues.length), [t('import.line'), t('import.column'), t('import.outcome'), t('import.reason')], rows, { id: 'import-issues', className: 'import-issues' })
    : empty(t('import.no_issues')));
  if (imp.issues_truncated) parts.push(h('p', { class: 'hint', text: t('import.truncated') }));
  if (imp.dry_run && imp.imported + imp.skipped > 0) parts.push(h('p', { class: 'hint', text: t('import.next') }));
  return h('div', { class: 'import-report' }, parts);
}

// issueText is a row's problem in the UI's language: the code's meaning; in English the server's
// message, which says more.
function issueText(x) {
  if (locale() === 'en' && x.message) return x.message;
  return has(`import.code.${x.code}`) ? t(`import.code.${x.code}`) : x.message;
}

// approvalTable lists the imports waiting for the director: when, which file, whose, how many deals
// held, with Approve and Reject.
function approvalTable(items, decide) {
  if (!items.length) return empty(t('import.approvals_empty'));
  const rows = items.map((x) => {
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const approve = h('button', { type: 'button', class: 'btn btn-primary btn-small', data: { action: 'approve' }, text: t('import.approve') });
    const reject = h('button', { type: 'button', class: 'btn btn-small', data: { action: 'reject' }, text: t('import.reject') });
    approve.addEventListener('click', busy(approve, async () => {
      replace(msg);
      try {
        await decide(x, true, '');
      } catch (err) {
        formError(null, msg, err);
      }
    }));
    reject.addEventListener('click', () => rejectDialog(x, decide));
    return h('tr', { data: { importId: x.id, held: String(x.held) } },
      h('td', { class: 'nowrap', text: formatDateTime(x.created_at) }),
      h('th', { scope: 'row', text: x.file_name }),
      h('td', { text: x.created_by }),
      h('td', { class: 'num', text: tp('import.held_deals', x.held) }),
      h('td', { class: 'actions' }, approve, ' ', reject, msg));
  });
  return table(null, [t('import.when'), t('import.file'), t('import.by'), t('import.held_head'), t('import.decide')], rows, { className: 'import-approvals', id: 'import-approvals-table' });
}

// rejectDialog asks the director why: the KAM reads it on each rejected row.
function rejectDialog(imp, decide) {
  openDialog(t('import.reject_title', { file: imp.file_name }), (close) => {
    const reason = h('textarea', { name: 'reason', id: 'import-reject-reason', required: true, maxlength: '4000', rows: '3' });
    const msg = h('div', { class: 'form-msg', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-warn', id: 'import-reject-confirm', text: t('import.reject') });
    const form = h('form', { novalidate: true, id: 'import-reject-form' },
      h('p', { text: tp('import.reject_explain', imp.held) }),
      field(t('field.reason'), reason, { hint: t('import.reject_hint') }),
      msg,
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close, text: t('common.cancel') })));
    form.addEventListener('submit', busy(submit, async () => {
      replace(msg);
      if (!validate(form)) return;
      try {
        await decide(imp, false, reason.value.trim());
        close();
      } catch (err) {
        formError(form, msg, err);
      }
    }));
    return form;
  });
}

// historyCancel is the cancel button of a running import in the history, with its message.
function historyCancel(imp) {
  const m = h('span', { class: 'form-msg', role: 'alert' });
  return [cancelButton(imp, null, m), ' ', m, ' '];
}

// historyTable lists the recent imports the user may read: when, what, how it went, and the
// rejected rows of a real run.
function historyTable(items) {
  if (!items.length) return empty(t('import.history_empty'));
  const rows = items.map((x) => h('tr', { data: { importId: x.id, status: x.status, dryRun: String(x.dry_run) } },
    h('td', { class: 'nowrap', text: formatDateTime(x.created_at) }),
    h('th', { scope: 'row', text: x.file_name }),
    h('td', { text: kindLabel(x.kind) }),
    h('td', { class: 'import-status' }, x.dry_run ? t('import.dry_run') : t(`import.status.${x.status}`)),
    h('td', { class: 'num' }, t('import.counts_short', {
      imported: formatNumber(x.imported), skipped: formatNumber(x.skipped), rejected: formatNumber(x.rejected), total: formatNumber(x.total),
    }), x.held > 0 ? ` ${tp('import.held_short', x.held)}` : ''),
    h('td', { text: x.created_by }),
    h('td', null, ...(!x.dry_run && (x.status === 'pending' || x.status === 'running') ? historyCancel(x) : []),
      !x.dry_run && x.rejected + (x.not_imported || 0) > 0 ? h('a', { href: fileHref(`/imports/${x.id}/rejected`, { format: 'csv' }), download: true, class: 'rejected-link', text: t('import.rejected_csv') }) : null)));
  return table(null, [t('import.when'), t('import.file'), t('import.kind'), t('import.outcome'), t('import.counts_head'), t('import.by'), t('import.rejected_rows')], rows, { className: 'import-history' });
}
