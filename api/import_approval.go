package api

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/sheet"
)

// A KAM's import of deals past development: the deals come in with the key nodes before their
// stage passed (the assessment, the bid, the margin approval), which only a sales director of the
// team may let them skip. Such rows are held (outcome held, kept with their cells) while the rest
// of the file goes ahead; the import is awaiting_approval once the rest is committed, and the
// team's directors are told in the app. A director of the team approves it — its held rows are
// read again as the KAM's rows, against the team's data as it is now, and their deals opened,
// each marked approved_by the director — or rejects it with a reason, which each held row carries
// as rejected (not_approved) into the rejected file. Either decision is taken once, on the audit
// trail, and the KAM is told.

func (s *Server) approveImport(c echo.Context) error { return s.decideImport(c, true) }

func (s *Server) rejectImport(c echo.Context) error { return s.decideImport(c, false) }

// decideImport takes a director's decision on an import awaiting approval.
func (s *Server) decideImport(c echo.Context, approve bool) error {
	var in kamflow.ImportDecisionInput
	if err := bind(c, &in); err != nil {
		return err
	}
	if err := in.Validate(approve); err != nil {
		return err
	}
	ctx := c.Request().Context()
	imp, err := s.visibleImport(c)
	if err != nil {
		return err
	}
	me := s.actor(c)
	if !me.CanDecideImport(imp) {
		return kamflow.Errorf(kamflow.EFORBIDDEN, "only a sales director of team %s approves or rejects the deals its imports hold", imp.TeamID)
	}
	if imp.Status != kamflow.ImportAwaiting {
		return kamflow.Errorf(kamflow.ECONFLICT, "import %s is %s: only an import awaiting approval is approved or rejected", imp.ID, imp.Status)
	}
	var held []kamflow.ImportRow
	if err := s.cfg.Imports.ImportRows(ctx, imp.ID, kamflow.OutcomeHeld, func(r kamflow.ImportRow) error {
		held = append(held, r)
		return nil
	}); err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	a := kamflow.ImportApproval{Decision: kamflow.ImportRejected, By: me.ID, At: now, Reason: strings.TrimSpace(in.Reason)}
	prog := kamflow.ImportProgress{Processed: imp.Processed, Imported: imp.Imported, Skipped: imp.Skipped, Rejected: imp.Rejected}
	var p *importPlan
	var importer kamflow.Actor
	rows := make([]kamflow.ImportRow, 0, len(held))
	status := kamflow.ImportDone
	if approve {
		a.Decision = kamflow.ImportApproved
		if importer, err = s.importer(ctx, imp); err != nil {
			return err
		}
		h, err := heldHeader(imp)
		if err != nil {
			return err
		}
		// The held rows are read again, as the KAM's, against the team's data as it is now: a row
		// whose deal came in meanwhile is skipped, one whose owner left the team rejected.
		cells := func(yield func(sheet.Row) bool) {
			for _, r := range held {
				if !yield(sheet.Row{Line: r.Line, Cells: r.Cells}) {
					return
				}
			}
		}
		if p, err = s.planImport(ctx, imp, h, cells, importer, &a); err != nil {
			return err
		}
		rows = p.rows
		prog.Rejected += p.progress.Rejected
		prog.Skipped += p.progress.Skipped
		prog.Processed += p.progress.Rejected + p.progress.Skipped
		if p.size() > 0 {
			status = kamflow.ImportRunning
		}
	} else {
		col := ""
		for _, c := range imp.Columns {
			if c.Field == "stage" {
				col = c.Column
			}
		}
		for _, r := range held {
			rows = append(rows, kamflow.ImportRow{Line: r.Line, Outcome: kamflow.OutcomeRejected, Cells: r.Cells,
				Issues: []kamflow.ImportIssue{{Line: r.Line, Column: col, Field: "stage", Code: kamflow.IssueNotApproved,
					Message: fmt.Sprintf("%s did not approve the import of this deal past development: %s", me.ID, a.Reason)}}})
		}
		prog.Rejected += len(held)
		prog.Processed += len(held)
	}
	if err := s.cfg.Imports.DecideImport(ctx, imp.ID, a, status, prog, rows, now); err != nil {
		return err
	}
	count := imp.Held
	imp.Status, imp.Approval, imp.UpdatedAt = status, &a, now
	imp.Processed, imp.Imported, imp.Skipped, imp.Rejected, imp.Held = prog.Processed, prog.Imported, prog.Skipped, prog.Rejected, 0
	if status == kamflow.ImportDone {
		imp.FinishedAt = &now
	}
	s.auditDecision(imp, me, count)
	s.tellImporter(imp, count)
	if status == kamflow.ImportRunning {
		run := *imp
		s.startImport(&run, p, importer, "approved")
	}
	rep, err := s.report(ctx, imp)
	if err != nil {
		return err
	}
	return c.JSON(200, rep)
}

