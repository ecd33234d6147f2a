package db

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

var _ kamflow.ImportStore = (*DB)(nil)

// The imports and their rows (see migrations/*/0007_imports.sql and 0030_import_approval.sql), the
// bulk inserts of a run, a director's decision on the rows an import holds, and
// the reads of the exports. Bulk inserts write many rows a statement: well under both dialects'
// limits on a statement's parameters (65,535 on PostgreSQL, 32,766 on SQLite).
const importChunk = 500

const importColumns = `id, kind, dry_run, status, file_name, format, encoding, heads, team_id, created_by,
	total, processed, imported, skipped, rejected, error, created_at, updated_at, finished_at, held, approval, date1904, not_imported`

type importRow struct {
	ID, Kind                   string
	DryRun                     bool
	Status, FileName, Format   string
	Encoding, Heads            string
	TeamID, CreatedBy          string
	Total, Processed, Imported int
	Skipped, Rejected          int
	Error                      string
	CreatedAt, UpdatedAt       time.Time
	FinishedAt                 *time.Time
	Held                       int
	Approval                   string
	Date1904                   bool
	NotImported                int
}

func (r importRow) imp() (*kamflow.Import, error) {
	imp := &kamflow.Import{ID: r.ID, Kind: kamflow.ImportKind(r.Kind), DryRun: r.DryRun, Status: kamflow.ImportStatus(r.Status),
		FileName: r.FileName, Format: r.Format, Encoding: r.Encoding, TeamID: r.TeamID, CreatedBy: r.CreatedBy,
		Total: r.Total, Processed: r.Processed, Imported: r.Imported, Skipped: r.Skipped, Rejected: r.Rejected,
		Error: r.Error, CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt), Held: r.Held, Date1904: r.Date1904,
		NotImported: r.NotImported}
	if r.Approval != "" {
		imp.Approval = &kamflow.ImportApproval{}
		if err := json.Unmarshal([]byte(r.Approval), imp.Approval); err != nil {
			return nil, fmt.Errorf("db: decode the approval of import %s: %w", r.ID, err)
		}
		imp.Approval.At = utc(imp.Approval.At)
	}
	if r.FinishedAt != nil {
		t := utc(*r.FinishedAt)
		imp.FinishedAt = &t
	}
	if err := json.Unmarshal([]byte(r.Heads), &imp.Columns); err != nil {
		return nil, fmt.Errorf("db: decode the columns of import %s: %w", r.ID, err)
	}
	return imp, nil
}

// CreateImport stores a new import and its file in one transaction.
func (d *DB) CreateImport(ctx context.Context, imp *kamflow.Import, file []byte) error {
	heads, err := json.Marshal(nonNilColumns(imp.Columns))
	if err != nil {
		return fmt.Errorf("db: encode import %s: %w", imp.ID, err)
	}
	approval, err := encodeApproval(imp.Approval)
	if err != nil {
		return fmt.Errorf("db: encode import %s: %w", imp.ID, err)
	}
	if file == nil {
		file = []byte{}
	}
	return d.inTx(ctx, "create import "+imp.ID, func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO imports (`+importColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`,
			imp.ID, string(imp.Kind), imp.DryRun, string(imp.Status), imp.FileName, imp.Format, imp.Encoding, string(heads),
			imp.TeamID, imp.CreatedBy, imp.Total, imp.Processed, imp.Imported, imp.Skipped, imp.Rejected, imp.Error,
			ts(imp.CreatedAt), ts(imp.UpdatedAt), nullTS(imp.FinishedAt), imp.Held, approval, imp.Date1904, imp.NotImported)
		if res.Error != nil {
			return fmt.Errorf("db: create import %s: %w", imp.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return kamflow.Errorf(kamflow.ECONFLICT, "import %q exists already", imp.ID)
		}
		if err := tx.Exec("INSERT INTO import_files (import_id, data) VALUES (?, ?)", imp.ID, file).Error; err != nil {
			return fmt.Errorf("db: store the file of import %s: %w", imp.ID, err)
		}
		return nil
	})
}

// ImportFile returns the file an import was uploaded with.
func (d *DB) ImportFile(ctx context.Context, id string) ([]byte, error) {
	var rows []struct{ Data []byte }
	if err := d.r.WithContext(ctx).Raw("SELECT data FROM import_files WHERE import_id = ?", id).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("db: read the file of import %s: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "the file of import %q is not kept", id)
	}
	return rows[0].Data, nil
}

