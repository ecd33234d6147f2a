package kamflow

import (
	"encoding/json"
	"fmt"
	"slices"
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
	var t Text
	t, e.Summary = summarize(cmd, before, after)
	e.Code, e.Params = t.Code, t.Params
	return e
}

// summarize says what cmd did, which took the deal from before to after: as a text, and in
// English.
func summarize(cmd Command, before, after *Deal) (Text, string) {
	say := func(code string, p Params, summary string) (Text, string) {
		return Text{Code: code, Params: p}, summary
	}
	switch cmd.Kind {
	case CmdAssessment:
		a := after.Assessment
		verdict, code := "failed", "assessment_failed"
		if a.Passed {
			verdict, code = "passed", "assessment_passed"
		}
		return say(code, Params{"score": a.Score, "threshold": a.Threshold, "grade": string(a.Grade)},
			fmt.Sprintf("assessed: score %.1f %s (threshold %.1f), grade %s", a.Score, verdict, a.Threshold, a.Grade))
	case CmdStakeholder:
		s := cmd.Stakeholder
		name := strings.TrimSpace(s.Name)
		return say("stakeholder", Params{"name": name, "role": s.Role, "stance": s.Stance},
			fmt.Sprintf("stakeholder %s recorded as %s, %s", name, s.Role, s.Stance))
	case CmdCriteria:
		us, neutral, them := after.criteriaBalance()
		return say("criteria", Params{"us": us, "neutral": neutral, "them": them},
			fmt.Sprintf("purchasing criteria recorded: %d favour us, %d neutral, %d favour a competitor", us, neutral, them))
	case CmdProposal:
		return say("proposal", Params{"date": string(after.Proposal.SubmittedOn)}, "proposal submitted on "+string(after.Proposal.SubmittedOn))
	case CmdBid:
		b := after.Bid
		code := "bid_recorded"
		if b.Submitted {
			code = "bid_submitted"
		}
		return say(code, Params{"price": money(b.Price, after.Currency), "cost": money(b.Cost, after.Currency), "margin": b.MarginPct, "floor": b.Floor},
			fmt.Sprintf("bid %s at cost %s: margin %.2f%% (floor %.2f%%), submitted %v", b.Price, b.Cost, b.MarginPct, b.Floor, b.Submitted))
	case CmdApproveMargin:
		return say("approve_margin", Params{"margin": after.Bid.MarginPct, "floor": after.Bid.Floor},
			fmt.Sprintf("margin %.2f%% below the floor approved", after.Bid.MarginPct))
	case CmdApproveContract:
		return say("approve_contract", nil, "contract approved")
	case CmdSignContract:
		return say("sign_contract", Params{"date": string(after.Contract.SignedOn)}, "contract signed on "+string(after.Contract.SignedOn)+": deal won")
	case CmdAcceptance:
		return say("acceptance", Params{"result": after.Acceptance.Result}, "engineering acceptance: "+string(after.Acceptance.Result))
	case CmdCloseProject:
		return say("close_project", nil, "project closed: deal delivered")
	case CmdAdvance:
		if len(after.Forces) > len(before.Forces) {
			f := after.Forces[len(after.Forces)-1]
			return say("forced", Params{"from": f.From, "to": f.To, "missing": orNone(f.Missing), "reason": f.Reason},
				fmt.Sprintf("forced from %s to %s past %s: %s", f.From, f.To, strings.Join(f.Missing, ", "), f.Reason))
		}
		return say("advanced", Params{"from": before.Stage, "to": after.Stage}, fmt.Sprintf("advanced from %s to %s", before.Stage, after.Stage))
	case CmdClose:
		c := after.Closing
		s := fmt.Sprintf("closed as %s: %s", c.Outcome, c.Reason)
		if c.Competitor != "" {
			s += " (won by " + c.Competitor + ")"
			return say("closed_competitor", Params{"status": c.Outcome, "reason": c.Reason, "competitor": c.Competitor}, s)
		}
		return say("closed", Params{"status": c.Outcome, "reason": c.Reason}, s)
	case CmdPause:
		return say("paused", Params{"date": string(after.Pause.ResumeOn), "reason": after.Pause.Reason},
			fmt.Sprintf("paused until %s: %s", after.Pause.ResumeOn, after.Pause.Reason))
	case CmdResume:
		return say("resumed", nil, "resumed")
	case CmdReassign:
		return say("reassigned", Params{"owner_from": before.Owner, "owner_to": after.Owner},
			fmt.Sprintf("reassigned from %s to %s", before.Owner, after.Owner))
	case CmdAssignEngineers:
		if len(after.Engineers) == 0 {
			return say("engineers_none", nil, "engineers assigned: ")
		}
		return say("engineers", Params{"engineers": slices.Clone(after.Engineers)}, "engineers assigned: "+strings.Join(after.Engineers, ", "))
	case CmdEdit:
		return say("edit", Params{"changes": editTexts(before, after)}, editSummary(before, after))
	case CmdRequestApproval:
		return approvalSummary(cmd, after.Approvals[len(after.Approvals)-1])
	case CmdAnswerApproval:
		return approvalSummary(cmd, *after.approval(cmd.Answer.ID))
	case CmdRemoveStakeholder:
		if i := before.StakeholderIndex(cmd.RemoveStakeholder.ContactID, cmd.RemoveStakeholder.Name); i >= 0 {
			name := before.Stakeholders[i].Name
			s := "stakeholder " + name + " removed"
			if len(after.Forces) > len(before.Forces) {
				f := after.Forces[len(after.Forces)-1]
				s += fmt.Sprintf(", forced past %s of the %s stage: %s", strings.Join(f.Missing, ", "), f.From, f.Reason)
				return say("remove_stakeholder_forced", Params{"name": name, "stage": f.From, "missing": orNone(f.Missing), "reason": f.Reason}, s)
			}
			return say("remove_stakeholder", Params{"name": name}, s)
		}
	case CmdContactStale:
		in := cmd.ContactStale
		name := strings.TrimSpace(in.Name)
		if in.Stale {
			return say("contact_stale", Params{"name": name, "days": in.Days}, fmt.Sprintf("stakeholder %s gone stale: no contact for %d days", name, in.Days))
		}
		return say("contact_fresh", Params{"name": name}, fmt.Sprintf("stakeholder %s in contact again", name))
	}
	return Text{}, string(cmd.Kind)
}

