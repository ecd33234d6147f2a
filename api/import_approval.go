package api

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/importer"
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
	now := s.cfg.Now().UTC()
	a := kamflow.ImportApproval{Decision: kamflow.ImportRejected, By: me.ID, At: now, Reason: strings.TrimSpace(in.Reason)}
	count := imp.Held
	if approve {
		a.Decision = kamflow.ImportApproved
		kam, err := s.importer(ctx, imp)
		if err != nil {
			return err
		}
		// Intent first: the approved run waits for the approval, and ends with nothing done when
		// it is never stored (this request failed, or another director rejected the import).
		if err := s.importsRun(); err != nil {
			return err
		}
		if err := s.cfg.Import.StartImport(ctx, imp.ID, importer.RunApproved, kam); err != nil {
			return err
		}
		if err := s.cfg.Imports.DecideImport(ctx, imp.ID, a, kamflow.ImportPending, imp.Progress(), nil, now); err != nil {
			return err
		}
	} else {
		var held []kamflow.ImportRow
		if err := s.cfg.Imports.ImportRows(ctx, imp.ID, kamflow.OutcomeHeld, func(r kamflow.ImportRow) error {
			held = append(held, r)
			return nil
		}); err != nil {
			return err
		}
		col := ""
		for _, c := range imp.Columns {
			if c.Field == "stage" {
				col = c.Column
			}
		}
		rows := make([]kamflow.ImportRow, 0, len(held))
		for _, r := range held {
			rows = append(rows, kamflow.ImportRow{Line: r.Line, Outcome: kamflow.OutcomeRejected, Cells: r.Cells,
				Issues: []kamflow.ImportIssue{{Line: r.Line, Column: col, Field: "stage", Code: kamflow.IssueNotApproved,
					Message: fmt.Sprintf("%s did not approve the import of this deal past development: %s", me.ID, a.Reason)}}})
		}
		prog := imp.Progress()
		prog.Rejected += len(held)
		prog.Processed += len(held)
		prog.Held = 0
		if err := s.cfg.Imports.DecideImport(ctx, imp.ID, a, kamflow.ImportDone, prog, rows, now); err != nil {
			return err
		}
	}
	imp.Approval = &a
	s.auditDecision(imp, me, count)
	s.tellImporter(imp, count)
	got := imp
	if approve {
		// The approved run's plan, as a first run's, within ImportWait.
		if got, err = s.awaitImport(ctx, imp.ID, func(imp *kamflow.Import) bool { return imp.Status != kamflow.ImportPending }); err != nil {
			return err
		}
	} else if got, err = s.cfg.Imports.Import(ctx, imp.ID); err != nil {
		return err
	}
	rep, err := s.report(ctx, got)
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

// tellImporter tells the KAM a director's decision on the rows their import held.
func (s *Server) tellImporter(imp *kamflow.Import, n int) {
	if s.cfg.Notifications == nil {
		return
	}
	a := imp.Approval
	msg := fmt.Sprintf("%s approved the import of %s past development from %s", a.By, importer.Deals(n), imp.FileName)
	if a.Decision == kamflow.ImportRejected {
		msg = fmt.Sprintf("%s rejected the import of %s past development from %s: %s", a.By, importer.Deals(n), imp.FileName, a.Reason)
	}
	err := s.cfg.Notifications.Notify(context.Background(), []kamflow.Notification{{UserID: imp.CreatedBy, Kind: kamflow.NoticeImportDecision,
		Key: "import-decision:" + imp.ID, Message: msg, CreatedAt: a.At,
		Params: map[string]string{kamflow.NoticeParamBy: a.By, kamflow.NoticeParamDecision: a.Decision,
			kamflow.NoticeParamFile: imp.FileName, kamflow.NoticeParamDeals: strconv.Itoa(n)}}})
	if err != nil {
		s.cfg.Logger.Error("telling an importer the decision", "import", imp.ID, "err", err)
	}
}

// auditDecision appends a director's decision to the audit trail.
func (s *Server) auditDecision(imp *kamflow.Import, me kamflow.Actor, n int) {
	a := imp.Approval
	verb := map[string]string{kamflow.ImportApproved: "approve", kamflow.ImportRejected: "reject"}[a.Decision]
	summary := fmt.Sprintf("%s %s the import of %s past development from %s (%s's import)", me.ID, a.Decision, importer.Deals(n), imp.FileName, imp.CreatedBy)
	if a.Reason != "" {
		summary += ": " + a.Reason
	}
	s.appendAudit(&kamflow.AuditEntry{At: a.At, Actor: me.ID, Action: "import." + verb, EntityType: "import", EntityID: imp.ID,
		Key: "import:" + imp.ID + ":decision", Summary: summary,
		After: map[string]any{"decision": a.Decision, "reason": a.Reason, "held": n, "team_id": imp.TeamID, "created_by": imp.CreatedBy}})
}
