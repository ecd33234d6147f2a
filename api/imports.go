package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/sheet"
)

// Imports: POST /imports reads the uploaded file, checks every row against the file's own rows
// and the team's data, and records the import with the rows it will not import (rejected, or
// skipped as already present). A dry run stops there and answers the whole report. A real run
// answers at once and commits the good rows in the background, recording its counts in the
// database as each batch commits, so that any replica answers GET /imports/{id} with the progress.
// Should the process stop mid-run, the import shows as failed once its record has not moved for
// importStale; running the same file again imports the rest and skips what is there.
//
// No row is ever imported twice: each record's ID follows from its natural key (the external id
// of the row, else the account's normalised name within the team, the deal's account and title,
// the contact's account, name and phone or e-mail), so a second run — even one racing the first —
// finds the record there: the account's insert does nothing, the deal's workflow ID is taken.
//
// The file is read a row at a time (sheet.Open) under importLimits, and refused whole at its first
// structural excess; a dry run keeps the rows it reports (MaxReportIssues issues) and a sample of
// its rejected rows' cells, and counts the rest. So what an upload costs follows from its rows.
//
// Deals past development that a KAM imports skip the key nodes before their stage (assessment,
// bid, margin approval): they are held (outcome held) while the rest of the file goes ahead, and
// the import is awaiting_approval until a director of the team approves it (POST
// /imports/{id}/approve: the held rows are read again, as the KAM's, and their deals opened, each
// marked approved_by) or rejects it (/reject: the held rows are rejected, with the reason). The
// team's directors are told in the app, and the KAM of the decision.

// importBodyLimit is the request body limit of an upload: the file and the multipart framing
// around it.
const importBodyLimit = kamflow.MaxImportBytes + 1<<20

// importStale is how long a pending or running import's record may stand still before the import
// is reported as interrupted: far longer than a batch of accounts takes, or one deal's workflow
// start (CommandTimeout).
const importStale = 2 * time.Minute

// importBatch is how many accounts or contacts commit in one transaction.
const importBatch = 1000

// maxReportIssues bounds the issues listed in a report; the rejected file of a real run has every
// row.
const maxReportIssues = kamflow.MaxReportIssues

// importLimits bound what an import file may hold (sheet.Limits).
var importLimits = sheet.Limits{Rows: kamflow.MaxImportRows, Columns: kamflow.MaxImportColumns, CellChars: kamflow.MaxImportCellChars,
	Text: kamflow.MaxImportText, Unpacked: kamflow.MaxImportUnpacked, Ratio: kamflow.MaxImportUnpackRatio}

// importIDSpace namespaces the IDs derived from natural keys.
var importIDSpace = uuid.MustParse("0b9a3f0e-6c1d-4e57-9d0a-6b616d696d70")

// importJobs are the runs committing in the background of this process.
type importJobs struct{ wg sync.WaitGroup }

// WaitImports waits until the imports this server is running in the background are finished: for
// tests and for a graceful shutdown.
func (s *Server) WaitImports() { s.jobs.wg.Wait() }

// isUpload reports whether the request uploads an import file, whose body may exceed the API's
// body limit.
func isUpload(c echo.Context) bool {
	return c.Request().Method == http.MethodPost && c.Path() == "/api/v1/imports"
}

// uploadLimit caps an upload's body at importBodyLimit (the other requests have the API's body
// limit). It runs before anything reads the body, the Idempotency-Key check included.
func (s *Server) uploadLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !isUpload(c) {
			return next(c)
		}
		req := c.Request()
		if req.ContentLength > importBodyLimit {
			return fileTooLarge()
		}
		req.Body = &limitedBody{ReadCloser: req.Body, left: importBodyLimit}
		return next(c)
	}
}

// fileTooLarge is the error of a file over the limit: an *echo.HTTPError, which the body's
// readers pass on as it is, holding the domain error the client gets.
func fileTooLarge() error {
	return &echo.HTTPError{Code: http.StatusRequestEntityTooLarge, Message: "file too large",
		Internal: kamflow.Errorf(kamflow.ETOOLARGE, "the file is larger than %d MiB: split it into several files", kamflow.MaxImportBytes>>20).
			WithDetail("reason", "too_large").WithDetail("limit_bytes", kamflow.MaxImportBytes)}
}

type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fileTooLarge()
	}
	if int64(len(p)) > b.left {
		p = p[:b.left+1] // one byte more than allowed tells a body over the limit from one at it
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, fileTooLarge()
	}
	return n, err
}

