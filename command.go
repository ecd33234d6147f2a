package kamflow

import (
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// CommandKind names a change to a deal. Each kind is a Workflow Update of the same name.
type CommandKind string

// The commands a deal accepts.
const (
	CmdAssessment      CommandKind = "assessment"
	CmdStakeholder     CommandKind = "stakeholder"
	CmdCriteria        CommandKind = "criteria"
	CmdProposal        CommandKind = "proposal"
	CmdBid             CommandKind = "bid"
	CmdApproveMargin   CommandKind = "approve_margin"
	CmdApproveContract CommandKind = "approve_contract"
	CmdSignContract    CommandKind = "sign_contract"
	CmdAcceptance      CommandKind = "acceptance"
	CmdAdvance         CommandKind = "advance"
	CmdClose           CommandKind = "close"
	CmdCloseProject    CommandKind = "close_project"
	CmdPause           CommandKind = "pause"
	CmdResume          CommandKind = "resume"
	CmdReassign        CommandKind = "reassign"
	CmdAssignEngineers CommandKind = "assign_engineers"
	// CmdContactStale marks a stakeholder stale (no contact with them for the configured number
	// of days) or fresh again. Only kamflow itself sends it: the daily run, and a logged
	// interaction with them.
	CmdContactStale CommandKind = "contact_stale"
	// CmdRequestApproval asks the team's directors to approve a bid below the margin floor or a
	// contract; CmdAnswerApproval is a director's answer (approval.go).
	CmdRequestApproval CommandKind = "request_approval"
	CmdAnswerApproval  CommandKind = "answer_approval"
)

// CommandKinds lists every command.
var CommandKinds = []CommandKind{
	CmdAssessment, CmdStakeholder, CmdCriteria, CmdProposal, CmdBid, CmdApproveMargin,
	CmdApproveContract, CmdSignContract, CmdAcceptance, CmdAdvance, CmdClose, CmdCloseProject,
	CmdPause, CmdResume, CmdReassign, CmdAssignEngineers, CmdContactStale, CmdEdit,
	CmdRequestApproval, CmdAnswerApproval,
	CmdRemoveStakeholder,
}

// Actor is who issues a command: the user's username, role and teams, as the API signed them in.
type Actor struct {
	ID    string   `json:"id"`
	Role  UserRole `json:"role,omitempty"`
	Teams []string `json:"teams,omitempty"`
}

// Command is one requested change to a deal. Kind says which; exactly the matching input is set.
type Command struct {
	Kind        CommandKind      `json:"kind"`
	Actor       Actor            `json:"actor"`
	Assessment  *AssessmentInput `json:"assessment,omitempty"`
	Stakeholder *Stakeholder     `json:"stakeholder,omitempty"`
	Criteria    []Criterion      `json:"criteria,omitempty"`
	Proposal    *ProposalInput   `json:"proposal,omitempty"`
	Bid         *BidInput        `json:"bid,omitempty"`
	Sign        *SignInput       `json:"sign,omitempty"`
	Acceptance  *AcceptanceInput `json:"acceptance,omitempty"`
	Advance     *AdvanceInput    `json:"advance,omitempty"`
	Close       *CloseInput      `json:"close,omitempty"`
	Pause       *PauseInput      `json:"pause,omitempty"`
	Reassign    *ReassignInput   `json:"reassign,omitempty"`
	Engineers   []string         `json:"engineers,omitempty"`
	// ContactStale is CmdContactStale's input.
	ContactStale *ContactStaleInput `json:"contact_stale,omitempty"`
	// Approval is CmdRequestApproval's input, Answer CmdAnswerApproval's.
	Approval *ApprovalRequestInput `json:"approval,omitempty"`
	Answer   *ApprovalAnswerInput  `json:"answer,omitempty"`
	// Edit is CmdEdit's input (edit.go).
	Edit *EditInput `json:"edit,omitempty"`
	// RemoveStakeholder is CmdRemoveStakeholder's input; Override forces it, or a CmdStakeholder
	// edit, past a key node the deal rests on (stakeholder.go).
	RemoveStakeholder *RemoveStakeholderInput `json:"remove_stakeholder,omitempty"`
	Override          *GateOverride           `json:"override,omitempty"`
}

// ContactStaleInput marks the deal's stakeholder of that name stale (Stale, with the days since
// the last contact) or fresh again.
type ContactStaleInput struct {
	Name  string `json:"name"`
	Stale bool   `json:"stale"`
	Days  int    `json:"days,omitempty"`
}

// ReassignInput hands a deal to another KAM.
type ReassignInput struct {
	Owner  string `json:"owner"`
	Reason string `json:"reason,omitempty"`
}

// AssessmentInput scores the opportunity. Grade is optional: computed when empty.
type AssessmentInput struct {
	Scores        map[Factor]int `json:"scores"`
	ExpectedClose Date           `json:"expected_close"`
	Likelihood    int            `json:"likelihood"`
	Grade         Grade          `json:"grade,omitempty"`
}

// ProposalInput records a submitted proposal.
type ProposalInput struct {
	SubmittedOn Date   `json:"submitted_on"`
	Summary     string `json:"summary,omitempty"`
	// SummaryRef is set by MoveTexts, never by a caller.
	SummaryRef string `json:"summary_ref,omitempty"`
}

// BidInput records or revises the bid.
type BidInput struct {
	Cost      Money `json:"cost"`
	Price     Money `json:"price"`
	Deadline  Date  `json:"deadline,omitempty"`
	Submitted bool  `json:"submitted"`
}

// SignInput records the signing date of the contract.
type SignInput struct {
	SignedOn Date `json:"signed_on"`
}

// AcceptanceInput records the engineering acceptance test.
type AcceptanceInput struct {
	Result AcceptanceResult `json:"result"`
	Notes  string           `json:"notes,omitempty"`
	// OpenPunchItems is set by the deal's delivery plan (never by the API): the punch items of a
	// pass with a punch list still open. The project closes only when there are none.
	OpenPunchItems int `json:"-"`
	// FromPlan marks the acceptance as reported by the deal's delivery plan (never set by the API).
	FromPlan bool `json:"-"`
}

// AdvanceInput moves the deal to the next stage; Force with a Reason overrides an unmet gate.
// From, when set, is the stage the move is meant to leave: a move the deal has already made (a
// retry) is then a conflict instead of moving it again.
type AdvanceInput struct {
	Force  bool   `json:"force,omitempty"`
	Reason string `json:"reason,omitempty"`
	From   Stage  `json:"from,omitempty"`
}

// CloseInput ends a deal without delivery.
type CloseInput struct {
	Outcome Status `json:"outcome"`
	// ReasonCode, for a lost deal, is one of the settings' loss reasons or "other" (LossOther);
	// Reason is then a note (required with "other"). Without a code, Reason says why in words.
	ReasonCode string `json:"reason_code,omitempty"`
	Reason     string `json:"reason"`
	Competitor string `json:"competitor,omitempty"`
}

// PauseInput stops the stall clock until ResumeOn.
type PauseInput struct {
	Reason   string `json:"reason"`
	ResumeOn Date   `json:"resume_on"`
}

// Effects are what an applied command did besides changing the deal: the stage-history row to
// record, if any, and whether the command was progress.
type Effects struct {
	Transition *StageTransition
	// Progress is set when the command recorded stage work (or moved the deal): it restarted the
	// stall clock, so the escalation ladder starts again from its first rung. A pause, a resume,
	// a reassignment, an engineers' assignment or a close is not progress.
	Progress bool
	// Answered are the approval requests the command answered (approved or sent back), whose
	// KAMs are to be told.
	Answered []Approval
}

// MaxStakeholders is how many people a deal's buying center records: more than any buying
// center has, and a bound on the deal's record (see DealBudget).
const MaxStakeholders = 60

// MaxPause is the longest a deal may be paused.
const MaxPause = 366 * Day

// Text limits. Longer text is refused, not cut: nothing a user typed is silently lost.
const (
	maxName   = 200
	maxText   = 4000
	maxReason = 1000
)

func checkText(field, v string, required bool, max int) error {
	if p := textProblem(v); p != "" {
		return Errorf(EINVALID, "%s %s", field, p).WithDetail("field", field)
	}
	if required && Blank(v) {
		return Errorf(EINVALID, "%s is required", field).WithDetail("field", field)
	}
	if utf8.RuneCountInString(v) > max {
		return Errorf(EINVALID, "%s is longer than %d characters", field, max).WithDetail("field", field)
	}
	return nil
}

func checkDate(field string, d Date, required bool) error {
	if d == "" {
		if required {
			return Errorf(EINVALID, "%s is required (YYYY-MM-DD)", field).WithDetail("field", field)
		}
		return nil
	}
	// Only the canonical form: a date that needs trimming would be stored as given and read back
	// as no date at all (Date.Time is zero), e.g. grading a far-off close as imminent.
	if p, err := ParseDate(string(d)); err != nil || p != d {
		return Errorf(EINVALID, "%s %q is not a calendar date YYYY-MM-DD", field, d).WithDetail("field", field)
	}
	if d < MinDate || d > MaxDate {
		return Errorf(EINVALID, "%s %s is out of range: dates run from %s to %s", field, d, MinDate, MaxDate).WithDetail("field", field)
	}
	return nil
}

// The range of the dates a deal takes (a close, a deadline, a signing, a resume date): a year
// such as 0000 or 9999 is a typing slip, and would put a forecast in month 0000-01.
const (
	MinDate Date = "1990-01-01"
	MaxDate Date = "2100-12-31"
)

func wrongStage(format string, args ...any) *Error { return Errorf(EWRONGSTAGE, format, args...) }

func (d *Deal) requireStage(cmd CommandKind, stages ...Stage) error {
	for _, s := range stages {
		if d.Stage == s {
			return nil
		}
	}
	names := make([]string, len(stages))
	for i, s := range stages {
		names[i] = string(s)
	}
	return wrongStage("%s is recorded in the %s stage; the deal is in %s", cmd, strings.Join(names, " or "), d.Stage).
		WithDetail("stage", string(d.Stage))
}

// Check decides whether cmd may be applied to the deal as it is now, without changing it. It is
// the Update validator: a command it rejects leaves no trace.
func (d *Deal) Check(cmd Command, now time.Time, s Settings) error {
	if err := cmd.Actor.Authorize(cmd, d); err != nil {
		return err
	}
	return d.CheckRules(cmd, now, s)
}

// CheckRules is Check without the actor's rights: the deal's rules alone. It is for inputs whose
// origin was decided elsewhere: the work kamflow does by itself (DealState.Handle), which comes
// by a path of its own rather than as a person's command, and the legacy deal workflow's
// handlers, whose commands its validator authorized (histories recorded before commands named a
// role must replay as they ran).
func (d *Deal) CheckRules(cmd Command, now time.Time, s Settings) error {
	if !d.Active() {
		return wrongStage("the deal is %s; nothing more can be done on it", d.Status).WithDetail("status", string(d.Status))
	}
	if err := checkText("actor", cmd.Actor.ID, true, maxName); err != nil {
		return err
	}
	switch cmd.Kind {
	case CmdAssessment:
		in := cmd.Assessment
		if in == nil {
			return Errorf(EINVALID, "assessment is required")
		}
		if err := d.requireStage(cmd.Kind, Development); err != nil {
			return err
		}
		if m := missingFactors(in.Scores); len(m) > 0 {
			return Errorf(EINVALID, "assessment scores are missing: %s", strings.Join(m, ", ")).WithDetail("missing", m)
		}
		for _, f := range scoredFactors(in.Scores) {
			v := in.Scores[f]
			if !f.valid() {
				return Errorf(EINVALID, "unknown assessment factor %q", f).WithDetail("field", "scores."+string(f))
			}
			if v < 1 || v > 5 {
				return Errorf(EINVALID, "score of %s must be from 1 to 5, not %d", f, v).WithDetail("field", "scores."+string(f))
			}
		}
		if err := checkDate("expected_close", in.ExpectedClose, true); err != nil {
			return err
		}
		if in.Likelihood < 0 || in.Likelihood > 100 {
			return Errorf(EINVALID, "likelihood must be from 0 to 100").WithDetail("field", "likelihood")
		}
		if in.Grade != "" {
			if _, err := ParseGrade(string(in.Grade)); err != nil {
				return err.(*Error).WithDetail("field", "grade")
			}
		}
	case CmdStakeholder:
		p := cmd.Stakeholder
		if p == nil {
			return Errorf(EINVALID, "stakeholder is required")
		}
		if err := checkText("name", p.Name, true, maxName); err != nil {
			return err
		}
		if err := checkText("title", p.Title, false, maxName); err != nil {
			return err
		}
		if err := checkText("notes", p.Notes, false, maxText); err != nil {
			return err
		}
		if p.NotesRef != "" && !validTextRef(p.NotesRef) {
			return Errorf(EINVALID, "notes_ref %q is not a text reference", p.NotesRef).WithDetail("field", "notes_ref")
		}
		if !validRole(p.Role) {
			return Errorf(EINVALID, "role %q must be one of decision_maker, influencer, user, technical_evaluator, purchaser, executor, insider", p.Role).WithDetail("field", "role")
		}
		switch p.Stance {
		case StanceSupporter, StanceNeutral, StanceOpponent:
		default:
			return Errorf(EINVALID, "stance %q must be one of supporter, neutral, opponent", p.Stance).WithDetail("field", "stance")
		}
		if p.Influence < 0 || p.Influence > 5 {
			return Errorf(EINVALID, "influence must be from 1 to 5").WithDetail("field", "influence")
		}
		if err := checkText("contact_id", p.ContactID, false, maxName); err != nil {
			return err
		}
		// Without a contact id this is the index by name, as before stakeholders were contacts.
		i := d.StakeholderIndex(p.ContactID, p.Name)
		if i < 0 && len(d.Stakeholders) >= MaxStakeholders {
			return Errorf(EINVALID, "a deal records at most %d stakeholders", MaxStakeholders).WithDetail("field", "stakeholders").
				WithDetail("limit", MaxStakeholders)
		}
		// Stale marks find a stakeholder by name: two people of one name on a deal are refused.
		if j := d.stakeholderIndex(p.Name); p.ContactID != "" && j >= 0 && j != i {
			return Errorf(ECONFLICT, "another person named %s is already on the deal", strings.TrimSpace(p.Name)).WithDetail("field", "name")
		}
		if err := d.checkGateRests(cmd); err != nil {
			return err
		}
	case CmdRemoveStakeholder:
		return d.checkRemoveStakeholder(cmd)
	case CmdContactStale:
		in := cmd.ContactStale
		if in == nil || strings.TrimSpace(in.Name) == "" {
			return Errorf(EINVALID, "the stakeholder's name is required").WithDetail("field", "name")
		}
		i := d.stakeholderIndex(in.Name)
		if i < 0 {
			return Errorf(ENOTFOUND, "no stakeholder %q on the deal", in.Name)
		}
		if d.Stakeholders[i].Stale == in.Stale {
			return Errorf(ECONFLICT, "stakeholder %q is marked so already", in.Name)
		}
	case CmdCriteria:
		if err := d.requireStage(cmd.Kind, Entry, Proposal, Bid); err != nil {
			return err
		}
		if len(cmd.Criteria) == 0 {
			return Errorf(EINVALID, "at least one purchasing criterion is required").WithDetail("field", "criteria")
		}
		if len(cmd.Criteria) > 200 {
			return Errorf(EINVALID, "at most 200 purchasing criteria").WithDetail("field", "criteria")
		}
		seen := map[string]bool{}
		for _, c := range cmd.Criteria {
			if err := checkText("criterion name", c.Name, true, maxName); err != nil {
				return err
			}
			if err := checkText("criterion notes", c.Notes, false, maxText); err != nil {
				return err
			}
			if c.NotesRef != "" && !validTextRef(c.NotesRef) {
				return Errorf(EINVALID, "notes_ref %q is not a text reference", c.NotesRef).WithDetail("field", "criteria")
			}
			key := strings.ToLower(strings.TrimSpace(c.Name))
			if seen[key] {
				return Errorf(EINVALID, "purchasing criterion %q is listed twice", c.Name).WithDetail("field", "criteria")
			}
			seen[key] = true
			switch c.Favours {
			case FavoursUs, FavoursNeutral, FavoursCompetitor:
			default:
				return Errorf(EINVALID, "criterion %q: favours must be one of us, neutral, competitor", c.Name).WithDetail("field", "criteria")
			}
		}
	case CmdProposal:
		in := cmd.Proposal
		if in == nil {
			return Errorf(EINVALID, "proposal is required")
		}
		if err := d.requireStage(cmd.Kind, Proposal); err != nil {
			return err
		}
		if err := checkDate("submitted_on", in.SubmittedOn, true); err != nil {
			return err
		}
		if err := checkText("summary", in.Summary, false, maxText); err != nil {
			return err
		}
		if in.SummaryRef != "" && !validTextRef(in.SummaryRef) {
			return Errorf(EINVALID, "summary_ref %q is not a text reference", in.SummaryRef).WithDetail("field", "summary_ref")
		}
	case CmdBid:
		in := cmd.Bid
		if in == nil {
			return Errorf(EINVALID, "bid is required")
		}
		if err := d.requireStage(cmd.Kind, Bid); err != nil {
			return err
		}
		if in.Price <= 0 {
			return Errorf(EINVALID, "price must be more than zero").WithDetail("field", "price")
		}
		if in.Price > MaxMoney {
			return Errorf(EINVALID, "cost and price must be from 0 to 999999999999.99").WithDetail("field", "price")
		}
		if in.Cost <= 0 || in.Cost > MaxMoney {
			// A cost of 0 would make a 100% margin that needs no director's look.
			return Errorf(EINVALID, "cost must be more than zero and at most 999999999999.99").WithDetail("field", "cost")
		}
		if err := checkDate("deadline", in.Deadline, false); err != nil {
			return err
		}
	case CmdApproveMargin:
		if err := d.requireStage(cmd.Kind, Bid); err != nil {
			return err
		}
		if d.Bid == nil {
			return wrongStage("there is no bid to approve")
		}
		if !d.Bid.BelowFloor() {
			return wrongStage("the bid's margin %.2f%% is at or above the floor %.2f%%; it needs no approval", d.Bid.MarginPct, d.Bid.Floor)
		}
		if d.Bid.MarginApprovedBy != "" {
			return wrongStage("the bid's margin is already approved by %s", d.Bid.MarginApprovedBy)
		}
	case CmdRequestApproval:
		return d.checkApprovalRequest(cmd.Approval)
	case CmdAnswerApproval:
		return d.checkApprovalAnswer(cmd.Answer)
	case CmdApproveContract:
		if err := d.requireStage(cmd.Kind, Negotiation); err != nil {
			return err
		}
		if d.Contract.ApprovedBy != "" {
			return wrongStage("the contract is already approved by %s", d.Contract.ApprovedBy)
		}
	case CmdSignContract:
		if cmd.Sign == nil {
			return Errorf(EINVALID, "signed_on is required")
		}
		if err := d.requireStage(cmd.Kind, Negotiation); err != nil {
			return err
		}
		if err := checkDate("signed_on", cmd.Sign.SignedOn, true); err != nil {
			return err
		}
		if d.Contract.ApprovedBy == "" {
			return Errorf(EGATENOTMET, "the contract must be approved by a director before it is signed").
				WithDetail("missing", []string{GateContractApproved})
		}
		if d.Status == StatusWon {
			return wrongStage("the contract is already signed (on %s)", d.Contract.SignedOn)
		}
	case CmdAcceptance:
		in := cmd.Acceptance
		if in == nil {
			return Errorf(EINVALID, "acceptance is required")
		}
		if err := d.requireStage(cmd.Kind, Delivery); err != nil {
			return err
		}
		if d.DeliveryPlanned && !in.FromPlan {
			return wrongStage("the deal's delivery plan records the acceptance: complete its acceptance test (POST /api/v1/deals/%s/delivery/tasks/acceptance_test/complete)", d.ID)
		}
		switch in.Result {
		case AcceptancePass, AcceptancePassPunchList, AcceptanceFail:
		default:
			return Errorf(EINVALID, "result %q must be one of pass, pass_with_punch_list, fail", in.Result).WithDetail("field", "result")
		}
		if err := checkText("notes", in.Notes, false, maxText); err != nil {
			return err
		}
	case CmdCloseProject:
		if err := d.requireStage(cmd.Kind, Delivery); err != nil {
			return err
		}
		if g := d.Gate(); !g.Met {
			return Errorf(EGATENOTMET, "the project can be closed only after engineering acceptance").WithDetail("missing", g.Missing())
		}
		if n := d.Acceptance.OpenPunchItems; n > 0 {
			return Errorf(EGATENOTMET, "the project can be closed once the acceptance's punch list is cleared: %d item(s) open", n).
				WithDetail("open_punch_items", n)
		}
		if len(d.UndoFailed) > 0 {
			return Errorf(EGATENOTMET, "the project can be closed once the delivery tasks whose undo failed are cleaned up by hand: %s",
				strings.Join(d.UndoFailed, ", ")).WithDetail("undo_failed", slices.Clone(d.UndoFailed))
		}
	case CmdAdvance:
		in := cmd.Advance
		if in == nil {
			in = &AdvanceInput{}
		}
		if in.From != "" && !in.From.Valid() {
			return Errorf(EINVALID, "from %q is not a stage", in.From).WithDetail("field", "from")
		}
		if in.From != "" && in.From != d.Stage {
			return Errorf(ECONFLICT, "the deal is in the %s stage, not in %s: it has moved meanwhile", d.Stage, in.From).
				WithDetail("stage", string(d.Stage))
		}
		next, ok := d.Stage.Next()
		if !ok {
			return wrongStage("delivery is the last stage: close the project after acceptance instead")
		}
		g := d.Gate()
		if g.Met {
			return nil
		}
		if !in.Force {
			return Errorf(EGATENOTMET, "the key node of the %s stage is not reached: %s", d.Stage, strings.Join(g.Missing(), ", ")).
				WithDetail("missing", g.Missing()).WithDetail("stage", string(d.Stage))
		}
		if next == Delivery {
			// Delivery works on a signed contract; no override can stand in for one.
			return wrongStage("a deal cannot be forced into delivery: the contract must be approved and signed").
				WithDetail("missing", g.Missing())
		}
		if err := checkText("reason", in.Reason, true, maxReason); err != nil {
			return Errorf(EINVALID, "a forced advance needs a reason").WithDetail("field", "reason")
		}
	case CmdClose:
		in := cmd.Close
		if in == nil {
			return Errorf(EINVALID, "outcome and reason are required")
		}
		if err := checkLossReason(in, s); err != nil {
			return err
		}
		if err := checkText("competitor", in.Competitor, false, maxName); err != nil {
			return err
		}
		if d.Status != StatusOpen {
			return wrongStage("a %s deal cannot be closed as %s", d.Status, in.Outcome)
		}
		switch in.Outcome {
		case StatusLost:
		case StatusWithdrawn:
			if d.Stage == Development {
				return wrongStage("in development an opportunity is abandoned, not withdrawn")
			}
		case StatusAbandoned:
			if d.Stage != Development {
				return wrongStage("only an opportunity still in development is abandoned; in %s, withdraw or record the loss", d.Stage)
			}
		default:
			return Errorf(EINVALID, "outcome %q must be one of lost, withdrawn, abandoned", in.Outcome).WithDetail("field", "outcome")
		}
	case CmdPause:
		in := cmd.Pause
		if in == nil {
			return Errorf(EINVALID, "reason and resume_on are required")
		}
		if d.Pause != nil {
			return wrongStage("the deal is already paused until %s", d.Pause.ResumeOn)
		}
		if err := checkText("reason", in.Reason, true, maxReason); err != nil {
			return err
		}
		if err := checkDate("resume_on", in.ResumeOn, true); err != nil {
			return err
		}
		if !in.ResumeOn.Time().After(now) {
			return Errorf(EINVALID, "resume_on must be a future date").WithDetail("field", "resume_on")
		}
		// A pause parks a deal while the customer decides; one longer than a year hides a dead
		// deal from the stall review, so it is closed instead.
		if in.ResumeOn.Time().After(now.Add(MaxPause)) {
			return Errorf(EINVALID, "resume_on must be within a year; close the deal if the customer has stopped").WithDetail("field", "resume_on")
		}
	case CmdResume:
		if d.Pause == nil {
			return wrongStage("the deal is not paused")
		}
	case CmdReassign:
		in := cmd.Reassign
		if in == nil {
			return Errorf(EINVALID, "owner is required").WithDetail("field", "owner")
		}
		if err := checkText("owner", in.Owner, true, maxName); err != nil {
			return err
		}
		if err := checkText("reason", in.Reason, false, maxReason); err != nil {
			return err
		}
		if in.Owner == d.Owner {
			return wrongStage("the deal is already owned by %s", d.Owner)
		}
	case CmdEdit:
		return d.checkEdit(cmd.Edit)
	case CmdAssignEngineers:
		if len(cmd.Engineers) > 50 {
			return Errorf(EINVALID, "at most 50 engineers").WithDetail("field", "engineers")
		}
		seen := map[string]bool{}
		for _, e := range cmd.Engineers {
			if err := checkText("engineer", e, true, maxName); err != nil {
				return err.(*Error).WithDetail("field", "engineers")
			}
			if seen[e] {
				return Errorf(EINVALID, "engineer %q is listed twice", e).WithDetail("field", "engineers")
			}
			seen[e] = true
		}
	default:
		return Errorf(EINVALID, "unknown command %q", cmd.Kind)
	}
	return nil
}

func validRole(r Role) bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// stakeholderIndex is the index of the stakeholder named name (any case), or -1.
func (d *Deal) stakeholderIndex(name string) int {
	name = strings.TrimSpace(name)
	for i, s := range d.Stakeholders {
		if strings.EqualFold(s.Name, name) {
			return i
		}
	}
	return -1
}

// MarksContact reports whether CmdContactStale with this mark would change the deal: it has an
// active stakeholder of that name not marked so already. Senders check it on the stored deal to
// spare the workflow a command it would refuse.
func (d *Deal) MarksContact(name string, stale bool) bool {
	i := d.stakeholderIndex(name)
	return d.Active() && i >= 0 && d.Stakeholders[i].Stale != stale
}

// progress restarts the stall clock: recorded stage work is progress, and work during a pause
// ends the pause (the customer is back).
func (d *Deal) progress(now time.Time, fx *Effects) {
	fx.Progress = true
	d.LastProgressAt = now
	d.Stalled = false
	d.StalledSince = nil
	d.Pause = nil
}

// Apply checks cmd and applies it. now is the command's time, s the settings in force.
func (d *Deal) Apply(cmd Command, now time.Time, s Settings) (Effects, error) {
	if err := cmd.Actor.Authorize(cmd, d); err != nil {
		return Effects{}, err
	}
	return d.ApplyRules(cmd, now, s)
}

// ApplyRules is Apply under the deal's rules alone (see CheckRules): never for a person's
// command that no validator has authorized.
func (d *Deal) ApplyRules(cmd Command, now time.Time, s Settings) (Effects, error) {
	if err := d.CheckRules(cmd, now, s); err != nil {
		return Effects{}, err
	}
	var fx Effects
	who := cmd.Actor.ID
	switch cmd.Kind {
	case CmdAssessment:
		in := cmd.Assessment
		a := &Assessment{
			Scores: map[Factor]int{}, ExpectedClose: in.ExpectedClose, Likelihood: in.Likelihood,
			Threshold: s.Assessment.Threshold, AssessedBy: who, AssessedAt: now,
		}
		// A copy: the order cannot matter.
		//workflowcheck:ignore
		for f, v := range in.Scores {
			a.Scores[f] = v
		}
		a.Score = s.Assessment.Score(a.Scores)
		a.Passed = a.Score >= a.Threshold
		a.Grade, a.GradeComputed = in.Grade, false
		if a.Grade == "" {
			a.Grade, a.GradeComputed = ComputeGrade(in.ExpectedClose, in.Likelihood, now), true
		}
		d.Assessment = a
		d.ExpectedClose = in.ExpectedClose
		d.progress(now, &fx)
	case CmdStakeholder:
		p := *cmd.Stakeholder
		p.Name = strings.TrimSpace(p.Name)
		p.RecordedBy, p.RecordedAt = who, now
		// Whether the person is stale is kamflow's to say, from their contact record: what the
		// input says of it is ignored, and a re-recorded stakeholder keeps it.
		p.Stale, p.StaleSince = false, nil
		// A forced edit is recorded before the change (only a command with an Override).
		if others, ok := d.buyingCenterAfter(cmd); ok {
			d.recordOverride(cmd, others, who, now)
		}
		if p.ContactID != "" {
			// The account's contact, found by its id (or, in a record from before stakeholders
			// were contacts, by name: it gains the id now).
			if i := d.StakeholderIndex(p.ContactID, p.Name); i >= 0 {
				p.Stale, p.StaleSince = d.Stakeholders[i].Stale, d.Stakeholders[i].StaleSince
				d.Stakeholders[i] = p
			} else {
				d.Stakeholders = append(d.Stakeholders, p)
			}
			d.progress(now, &fx)
			break
		}
		replaced := false
		for i, x := range d.Stakeholders {
			if strings.EqualFold(x.Name, p.Name) {
				p.Stale, p.StaleSince = x.Stale, x.StaleSince
				d.Stakeholders[i], replaced = p, true
			}
		}
		if !replaced {
			d.Stakeholders = append(d.Stakeholders, p)
		}
		d.progress(now, &fx)
	case CmdContactStale:
		in := cmd.ContactStale
		s := &d.Stakeholders[d.stakeholderIndex(in.Name)]
		s.Stale = in.Stale
		s.StaleSince = nil
		if in.Stale {
			since := now.Add(-time.Duration(max(in.Days, 0)) * Day)
			s.StaleSince = &since
		}
	case CmdCriteria:
		d.Criteria = append([]Criterion(nil), cmd.Criteria...)
		for i := range d.Criteria {
			d.Criteria[i].Name = strings.TrimSpace(d.Criteria[i].Name)
		}
		d.progress(now, &fx)
	case CmdProposal:
		d.Proposal = &ProposalWork{SubmittedOn: cmd.Proposal.SubmittedOn, Summary: cmd.Proposal.Summary, SummaryRef: cmd.Proposal.SummaryRef,
			RecordedBy: who, RecordedAt: now}
		d.progress(now, &fx)
	case CmdBid:
		in := cmd.Bid
		b := &BidWork{
			Cost: in.Cost, Price: in.Price, Deadline: in.Deadline, Submitted: in.Submitted,
			MarginPct: MarginPct(in.Cost, in.Price), Floor: s.MarginFloor, RecordedBy: who, RecordedAt: now,
		}
		// An approval covers the figures it was given for; new figures need a new look.
		if old := d.Bid; old != nil && old.MarginApprovedBy != "" && old.Cost == in.Cost && old.Price == in.Price {
			b.MarginApprovedBy, b.MarginApprovedAt = old.MarginApprovedBy, old.MarginApprovedAt
		}
		d.Bid = b
		d.progress(now, &fx)
	case CmdApproveMargin:
		t := now
		d.Bid.MarginApprovedBy, d.Bid.MarginApprovedAt = who, &t
		d.progress(now, &fx)
	case CmdApproveContract:
		t := now
		d.Contract.ApprovedBy, d.Contract.ApprovedAt = who, &t
		d.progress(now, &fx)
	case CmdRequestApproval:
		d.requestApproval(cmd.Approval, who, now)
		d.progress(now, &fx)
	case CmdAnswerApproval:
		d.answerApproval(cmd.Answer, who, now)
		if a := d.approval(cmd.Answer.ID); a.Status == ApprovalApproved {
			d.progress(now, &fx) // the key node's item is met; a send-back is no progress
		}
		fx.Answered = append(fx.Answered, *d.approval(cmd.Answer.ID))
	case CmdSignContract:
		d.Contract.SignedOn, d.Contract.SignedBy = cmd.Sign.SignedOn, who
		d.Status = StatusWon
		d.progress(now, &fx)
		fx.Transition = d.transition(TransitionWon, d.Stage, "", "", who, now)
	case CmdAcceptance:
		d.Acceptance = &Acceptance{Result: cmd.Acceptance.Result, Notes: cmd.Acceptance.Notes, RecordedBy: who, RecordedAt: now,
			OpenPunchItems: max(cmd.Acceptance.OpenPunchItems, 0)}
		d.progress(now, &fx)
	case CmdCloseProject:
		from := d.Stage
		d.Status = StatusDelivered
		d.progress(now, &fx)
		fx.Transition = d.transition(TransitionDelivered, from, "", "", who, now)
	case CmdAdvance:
		in := cmd.Advance
		if in == nil {
			in = &AdvanceInput{}
		}
		from := d.Stage
		next, _ := from.Next()
		g := d.Gate()
		kind := TransitionAdvanced
		if !g.Met {
			kind = TransitionForced
			d.Forced = true
			d.Forces = append(d.Forces, Force{From: from, To: next, Missing: g.Missing(), Reason: strings.TrimSpace(in.Reason), Actor: who, At: now})
		}
		d.Stage = next
		d.StageEnteredAt = now
		d.StageSLA = Duration(s.StageSLA(next))
		d.progress(now, &fx)
		fx.Transition = d.transition(kind, from, strings.TrimSpace(in.Reason), "", who, now)
		if kind == TransitionForced {
			fx.Transition.Missing = g.Missing()
		} else {
			fx.Transition.Reason = ""
		}
	case CmdClose:
		in := cmd.Close
		d.Status = in.Outcome
		d.Closing = &Closing{Outcome: in.Outcome, ReasonCode: in.ReasonCode, Reason: strings.TrimSpace(in.Reason), Competitor: strings.TrimSpace(in.Competitor), By: who, At: now}
		d.Stalled, d.StalledSince, d.Pause = false, nil, nil
		fx.Transition = d.transition(TransitionClosed, d.Stage, d.Closing.Reason, d.Closing.Competitor, who, now)
		fx.Transition.ReasonCode = in.ReasonCode
	case CmdPause:
		d.Pause = &Pause{Reason: strings.TrimSpace(cmd.Pause.Reason), ResumeOn: cmd.Pause.ResumeOn, Since: now, By: who}
		d.Stalled, d.StalledSince = false, nil
	case CmdResume:
		d.resume(now)
	case CmdReassign:
		d.Owner = strings.TrimSpace(cmd.Reassign.Owner)
	case CmdAssignEngineers:
		d.Engineers = append([]string{}, cmd.Engineers...)
	case CmdEdit:
		d.applyEdit(cmd.Edit)
	case CmdRemoveStakeholder:
		d.applyRemoveStakeholder(cmd, who, now)
	}
	fx.Answered = append(fx.Answered, d.settleApprovals(now)...)
	d.Seq++
	d.UpdatedAt = now
	if fx.Transition != nil {
		fx.Transition.Seq = d.Seq
	}
	return fx, nil
}

// resume ends a pause; the paused time is added to the stall clock so it does not count.
func (d *Deal) resume(now time.Time) {
	if d.Pause == nil {
		return
	}
	if paused := now.Sub(d.Pause.Since); paused > 0 {
		d.LastProgressAt = d.LastProgressAt.Add(paused)
	}
	d.Pause = nil
}

// ResumeDue resumes the deal when its pause's resume date has come; it reports whether it did.
// The workflow calls it from its resume timer.
func (d *Deal) ResumeDue(now time.Time) bool {
	if d.Pause == nil || now.Before(d.Pause.ResumeOn.Time()) {
		return false
	}
	d.resume(now)
	d.Seq++
	d.UpdatedAt = now
	return true
}

// MarkStalled flags the deal stalled if its stall deadline has passed; it reports whether the flag
// changed. The workflow calls it from its SLA timer.
func (d *Deal) MarkStalled(now time.Time) bool {
	dl := d.StallDeadline()
	if d.Stalled || dl.IsZero() || now.Before(dl) {
		return false
	}
	t := now
	d.Stalled, d.StalledSince = true, &t
	d.Seq++
	d.UpdatedAt = now
	return true
}

// SetStageSLA applies changed settings to the deal's current stage; it reports whether the SLA
// changed. A longer SLA can lift a stall; a shorter one stalls the deal on the workflow's next
// timer check.
func (d *Deal) SetStageSLA(s Settings, now time.Time) bool {
	sla := Duration(s.StageSLA(d.Stage))
	if sla == d.StageSLA {
		return false
	}
	d.StageSLA = sla
	if dl := d.StallDeadline(); d.Stalled && !dl.IsZero() && now.Before(dl) {
		d.Stalled, d.StalledSince = false, nil
	}
	d.Seq++
	d.UpdatedAt = now
	return true
}

func (d *Deal) transition(kind string, from Stage, reason, competitor, who string, now time.Time) *StageTransition {
	return &StageTransition{
		DealID: d.ID, Kind: kind, FromStage: from, ToStage: d.Stage, Status: d.Status,
		Forced: kind == TransitionForced, Reason: reason, Competitor: competitor, Actor: who, At: now,
	}
}

// MarginPct is the gross margin (price − cost) / price in percent, rounded to two decimals.
func MarginPct(cost, price Money) float64 {
	if price <= 0 {
		return 0
	}
	return math.Round(float64(price-cost)/float64(price)*10000) / 100
}

// NewDealInput is what a KAM gives to open a deal.
type NewDealInput struct {
	AccountID     string `json:"account_id"`
	Title         string `json:"title"`
	Value         Money  `json:"value"`
	Currency      string `json:"currency"`
	ExpectedClose Date   `json:"expected_close,omitempty"`
	Owner         string `json:"owner,omitempty"`
	// TeamID is the account team the deal belongs to, taken from its account, never from a client.
	TeamID string `json:"-"`
}

// Validate checks the input.
func (in NewDealInput) Validate() error {
	if err := checkText("account_id", in.AccountID, true, 64); err != nil {
		return err
	}
	if err := checkText("title", in.Title, true, maxName); err != nil {
		return err
	}
	if in.Value < 0 || in.Value > MaxMoney {
		return Errorf(EINVALID, "value must be from 0 to 999999999999.99").WithDetail("field", "value")
	}
	if !ValidCurrency(in.Currency) {
		return Errorf(EINVALID, "currency %q must be an ISO 4217 code such as CNY or USD", in.Currency).WithDetail("field", "currency")
	}
	if err := checkText("owner", in.Owner, false, maxName); err != nil {
		return err
	}
	return checkDate("expected_close", in.ExpectedClose, false)
}

// NewDeal opens a deal in development. The returned transition is the first row of its history.
func NewDeal(id string, in NewDealInput, by Actor, now time.Time, s Settings) (*Deal, *StageTransition, error) {
	if err := in.Validate(); err != nil {
		return nil, nil, err
	}
	owner := in.Owner
	if owner == "" {
		owner = by.ID
	}
	d := &Deal{
		ID: id, AccountID: in.AccountID, TeamID: in.TeamID, Title: strings.TrimSpace(in.Title), Value: in.Value,
		Currency: in.Currency, ExpectedClose: in.ExpectedClose, Owner: owner,
		Stage: Development, Status: StatusOpen, StageEnteredAt: now, LastProgressAt: now,
		StageSLA: Duration(s.StageSLA(Development)), Seq: 1, CreatedBy: by.ID, CreatedAt: now, UpdatedAt: now,
	}
	t := d.transition(TransitionCreated, "", "", "", by.ID, now)
	t.Seq = 1
	return d, t, nil
}
