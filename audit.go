package kamflow

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// DealAudit is the audit entry of an accepted command: what changed on the deal, with the part
// of the deal the command touched before and after it. before is the deal as it was, after as it
// is now (after.Seq is the change's sequence number).
func DealAudit(cmd Command, before, after *Deal, now time.Time) *AuditEntry {
	e := &AuditEntry{
		At: now, Actor: cmd.Actor.ID, Action: "deal." + string(cmd.Kind), EntityType: "deal",
		EntityID: after.ID, DealID: after.ID, Key: fmt.Sprintf("deal:%s:%d", after.ID, after.Seq),
	}
	part := func(d *Deal) any {
		switch cmd.Kind {
		case CmdAssessment:
			return d.Assessment
		case CmdStakeholder:
			for _, s := range d.Stakeholders {
				if strings.EqualFold(s.Name, strings.TrimSpace(cmd.Stakeholder.Name)) {
					return s
				}
			}
			return nil
		case CmdCriteria:
			return d.Criteria
		case CmdProposal:
			return d.Proposal
		case CmdBid, CmdApproveMargin:
			return d.Bid
		case CmdApproveContract, CmdSignContract:
			return map[string]any{"contract": d.Contract, "status": d.Status}
		case CmdAcceptance:
			return d.Acceptance
		case CmdAdvance:
			return map[string]any{"stage": d.Stage, "forced": d.Forced}
		case CmdClose, CmdCloseProject:
			return map[string]any{"status": d.Status, "closing": d.Closing}
		case CmdPause, CmdResume:
			return d.Pause
		case CmdReassign:
			return map[string]any{"owner": d.Owner}
		case CmdAssignEngineers:
			return map[string]any{"engineers": d.Engineers}
		case CmdContactStale:
			if i := d.stakeholderIndex(cmd.ContactStale.Name); i >= 0 {
				return d.Stakeholders[i]
			}
		case CmdRemoveStakeholder:
			if i := d.StakeholderIndex(cmd.RemoveStakeholder.ContactID, cmd.RemoveStakeholder.Name); i >= 0 {
				return d.Stakeholders[i]
			}
		case CmdRequestApproval:
			if n := len(d.Approvals); n > len(before.Approvals) {
				return d.Approvals[n-1]
			}
		case CmdAnswerApproval:
			if a := d.approval(cmd.Answer.ID); a != nil {
				return *a
			}
		}
		return nil
	}
	e.Before, e.After = part(before), part(after)
	if cmd.Kind == CmdEdit {
		e.Before, e.After = editAudit(before, after)
	}
	e.Summary = summarize(cmd, before, after)
	return e
}