// readUpload reads the part named "file" of a multipart/form-data body.
func readUpload(c echo.Context) (name string, data []byte, err error) {
	passOn := func(err error, what string) error {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return kamflow.Errorf(kamflow.EINVALID, "%s", what).WithDetail("field", "file")
	}
	mr, err := c.Request().MultipartReader()
	if err != nil {
		return "", nil, kamflow.Errorf(kamflow.EINVALID, "send the file as multipart/form-data, in a part named file").WithDetail("field", "file")
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return "", nil, kamflow.Errorf(kamflow.EINVALID, "the body has no part named file").WithDetail("field", "file")
		}
		if err != nil {
			return "", nil, passOn(err, "the multipart body cannot be read")
		}
		if part.FormName() != "file" {
			continue // NextPart skips what is left of it
		}
		data, err := io.ReadAll(io.LimitReader(part, kamflow.MaxImportBytes+1))
		if err != nil {
			return "", nil, passOn(err, "the file cannot be read")
		}
		if len(data) > kamflow.MaxImportBytes {
			return "", nil, fileTooLarge()
		}
		return part.FileName(), data, nil
	}
}

// importReport is an import as the API shows it: the record with its rows' issues, rejected and
// skipped, by line.
type importReport struct {
	*kamflow.Import
	Issues []importIssue `json:"issues"`
	// IssuesTruncated says the list stops at 10,000 issues: the rejected file has every row.
	IssuesTruncated bool `json:"issues_truncated"`
}

// importIssue is one issue of the report with what became of its row.
type importIssue struct {
	kamflow.ImportIssue
	Outcome  kamflow.ImportOutcome `json:"outcome"`
	EntityID string                `json:"entity_id,omitempty"`
}

func (s *Server) createImport(c echo.Context) error {
	ctx := c.Request().Context()
	kind, err := kamflow.ParseImportKind(c.QueryParam("kind"))
	if err != nil {
		return err
	}
	if kind == kamflow.ImportContacts && !s.contactsImport() {
		return kamflow.Errorf(kamflow.EINVALID, "contacts cannot be imported yet").WithDetail("field", "kind")
	}
	dryRun := true
	if v := c.QueryParam("dry_run"); v != "" {
		if dryRun, err = strconv.ParseBool(v); err != nil {
			return kamflow.Errorf(kamflow.EINVALID, "dry_run must be true or false").WithDetail("field", "dry_run")
		}
	}
	me := s.actor(c)
	team, err := importTeam(c, me)
	if err != nil {
		return err
	}
	name, data, err := readUpload(c)
	if err != nil {
		return err
	}
	f, err := sheet.Open(data, name, importLimits)
	if err != nil {
		return fileError(err)
	}
	defer f.Close()
	h, err := kamflow.MapImportHeader(kind, f.Head().Cells)
	if err != nil {
		var de *kamflow.Error
		if errors.As(err, &de) {
			de.WithDetail("line", f.Head().Line)
		}
		return err
	}
	h.SerialDates, h.Date1904 = f.Format == sheet.XLSX, f.Date1904

	now := s.cfg.Now().UTC()
	imp := &kamflow.Import{ID: s.cfg.NewID(), Kind: kind, DryRun: dryRun, Status: kamflow.ImportPending, FileName: name,
		Format: string(f.Format), Encoding: f.Encoding, Columns: h.Columns, TeamID: team, CreatedBy: me.ID,
		Date1904: f.Date1904, CreatedAt: now, UpdatedAt: now}
	p, err := s.planImport(ctx, imp, h, f.Rows(), me, nil)
	if ferr := f.Err(); ferr != nil {
		return fileError(ferr) // the file stops at its first excess: nothing of it is kept
	}
	if err != nil {
		return err
	}
	imp.Total = f.Count()
	imp.Rejected, imp.Skipped, imp.Held = p.progress.Rejected, p.progress.Skipped, p.progress.Held
	imp.Processed = imp.Rejected + imp.Skipped
	switch {
	case dryRun:
		// Nothing is written but the report: what a real run would import is counted as imported.
		imp.Imported, imp.Status, imp.FinishedAt = p.size(), kamflow.ImportDone, &now
		imp.Processed += imp.Imported
	case p.size() == 0 && imp.Held > 0:
		imp.Status = kamflow.ImportAwaiting
	case p.size() == 0:
		imp.Status, imp.FinishedAt = kamflow.ImportDone, &now
	}
	if err := s.cfg.Imports.CreateImport(ctx, imp, p.rows); err != nil {
		return err
	}
	// 201 either way: the import is created, done (a dry run), awaiting approval, or committing in
	// the background.
	if !dryRun {
		switch imp.Status {
		case kamflow.ImportDone:
			s.auditImport(imp, me, "")
		case kamflow.ImportAwaiting:
			s.auditImport(imp, me, "")
			s.askApproval(imp, me)
		default:
			run := *imp // the run's own: the answer below still reads imp
			s.startImport(&run, p, me, "")
		}
	}
	c.Response().Header().Set("Location", "/api/v1/imports/"+imp.ID)
	rep := importReport{Import: imp, Issues: []importIssue{}}
	for _, r := range p.rows {
		if rep.add(r) {
			break
		}
	}
	rep.truncated(len(p.rows))
	return c.JSON(http.StatusCreated, rep)
}

