// Package importer runs an import of a spreadsheet — accounts, contacts or open deals — in the
// steps its workflow calls as activities: Await (the record the request stores after starting
// the workflow), Plan (read the stored file, sort every row and record each one's fate in one
// transaction: rejected, skipped, held, or pending with the record it creates), Commit (the
// pending rows in batches, each batch settled and counted in the transaction that commits it)
// and Finish (the status, the audit entry, the directors told of held rows). What is done is the
// store's: a step run again — a worker killed mid-run, its activity retried elsewhere — carries on
// from the rows still pending, so that every row is counted once. The package knows the domain,
// the sheet reader and the domain's store and service interfaces only: no Temporal, no HTTP.
package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/sheet"
)

// Importer holds what the steps need.
type Importer struct {
	Imports  kamflow.ImportStore
	Users    kamflow.UserStore
	Settings kamflow.SettingsStore
	// Service opens the imported deals' workflows; Deals reads a deal whose start was refused as
	// taken (a start of an earlier attempt whose outcome was not recorded).
	Service       kamflow.DealService
	Deals         kamflow.DealStore
	Audit         kamflow.AuditStore
	Notifications kamflow.NotificationStore // nil tells no one
	Logger        *slog.Logger
	// Now is the clock; nil is time.Now. CommandTimeout bounds one deal's start (default 30 s).
	Now            func() time.Time
	CommandTimeout time.Duration
	// Poll is how often Await reads the record; 0 is 200 ms.
	Poll time.Duration
}

// The runs of an import (ImportService.StartImport's run).
const (
	RunFirst    = ""
	RunApproved = "approved"
)

// Batch is how many pending rows of accounts or contacts commit in one transaction.
const Batch = 1000

// DealStarts is how many imported deals' workflows are started at once: each start waits for its
// deal's projection, so starting them one by one would leave the workers idle.
const DealStarts = 8

// Limits bound what an import file may hold (sheet.Limits).
var Limits = sheet.Limits{Rows: kamflow.MaxImportRows, Columns: kamflow.MaxImportColumns, CellChars: kamflow.MaxImportCellChars,
	Text: kamflow.MaxImportText, Unpacked: kamflow.MaxImportUnpacked, Ratio: kamflow.MaxImportUnpackRatio}

func (i *Importer) now() time.Time {
	if i.Now != nil {
		return i.Now().UTC()
	}
	return time.Now().UTC()
}

func (i *Importer) logger() *slog.Logger {
	if i.Logger != nil {
		return i.Logger
	}
	return slog.Default()
}

