package kamflow

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Approvals as a process. A bid below the margin floor and a contract wait for a sales director
// of the deal's team. The KAM asks for the approval with a note (CmdRequestApproval); the team's
// directors are told in the app; one of them approves it or sends it back with a comment
// (CmdAnswerApproval). Each request is answered once; the KAM asks again after a send-back, which
// is a new request. Every request stays on the deal (Deal.Approvals): its approval history.
//
// The older commands CmdApproveMargin and CmdApproveContract, with which a director approves
// without being asked, keep working as they did (old histories and API clients); a request
// waiting on the same subject is then answered by them, as approved.

// The subjects of an approval request are the approval kinds of the digest: ApprovalMargin (a
// bid below the margin floor) and ApprovalContract (a contract in negotiation).

// ApprovalStatus is where an approval request stands.
type ApprovalStatus string

// The statuses of an approval request.
const (
	ApprovalPending  ApprovalStatus = "pending"   // waiting for a director
	ApprovalApproved ApprovalStatus = "approved"  // a director approved it
	ApprovalSentBack ApprovalStatus = "sent_back" // a director sent it back, with a comment
	// ApprovalWithdrawn: the request no longer applies and nobody answered it — the bid it was
	// for was revised, or the deal left the stage or closed.
	ApprovalWithdrawn ApprovalStatus = "withdrawn"
)

// The decisions a director gives on an approval request.
const (
	DecisionApprove  = "approve"
	DecisionSendBack = "send_back"
)

// The notification kinds of the approval process. Their Params (all strings) fill the kind's
// text in the reader's language:
//
//	approval_requested (to each director of the deal's team):
//	  approval, title, subject, requested_by and by (the same), note; margin_pct, floor, price, cost (margin only)
//	approval_answered (to the KAM who asked, and to the deal's owner if another):
//	  approval, title, subject, decision (approved or sent_back), answered_by and by (the same), comment
const (
	NoticeApprovalRequested = "approval_requested"
	NoticeApprovalAnswered  = "approval_answered"
)

// MaxApprovals bounds the approval requests a deal records (see DealBudget): far more than any
// deal needs, even with many send-backs.
const MaxApprovals = 100