func summarize(cmd Command, before, after *Deal) string {
	switch cmd.Kind {
	case CmdAssessment:
		a := after.Assessment
		verdict := "failed"
		if a.Passed {
			verdict = "passed"
		}
		return fmt.Sprintf("assessed: score %.1f %s (threshold %.1f), grade %s", a.Score, verdict, a.Threshold, a.Grade)
	case CmdStakeholder:
		s := cmd.Stakeholder
		return fmt.Sprintf("stakeholder %s recorded as %s, %s", strings.TrimSpace(s.Name), s.Role, s.Stance)
	case CmdCriteria:
		us, neutral, them := after.criteriaBalance()
		return fmt.Sprintf("purchasing criteria recorded: %d favour us, %d neutral, %d favour a competitor", us, neutral, them)
	case CmdProposal:
		return "proposal submitted on " + string(after.Proposal.SubmittedOn)
	case CmdBid:
		b := after.Bid
		return fmt.Sprintf("bid %s at cost %s: margin %.2f%% (floor %.2f%%), submitted %v", b.Price, b.Cost, b.MarginPct, b.Floor, b.Submitted)
	case CmdApproveMargin:
		return fmt.Sprintf("margin %.2f%% below the floor approved", after.Bid.MarginPct)
	case CmdApproveContract:
		return "contract approved"
	case CmdSignContract:
		return "contract signed on " + string(after.Contract.SignedOn) + ": deal won"
	case CmdAcceptance:
		return "engineering acceptance: " + string(after.Acceptance.Result)
	case CmdCloseProject:
		return "project closed: deal delivered"
	case CmdAdvance:
		if len(after.Forces) > len(before.Forces) {
			f := after.Forces[len(after.Forces)-1]
			return fmt.Sprintf("forced from %s to %s past %s: %s", f.From, f.To, strings.Join(f.Missing, ", "), f.Reason)
		}
		return fmt.Sprintf("advanced from %s to %s", before.Stage, after.Stage)
	case CmdClose:
		c := after.Closing
		s := fmt.Sprintf("closed as %s: %s", c.Outcome, c.Reason)
		if c.Competitor != "" {
			s += " (won by " + c.Competitor + ")"
		}
		return s
	case CmdPause:
		return fmt.Sprintf("paused until %s: %s", after.Pause.ResumeOn, after.Pause.Reason)
	case CmdResume:
		return "resumed"
	case CmdReassign:
		return fmt.Sprintf("reassigned from %s to %s", before.Owner, after.Owner)
	case CmdAssignEngineers:
		return "engineers assigned: " + strings.Join(after.Engineers, ", ")
	case CmdEdit:
		return editSummary(before, after)
	case CmdRequestApproval:
		return approvalSummary(cmd, after.Approvals[len(after.Approvals)-1])
	case CmdAnswerApproval:
		return approvalSummary(cmd, *after.approval(cmd.Answer.ID))
	case CmdRemoveStakeholder:
		if i := before.StakeholderIndex(cmd.RemoveStakeholder.ContactID, cmd.RemoveStakeholder.Name); i >= 0 {
			s := "stakeholder " + before.Stakeholders[i].Name + " removed"
			if len(after.Forces) > len(before.Forces) {
				f := after.Forces[len(after.Forces)-1]
				s += fmt.Sprintf(", forced past %s of the %s stage: %s", strings.Join(f.Missing, ", "), f.From, f.Reason)
			}
			return s
		}
	case CmdContactStale:
		in := cmd.ContactStale
		if in.Stale {
			return fmt.Sprintf("stakeholder %s gone stale: no contact for %d days", strings.TrimSpace(in.Name), in.Days)
		}
		return fmt.Sprintf("stakeholder %s in contact again", strings.TrimSpace(in.Name))
	}
	return string(cmd.Kind)
}

// SystemAudit is the audit entry of a change kamflow made by itself on a deal (a stall, a resume
// on the pause's date, a new SLA).
func SystemAudit(action, summary string, d *Deal, now time.Time) *AuditEntry {
	return &AuditEntry{
		At: now, Actor: "kamflow", Action: "deal." + action, EntityType: "deal", EntityID: d.ID, DealID: d.ID,
		Summary: summary, Key: fmt.Sprintf("deal:%s:%d", d.ID, d.Seq),
	}
}

// CreatedAudit is the audit entry of a deal's opening.
func CreatedAudit(d *Deal) *AuditEntry {
	e := &AuditEntry{
		At: d.CreatedAt, Actor: d.CreatedBy, Action: "deal.create", EntityType: "deal", EntityID: d.ID, DealID: d.ID,
		Summary: fmt.Sprintf("deal opened: %s, %s %s, owner %s", d.Title, d.Value, d.Currency, d.Owner),
		After:   map[string]any{"title": d.Title, "value": d.Value, "currency": d.Currency, "owner": d.Owner, "account_id": d.AccountID},
		Key:     fmt.Sprintf("deal:%s:%d", d.ID, d.Seq),
	}
	if m := d.Imported; m != nil {
		e.Summary = fmt.Sprintf("deal imported at the %s stage (import %s, line %d): %s, %s %s, owner %s",
			m.Stage, m.ImportID, m.Line, d.Title, d.Value, d.Currency, d.Owner)
		e.After.(map[string]any)["stage"] = m.Stage
		e.After.(map[string]any)["import_id"] = m.ImportID
	}
	return e
}

// EncodedSize is the size of the deal encoded as its workflow carries it, in bytes.
func (d *Deal) EncodedSize() int {
	b, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("kamflow: a deal does not marshal: %v", err)) // every field is plain data
	}
	return len(b)
}

// Clone returns a deep copy of the deal.
func (d *Deal) Clone() *Deal {
	b, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("kamflow: a deal does not marshal: %v", err)) // every field is plain data
	}
	var c Deal
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("kamflow: a deal does not unmarshal: %v", err))
	}
	return &c
}
