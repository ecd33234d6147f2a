package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/importer"
	"github.com/kamflow/kamflow/sheet"
)

// Imports: POST /imports reads the uploaded file, maps its head and reads every row once for the
// file's structure (a file past a limit, or one that cannot be read, is refused whole, nothing of
// it kept). Then, intent first, it starts the import's workflow on the worker (ImportService) and
// stores the import with its file; the workflow plans the rows (package importer), commits them
// in batches and finishes the import, recording its progress in the database, so that any replica
// answers GET /imports/{id} and a restart of any process changes nothing in the outcome. The
// request waits a little (Config.ImportWait) for the plan, so that a dry run of a small file is
// answered whole; otherwise it answers the import pending, and the client reads it again.
//
// Deals past development that a KAM imports skip the key nodes before their stage (assessment,
// bid, margin approval): they are held (outcome held) while the rest of the file goes ahead, and
// the import is awaiting_approval until a director of the team approves it (POST
// /imports/{id}/approve: the approved run reads the held rows again, as the KAM's, and opens their
// deals, each marked approved_by) or rejects it (/reject: the held rows are rejected, with the
// reason). The team's directors are told in the app, and the KAM of the decision. A running import
// may be cancelled (POST /imports/{id}/cancel): what is committed stays, the rest is not imported.

// importBodyLimit is the request body limit of an upload: the file and the multipart framing
// around it.
const importBodyLimit = kamflow.MaxImportBytes + 1<<20

// maxReportIssues bounds the issues listed in a report; the rejected file of a real run has every
// row.
const maxReportIssues = kamflow.MaxReportIssues

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
	f, err := sheet.Open(data, name, importer.Limits)
	if err != nil {
		return importer.FileError(err)
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
	for range f.Rows() {
		// The file's structure only: its rows are checked on the worker.
	}
	if ferr := f.Err(); ferr != nil {
		return importer.FileError(ferr) // the file stops at its first excess: nothing of it is kept
	}

	now := s.cfg.Now().UTC()
	imp := &kamflow.Import{ID: s.cfg.NewID(), Kind: kind, DryRun: dryRun, Status: kamflow.ImportPending, FileName: name,
		Format: string(f.Format), Encoding: f.Encoding, Columns: h.Columns, TeamID: team, CreatedBy: me.ID,
		Date1904: f.Date1904, Total: f.Count(), CreatedAt: now, UpdatedAt: now}
	// Intent first: a run started for an import never stored ends by itself, with nothing done.
	if err := s.importsRun(); err != nil {
		return err
	}
	if err := s.cfg.Import.StartImport(ctx, imp.ID, importer.RunFirst, me); err != nil {
		return err
	}
	if err := s.cfg.Imports.CreateImport(ctx, imp, data); err != nil {
		return err
	}
	got, err := s.awaitImport(ctx, imp.ID, func(imp *kamflow.Import) bool { return imp.Status != kamflow.ImportPending })
	if err != nil {
		return err
	}
	// 201 whatever its status: the import is created, planned or not yet.
	c.Response().Header().Set("Location", "/api/v1/imports/"+imp.ID)
	rep, err := s.report(ctx, got)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, rep)
}

// importsRun refuses an import's run on a server configured without the service that runs them.
func (s *Server) importsRun() error {
	if s.cfg.Import == nil {
		return kamflow.Errorf(kamflow.EUNAVAILABLE, "imports are not available on this server")
	}
	return nil
}

// awaitImport reads the import until done says its run got there, for up to Config.ImportWait:
// then as it stands.
func (s *Server) awaitImport(ctx context.Context, id string, done func(*kamflow.Import) bool) (*kamflow.Import, error) {
	until := time.Now().Add(s.cfg.ImportWait)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		imp, err := s.cfg.Imports.Import(ctx, id)
		if err != nil || done(imp) || !time.Now().Before(until) {
			return imp, err
		}
		select {
		case <-ctx.Done():
			return imp, nil
		case <-time.After(wait):
		}
	}
}

// cancelImport asks a pending or running import to stop: its importer or an admin. What is
// committed stays; the rest is reported not imported once the run has stopped (202: the import
// as it stands, cancelled when the run stopped within ImportWait).
func (s *Server) cancelImport(c echo.Context) error {
	ctx := c.Request().Context()
	imp, err := s.visibleImport(c)
	if err != nil {
		return err
	}
	me := s.actor(c)
	if imp.CreatedBy != me.ID && me.Role != kamflow.UserAdmin {
		return kamflow.Errorf(kamflow.EFORBIDDEN, "only %s, who ran import %s, or an admin cancels it", imp.CreatedBy, imp.ID)
	}
	if imp.Status != kamflow.ImportPending && imp.Status != kamflow.ImportRunning {
		return kamflow.Errorf(kamflow.ECONFLICT, "import %s is %s: only a pending or running import is cancelled", imp.ID, imp.Status)
	}
	if err := s.importsRun(); err != nil {
		return err
	}
	if err := s.cfg.Import.CancelImport(ctx, imp.ID); err != nil {
		return err
	}
	got, err := s.awaitImport(ctx, imp.ID, func(imp *kamflow.Import) bool {
		return imp.Status != kamflow.ImportPending && imp.Status != kamflow.ImportRunning
	})
	if err != nil {
		return err
	}
	rep, err := s.report(ctx, got)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, rep)
}

// truncated marks the report truncated when it lists fewer rows than the import counts as not
// imported: a dry run keeps only the rows of its first MaxReportIssues issues.
func (rep *importReport) truncated(rows int) {
	if rows < rep.Rejected+rep.Skipped+rep.Held+rep.NotImported {
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
	return imp, nil
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
	case kamflow.ImportPending, kamflow.ImportRunning, kamflow.ImportDone, kamflow.ImportFailed, kamflow.ImportAwaiting, kamflow.ImportCancelled:
		f.Status = st
	default:
		return kamflow.Errorf(kamflow.EINVALID, "status %q must be one of pending, running, done, failed, awaiting_approval, cancelled", st).WithDetail("field", "status")
	}
	items, err := s.cfg.Imports.Imports(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*kamflow.Import{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}