// Approval is one approval request and its answer.
type Approval struct {
	// ID numbers the deal's requests from 1, in the order they were made.
	ID      int    `json:"id"`
	Subject string `json:"subject"` // ApprovalMargin or ApprovalContract
	// Stage is the stage the deal was in when asked.
	Stage       Stage     `json:"stage"`
	Note        string    `json:"note,omitempty"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	// The bid as it was asked for (margin requests): an approval covers these figures only.
	Cost      Money   `json:"cost,omitempty"`
	Price     Money   `json:"price,omitempty"`
	MarginPct float64 `json:"margin_pct,omitempty"`
	Floor     float64 `json:"floor,omitempty"`

	Status     ApprovalStatus `json:"status"`
	AnsweredBy string         `json:"answered_by,omitempty"`
	AnsweredAt *time.Time     `json:"answered_at,omitempty"`
	Comment    string         `json:"comment,omitempty"`
}

// ApprovalRequestInput is CmdRequestApproval's input.
type ApprovalRequestInput struct {
	Subject string `json:"subject"`
	Note    string `json:"note,omitempty"`
}

// ApprovalAnswerInput is CmdAnswerApproval's input: the request's ID, DecisionApprove or
// DecisionSendBack, and the comment (required to send back).
type ApprovalAnswerInput struct {
	ID       int    `json:"id"`
	Decision string `json:"decision"`
	Comment  string `json:"comment,omitempty"`
}

// PendingRequest is the request waiting for a director on subject, or nil.
func (d *Deal) PendingRequest(subject string) *Approval {
	for i := range d.Approvals {
		if a := &d.Approvals[i]; a.Subject == subject && a.Status == ApprovalPending {
			return a
		}
	}
	return nil
}

func (d *Deal) approval(id int) *Approval {
	for i := range d.Approvals {
		if d.Approvals[i].ID == id {
			return &d.Approvals[i]
		}
	}
	return nil
}

// awaits reports whether subject still waits for a director's approval as the deal now stands,
// and why not.
func (d *Deal) awaits(subject string) error {
	switch subject {
	case ApprovalMargin:
		if err := d.requireStage(CmdRequestApproval, Bid); err != nil {
			return err
		}
		if d.Bid == nil {
			return wrongStage("there is no bid to approve").WithDetail("reason", "no_bid")
		}
		if !d.Bid.BelowFloor() {
			return wrongStage("the bid's margin %.2f%% is at or above the floor %.2f%%; it needs no approval", d.Bid.MarginPct, d.Bid.Floor).
				WithDetail("reason", "above_floor")
		}
		if d.Bid.MarginApprovedBy != "" {
			return wrongStage("the bid's margin is approved already, by %s", d.Bid.MarginApprovedBy).WithDetail("reason", "approved")
		}
	case ApprovalContract:
		if err := d.requireStage(CmdRequestApproval, Negotiation); err != nil {
			return err
		}
		if d.Contract.ApprovedBy != "" {
			return wrongStage("the contract is approved already, by %s", d.Contract.ApprovedBy).WithDetail("reason", "approved")
		}
	default:
		return Errorf(EINVALID, "subject %q must be one of margin, contract", subject).WithDetail("field", "subject")
	}
	return nil
}

// checkApprovalRequest is CmdRequestApproval's rules.
func (d *Deal) checkApprovalRequest(in *ApprovalRequestInput) error {
	if in == nil {
		return Errorf(EINVALID, "subject is required").WithDetail("field", "subject")
	}
	if err := checkText("note", in.Note, false, maxReason); err != nil {
		return err
	}
	if err := d.awaits(in.Subject); err != nil {
		return err
	}
	if p := d.PendingRequest(in.Subject); p != nil {
		return Errorf(ECONFLICT, "the %s approval was asked for already (request %d) and waits for a director", in.Subject, p.ID).
			WithDetail("approval", p.ID)
	}
	if len(d.Approvals) >= MaxApprovals {
		return Errorf(EINVALID, "a deal records at most %d approval requests", MaxApprovals).WithDetail("limit", MaxApprovals)
	}
	return nil
}

// checkApprovalAnswer is CmdAnswerApproval's rules.
func (d *Deal) checkApprovalAnswer(in *ApprovalAnswerInput) error {
	if in == nil {
		return Errorf(EINVALID, "decision is required").WithDetail("field", "decision")
	}
	a := d.approval(in.ID)
	if a == nil {
		return Errorf(ENOTFOUND, "the deal has no approval request %d", in.ID).WithDetail("field", "id")
	}
	if a.Status != ApprovalPending {
		return Errorf(ECONFLICT, "approval request %d is %s already: a request is answered once", a.ID, a.Status).
			WithDetail("approval_status", string(a.Status))
	}
	switch in.Decision {
	case DecisionApprove:
		if err := checkText("comment", in.Comment, false, maxReason); err != nil {
			return err
		}
	case DecisionSendBack:
		// The KAM must learn what to change: a send-back without a word is refused.
		if err := checkText("comment", in.Comment, true, maxReason); err != nil {
			return err
		}
	default:
		return Errorf(EINVALID, "decision %q must be one of approve, send_back", in.Decision).WithDetail("field", "decision")
	}
	// Withdrawn requests are settled on every change (settleApprovals), so a pending one still
	// applies; this only guards against a request the rules would not have left pending.
	return d.awaits(a.Subject)
}

// requestApproval applies CmdRequestApproval.
func (d *Deal) requestApproval(in *ApprovalRequestInput, who string, now time.Time) {
	a := Approval{ID: len(d.Approvals) + 1, Subject: in.Subject, Stage: d.Stage, Note: strings.TrimSpace(in.Note),
		RequestedBy: who, RequestedAt: now, Status: ApprovalPending}
	if n := len(d.Approvals); n > 0 {
		a.ID = d.Approvals[n-1].ID + 1
	}
	if in.Subject == ApprovalMargin {
		a.Cost, a.Price, a.MarginPct, a.Floor = d.Bid.Cost, d.Bid.Price, d.Bid.MarginPct, d.Bid.Floor
	}
	d.Approvals = append(d.Approvals, a)
}

// answerApproval applies CmdAnswerApproval; an approval approves the subject as the older
// commands do.
func (d *Deal) answerApproval(in *ApprovalAnswerInput, who string, now time.Time) {
	a := d.approval(in.ID)
	t := now
	a.AnsweredBy, a.AnsweredAt, a.Comment = who, &t, strings.TrimSpace(in.Comment)
	if in.Decision == DecisionSendBack {
		a.Status = ApprovalSentBack
		return
	}
	a.Status = ApprovalApproved
	switch a.Subject {
	case ApprovalMargin:
		d.Bid.MarginApprovedBy, d.Bid.MarginApprovedAt = who, &t
	case ApprovalContract:
		d.Contract.ApprovedBy, d.Contract.ApprovedAt = who, &t
	}
}

// settleApprovals closes the pending requests the deal's change has settled: one whose subject a
// director approved meanwhile by the older commands is approved (by them); one that no longer
// applies — the bid revised to other figures, or at or above the floor, the deal in another stage
// or closed — is withdrawn. It returns the requests it approved. A deal without requests (every
// deal before approvals were a process) is left as it is.
func (d *Deal) settleApprovals(now time.Time) []Approval {
	var approved []Approval
	for i := range d.Approvals {
		a := &d.Approvals[i]
		if a.Status != ApprovalPending {
			continue
		}
		t := now
		switch {
		case a.Subject == ApprovalMargin && d.Stage == Bid && d.Bid != nil && d.Bid.MarginApprovedBy != "":
			a.Status, a.AnsweredBy, a.AnsweredAt = ApprovalApproved, d.Bid.MarginApprovedBy, &t
			approved = append(approved, *a)
		case a.Subject == ApprovalContract && d.Stage == Negotiation && d.Contract.ApprovedBy != "":
			a.Status, a.AnsweredBy, a.AnsweredAt = ApprovalApproved, d.Contract.ApprovedBy, &t
			approved = append(approved, *a)
		case !d.Active() || d.awaits(a.Subject) != nil,
			a.Subject == ApprovalMargin && (d.Bid.Cost != a.Cost || d.Bid.Price != a.Price):
			a.Status, a.AnsweredAt = ApprovalWithdrawn, &t
		}
	}
	return approved
}

// subjectText is the subject as the English texts name it.
func (a Approval) subjectText() string {
	if a.Subject == ApprovalMargin {
		return fmt.Sprintf("the bid's margin of %.2f%% below the %.2f%% floor", a.MarginPct, a.Floor)
	}
	return "the contract"
}

// approvalSummary says a request or an answer on the timeline: as a text, and in English.
func approvalSummary(cmd Command, a Approval) (Text, string) {
	p := Params{"subject": a.Subject, "margin": a.MarginPct, "floor": a.Floor}
	var code, s string
	switch {
	case cmd.Kind == CmdRequestApproval:
		code, s = "approval_requested", "approval of "+a.subjectText()+" requested"
		if a.Note != "" {
			code, p["note"] = "approval_requested_note", a.Note
			s += ": " + a.Note
		}
		return Text{Code: code, Params: p}, s
	case a.Status == ApprovalSentBack:
		// A send-back always says why (the command requires the comment).
		code, s, p["comment"] = "approval_sent_back", "approval of "+a.subjectText()+" sent back", a.Comment
	default:
		code, s = "approval_approved", "approval of "+a.subjectText()+" approved"
		if a.Comment != "" {
			code, p["comment"] = "approval_approved_comment", a.Comment
		}
	}
	if a.Comment != "" {
		s += ": " + a.Comment
	}
	return Text{Code: code, Params: p}, s
}

// approvalEffects are the notices of an approval's request or answer: a request tells the
// team's directors; an answer tells the KAM who asked (and the deal's owner, if another).
func (s *DealState) approvalEffects(cmd Command, answered []Approval, now time.Time) []DealEffect {
	d := &s.Deal
	var out []DealEffect
	if cmd.Kind == CmdRequestApproval {
		a := d.Approvals[len(d.Approvals)-1]
		params := map[string]string{"approval": strconv.Itoa(a.ID), "title": d.Title, "subject": a.Subject,
			"requested_by": a.RequestedBy, NoticeParamBy: a.RequestedBy, "note": a.Note}
		msg := fmt.Sprintf("%s asks you to approve %s on %s", a.RequestedBy, a.subjectText(), d.Title)
		if a.Subject == ApprovalMargin {
			params["margin_pct"] = strconv.FormatFloat(a.MarginPct, 'f', 2, 64)
			params["floor"] = strconv.FormatFloat(a.Floor, 'f', 2, 64)
			params["price"], params["cost"] = a.Price.String(), a.Cost.String()
			msg = fmt.Sprintf("%s asks you to approve the bid on %s (price %s %s): its margin of %.2f%% is below the %.2f%% floor",
				a.RequestedBy, d.Title, a.Price, d.Currency, a.MarginPct, a.Floor)
		}
		if a.Note != "" {
			msg += ". Note: " + a.Note
		}
		out = append(out, DealEffect{Kind: FxTellDirectors, Directors: &DirectorNotice{DealID: d.ID, TeamID: d.TeamID,
			Key: fmt.Sprintf("approval:%s:%d:requested", d.ID, a.ID), Message: msg, At: now,
			Kind: NoticeApprovalRequested, Params: params}})
	}
	var ns []Notification
	for _, a := range answered {
		decision, verb := string(ApprovalApproved), "approved"
		if a.Status == ApprovalSentBack {
			decision, verb = string(ApprovalSentBack), "sent back"
		}
		msg := fmt.Sprintf("%s %s your request to approve %s on %s", a.AnsweredBy, verb, a.subjectText(), d.Title)
		if a.Comment != "" {
			msg += ": " + a.Comment
		}
		to := []string{a.RequestedBy}
		if d.Owner != a.RequestedBy {
			to = append(to, d.Owner)
		}
		for _, u := range to {
			ns = append(ns, Notification{UserID: u, DealID: d.ID, Kind: NoticeApprovalAnswered,
				Key: fmt.Sprintf("approval:%s:%d:answered:%s", d.ID, a.ID, u), Message: msg, CreatedAt: now,
				Params: map[string]string{"approval": strconv.Itoa(a.ID), "title": d.Title, "subject": a.Subject,
					"decision": decision, "answered_by": a.AnsweredBy, NoticeParamBy: a.AnsweredBy, "comment": a.Comment}})
		}
	}
	if len(ns) > 0 {
		out = append(out, DealEffect{Kind: FxNotify, Notifications: ns})
	}
	return out
}
