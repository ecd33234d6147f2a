package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// Approvals as a process (kamflow's approval.go): a KAM asks for a director's approval of a bid
// below the margin floor or of a contract (POST /deals/{id}/approvals); a director of the deal's
// team approves it or sends it back with a comment (POST /deals/{id}/approvals/{approval}/answer).
// Both are commands through the deal's workflow; who may give them is the domain's rule. The
// deal carries its approval history (approvals); a director's teams' history is GET
// /reports/approvals/history, read from the audit trail.

// approvalAnswerBody is a director's answer as the API takes it: the request is named in the path.
type approvalAnswerBody struct {
	Decision string `json:"decision"`
	Comment  string `json:"comment,omitempty"`
}

// readApprovalRequest reads CmdRequestApproval's body.
func readApprovalRequest(c echo.Context, cmd *kamflow.Command) error {
	v := new(kamflow.ApprovalRequestInput)
	if err := bind(c, v); err != nil {
		return err
	}
	cmd.Approval = v
	return nil
}

// readApprovalAnswer reads CmdAnswerApproval's path and body.
func readApprovalAnswer(c echo.Context, cmd *kamflow.Command) error {
	id, err := strconv.Atoi(c.Param("approval"))
	if err != nil || id < 1 {
		return kamflow.Errorf(kamflow.ENOTFOUND, "no approval request %q: requests are numbered from 1", c.Param("approval"))
	}
	v := new(approvalAnswerBody)
	if err := bind(c, v); err != nil {
		return err
	}
	cmd.Answer = &kamflow.ApprovalAnswerInput{ID: id, Decision: v.Decision, Comment: v.Comment}
	return nil
}

// The audit actions of the approval history.
var approvalAuditActions = []string{"deal." + string(kamflow.CmdRequestApproval), "deal." + string(kamflow.CmdAnswerApproval)}

// approvalEvent is one line of the approval history: a request or its answer, with the request as
// it stood after it.
type approvalEvent struct {
	At       time.Time        `json:"at"`
	Event    string           `json:"event"` // requested or answered
	Actor    string           `json:"actor"`
	DealID   string           `json:"deal_id"`
	Title    string           `json:"title"`
	Owner    string           `json:"owner"`
	Approval kamflow.Approval `json:"approval"`
}

// approvalHistory lists the approval requests and answers of the director's teams' deals, newest
// first.
func (s *Server) approvalHistory(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	me := s.actor(c)
	ctx := c.Request().Context()
	entries, total, err := s.cfg.Audit.Audit(ctx, kamflow.AuditFilter{Viewer: &me, Actions: approvalAuditActions, Page: p})
	if err != nil {
		return err
	}
	deals := map[string]*kamflow.Deal{}
	out := make([]approvalEvent, 0, len(entries))
	for _, e := range entries {
		ev := approvalEvent{At: e.At, Event: "answered", Actor: e.Actor, DealID: e.DealID}
		if e.Action == approvalAuditActions[0] {
			ev.Event = "requested"
		}
		// The entry's after is the request as JSON decoded without a type: read it back as one.
		b, err := json.Marshal(e.After)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &ev.Approval); err != nil {
			return err
		}
		d, ok := deals[e.DealID]
		if !ok {
			if d, err = s.cfg.Deals.Deal(ctx, e.DealID); err != nil && kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
				return err
			}
			deals[e.DealID] = d
		}
		if d != nil {
			ev.Title, ev.Owner = d.Title, d.Owner
		}
		out = append(out, ev)
	}
	return c.JSON(http.StatusOK, list[approvalEvent]{Items: out, Total: total, Limit: p.Limit, Offset: p.Offset})
}

// approvalRequestSort puts the approvals a KAM asked for first, the longest waiting first, then
// those waiting without a request (below the floor, or in negotiation, with nobody asking yet).
func approvalRequestSort(a, b approvalEntry) int {
	switch {
	case a.Request != nil && b.Request != nil:
		return a.Request.RequestedAt.Compare(b.Request.RequestedAt)
	case a.Request != nil:
		return -1
	case b.Request != nil:
		return 1
	}
	return a.UpdatedAt.Compare(b.UpdatedAt)
}

// approvalActions is what the signed-in user may do in the deal's approval process now, as the
// domain's rules decide it: the UI offers exactly these.
type approvalActions struct {
	// Request are the subjects they may ask a director's approval for (margin, contract).
	Request []string `json:"request"`
	// Answer are the IDs of the pending requests they may answer.
	Answer []int `json:"answer"`
}

func approvalActionsFor(me kamflow.Actor, d *kamflow.Deal, now time.Time) approvalActions {
	out := approvalActions{Request: []string{}, Answer: []int{}}
	// The approval commands' rules read no settings: the zero value stands in for them.
	var none kamflow.Settings
	for _, subject := range []string{kamflow.ApprovalMargin, kamflow.ApprovalContract} {
		cmd := kamflow.Command{Kind: kamflow.CmdRequestApproval, Actor: me, Approval: &kamflow.ApprovalRequestInput{Subject: subject}}
		if d.Check(cmd, now, none) == nil {
			out.Request = append(out.Request, subject)
		}
	}
	for _, a := range d.Approvals {
		if a.Status != kamflow.ApprovalPending {
			continue
		}
		cmd := kamflow.Command{Kind: kamflow.CmdAnswerApproval, Actor: me, Answer: &kamflow.ApprovalAnswerInput{ID: a.ID, Decision: kamflow.DecisionApprove}}
		if d.Check(cmd, now, none) == nil {
			out.Answer = append(out.Answer, a.ID)
		}
	}
	return out
}