// truncated marks the report truncated when it lists fewer rows than the import counts as not
// imported: a dry run keeps only the rows of its first MaxReportIssues issues.
func (rep *importReport) truncated(rows int) {
	if rows < rep.Rejected+rep.Skipped+rep.Held {
		rep.IssuesTruncated = true
	}
}

// add lists a row's issues in the report; it reports whether the list is full.
func (rep *importReport) add(r kamflow.ImportRow) bool {
	for _, is := range r.Issues {
		if len(rep.Issues) == maxReportIssues {
			rep.IssuesTruncated = true
			return true
		}
		rep.Issues = append(rep.Issues, importIssue{ImportIssue: is, Outcome: r.Outcome, EntityID: r.EntityID})
	}
	return false
}

// importTeam is the team an import brings its records into: the team query parameter, one of the
// user's teams, by default their first (as for an account created by hand).
func importTeam(c echo.Context, me kamflow.Actor) (string, error) {
	if len(me.Teams) == 0 {
		return "", kamflow.Errorf(kamflow.EINVALID, "you belong to no sales team; ask an admin to add you to one")
	}
	team := c.QueryParam("team")
	if team == "" {
		return me.Teams[0], nil
	}
	for _, t := range me.Teams {
		if t == team {
			return team, nil
		}
	}
	return "", kamflow.Errorf(kamflow.EINVALID, "team %q is not one of yours", team).WithDetail("field", "team")
}