// PlanImport records a pending import's plan: its rows and counts, in one transaction, once.
func (d *DB) PlanImport(ctx context.Context, importID string, p kamflow.ImportProgress, status kamflow.ImportStatus, rows []kamflow.ImportRow, now time.Time) error {
	var finished any
	if status == kamflow.ImportDone {
		finished = ts(now)
	}
	return d.inTx(ctx, "plan import "+importID, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE imports SET processed = ?, imported = ?, skipped = ?, rejected = ?, held = ?, not_imported = ?,
			status = ?, updated_at = ?, finished_at = ? WHERE id = ? AND status = ?`,
			p.Processed, p.Imported, p.Skipped, p.Rejected, p.Held, p.NotImported, string(status), ts(now), finished, importID,
			string(kamflow.ImportPending))
		if res.Error != nil {
			return fmt.Errorf("db: plan import %s: %w", importID, res.Error)
		}
		if res.RowsAffected == 0 {
			if err := importExists(tx, importID); err != nil {
				return err
			}
			return kamflow.Errorf(kamflow.ECONFLICT, "import %q is planned already", importID)
		}
		if err := tx.Exec("DELETE FROM import_rows WHERE import_id = ? AND outcome = ?", importID, string(kamflow.OutcomeHeld)).Error; err != nil {
			return fmt.Errorf("db: clear the held rows of import %s: %w", importID, err)
		}
		return insertImportRows(tx, importID, rows)
	})
}

func importExists(tx *gorm.DB, importID string) error {
	var n int64
	if err := tx.Raw("SELECT count(*) FROM imports WHERE id = ?", importID).Scan(&n).Error; err != nil {
		return fmt.Errorf("db: read import %s: %w", importID, err)
	}
	if n == 0 {
		return kamflow.Errorf(kamflow.ENOTFOUND, "import %q not found", importID)
	}
	return nil
}

// PendingImportRows lists up to limit pending rows of the import after line, by line.
func (d *DB) PendingImportRows(ctx context.Context, importID string, after, limit int) ([]kamflow.ImportRow, error) {
	var rows []struct {
		Line   int
		Cells  string
		Record string
	}
	err := d.r.WithContext(ctx).Raw(`SELECT line, cells, record FROM import_rows WHERE import_id = ? AND outcome = ? AND line > ?
		ORDER BY line LIMIT ?`, importID, string(kamflow.OutcomePending), after, limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: read the pending rows of import %s: %w", importID, err)
	}
	out := make([]kamflow.ImportRow, len(rows))
	for i, r := range rows {
		out[i] = kamflow.ImportRow{Line: r.Line, Outcome: kamflow.OutcomePending, Record: []byte(r.Record)}
		if err := json.Unmarshal([]byte(r.Cells), &out[i].Cells); err != nil {
			return nil, fmt.Errorf("db: decode line %d of import %s: %w", r.Line, importID, err)
		}
	}
	return out, nil
}

// claimPending deletes the import's pending rows of lines and returns the lines it deleted: the
// rows a batch may settle (another attempt settled the rest).
func claimPending(tx *gorm.DB, importID string, lines []int) (map[int]bool, error) {
	claimed := make(map[int]bool, len(lines))
	for start := 0; start < len(lines); start += importChunk {
		part := lines[start:min(len(lines), start+importChunk)]
		args := []any{importID, string(kamflow.OutcomePending)}
		for _, l := range part {
			args = append(args, l)
		}
		var got []int
		err := tx.Raw("DELETE FROM import_rows WHERE import_id = ? AND outcome = ? AND "+inList("line", len(part))+" RETURNING line",
			args...).Scan(&got).Error
		if err != nil {
			return nil, fmt.Errorf("db: settle the rows of import %s: %w", importID, err)
		}
		for _, l := range got {
			claimed[l] = true
		}
	}
	return claimed, nil
}

// addProgress adds a batch's counts to the import's.
func addProgress(tx *gorm.DB, importID string, p kamflow.ImportProgress, now time.Time) error {
	res := tx.Exec(`UPDATE imports SET processed = processed + ?, imported = imported + ?, skipped = skipped + ?,
		rejected = rejected + ?, not_imported = not_imported + ?, updated_at = ? WHERE id = ?`,
		p.Processed, p.Imported, p.Skipped, p.Rejected, p.NotImported, ts(now), importID)
	if res.Error != nil {
		return fmt.Errorf("db: record the progress of import %s: %w", importID, res.Error)
	}
	if res.RowsAffected == 0 {
		return kamflow.Errorf(kamflow.ENOTFOUND, "import %q not found", importID)
	}
	return nil
}

// SettleImportRows settles pending rows whose records were created elsewhere.
func (d *DB) SettleImportRows(ctx context.Context, importID string, lines []int, rows []kamflow.ImportRow, now time.Time) error {
	return d.inTx(ctx, "settle the rows of import "+importID, func(tx *gorm.DB) error {
		claimed, err := claimPending(tx, importID, lines)
		if err != nil {
			return err
		}
		var keep []kamflow.ImportRow
		var p kamflow.ImportProgress
		for _, r := range rows {
			if !claimed[r.Line] {
				continue
			}
			keep = append(keep, r)
			switch r.Outcome {
			case kamflow.OutcomeSkipped:
				p.Skipped++
			case kamflow.OutcomeRejected:
				p.Rejected++
			case kamflow.OutcomeNotImported:
				p.NotImported++
			}
		}
		p.Processed = len(claimed)
		p.Imported = len(claimed) - len(keep)
		if err := insertImportRows(tx, importID, keep); err != nil {
			return err
		}
		return addProgress(tx, importID, p, now)
	})
}

func encodeApproval(a *kamflow.ImportApproval) (string, error) {
	if a == nil {
		return "", nil
	}
	b, err := json.Marshal(a)
	return string(b), err
}

func nonNilColumns(c []kamflow.ImportColumn) []kamflow.ImportColumn {
	if c == nil {
		return []kamflow.ImportColumn{}
	}
	return c
}

// insertImportRows writes rows of an import; a line recorded already is left as it is. The cells
// of a row not imported or pending are kept (a dry run's rows come without them past its
// sample), and a pending row's record.
func insertImportRows(tx *gorm.DB, importID string, rows []kamflow.ImportRow) error {
	for len(rows) > 0 {
		n := min(len(rows), importChunk)
		var sql strings.Builder
		sql.WriteString("INSERT INTO import_rows (import_id, line, outcome, entity_id, issues, cells, record) VALUES ")
		args := make([]any, 0, 7*n)
		for i, r := range rows[:n] {
			issues, err := json.Marshal(r.Issues)
			if err != nil {
				return fmt.Errorf("db: encode a row of import %s: %w", importID, err)
			}
			cells := []byte("[]")
			if r.Outcome != kamflow.OutcomeSkipped && r.Cells != nil {
				if cells, err = json.Marshal(r.Cells); err != nil {
					return fmt.Errorf("db: encode a row of import %s: %w", importID, err)
				}
			}
			if i > 0 {
				sql.WriteString(", ")
			}
			if r.Issues == nil {
				issues = []byte("[]")
			}
			sql.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, importID, r.Line, string(r.Outcome), r.EntityID, string(issues), string(cells), string(r.Record))
		}
		sql.WriteString(" ON CONFLICT (import_id, line) DO NOTHING")
		if err := tx.Exec(sql.String(), args...).Error; err != nil {
			return fmt.Errorf("db: record the rows of import %s: %w", importID, err)
		}
		rows = rows[n:]
	}
	return nil
}

// Import returns the import with the given id.
func (d *DB) Import(ctx context.Context, id string) (*kamflow.Import, error) {
	var rows []importRow
	if err := d.r.WithContext(ctx).Raw("SELECT "+importColumns+" FROM imports WHERE id = ?", id).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("db: read import %s: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "import %q not found", id)
	}
	return rows[0].imp()
}

// Imports lists the imports the viewer may read, newest first: their own, a director's also
// those of their teams, an admin's all.
func (d *DB) Imports(ctx context.Context, f kamflow.ImportFilter) ([]*kamflow.Import, error) {
	var w where
	if f.Status != "" {
		w.add("status = ?", string(f.Status))
	}
	if v := f.Viewer; v != nil {
		switch teams := viewerTeams(v); {
		case v.Role == kamflow.UserAdmin || v.Role == kamflow.UserSystem:
		case v.Role == kamflow.UserDirector && len(teams) > 0:
			w.add("(created_by = ? OR "+inList("team_id", len(teams))+")", append([]any{v.ID}, teams...)...)
		default:
			w.add("created_by = ?", v.ID)
		}
	}
	limit, _ := limits(kamflow.Page{Limit: f.Limit})
	var rows []importRow
	err := d.r.WithContext(ctx).Raw("SELECT "+importColumns+" FROM imports"+w.String()+" ORDER BY created_at DESC, id LIMIT ?",
		append(w.args, limit)...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: list imports: %w", err)
	}
	out := make([]*kamflow.Import, 0, len(rows))
	for _, r := range rows {
		imp, err := r.imp()
		if err != nil {
			return nil, err
		}
		out = append(out, imp)
	}
	return out, nil
}

// ImportRows calls fn with the import's rows of the outcome ("" for all but pending), by line, reading them a
// thousand at a time so that a large file's rows never sit in memory together.
func (d *DB) ImportRows(ctx context.Context, id string, outcome kamflow.ImportOutcome, fn func(kamflow.ImportRow) error) error {
	type stored struct {
		Line     int
		Outcome  string
		EntityID string
		Issues   string
		Cells    string
	}
	after := -1
	for {
		var w where
		w.add("import_id = ?", id)
		w.add("line > ?", after)
		if outcome != "" {
			w.add("outcome = ?", string(outcome))
		} else {
			w.add("outcome <> ?", string(kamflow.OutcomePending))
		}
		var rows []stored
		err := d.r.WithContext(ctx).Raw("SELECT line, outcome, entity_id, issues, cells FROM import_rows"+w.String()+
			" ORDER BY line LIMIT 1000", w.args...).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("db: read the rows of import %s: %w", id, err)
		}
		for _, s := range rows {
			r := kamflow.ImportRow{Line: s.Line, Outcome: kamflow.ImportOutcome(s.Outcome), EntityID: s.EntityID}
			if err := json.Unmarshal([]byte(s.Issues), &r.Issues); err != nil {
				return fmt.Errorf("db: decode line %d of import %s: %w", s.Line, id, err)
			}
			if err := json.Unmarshal([]byte(s.Cells), &r.Cells); err != nil {
				return fmt.Errorf("db: decode line %d of import %s: %w", s.Line, id, err)
			}
			if err := fn(r); err != nil {
				return err
			}
			after = s.Line
		}
		if len(rows) < 1000 {
			return nil
		}
	}
}

// ImportAccounts commits a batch of an import's pending account rows in one transaction: the rows
// still pending are claimed, their accounts created where the id is free (an account imported
// meanwhile by another run of the same file keeps its id, and its row is recorded as skipped),
// an audit entry each, and the import's counts.
func (d *DB) ImportAccounts(ctx context.Context, importID string, batch []kamflow.ImportedAccount, actor string, now time.Time) error {
	lines := make([]int, len(batch))
	for i, ia := range batch {
		lines[i] = ia.Line
	}
	return d.inTx(ctx, "import accounts of "+importID, func(tx *gorm.DB) error {
		claimed, err := claimPending(tx, importID, lines)
		if err != nil {
			return err
		}
		var todo []kamflow.ImportedAccount
		for _, ia := range batch {
			if claimed[ia.Line] {
				todo = append(todo, ia)
			}
		}
		var p kamflow.ImportProgress
		for start := 0; start < len(todo); start += importChunk {
			part := todo[start:min(len(todo), start+importChunk)]
			var sql strings.Builder
			sql.WriteString(`INSERT INTO accounts (id, name, name_fold, industry, region, address, owner, team_id, notes,
				created_at, updated_at) VALUES `)
			args := make([]any, 0, 11*len(part))
			for i, ia := range part {
				a := ia.Account
				if i > 0 {
					sql.WriteString(", ")
				}
				sql.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				args = append(args, a.ID, a.Name, fold(a.Name), a.Industry, a.Region, a.Address, a.Owner, a.TeamID, a.Notes,
					ts(a.CreatedAt), ts(a.UpdatedAt))
			}
			sql.WriteString(" ON CONFLICT (id) DO NOTHING RETURNING id")
			var ids []string
			if err := tx.Raw(sql.String(), args...).Scan(&ids).Error; err != nil {
				return fmt.Errorf("db: import accounts of %s: %w", importID, err)
			}
			if err := reindexAccounts(tx, ids...); err != nil {
				return err
			}
			created := make(map[string]bool, len(ids))
			for _, id := range ids {
				created[id] = true
			}
			var entries []*kamflow.AuditEntry
			var skipped []kamflow.ImportRow
			for _, ia := range part {
				a := ia.Account
				if !created[a.ID] {
					skipped = append(skipped, kamflow.ImportRow{Line: ia.Line, Outcome: kamflow.OutcomeSkipped, EntityID: a.ID,
						Issues: []kamflow.ImportIssue{{Line: ia.Line, Column: "", Code: kamflow.IssueExists,
							Message: fmt.Sprintf("account %s was imported meanwhile (another run of the same file)", a.Name)}}})
					continue
				}
				entries = append(entries, &kamflow.AuditEntry{At: now, Actor: actor, Action: "account.create", EntityType: "account",
					EntityID: a.ID, Summary: fmt.Sprintf("account %s imported (import %s, line %d)", a.Name, importID, ia.Line),
					After: a, Key: fmt.Sprintf("import:%s:%d", importID, ia.Line)})
			}
			if err := appendAudits(tx, entries, now); err != nil {
				return err
			}
			if err := insertImportRows(tx, importID, skipped); err != nil {
				return err
			}
			p.Processed += len(part)
			p.Imported += len(ids)
			p.Skipped += len(skipped)
		}
		return addProgress(tx, importID, p, now)
	})
}

// appendAudits appends entries many a statement; an entry whose key is stored is left out.
func appendAudits(tx *gorm.DB, entries []*kamflow.AuditEntry, now time.Time) error {
	if len(entries) == 0 {
		return nil
	}
	var sql strings.Builder
	sql.WriteString(`INSERT INTO audit_log (at, actor, action, entity_type, entity_id, deal_id, summary, "before", "after", "key") VALUES `)
	args := make([]any, 0, 10*len(entries))
	for i, e := range entries {
		r, err := newAuditRow(e, now)
		if err != nil {
			return err
		}
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, ts(r.at), e.Actor, e.Action, e.EntityType, e.EntityID, e.DealID, e.Summary, r.before, r.after, r.key)
	}
	sql.WriteString(` ON CONFLICT ("key") DO NOTHING`)
	if err := tx.Exec(sql.String(), args...).Error; err != nil {
		return fmt.Errorf("db: append audit entries: %w", err)
	}
	return nil
}

// FinishImport ends a run with its status: its rows still pending become not_imported (with
// the issue rest) and are counted, and the file is dropped once the import is over. An import
// awaiting a director's approval is not finished yet: no finished_at, and its file is kept.
func (d *DB) FinishImport(ctx context.Context, importID string, status kamflow.ImportStatus, why string, rest kamflow.ImportIssue, now time.Time) error {
	var finished any = ts(now)
	if status == kamflow.ImportAwaiting {
		finished = nil
	}
	return d.inTx(ctx, "finish import "+importID, func(tx *gorm.DB) error {
		for {
			pending, err := pendingLines(tx, importID)
			if err != nil {
				return err
			}
			if len(pending) == 0 {
				break
			}
			var rows []kamflow.ImportRow
			lines := make([]int, len(pending))
			for i, r := range pending {
				lines[i] = r.Line
				is := rest
				is.Line = r.Line
				rows = append(rows, kamflow.ImportRow{Line: r.Line, Outcome: kamflow.OutcomeNotImported, Cells: r.Cells,
					Issues: []kamflow.ImportIssue{is}})
			}
			claimed, err := claimPending(tx, importID, lines)
			if err != nil {
				return err
			}
			if err := insertImportRows(tx, importID, rows); err != nil {
				return err
			}
			if err := addProgress(tx, importID, kamflow.ImportProgress{Processed: len(claimed), NotImported: len(claimed)}, now); err != nil {
				return err
			}
		}
		res := tx.Exec(`UPDATE imports SET status = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
			string(status), why, ts(now), finished, importID)
		if res.Error != nil {
			return fmt.Errorf("db: finish import %s: %w", importID, res.Error)
		}
		if res.RowsAffected == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "import %q not found", importID)
		}
		if status != kamflow.ImportAwaiting {
			if err := tx.Exec("DELETE FROM import_files WHERE import_id = ?", importID).Error; err != nil {
				return fmt.Errorf("db: drop the file of import %s: %w", importID, err)
			}
		}
		return nil
	})
}