// SystemAudit is the audit entry of a change kamflow made by itself on a deal (a stall, a resume
// on the pause's date, a new SLA).
func SystemAudit(action, summary string, d *Deal, now time.Time) *AuditEntry {
	t := systemText(action, d)
	return &AuditEntry{
		At: now, Actor: "kamflow", Action: "deal." + action, EntityType: "deal", EntityID: d.ID, DealID: d.ID,
		Summary: summary, Code: t.Code, Params: t.Params, Key: fmt.Sprintf("deal:%s:%d", d.ID, d.Seq),
	}
}

// systemText says a change kamflow made by itself on the deal d, as d is after it. The texts come
// from the action and the deal, not the summary, so that the workflow code of old (which writes
// the summaries it always wrote) says them in the reader's language as well.
func systemText(action string, d *Deal) Text {
	switch action {
	case "stalled":
		return Text{Code: "stalled", Params: Params{"stage": d.Stage, "sla": d.StageSLA.String()}}
	case "sla":
		return Text{Code: "sla_set", Params: Params{"stage": d.Stage, "sla": d.StageSLA.String()}}
	case "resume":
		return Text{Code: "resumed_on_date"}
	case "delivery_hold":
		if len(d.UndoFailed) == 0 {
			return Text{Code: "delivery_hold_cleared"}
		}
		tasks := make([]TaskRef, len(d.UndoFailed))
		for i, k := range d.UndoFailed {
			tasks[i] = TaskRef{Key: k}
		}
		return Text{Code: "delivery_hold", Params: Params{"tasks": tasks}}
	}
	return Text{}
}

// CreatedAudit is the audit entry of a deal's opening.
func CreatedAudit(d *Deal) *AuditEntry {
	e := &AuditEntry{
		At: d.CreatedAt, Actor: d.CreatedBy, Action: "deal.create", EntityType: "deal", EntityID: d.ID, DealID: d.ID,
		Summary: fmt.Sprintf("deal opened: %s, %s %s, owner %s", d.Title, d.Value, d.Currency, d.Owner),
		After:   map[string]any{"title": d.Title, "value": d.Value, "currency": d.Currency, "owner": d.Owner, "account_id": d.AccountID},
		Key:     fmt.Sprintf("deal:%s:%d", d.ID, d.Seq),
		Code:    "create",
		Params:  Params{"title": d.Title, "value": money(d.Value, d.Currency), "owner": d.Owner},
	}
	if m := d.Imported; m != nil {
		e.Code = "imported"
		e.Params["stage"], e.Params["line"] = m.Stage, m.Line
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