// fileError turns a file that cannot be read into the API's error: too_large for one past a limit
// (the details name it: limit and its value in max, and where — line, column, sheet, part),
// invalid for the rest; the reason (and line) in the details.
func fileError(err error) error {
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

// importPlan is what a run will do: the rows it will not import, and the records it will create.
type importPlan struct {
	kind     kamflow.ImportKind
	rows     []kamflow.ImportRow // rejected, skipped and held, by line
	progress kamflow.ImportProgress
	accounts []kamflow.ImportedAccount
	contacts []kamflow.ImportedContact
	deals    []plannedDeal
	// dryRun keeps rows as far as the report lists them (issues of them), and the cells of the
	// first rejected ones (sampled of them, sampledBytes of text): the others are counted only.
	dryRun       bool
	issues       int
	sampled      int
	sampledBytes int
	// approvedBy is the director who approved the held rows the plan reads again.
	approvedBy string
}

// plannedDeal is a deal to open at its stage when the run commits.
type plannedDeal struct {
	line  int
	cells []string // for the rejected file, should its workflow refuse it
	id    string
	in    kamflow.NewDealInput
	stage kamflow.Stage
}

func (p *importPlan) size() int { return len(p.accounts) + len(p.contacts) + len(p.deals) }

// keep records a row that is not imported. A real run keeps every one; a dry run those of the
// issues its report lists, and the cells of a sample of its rejected rows.
func (p *importPlan) keep(r kamflow.ImportRow) {
	if p.dryRun {
		if p.issues+len(r.Issues) > maxReportIssues {
			return // counted, not kept
		}
		size := 0
		for _, c := range r.Cells {
			size += len(c)
		}
		if r.Outcome != kamflow.OutcomeRejected || p.sampled == kamflow.DryRunSampleRows || p.sampledBytes+size > kamflow.DryRunSampleBytes {
			r.Cells = nil
		} else {
			p.sampled++
			p.sampledBytes += size
		}
	}
	p.issues += len(r.Issues)
	p.rows = append(p.rows, r)
}

func (p *importPlan) reject(line int, cells []string, issues []kamflow.ImportIssue) {
	p.keep(kamflow.ImportRow{Line: line, Outcome: kamflow.OutcomeRejected, Issues: issues, Cells: cells})
	p.progress.Rejected++
}

func (p *importPlan) skip(line int, column, field, entityID, message string) {
	p.keep(kamflow.ImportRow{Line: line, Outcome: kamflow.OutcomeSkipped, EntityID: entityID,
		Issues: []kamflow.ImportIssue{{Line: line, Column: column, Field: field, Code: kamflow.IssueExists, Message: message}}})
	p.progress.Skipped++
}

// hold records a deal row that waits for a director's approval, with its cells: read again when a
// director approves.
func (p *importPlan) hold(line int, cells []string, issue kamflow.ImportIssue) {
	p.keep(kamflow.ImportRow{Line: line, Outcome: kamflow.OutcomeHeld, Issues: []kamflow.ImportIssue{issue}, Cells: cells})
	p.progress.Held++
}

// importContext is what checking a file's rows needs to know of the team.
type importContext struct {
	s      *Server
	imp    *kamflow.Import
	h      *kamflow.ImportHeader
	me     kamflow.Actor
	users  map[string]*kamflow.User // by lower-case username
	byID   map[string]kamflow.AccountKey
	byName map[string]kamflow.AccountKey // by NormName
	// approval is a director's approval of the held rows being read again: nothing is held then.
	approval *kamflow.ImportApproval
}

// issue builds a row's issue about a field.
func (x *importContext) issue(line int, field, code, format string, args ...any) kamflow.ImportIssue {
	col := field
	for _, c := range x.h.Columns {
		if c.Field == field {
			col = c.Column
		}
	}
	return kamflow.ImportIssue{Line: line, Column: col, Field: field, Code: code, Message: fmt.Sprintf(format, args...)}
}

// derivedID is the ID of a record with the given natural key in the import's team.
func (x *importContext) derivedID(what, key string) string {
	return uuid.NewSHA1(importIDSpace, []byte(what+"\x00"+x.imp.TeamID+"\x00"+key)).String()
}

// owner checks a row's owner: the importer by default, or a KAM of the team.
func (x *importContext) owner(line int, owner string) (string, *kamflow.ImportIssue) {
	if owner == "" || strings.EqualFold(owner, x.me.ID) {
		return x.me.ID, nil
	}
	u := x.users[strings.ToLower(owner)]
	if u == nil || u.Role != kamflow.UserKAM || u.Disabled || !containsTeam(u.Teams, x.imp.TeamID) {
		is := x.issue(line, "owner", kamflow.IssueOwner, "%s is not a KAM of the team", owner)
		return "", &is
	}
	return u.Username, nil
}

func containsTeam(teams []string, team string) bool {
	for _, t := range teams {
		if t == team {
			return true
		}
	}
	return false
}

// account finds the account a deal or contact row names: by id (a kamflow id, or the external id
// of an imported account), else by name, among the team's accounts.
func (x *importContext) account(line int, ref, name string) (kamflow.AccountKey, *kamflow.ImportIssue) {
	if ref != "" {
		if k, ok := x.byID[ref]; ok {
			return k, nil
		}
		if k, ok := x.byID[x.derivedID("account", "ext:"+ref)]; ok {
			return k, nil
		}
	}
	if name != "" {
		if k, ok := x.byName[kamflow.NormName(name)]; ok {
			return k, nil
		}
	}
	var is kamflow.ImportIssue
	switch {
	case ref != "" && name != "":
		is = x.issue(line, "account_id", kamflow.IssueAccount, "no account %s (nor one named %s) in the team: import the accounts first", ref, name)
	case ref != "":
		is = x.issue(line, "account_id", kamflow.IssueAccount, "no account %s in the team: import the accounts first", ref)
	default:
		is = x.issue(line, "account", kamflow.IssueAccount, "no account named %s in the team: import the accounts first", name)
	}
	return kamflow.AccountKey{}, &is
}

// planImport checks every row as it comes and sorts it: rejected, skipped as present, held for a
// director, or to import. approval is set when the rows are an import's held rows, approved.
func (s *Server) planImport(ctx context.Context, imp *kamflow.Import, h *kamflow.ImportHeader, rows iter.Seq[sheet.Row], me kamflow.Actor, approval *kamflow.ImportApproval) (*importPlan, error) {
	users, err := s.cfg.Users.Users(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := s.cfg.Imports.TeamAccounts(ctx, imp.TeamID)
	if err != nil {
		return nil, err
	}
	x := &importContext{s: s, imp: imp, h: h, me: me, users: map[string]*kamflow.User{},
		byID: map[string]kamflow.AccountKey{}, byName: map[string]kamflow.AccountKey{}, approval: approval}
	for _, u := range users {
		x.users[strings.ToLower(u.Username)] = u
	}
	for _, k := range keys {
		x.byID[k.ID] = k
		if n := kamflow.NormName(k.Name); n != "" {
			if _, dup := x.byName[n]; !dup {
				x.byName[n] = k
			}
		}
	}
	p := &importPlan{kind: imp.Kind, dryRun: imp.DryRun}
	if approval != nil {
		p.approvedBy = approval.By
	}
	switch imp.Kind {
	case kamflow.ImportAccounts:
		x.planAccounts(p, rows)
	case kamflow.ImportDeals:
		if err := x.planDeals(ctx, p, rows); err != nil {
			return nil, err
		}
	case kamflow.ImportContacts:
		if err := x.planContacts(ctx, p, rows); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// planAccounts sorts account rows. A row of a kamflow export (its id column an account's id) is
// present, whatever its cells. Any other row is checked for what the file alone decides — its
// cells, its owner (the importer, or a KAM of the team), an earlier row of the same account (by
// external id, else by normalised name) — and rejected with every issue it has; a good row is
// then skipped when the account is in kamflow already, else imported. So each run of a file gives
// its bad rows the same verdicts, and a good row is imported once.
func (x *importContext) planAccounts(p *importPlan, rows iter.Seq[sheet.Row]) {
	seenExt, seenName := map[string]int{}, map[string]int{}
	now := x.imp.CreatedAt
	for r := range rows {
		if ext := x.h.Value(r.Cells, "external_id"); ext != "" {
			// An account created by hand may have a name no import would take.
			if k, ok := x.byID[ext]; ok {
				p.skip(r.Line, x.column("external_id"), "external_id", k.ID, fmt.Sprintf("account %s is already in kamflow", k.Name))
				continue
			}
		}
		rec, issues := kamflow.ParseAccountRow(x.h, r.Line, r.Cells)
		owner := ""
		if !hasIssue(issues, "owner") {
			var is *kamflow.ImportIssue
			if owner, is = x.owner(r.Line, rec.Owner); is != nil {
				issues = append(issues, *is)
			}
		}
		norm := kamflow.NormName(rec.Name)
		if l, ok := seenExt[rec.ExternalID]; ok && rec.ExternalID != "" {
			issues = append(issues, x.issue(r.Line, "external_id", kamflow.IssueDuplicate, "the same account as line %d (external id %s)", l, rec.ExternalID))
		} else if l, ok := seenName[norm]; ok && norm != "" {
			issues = append(issues, x.issue(r.Line, "name", kamflow.IssueDuplicate, "the same account as line %d (%s)", l, rec.Name))
		}
		if len(issues) > 0 {
			p.reject(r.Line, r.Cells, sortIssues(x.h, issues))
			continue
		}
		seenName[norm] = r.Line
		if rec.ExternalID != "" {
			seenExt[rec.ExternalID] = r.Line
		}
		id := x.derivedID("account", "name:"+norm)
		if rec.ExternalID != "" {
			id = x.derivedID("account", "ext:"+rec.ExternalID)
		}
		if k, ok := x.byID[id]; ok {
			p.skip(r.Line, x.column("name"), "name", k.ID, fmt.Sprintf("account %s is already in kamflow", k.Name))
			continue
		}
		if k, ok := x.byName[norm]; ok {
			p.skip(r.Line, x.column("name"), "name", k.ID, fmt.Sprintf("an account named %s is already in kamflow", k.Name))
			continue
		}
		p.accounts = append(p.accounts, kamflow.ImportedAccount{Line: r.Line, Account: &kamflow.Account{
			ID: id, Name: rec.Name, Industry: rec.Industry, Region: rec.Region, Address: rec.Address, Owner: owner,
			TeamID: x.imp.TeamID, Notes: rec.Notes, CreatedAt: now, UpdatedAt: now,
		}})
	}
}

// sortIssues orders a row's issues by the file's columns, so that a report reads left to right.
func sortIssues(h *kamflow.ImportHeader, issues []kamflow.ImportIssue) []kamflow.ImportIssue {
	pos := func(is kamflow.ImportIssue) int {
		for i, c := range h.Columns {
			if c.Column == is.Column && is.Column != "" {
				return i
			}
		}
		return len(h.Columns) // an extra cell, the account …
	}
	slices.SortStableFunc(issues, func(a, b kamflow.ImportIssue) int { return pos(a) - pos(b) })
	return issues
}

func hasIssue(issues []kamflow.ImportIssue, field string) bool {
	for _, is := range issues {
		if is.Field == field {
			return true
		}
	}
	return false
}

// column is the file's head of a field.
func (x *importContext) column(field string) string { return x.issue(0, field, "", "").Column }

// planDeals sorts deal rows as planAccounts does: a row of a kamflow export is present; any other
// row is checked for its cells, the account it names (one of the team's), its owner and an earlier
// row of the same deal (by external id, else by account and title), then skipped when the deal is
// in kamflow already. A deal still to open must be open before delivery: a won or closed deal
// cannot start its workflow at a sales stage. A deal past development the importer may not bring
// in alone (Actor.ImportNeedsApproval) is held for a director, unless the rows are held rows a
// director approved.
func (x *importContext) planDeals(ctx context.Context, p *importPlan, rows iter.Seq[sheet.Row]) error {
	deals, err := x.s.cfg.Imports.TeamDeals(ctx, x.imp.TeamID)
	if err != nil {
		return err
	}
	byID, byTitle := map[string]kamflow.DealKey{}, map[string]kamflow.DealKey{}
	for _, d := range deals {
		byID[d.ID] = d
		byTitle[d.AccountID+"\x00"+kamflow.NormName(d.Title)] = d
	}
	seenExt, seenTitle := map[string]int{}, map[string]int{}
	for r := range rows {
		if ext := x.h.Value(r.Cells, "external_id"); ext != "" {
			if k, ok := byID[ext]; ok {
				p.skip(r.Line, x.column("external_id"), "external_id", k.ID, fmt.Sprintf("deal %s is already in kamflow", k.Title))
				continue
			}
		}
		rec, issues := kamflow.ParseDealRow(x.h, r.Line, r.Cells)
		var acc kamflow.AccountKey
		if !hasIssue(issues, "account") && !hasIssue(issues, "account_id") && (rec.AccountRef != "" || rec.Account != "") {
			var is *kamflow.ImportIssue
			if acc, is = x.account(r.Line, rec.AccountRef, rec.Account); is != nil {
				issues = append(issues, *is)
			}
		}
		owner := ""
		if !hasIssue(issues, "owner") {
			var is *kamflow.ImportIssue
			if owner, is = x.owner(r.Line, rec.Owner); is != nil {
				issues = append(issues, *is)
			}
		}
		titleKey := acc.ID + "\x00" + kamflow.NormName(rec.Title)
		if l, ok := seenExt[rec.ExternalID]; ok && rec.ExternalID != "" {
			issues = append(issues, x.issue(r.Line, "external_id", kamflow.IssueDuplicate, "the same deal as line %d (external id %s)", l, rec.ExternalID))
		} else if l, ok := seenTitle[titleKey]; ok && rec.ExternalID == "" && acc.ID != "" {
			issues = append(issues, x.issue(r.Line, "title", kamflow.IssueDuplicate, "the same deal as line %d (%s on %s)", l, rec.Title, acc.Name))
		}
		if len(issues) > 0 {
			p.reject(r.Line, r.Cells, sortIssues(x.h, issues))
			continue
		}
		id := x.derivedID("deal", "title:"+titleKey)
		if rec.ExternalID != "" {
			seenExt[rec.ExternalID] = r.Line
			id = x.derivedID("deal", "ext:"+rec.ExternalID)
		} else {
			seenTitle[titleKey] = r.Line
		}
		if k, ok := byID[id]; ok {
			p.skip(r.Line, x.column("title"), "title", k.ID, fmt.Sprintf("deal %s is already in kamflow", k.Title))
			continue
		}
		if k, ok := byTitle[titleKey]; ok && rec.ExternalID == "" {
			p.skip(r.Line, x.column("title"), "title", k.ID, fmt.Sprintf("a deal %s on %s is already in kamflow", k.Title, acc.Name))
			continue
		}
		if is := rec.NotOpen(x.h); is != nil {
			p.reject(r.Line, r.Cells, []kamflow.ImportIssue{*is})
			continue
		}
		in := kamflow.NewDealInput{AccountID: acc.ID, Title: rec.Title, Value: rec.Value, Currency: rec.Currency,
			ExpectedClose: rec.ExpectedClose, Owner: owner, TeamID: x.imp.TeamID}
		if err := in.Validate(); err != nil {
			field := ""
			var de *kamflow.Error
			if errors.As(err, &de) {
				field, _ = de.Details["field"].(string)
			}
			p.reject(r.Line, r.Cells, []kamflow.ImportIssue{x.issue(r.Line, field, kamflow.EINVALID, "%s", kamflow.ErrorMessage(err))})
			continue
		}
		if x.approval == nil && x.me.ImportNeedsApproval(x.imp.TeamID, rec.Stage) {
			p.hold(r.Line, r.Cells, x.issue(r.Line, "stage", kamflow.IssueNeedsApproval,
				"%s is at the %s stage, past development: its key nodes before (assessment, bid, margin approval) count as passed, so a sales director of the team approves its import",
				rec.Title, rec.Stage))
			continue
		}
		p.deals = append(p.deals, plannedDeal{line: r.Line, cells: r.Cells, id: id, in: in, stage: rec.Stage})
	}
	return nil
}

// startImport commits the plan in the background. Its context is its own: the request that
// started it ends at once. A run whose import holds rows for a director ends awaiting approval,
// and the team's directors are told. run names a run after the first (its audit entry's key):
// "approved" for the held rows' run after an approval.
func (s *Server) startImport(imp *kamflow.Import, p *importPlan, me kamflow.Actor, run string) {
	s.jobs.wg.Add(1)
	go func() {
		defer s.jobs.wg.Done()
		ctx := context.Background()
		prog := kamflow.ImportProgress{Processed: imp.Processed, Imported: imp.Imported, Skipped: imp.Skipped, Rejected: imp.Rejected, Held: imp.Held}
		var err error
		defer func() {
			// A bug must not take the server down with it, nor leave the import running for ever.
			if r := recover(); r != nil {
				s.cfg.Logger.Error("panic in an import", "import", imp.ID, "panic", r)
				why := "stopped by an internal error; the rows before it are imported: run the same file again to import the rest"
				if ferr := s.cfg.Imports.FinishImport(ctx, imp.ID, prog, kamflow.ImportFailed, why, s.cfg.Now().UTC()); ferr != nil {
					s.cfg.Logger.Error("finishing an import", "import", imp.ID, "err", ferr)
				}
			}
		}()
		switch p.kind {
		case kamflow.ImportAccounts:
			prog, err = s.commitAccounts(ctx, imp, p, prog, me)
		case kamflow.ImportContacts:
			prog, err = s.commitContacts(ctx, imp, p, prog, me)
		case kamflow.ImportDeals:
			prog, err = s.commitDeals(ctx, imp, p, prog, me)
		}
		status, why := kamflow.ImportDone, ""
		switch {
		case err != nil:
			status, why = kamflow.ImportFailed, err.Error()
		case prog.Held > 0:
			status = kamflow.ImportAwaiting
		}
		now := s.cfg.Now().UTC()
		ferr := s.cfg.Imports.FinishImport(ctx, imp.ID, prog, status, why, now)
		if ferr != nil {
			s.cfg.Logger.Error("finishing an import", "import", imp.ID, "err", ferr)
		}
		imp.Status, imp.Error = status, why
		imp.Processed, imp.Imported, imp.Skipped, imp.Rejected, imp.Held = prog.Processed, prog.Imported, prog.Skipped, prog.Rejected, prog.Held
		s.auditImport(imp, me, run)
		if status == kamflow.ImportAwaiting && ferr == nil {
			s.askApproval(imp, me)
		}
	}()
}

// stopped is the error that ends a run: what the user reads in the import's error. A domain
// error says what it is; anything else is logged and told as a failure to commit.
func (s *Server) stopped(imp *kamflow.Import, line int, err error) error {
	msg := kamflow.ErrorMessage(err)
	if kamflow.ErrorCode(err) == kamflow.EINTERNAL {
		s.cfg.Logger.Error("committing an import", "import", imp.ID, "line", line, "err", err)
		msg = "the database refused the rows"
	}
	return fmt.Errorf("stopped at line %d: %s; the rows before it are imported: run the same file again to import the rest", line, msg)
}

func (s *Server) commitAccounts(ctx context.Context, imp *kamflow.Import, p *importPlan, prog kamflow.ImportProgress, me kamflow.Actor) (kamflow.ImportProgress, error) {
	for start := 0; start < len(p.accounts); start += importBatch {
		batch := p.accounts[start:min(len(p.accounts), start+importBatch)]
		next, err := s.cfg.Imports.ImportAccounts(ctx, imp.ID, prog, batch, me.ID, s.cfg.Now().UTC())
		if err != nil {
			return prog, s.stopped(imp, batch[0].Line, err)
		}
		prog = next
	}
	return prog, nil
}

// dealStarts is how many imported deals' workflows are started at once: each start waits for its
// deal's projection, so starting them one by one would leave the workers idle.
const dealStarts = 8

// commitDeals opens each deal's workflow at its stage, dealStarts at a time, recording the
// progress every few deals. The results are taken in the file's order.
func (s *Server) commitDeals(ctx context.Context, imp *kamflow.Import, p *importPlan, prog kamflow.ImportProgress, me kamflow.Actor) (kamflow.ImportProgress, error) {
	settings, err := s.cfg.Settings.Settings(ctx)
	if err != nil {
		return prog, s.stopped(imp, p.deals[0].line, err)
	}
	var rows []kamflow.ImportRow
	last := time.Now()
	record := func(force bool) error {
		if !force && len(rows) == 0 && time.Since(last) < 2*time.Second {
			return nil
		}
		last = time.Now()
		err := s.cfg.Imports.RecordImportProgress(ctx, imp.ID, prog, kamflow.ImportRunning, rows, s.cfg.Now().UTC())
		rows = nil
		return err
	}
	start := func(pd plannedDeal) error {
		mark := kamflow.DealImport{ImportID: imp.ID, Line: pd.line, ApprovedBy: p.approvedBy}
		d, created, err := kamflow.ImportDeal(pd.id, pd.in, pd.stage, mark, me, s.cfg.Now().UTC(), settings)
		if err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
		defer cancel()
		_, err = s.cfg.Service.CreateDeal(cctx, d, created, settings)
		return err
	}
	for from := 0; from < len(p.deals); from += dealStarts {
		chunk := p.deals[from:min(from+dealStarts, len(p.deals))]
		errs := make([]error, len(chunk))
		// The chunk's first deal goes alone: when Temporal is not answering, the run stops there
		// without sending the others into the same wall.
		errs[0] = start(chunk[0])
		if infraError(errs[0]) {
			chunk = chunk[:1]
		}
		var wg sync.WaitGroup
		for j, pd := range chunk {
			if j == 0 {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[j] = start(pd)
			}()
		}
		wg.Wait()
		var stop error
		stopLine := 0
		for j, pd := range chunk {
			err := errs[j]
			if infraError(err) {
				// Temporal or the database is not answering: the chunk's other deals are counted,
				// then the run stops; the user runs the file again later (what is imported stays,
				// and is skipped then).
				if stop == nil {
					stop, stopLine = err, pd.line
				}
				continue
			}
			prog = s.dealOutcome(prog, pd, err, &rows)
		}
		if stop != nil {
			if rerr := record(true); rerr != nil {
				s.cfg.Logger.Error("recording an import's progress", "import", imp.ID, "err", rerr)
			}
			return prog, s.stopped(imp, stopLine, stop)
		}
		if err := record(from+len(chunk) == len(p.deals)); err != nil {
			return prog, s.stopped(imp, chunk[len(chunk)-1].line, err)
		}
	}
	return prog, nil
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

// dealOutcome counts an imported deal's start and notes its row when it was not imported.
func (s *Server) dealOutcome(prog kamflow.ImportProgress, pd plannedDeal, err error, rows *[]kamflow.ImportRow) kamflow.ImportProgress {
	prog.Processed++
	switch kamflow.ErrorCode(err) {
	case "":
		prog.Imported++
	case kamflow.ECONFLICT:
		// Its workflow ID is taken: another run of the file opened it meanwhile.
		prog.Skipped++
		*rows = append(*rows, kamflow.ImportRow{Line: pd.line, Outcome: kamflow.OutcomeSkipped, EntityID: pd.id,
			Issues: []kamflow.ImportIssue{{Line: pd.line, Code: kamflow.IssueExists, Message: fmt.Sprintf("deal %s was imported meanwhile (another run of the same file)", pd.in.Title)}}})
	default:
		prog.Rejected++
		*rows = append(*rows, kamflow.ImportRow{Line: pd.line, Outcome: kamflow.OutcomeRejected, Cells: pd.cells,
			Issues: []kamflow.ImportIssue{{Line: pd.line, Code: kamflow.IssueFailed, Message: "the deal's workflow refused it: " + kamflow.ErrorMessage(err)}}})
	}
	return prog
}

// auditImport appends the run's entry to the audit trail: who brought which file in, and what
// came of its rows. run names a run after the first (see startImport).
func (s *Server) auditImport(imp *kamflow.Import, me kamflow.Actor, run string) {
	key := "import:" + imp.ID
	if run != "" {
		key += ":" + run
	}
	summary := fmt.Sprintf("%s imported from %s: %d of %d rows imported, %d skipped as present, %d rejected",
		imp.Kind, imp.FileName, imp.Imported, imp.Total, imp.Skipped, imp.Rejected)
	if imp.Held > 0 {
		summary += fmt.Sprintf(", %d held for a director's approval", imp.Held)
	}
	e := &kamflow.AuditEntry{At: s.cfg.Now().UTC(), Actor: me.ID, Action: "import." + string(imp.Status), EntityType: "import",
		EntityID: imp.ID, Key: key, Summary: summary,
		After: map[string]any{"kind": imp.Kind, "file_name": imp.FileName, "team_id": imp.TeamID, "total": imp.Total,
			"imported": imp.Imported, "skipped": imp.Skipped, "rejected": imp.Rejected, "held": imp.Held, "error": imp.Error},
	}
	s.appendAudit(e)
}

func (s *Server) appendAudit(e *kamflow.AuditEntry) {
	if err := s.cfg.Audit.AppendAudit(context.Background(), e); err != nil {
		s.cfg.Logger.Error("writing the audit trail", "action", e.Action, "entity", e.EntityID, "err", err)
	}
}

// visibleImport loads the import named in the path, or answers not_found when the user may not
// read it.
func (s *Server) visibleImport(c echo.Context) (*kamflow.Import, error) {
	imp, err := s.cfg.Imports.Import(c.Request().Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	if me := s.actor(c); !me.CanReadImport(imp) {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "import %q not found", c.Param("id"))
	}
	s.interrupted(imp)
	return imp, nil
}

// interrupted shows an import whose run stopped with its process as failed: its record has not
// moved for importStale.
func (s *Server) interrupted(imp *kamflow.Import) {
	if (imp.Status == kamflow.ImportPending || imp.Status == kamflow.ImportRunning) && s.cfg.Now().Sub(imp.UpdatedAt) > importStale {
		imp.Status = kamflow.ImportFailed
		imp.Error = fmt.Sprintf("interrupted: no progress since %s (the server running it stopped); run the same file again to import the rest",
			imp.UpdatedAt.UTC().Format(time.RFC3339))
	}
}

func (s *Server) getImport(c echo.Context) error {
	imp, err := s.visibleImport(c)
	if err != nil {
		return err
	}
	rep, err := s.report(c.Request().Context(), imp)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// report is an import with the issues of its stored rows.
func (s *Server) report(ctx context.Context, imp *kamflow.Import) (*importReport, error) {
	rep := &importReport{Import: imp, Issues: []importIssue{}}
	errFull := errors.New("full")
	rows := 0
	err := s.cfg.Imports.ImportRows(ctx, imp.ID, "", func(r kamflow.ImportRow) error {
		rows++
		if rep.add(r) {
			return errFull
		}
		return nil
	})
	if err != nil && err != errFull {
		return nil, err
	}
	if err == nil {
		rep.truncated(rows)
	}
	return rep, nil
}

func (s *Server) listImports(c echo.Context) error {
	me := s.actor(c)
	p, err := page(c)
	if err != nil {
		return err
	}
	f := kamflow.ImportFilter{Viewer: &me, Limit: p.Limit}
	switch st := kamflow.ImportStatus(c.QueryParam("status")); st {
	case "":
	case kamflow.ImportPending, kamflow.ImportRunning, kamflow.ImportDone, kamflow.ImportFailed, kamflow.ImportAwaiting:
		f.Status = st
	default:
		return kamflow.Errorf(kamflow.EINVALID, "status %q must be one of pending, running, done, failed, awaiting_approval", st).WithDetail("field", "status")
	}
	items, err := s.cfg.Imports.Imports(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*kamflow.Import{}
	}
	for _, imp := range items {
		s.interrupted(imp)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}