// Await waits, up to wait, for what the run works on to be stored: the import's record for its
// first run, a director's approval for the approved run. False: it never came (the request that
// started the run failed or died), and the run ends with nothing done. beat is called at each
// look (a heartbeat).
func (i *Importer) Await(ctx context.Context, importID, run string, wait time.Duration, beat func()) (bool, error) {
	poll := i.Poll
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	until := time.Now().Add(wait)
	for {
		imp, err := i.Imports.Import(ctx, importID)
		switch {
		case err == nil && (run == RunFirst || imp.Approval != nil && imp.Approval.Decision == kamflow.ImportApproved):
			return true, nil
		case err == nil && run == RunApproved && imp.Status != kamflow.ImportAwaiting:
			return false, nil // rejected (or decided otherwise) meanwhile
		case err != nil && kamflow.ErrorCode(err) != kamflow.ENOTFOUND:
			return false, err
		}
		if !time.Now().Before(until) {
			return false, nil
		}
		if beat != nil {
			beat()
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// Planned is what Plan left: the import's status and whether rows wait to be committed.
type Planned struct {
	Status  kamflow.ImportStatus `json:"status"`
	Pending bool                 `json:"pending"`
}

// Plan reads the import's rows — the stored file for its first run, the held rows for the
// approved run (as by's, the importer, against the team's data as it is now: a row whose deal came
// in meanwhile is skipped, one whose owner left the team rejected) — and records every row's fate
// in one transaction (ImportStore.PlanImport), with the counts and the status: running, or done
// for a dry run or nothing to import, awaiting_approval when only held rows are left. An import
// planned already is not planned again. A file that cannot be read is a domain error (the
// request read it, so it is not expected).
func (i *Importer) Plan(ctx context.Context, importID, run string, by kamflow.Actor) (Planned, error) {
	imp, err := i.Imports.Import(ctx, importID)
	if err != nil {
		return Planned{}, err
	}
	if imp.Status != kamflow.ImportPending || run == RunFirst && imp.Approval != nil {
		// Planned already — or, pending again after an approval, the approved run's to plan.
		return i.planned(ctx, imp)
	}
	var p *importPlan
	prog := imp.Progress()
	if run == RunApproved {
		if imp.Approval == nil || imp.Approval.Decision != kamflow.ImportApproved {
			return Planned{}, kamflow.Errorf(kamflow.ECONFLICT, "import %s is not approved", imp.ID)
		}
		h, err := heldHeader(imp)
		if err != nil {
			return Planned{}, err
		}
		var held []kamflow.ImportRow
		if err := i.Imports.ImportRows(ctx, imp.ID, kamflow.OutcomeHeld, func(r kamflow.ImportRow) error {
			held = append(held, r)
			return nil
		}); err != nil {
			return Planned{}, err
		}
		cells := func(yield func(sheet.Row) bool) {
			for _, r := range held {
				if !yield(sheet.Row{Line: r.Line, Cells: r.Cells}) {
					return
				}
			}
		}
		if p, err = i.planImport(ctx, imp, h, cells, by, imp.Approval); err != nil {
			return Planned{}, err
		}
		prog.Held = 0
	} else {
		data, err := i.Imports.ImportFile(ctx, imp.ID)
		if err != nil {
			return Planned{}, err
		}
		f, err := sheet.Open(data, imp.FileName, Limits)
		if err != nil {
			return Planned{}, FileError(err)
		}
		defer f.Close()
		h, err := kamflow.MapImportHeader(imp.Kind, f.Head().Cells)
		if err != nil {
			return Planned{}, err
		}
		h.SerialDates, h.Date1904 = f.Format == sheet.XLSX, f.Date1904
		p, err = i.planImport(ctx, imp, h, f.Rows(), by, nil)
		if ferr := f.Err(); ferr != nil {
			return Planned{}, FileError(ferr)
		}
		if err != nil {
			return Planned{}, err
		}
		prog.Held = p.progress.Held
	}
	prog.Rejected += p.progress.Rejected
	prog.Skipped += p.progress.Skipped
	prog.Processed += p.progress.Rejected + p.progress.Skipped
	rows := p.rows
	status := kamflow.ImportRunning
	switch {
	case imp.DryRun:
		// Nothing is written but the report: what a real run would import is counted as imported.
		prog.Imported += p.size()
		prog.Processed += p.size()
		status = kamflow.ImportDone
	case p.size() == 0 && prog.Held > 0:
		status = kamflow.ImportAwaiting
	case p.size() == 0:
		status = kamflow.ImportDone
	default:
		if rows, err = p.pending(rows); err != nil {
			return Planned{}, err
		}
	}
	if err := i.Imports.PlanImport(ctx, imp.ID, prog, status, rows, i.now()); err != nil {
		if kamflow.ErrorCode(err) == kamflow.ECONFLICT {
			// Planned by another attempt meanwhile (one that outlived its heartbeat): its plan stands.
			if imp, err = i.Imports.Import(ctx, importID); err == nil {
				return i.planned(ctx, imp)
			}
		}
		return Planned{}, err
	}
	return Planned{Status: status, Pending: status == kamflow.ImportRunning}, nil
}

func (i *Importer) planned(ctx context.Context, imp *kamflow.Import) (Planned, error) {
	rows, err := i.Imports.PendingImportRows(ctx, imp.ID, 0, 1)
	if err != nil {
		return Planned{}, err
	}
	return Planned{Status: imp.Status, Pending: len(rows) > 0}, nil
}

// pending adds the plan's rows to import to rows, as pending rows with their records, by line.
func (p *importPlan) pending(rows []kamflow.ImportRow) ([]kamflow.ImportRow, error) {
	add := func(line int, rec any, cells []string) error {
		b, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("importer: encode line %d: %w", line, err)
		}
		rows = append(rows, kamflow.ImportRow{Line: line, Outcome: kamflow.OutcomePending, Record: b, Cells: cells})
		return nil
	}
	for _, a := range p.accounts {
		if err := add(a.Line, a.Account, p.cells[a.Line]); err != nil {
			return nil, err
		}
	}
	for _, c := range p.contacts {
		if err := add(c.Line, c.Contact, p.cells[c.Line]); err != nil {
			return nil, err
		}
	}
	for _, d := range p.deals {
		if err := add(d.line, dealRecord{ID: d.id, In: d.in, TeamID: d.in.TeamID, Stage: d.stage}, d.cells); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(rows, func(a, b kamflow.ImportRow) int { return a.Line - b.Line })
	return rows, nil
}

// Commit commits the import's pending rows in batches, by line, each batch in one transaction
// with the settling of its rows and their counts; beat is called after each batch (a heartbeat).
// When ctx is cancelled (the run is cancelled) Commit stops after its current batch and returns
// ctx's error: the batch itself finishes, on a context of its own. An error of the store or of a
// deal's workflow that is not the row's own (the database or Temporal away) is returned as it
// is, the rows settled so far staying settled: the step is retried.
func (i *Importer) Commit(ctx context.Context, importID string, by kamflow.Actor, beat func()) error {
	imp, err := i.Imports.Import(ctx, importID)
	if err != nil {
		return err
	}
	if imp.Status != kamflow.ImportRunning {
		return nil
	}
	work := context.WithoutCancel(ctx)
	switch imp.Kind {
	case kamflow.ImportDeals:
		return i.commitDeals(ctx, work, imp, by, beat)
	}
	after := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows, err := i.Imports.PendingImportRows(work, imp.ID, after, Batch)
		if err != nil || len(rows) == 0 {
			return err
		}
		after = rows[len(rows)-1].Line
		now := i.now()
		switch imp.Kind {
		case kamflow.ImportAccounts:
			batch := make([]kamflow.ImportedAccount, len(rows))
			for j, r := range rows {
				batch[j] = kamflow.ImportedAccount{Line: r.Line, Account: &kamflow.Account{}}
				if err := json.Unmarshal(r.Record, batch[j].Account); err != nil {
					return fmt.Errorf("importer: decode line %d of import %s: %w", r.Line, imp.ID, err)
				}
			}
			err = i.Imports.ImportAccounts(work, imp.ID, batch, by.ID, now)
		case kamflow.ImportContacts:
			batch := make([]kamflow.ImportedContact, len(rows))
			for j, r := range rows {
				batch[j] = kamflow.ImportedContact{Line: r.Line, Contact: &kamflow.Contact{}}
				if err := json.Unmarshal(r.Record, batch[j].Contact); err != nil {
					return fmt.Errorf("importer: decode line %d of import %s: %w", r.Line, imp.ID, err)
				}
			}
			err = i.Imports.ImportContacts(work, imp.ID, batch, by.ID, now)
		}
		if err != nil {
			return err
		}
		if beat != nil {
			beat()
		}
	}
}

// commitDeals opens each pending deal's workflow at its stage, DealStarts at a time, settling
// each chunk's rows once its starts have answered.
func (i *Importer) commitDeals(ctx, work context.Context, imp *kamflow.Import, by kamflow.Actor, beat func()) error {
	settings, err := i.Settings.Settings(work)
	if err != nil {
		return err
	}
	approvedBy := ""
	if imp.Approval != nil && imp.Approval.Decision == kamflow.ImportApproved {
		approvedBy = imp.Approval.By
	}
	timeout := i.CommandTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	start := func(r kamflow.ImportRow) outcome {
		var rec dealRecord
		if err := json.Unmarshal(r.Record, &rec); err != nil {
			return outcome{err: fmt.Errorf("importer: decode line %d of import %s: %w", r.Line, imp.ID, err)}
		}
		rec.In.TeamID = rec.TeamID
		mark := kamflow.DealImport{ImportID: imp.ID, Line: r.Line, ApprovedBy: approvedBy}
		d, created, err := kamflow.ImportDeal(rec.ID, rec.In, rec.Stage, mark, by, i.now(), settings)
		if err == nil {
			cctx, cancel := context.WithTimeout(work, timeout)
			_, err = i.Service.CreateDeal(cctx, d, created, settings)
			cancel()
		}
		switch code := kamflow.ErrorCode(err); {
		case err == nil:
			return outcome{}
		case code == kamflow.ECONFLICT:
			return i.takenDeal(work, imp, r.Line, rec)
		case infraError(err):
			return outcome{err: err}
		default:
			return outcome{row: &kamflow.ImportRow{Line: r.Line, Outcome: kamflow.OutcomeRejected, Cells: r.Cells,
				Issues: []kamflow.ImportIssue{{Line: r.Line, Code: kamflow.IssueFailed, Message: "the deal's workflow refused it: " + kamflow.ErrorMessage(err)}}}}
		}
	}
	// DealStarts starts run at a time, each followed by the next as it ends; their outcomes are
	// settled every settleEvery deals (and at the end). A start that fails for want of Temporal or
	// the database stops the feeding: the starts under way end, what ended is settled, and the
	// error is returned for the step to be retried (the rows not settled are pending still). A
	// cancel stops the feeding too: the starts under way end and are settled.
	//
	// The first deal goes alone: when Temporal is not answering, the step stops there without
	// sending the others into the same wall.
	if err := ctx.Err(); err != nil {
		return err
	}
	first, err := i.Imports.PendingImportRows(work, imp.ID, 0, 1)
	if err != nil || len(first) == 0 {
		return err
	}
	o := start(first[0])
	if o.err != nil {
		return o.err
	}
	lines := []int{first[0].Line}
	var settled []kamflow.ImportRow
	if o.row != nil {
		settled = append(settled, *o.row)
	}
	type result struct {
		row kamflow.ImportRow
		out outcome
	}
	jobs, results, stop := make(chan kamflow.ImportRow), make(chan result), make(chan struct{})
	var feedErr error
	go func() {
		defer close(jobs)
		after := first[0].Line
		for {
			rows, err := i.Imports.PendingImportRows(work, imp.ID, after, 100)
			if err != nil || len(rows) == 0 {
				feedErr = err
				return
			}
			after = rows[len(rows)-1].Line
			for _, r := range rows {
				select {
				case <-ctx.Done():
					return
				case <-stop:
					return
				case jobs <- r:
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for range DealStarts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				results <- result{r, start(r)}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	var stopErr error
	halt := func(err error) {
		if stopErr == nil {
			stopErr = err
			close(stop)
		}
	}
	flush := func() {
		if len(lines) == 0 {
			return
		}
		if err := i.Imports.SettleImportRows(work, imp.ID, lines, settled, i.now()); err != nil {
			halt(err)
		} else if beat != nil {
			beat()
		}
		lines, settled = nil, nil
	}
	for res := range results {
		if res.out.err != nil {
			halt(res.out.err) // left pending: the retried step starts it again (and finds it taken, if it was)
			continue
		}
		lines = append(lines, res.row.Line)
		if res.out.row != nil {
			settled = append(settled, *res.out.row)
		}
		if len(lines) >= settleEvery {
			flush()
		}
	}
	flush()
	switch {
	case stopErr != nil:
		return stopErr
	case feedErr != nil:
		return feedErr
	}
	return ctx.Err()
}

// settleEvery is how many deal starts' outcomes are settled in one transaction.
const settleEvery = 16

// takenWait is how long a deal found taken but not in the database is waited for before the step
// is tried again later.
var takenWait = 30 * time.Second

// outcome is a deal start's: err when it is to be tried again, row when the row was not
// imported, neither when it was.
type outcome struct {
	err error
	row *kamflow.ImportRow
}

// takenDeal settles a deal row whose start was refused as taken: the deal is this row's when its
// import mark is (an earlier attempt started it, and died before recording the row), another's
// otherwise (another run of the same file, or a deal opened by hand with the same ID). A deal
// whose workflow runs but is not projected yet is asked again later (the step is retried).
func (i *Importer) takenDeal(ctx context.Context, imp *kamflow.Import, line int, rec dealRecord) (out outcome) {
	d, err := i.Deals.Deal(ctx, rec.ID)
	// A deal started by an attempt whose worker died is projected once a worker runs its workflow:
	// soon, as a rule (this step runs on one).
	for wait := time.Now().Add(takenWait); kamflow.ErrorCode(err) == kamflow.ENOTFOUND && time.Now().Before(wait); {
		time.Sleep(250 * time.Millisecond)
		d, err = i.Deals.Deal(ctx, rec.ID)
	}
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
		out.err = fmt.Errorf("importer: deal %s of line %d is started but not projected yet", rec.ID, line)
		return out
	}
	if err != nil {
		out.err = err
		return out
	}
	if d.Imported != nil && d.Imported.ImportID == imp.ID && d.Imported.Line == line {
		return out
	}
	out.row = &kamflow.ImportRow{Line: line, Outcome: kamflow.OutcomeSkipped, EntityID: rec.ID,
		Issues: []kamflow.ImportIssue{{Line: line, Code: kamflow.IssueExists, Message: fmt.Sprintf("deal %s was imported meanwhile (another run of the same file)", rec.In.Title)}}}
	return out
}

// infraError reports whether a deal's start failed for want of Temporal or the database rather
// than for the deal itself.
func infraError(err error) bool {
	switch kamflow.ErrorCode(err) {
	case "", kamflow.ECONFLICT, kamflow.EINVALID, kamflow.ENOTFOUND, kamflow.EWRONGSTAGE, kamflow.EFORBIDDEN, kamflow.EGATENOTMET:
		return false
	}
	return true
}

// FinishInput is how a run ended: Cancelled by its importer or an admin, or stopped by Failure
// (what the user reads of why; "" when it did not fail).
type FinishInput struct {
	Cancelled bool   `json:"cancelled,omitempty"`
	Failure   string `json:"failure,omitempty"`
}

// Finish ends the run: cancelled, failed ("stopped at line …", the first line not committed),
// awaiting_approval when held rows wait for a director, else done. The rows still pending are
// then not imported. The run's audit entry is appended (once: its key is the run's) and, awaiting
// approval, the team's directors are told. A dry run ends as its plan left it.
func (i *Importer) Finish(ctx context.Context, importID, run string, by kamflow.Actor, in FinishInput) (*kamflow.Import, error) {
	imp, err := i.Imports.Import(ctx, importID)
	if err != nil {
		return nil, err
	}
	if imp.DryRun || run == RunFirst && imp.Approval != nil {
		return imp, nil // a dry run ends as planned; a first run ended before the approval
	}
	finished := imp.Status == kamflow.ImportDone || imp.Status == kamflow.ImportFailed || imp.Status == kamflow.ImportCancelled
	if !finished || imp.FinishedAt == nil {
		status, why := kamflow.ImportDone, ""
		rest := kamflow.ImportIssue{Code: kamflow.IssueCancelled, Message: "not imported: the import was cancelled before this row"}
		pending, err := i.Imports.PendingImportRows(ctx, imp.ID, 0, 1)
		if err != nil {
			return nil, err
		}
		switch {
		case in.Cancelled && len(pending) > 0:
			// A cancel that came once every row was committed changes nothing.
			status = kamflow.ImportCancelled
		case in.Failure != "" && (len(pending) > 0 || imp.Status == kamflow.ImportPending):
			status = kamflow.ImportFailed
			if len(pending) > 0 {
				why = fmt.Sprintf("stopped at line %d: %s; the rows before it are imported: run the same file again to import the rest", pending[0].Line, in.Failure)
			} else {
				why = "stopped before any row: " + in.Failure
			}
			rest = kamflow.ImportIssue{Code: kamflow.IssueStopped, Message: "not imported: the import stopped before this row: " + in.Failure}
		case imp.Held > 0:
			status = kamflow.ImportAwaiting
		}
		if err := i.Imports.FinishImport(ctx, imp.ID, status, why, rest, i.now()); err != nil {
			return nil, err
		}
		if imp, err = i.Imports.Import(ctx, importID); err != nil {
			return nil, err
		}
	}
	i.audit(ctx, imp, by, run)
	if imp.Status == kamflow.ImportAwaiting {
		i.askApproval(ctx, imp, by)
	}
	return imp, nil
}

// Retryable reports whether a step's error is the database or Temporal away (internal,
// unavailable): the step is tried again. Any other error is a refusal no retry changes.
func Retryable(err error) bool {
	c := kamflow.ErrorCode(err)
	return c == kamflow.EINTERNAL || c == kamflow.EUNAVAILABLE
}

// Stopped is the failure a run reads when err stopped it: a domain error says what it is;
// anything else is told as a failure to commit.
func Stopped(err error) string {
	if kamflow.ErrorCode(err) == kamflow.EINTERNAL {
		return "the database refused the rows"
	}
	return kamflow.ErrorMessage(err)
}

// audit appends the run's entry to the audit trail: who brought which file in, and what came of
// its rows. run names a run after the first (its entry's key).
func (i *Importer) audit(ctx context.Context, imp *kamflow.Import, by kamflow.Actor, run string) {
	if i.Audit == nil {
		return
	}
	key := "import:" + imp.ID
	if run != "" {
		key += ":" + run
	}
	summary := fmt.Sprintf("%s imported from %s: %d of %d rows imported, %d skipped as present, %d rejected",
		imp.Kind, imp.FileName, imp.Imported, imp.Total, imp.Skipped, imp.Rejected)
	if imp.NotImported > 0 {
		summary += fmt.Sprintf(", %d not imported", imp.NotImported)
	}
	if imp.Held > 0 {
		summary += fmt.Sprintf(", %d held for a director's approval", imp.Held)
	}
	e := &kamflow.AuditEntry{At: i.now(), Actor: by.ID, Action: "import." + string(imp.Status), EntityType: "import",
		EntityID: imp.ID, Key: key, Summary: summary,
		After: map[string]any{"kind": imp.Kind, "file_name": imp.FileName, "team_id": imp.TeamID, "total": imp.Total,
			"imported": imp.Imported, "skipped": imp.Skipped, "rejected": imp.Rejected, "held": imp.Held,
			"not_imported": imp.NotImported, "error": imp.Error},
	}
	if err := i.Audit.AppendAudit(ctx, e); err != nil {
		i.logger().Error("writing the audit trail", "action", e.Action, "entity", e.EntityID, "err", err)
	}
}

// askApproval tells the directors of the import's team, in the app, that it holds deals past
// development for them to approve or reject.
func (i *Importer) askApproval(ctx context.Context, imp *kamflow.Import, by kamflow.Actor) {
	if i.Notifications == nil {
		return
	}
	users, err := i.Users.Users(ctx)
	if err != nil {
		i.logger().Error("listing the directors of an import's team", "import", imp.ID, "err", err)
		return
	}
	now := i.now()
	var ns []kamflow.Notification
	for _, u := range users {
		if u.Role != kamflow.UserDirector || u.Disabled || !slices.Contains(u.Teams, imp.TeamID) {
			continue
		}
		ns = append(ns, kamflow.Notification{UserID: u.Username, Kind: kamflow.NoticeImportApproval,
			Key: "import-approval:" + imp.ID + ":" + u.Username, CreatedAt: now,
			Params: map[string]string{kamflow.NoticeParamBy: by.ID, kamflow.NoticeParamFile: imp.FileName, kamflow.NoticeParamDeals: strconv.Itoa(imp.Held)},
			Message: fmt.Sprintf("%s's import of %s holds %s past development for your approval (import page): they would skip their key nodes",
				by.ID, imp.FileName, Deals(imp.Held))})
	}
	if err := i.Notifications.Notify(ctx, ns); err != nil {
		i.logger().Error("telling the directors of an import awaiting approval", "import", imp.ID, "err", err)
	}
}

// Deals counts deals in a message: "1 deal", "3 deals".
func Deals(n int) string {
	if n == 1 {
		return "1 deal"
	}
	return fmt.Sprintf("%d deals", n)
}

// FileError turns a file that cannot be read into a domain error: too_large for one past a limit
// (the details name it: limit and its value in max, and where — line, column, sheet, part),
// invalid for the rest; the reason (and line) in the details.
func FileError(err error) error {
	var se *sheet.Error
	if !errors.As(err, &se) {
		return err
	}
	code := kamflow.EINVALID
	if se.Limit != "" {
		code = kamflow.ETOOLARGE
	}
	e := kamflow.Errorf(code, "%s", se.Message).WithDetail("reason", se.Reason).WithDetail("field", "file")
	for k, v := range map[string]string{"column": se.Column, "sheet": se.Sheet, "part": se.Part, "limit": se.Limit} {
		if v != "" {
			e.WithDetail(k, v)
		}
	}
	if se.Line > 0 {
		e.WithDetail("line", se.Line)
	}
	if se.Limit != "" {
		e.WithDetail("max", se.Max)
	}
	if se.Reason == "too_many_rows" {
		e.WithDetail("limit_rows", kamflow.MaxImportRows)
	}
	return e
}