// importer is the actor of the user who ran an import, as they are now: the held rows are theirs.
// One who may no longer import into the team (disabled, moved) cannot have them approved.
func (s *Server) importer(ctx context.Context, imp *kamflow.Import) (kamflow.Actor, error) {
	u, err := s.cfg.Users.UserByUsername(ctx, imp.CreatedBy)
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
		u, err = nil, nil
	}
	if err != nil {
		return kamflow.Actor{}, err
	}
	if u == nil || u.Disabled || (u.Role != kamflow.UserKAM && u.Role != kamflow.UserDirector) || !slices.Contains(u.Teams, imp.TeamID) {
		return kamflow.Actor{}, kamflow.Errorf(kamflow.ECONFLICT,
			"%s may no longer import into team %s: reject the import, and have a KAM of the team import the file again", imp.CreatedBy, imp.TeamID)
	}
	return u.Actor(), nil
}

// heldHeader is the head of the file an import read, as its held rows are read again.
func heldHeader(imp *kamflow.Import) (*kamflow.ImportHeader, error) {
	heads := make([]string, len(imp.Columns))
	for i, c := range imp.Columns {
		heads[i] = c.Column
	}
	h, err := kamflow.MapImportHeader(imp.Kind, heads)
	if err != nil {
		return nil, kamflow.Errorf(kamflow.ECONFLICT, "the held rows of import %s cannot be read again (%s): reject it and import the file again",
			imp.ID, kamflow.ErrorMessage(err))
	}
	h.SerialDates, h.Date1904 = imp.Format == string(sheet.XLSX), imp.Date1904
	return h, nil
}

// askApproval tells the directors of the import's team, in the app, that it holds deals past
// development for them to approve or reject.
func (s *Server) askApproval(imp *kamflow.Import, by kamflow.Actor) {
	if s.cfg.Notifications == nil {
		return
	}
	ctx := context.Background()
	users, err := s.cfg.Users.Users(ctx)
	if err != nil {
		s.cfg.Logger.Error("listing the directors of an import's team", "import", imp.ID, "err", err)
		return
	}
	now := s.cfg.Now().UTC()
	var ns []kamflow.Notification
	for _, u := range users {
		if u.Role != kamflow.UserDirector || u.Disabled || !slices.Contains(u.Teams, imp.TeamID) {
			continue
		}
		ns = append(ns, kamflow.Notification{UserID: u.Username, Kind: kamflow.NoticeImportApproval,
			Key: "import-approval:" + imp.ID + ":" + u.Username, CreatedAt: now,
			Message: fmt.Sprintf("%s's import of %s holds %s past development for your approval (import page): they would skip their key nodes",
				by.ID, imp.FileName, deals(imp.Held))})
	}
	if err := s.cfg.Notifications.Notify(ctx, ns); err != nil {
		s.cfg.Logger.Error("telling the directors of an import awaiting approval", "import", imp.ID, "err", err)
	}
}

// tellImporter tells the KAM a director's decision on the rows their import held.
func (s *Server) tellImporter(imp *kamflow.Import, n int) {
	if s.cfg.Notifications == nil {
		return
	}
	a := imp.Approval
	msg := fmt.Sprintf("%s approved the import of %s past development from %s", a.By, deals(n), imp.FileName)
	if a.Decision == kamflow.ImportRejected {
		msg = fmt.Sprintf("%s rejected the import of %s past development from %s: %s", a.By, deals(n), imp.FileName, a.Reason)
	}
	err := s.cfg.Notifications.Notify(context.Background(), []kamflow.Notification{{UserID: imp.CreatedBy, Kind: kamflow.NoticeImportDecision,
		Key: "import-decision:" + imp.ID, Message: msg, CreatedAt: a.At}})
	if err != nil {
		s.cfg.Logger.Error("telling an importer the decision", "import", imp.ID, "err", err)
	}
}

// auditDecision appends a director's decision to the audit trail.
func (s *Server) auditDecision(imp *kamflow.Import, me kamflow.Actor, n int) {
	a := imp.Approval
	verb := map[string]string{kamflow.ImportApproved: "approve", kamflow.ImportRejected: "reject"}[a.Decision]
	summary := fmt.Sprintf("%s %s the import of %s past development from %s (%s's import)", me.ID, a.Decision, deals(n), imp.FileName, imp.CreatedBy)
	if a.Reason != "" {
		summary += ": " + a.Reason
	}
	s.appendAudit(&kamflow.AuditEntry{At: a.At, Actor: me.ID, Action: "import." + verb, EntityType: "import", EntityID: imp.ID,
		Key: "import:" + imp.ID + ":decision", Summary: summary,
		After: map[string]any{"decision": a.Decision, "reason": a.Reason, "held": n, "team_id": imp.TeamID, "created_by": imp.CreatedBy}})
}

func deals(n int) string {
	if n == 1 {
		return "1 deal"
	}
	return fmt.Sprintf("%d deals", n)
}