// pendingLines reads a thousand of the import's pending rows (their lines and cells).
func pendingLines(tx *gorm.DB, importID string) ([]kamflow.ImportRow, error) {
	var rows []struct {
		Line  int
		Cells string
	}
	err := tx.Raw("SELECT line, cells FROM import_rows WHERE import_id = ? AND outcome = ? ORDER BY line LIMIT 1000",
		importID, string(kamflow.OutcomePending)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: read the pending rows of import %s: %w", importID, err)
	}
	out := make([]kamflow.ImportRow, len(rows))
	for i, r := range rows {
		out[i].Line = r.Line
		if err := json.Unmarshal([]byte(r.Cells), &out[i].Cells); err != nil {
			return nil, fmt.Errorf("db: decode line %d of import %s: %w", r.Line, importID, err)
		}
	}
	return out, nil
}

// DecideImport records a director's decision on an import awaiting approval, in one transaction:
// only an import still awaiting approval takes it (a second decision is a conflict), its status and
// counts become status and p, and its held rows are replaced by rows.
func (d *DB) DecideImport(ctx context.Context, importID string, a kamflow.ImportApproval, status kamflow.ImportStatus, p kamflow.ImportProgress, rows []kamflow.ImportRow, now time.Time) error {
	approval, err := encodeApproval(&a)
	if err != nil {
		return fmt.Errorf("db: encode the approval of import %s: %w", importID, err)
	}
	var finished any
	if status == kamflow.ImportDone || status == kamflow.ImportFailed {
		finished = ts(now)
	}
	return d.inTx(ctx, "decide import "+importID, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE imports SET processed = ?, imported = ?, skipped = ?, rejected = ?, held = ?, status = ?, approval = ?,
			updated_at = ?, finished_at = ? WHERE id = ? AND status = ?`,
			p.Processed, p.Imported, p.Skipped, p.Rejected, p.Held, string(status), approval, ts(now), finished, importID,
			string(kamflow.ImportAwaiting))
		if res.Error != nil {
			return fmt.Errorf("db: decide import %s: %w", importID, res.Error)
		}
		if res.RowsAffected == 0 {
			var n int64
			if err := tx.Raw("SELECT count(*) FROM imports WHERE id = ?", importID).Scan(&n).Error; err != nil {
				return fmt.Errorf("db: decide import %s: %w", importID, err)
			}
			if n == 0 {
				return kamflow.Errorf(kamflow.ENOTFOUND, "import %q not found", importID)
			}
			return kamflow.Errorf(kamflow.ECONFLICT, "import %q is not awaiting approval: it was decided already", importID)
		}
		if status == kamflow.ImportPending {
			return nil // approved: the approved run plans the held rows (PlanImport replaces them)
		}
		if err := tx.Exec("DELETE FROM import_rows WHERE import_id = ? AND outcome = ?", importID, string(kamflow.OutcomeHeld)).Error; err != nil {
			return fmt.Errorf("db: clear the held rows of import %s: %w", importID, err)
		}
		if err := tx.Exec("DELETE FROM import_files WHERE import_id = ?", importID).Error; err != nil {
			return fmt.Errorf("db: drop the file of import %s: %w", importID, err)
		}
		return insertImportRows(tx, importID, rows)
	})
}

// TeamAccounts lists the accounts of a team: what an import compares its rows with.
func (d *DB) TeamAccounts(ctx context.Context, teamID string) ([]kamflow.AccountKey, error) {
	var out []kamflow.AccountKey
	if err := d.r.WithContext(ctx).Raw("SELECT id, name, owner FROM accounts WHERE team_id = ?", teamID).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("db: read the accounts of team %s: %w", teamID, err)
	}
	return out, nil
}

// TeamDeals lists the deals of a team: what an import compares its rows with.
func (d *DB) TeamDeals(ctx context.Context, teamID string) ([]kamflow.DealKey, error) {
	var out []kamflow.DealKey
	if err := d.r.WithContext(ctx).Raw("SELECT id, account_id, title FROM deals WHERE team_id = ?", teamID).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("db: read the deals of team %s: %w", teamID, err)
	}
	return out, nil
}

// exportChunk is how many records an export reads at a time: a large export streams to its
// client without holding its whole set (nor a connection) for long.
const exportChunk = 1000

// baseAccountColumns are the account columns every schema version has; an export reads only
// these.
const baseAccountColumns = "id, name, industry, region, address, owner, team_id, notes, created_at, updated_at"

// ExportAccounts calls fn with every account the viewer may see, by name: the accounts of the
// account list, read a chunk at a time after the last one (by name_fold, id).
func (d *DB) ExportAccounts(ctx context.Context, viewer *kamflow.Actor, fn func(*kamflow.Account) error) error {
	type row struct {
		ID, Name, NameFold, Industry, Region, Address, Owner, TeamID, Notes string
		CreatedAt, UpdatedAt                                                time.Time
	}
	var afterName, afterID string
	first := true
	for {
		var w where
		accountVisibleTo(&w, viewer)
		if !first {
			w.add("(accounts.name_fold > ? OR (accounts.name_fold = ? AND accounts.id > ?))", afterName, afterName, afterID)
		}
		var rows []row
		err := d.r.WithContext(ctx).Raw("SELECT "+baseAccountColumns+", name_fold FROM accounts"+w.String()+
			" ORDER BY name_fold, id LIMIT ?", append(w.args, exportChunk)...).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("db: export accounts: %w", err)
		}
		for _, r := range rows {
			a := &kamflow.Account{ID: r.ID, Name: r.Name, Industry: r.Industry, Region: r.Region, Address: r.Address,
				Owner: r.Owner, TeamID: r.TeamID, Notes: r.Notes, CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt)}
			if err := fn(a); err != nil {
				return err
			}
			afterName, afterID, first = r.NameFold, r.ID, false
		}
		if len(rows) < exportChunk {
			return nil
		}
	}
}

// ExportDeals calls fn with every deal the viewer may see, in id order (the order deals were
// opened in), a chunk at a time.
func (d *DB) ExportDeals(ctx context.Context, viewer *kamflow.Actor, fn func(*kamflow.Deal) error) error {
	after := ""
	for {
		var w where
		dealVisibleTo(&w, viewer)
		w.add("deals.id > ?", after)
		var data []struct {
			ID   string
			Data string
		}
		err := d.r.WithContext(ctx).Raw("SELECT id, data FROM deals"+w.String()+" ORDER BY id LIMIT ?",
			append(w.args, exportChunk)...).Scan(&data).Error
		if err != nil {
			return fmt.Errorf("db: export deals: %w", err)
		}
		for _, r := range data {
			deal, err := decodeDeal(r.Data)
			if err != nil {
				return err
			}
			if err := fn(deal); err != nil {
				return err
			}
			after = r.ID
		}
		if len(data) < exportChunk {
			return nil
		}
	}
}

// ImportContacts commits a batch of an import's pending contact rows in one transaction, as
// ImportAccounts does accounts: each row still pending is claimed and its contact created unless
// a contact with its id exists (recorded as skipped), with its audit entry (filed under its
// account, as for a contact added by hand), and the import's counts. The contacts' accounts
// exist: the import found them.
func (d *DB) ImportContacts(ctx context.Context, importID string, batch []kamflow.ImportedContact, actor string, now time.Time) error {
	lines := make([]int, len(batch))
	for i, ic := range batch {
		lines[i] = ic.Line
	}
	return d.inTx(ctx, "import contacts of "+importID, func(tx *gorm.DB) error {
		claimed, err := claimPending(tx, importID, lines)
		if err != nil {
			return err
		}
		var todo []kamflow.ImportedContact
		for _, ic := range batch {
			if claimed[ic.Line] {
				todo = append(todo, ic)
			}
		}
		var p kamflow.ImportProgress
		for start := 0; start < len(todo); start += importChunk {
			part := todo[start:min(len(todo), start+importChunk)]
			var sql strings.Builder
			sql.WriteString(`INSERT INTO contacts (id, account_id, name, name_fold, title, department, reports_to, role,
				stance, influence, relationship, phone, email, notes, created_by, created_at, updated_at) VALUES `)
			args := make([]any, 0, 17*len(part))
			for i, ic := range part {
				c := ic.Contact
				if i > 0 {
					sql.WriteString(", ")
				}
				sql.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				args = append(args, c.ID, c.AccountID, c.Name, fold(c.Name), c.Title, c.Department, c.ReportsTo, string(c.Role),
					string(c.Stance), c.Influence, c.Relationship, c.Phone, c.Email, c.Notes, c.CreatedBy, ts(c.CreatedAt), ts(c.UpdatedAt))
			}
			sql.WriteString(" ON CONFLICT (id) DO NOTHING RETURNING id")
			var ids []string
			if err := tx.Raw(sql.String(), args...).Scan(&ids).Error; err != nil {
				return fmt.Errorf("db: import contacts of %s: %w", importID, err)
			}
			if err := reindexContacts(tx, ids...); err != nil {
				return err
			}
			created := make(map[string]bool, len(ids))
			for _, id := range ids {
				created[id] = true
			}
			var entries []*kamflow.AuditEntry
			var skipped []kamflow.ImportRow
			for _, ic := range part {
				c := ic.Contact
				if !created[c.ID] {
					skipped = append(skipped, kamflow.ImportRow{Line: ic.Line, Outcome: kamflow.OutcomeSkipped, EntityID: c.ID,
						Issues: []kamflow.ImportIssue{{Line: ic.Line, Code: kamflow.IssueExists,
							Message: fmt.Sprintf("contact %s was imported meanwhile (another run of the same file)", c.Name)}}})
					continue
				}
				e := kamflow.ContactAudit(nil, c, actor, now)
				e.Summary += fmt.Sprintf(", imported (import %s, line %d)", importID, ic.Line)
				e.Key = fmt.Sprintf("import:%s:%d", importID, ic.Line)
				entries = append(entries, e)
			}
			if err := appendAudits(tx, entries, now); err != nil {
				return err
			}
			if err := insertImportRows(tx, importID, skipped); err != nil {
				return err
			}
			p.Processed += len(part)
			p.Imported += len(ids)
			p.Skipped += len(skipped)
		}
		return addProgress(tx, importID, p, now)
	})
}

// TeamContacts lists the contacts of a team's accounts: what an import compares its rows with.
func (d *DB) TeamContacts(ctx context.Context, teamID string) ([]kamflow.ContactKey, error) {
	var out []kamflow.ContactKey
	err := d.r.WithContext(ctx).Raw(`SELECT c.id, c.account_id, c.name, c.phone, c.email FROM contacts c
		JOIN accounts a ON a.id = c.account_id WHERE a.team_id = ?`, teamID).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("db: read the contacts of team %s: %w", teamID, err)
	}
	return out, nil
}

// ExportContacts calls fn with the contacts of every account the viewer may see (the accounts
// of the account list), by account and name, a chunk at a time.
func (d *DB) ExportContacts(ctx context.Context, viewer *kamflow.Actor, fn func(*kamflow.Contact) error) error {
	var afterAccount, afterName, afterID string
	first := true
	for {
		var w where
		var acc where
		accountVisibleTo(&acc, viewer)
		if len(acc.conds) > 0 {
			w.add("contacts.account_id IN (SELECT accounts.id FROM accounts"+acc.String()+")", acc.args...)
		}
		if !first {
			w.add(`(contacts.account_id > ? OR (contacts.account_id = ? AND (contacts.name_fold > ? OR
				(contacts.name_fold = ? AND contacts.id > ?))))`, afterAccount, afterAccount, afterName, afterName, afterID)
		}
		var rows []contactRow
		err := d.r.WithContext(ctx).Raw("SELECT "+contactColumns+" FROM contacts"+w.String()+
			" ORDER BY account_id, name_fold, id LIMIT ?", append(w.args, exportChunk)...).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("db: export contacts: %w", err)
		}
		for _, r := range rows {
			if err := fn(r.contact()); err != nil {
				return err
			}
			// name_fold is stored as fold(name).
			afterAccount, afterName, afterID, first = r.AccountID, fold(r.Name), r.ID, false
		}
		if len(rows) < exportChunk {
			return nil
		}
	}
}
