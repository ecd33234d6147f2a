package kamflow

import (
	"time"
)

// Deal is one sales opportunity with one customer account: its stage, its status and all the
// evidence recorded for its gates. Its workflow holds the authoritative copy; the database holds a
// projection of it for lists and reports.
type Deal struct {
	ID            string `json:"id"`
	AccountID     string `json:"account_id"`
	Title         string `json:"title"`
	Value         Money  `json:"value"`
	Currency      string `json:"currency"`
	ExpectedClose Date   `json:"expected_close,omitempty"`
	Owner         string `json:"owner"`
	// TeamID is the account team: its KAMs share the deal and its directors oversee it.
	TeamID string `json:"team_id,omitempty"`
	// Engineers are the engineers assigned to the deal's delivery; they see the deal.
	Engineers []string `json:"engineers,omitempty"`
	// Notes are the team's remarks on the deal (CmdEdit); NotesRef is where they are kept as a
	// long text (TextRef), set by kamflow.
	Notes    string `json:"notes,omitempty"`
	NotesRef string `json:"notes_ref,omitempty"`

	Stage          Stage     `json:"stage"`
	Status         Status    `json:"status"`
	StageEnteredAt time.Time `json:"stage_entered_at"`
	// LastProgressAt starts the stall clock: stage work recorded resets it, and time spent paused
	// is added to it on resume, so that paused time never counts against the SLA.
	LastProgressAt time.Time  `json:"last_progress_at"`
	StageSLA       Duration   `json:"stage_sla"`
	Stalled        bool       `json:"stalled"`
	StalledSince   *time.Time `json:"stalled_since,omitempty"`
	Forced         bool       `json:"forced"`
	Forces         []Force    `json:"forces,omitempty"`
	Pause          *Pause     `json:"pause,omitempty"`

	Assessment   *Assessment   `json:"assessment,omitempty"`
	Stakeholders []Stakeholder `json:"stakeholders,omitempty"`
	Criteria     []Criterion   `json:"criteria,omitempty"`
	Proposal     *ProposalWork `json:"proposal,omitempty"`
	Bid          *BidWork      `json:"bid,omitempty"`
	Contract     Contract      `json:"contract"`
	Acceptance   *Acceptance   `json:"acceptance,omitempty"`
	// Approvals are the deal's approval requests and their answers, oldest first (approval.go).
	Approvals []Approval `json:"approvals,omitempty"`
	// DeliveryPlanned is set when the deal entered delivery with a delivery plan (its delivery
	// workflow): the plan's acceptance test then records the acceptance.
	DeliveryPlanned bool `json:"delivery_planned,omitempty"`
	// UndoFailed are the delivery tasks whose undo failed and must be cleaned up by hand, as the
	// delivery plan last told the deal (DeliveryHold): the project cannot close while any is.
	UndoFailed []string `json:"undo_failed,omitempty"`
	Closing    *Closing `json:"closing,omitempty"`
	// Imported is set on a deal that came in from a spreadsheet (ImportDeal): the gates of the
	// stages before the one it was imported at were passed outside kamflow.
	Imported *DealImport `json:"imported,omitempty"`

	// Seq counts the deal's accepted changes. The projection only ever moves forward in Seq, so a
	// retried or late write can never roll the database back.
	Seq       int64     `json:"seq"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Grade is the deal's grade, "" before it is assessed.
func (d *Deal) Grade() Grade {
	if d.Assessment == nil {
		return ""
	}
	return d.Assessment.Grade
}

// Active reports whether work can still be done on the deal.
func (d *Deal) Active() bool { return !d.Status.Final() }

// StallDeadline is when the current stage stalls without progress; zero when the clock is stopped
// (paused, or the deal is closed).
func (d *Deal) StallDeadline() time.Time {
	if !d.Active() || d.Pause != nil || d.StageSLA <= 0 {
		return time.Time{}
	}
	return d.LastProgressAt.Add(time.Duration(d.StageSLA))
}

// DaysInStage counts whole days since the deal entered its stage.
func (d *Deal) DaysInStage(now time.Time) int {
	return int(now.Sub(d.StageEnteredAt) / Day)
}

// DaysOverSLA counts whole days past the stall deadline; 0 when not stalled.
func (d *Deal) DaysOverSLA(now time.Time) int {
	dl := d.StallDeadline()
	if !d.Stalled || dl.IsZero() || now.Before(dl) {
		return 0
	}
	return int(now.Sub(dl) / Day)
}

// Role is a stakeholder's part in the customer's buying decision.
type Role string

// Buying-center roles.
const (
	RoleDecisionMaker      Role = "decision_maker"      // 决策者
	RoleInfluencer         Role = "influencer"          // 影响者
	RoleUser               Role = "user"                // 使用者
	RoleTechnicalEvaluator Role = "technical_evaluator" // 技术评估者
	RolePurchaser          Role = "purchaser"           // 采购/谈判者
	RoleExecutor           Role = "executor"            // 执行者
	RoleInsider            Role = "insider"             // 内线 (coach)
)

// Roles lists the buying-center roles.
var Roles = []Role{RoleDecisionMaker, RoleInfluencer, RoleUser, RoleTechnicalEvaluator, RolePurchaser, RoleExecutor, RoleInsider}

// Stance is a stakeholder's attitude toward us.
type Stance string

// Stances.
const (
	StanceSupporter Stance = "supporter"
	StanceNeutral   Stance = "neutral"
	StanceOpponent  Stance = "opponent"
)

// Stakeholder is a person in the customer's buying center.
type Stakeholder struct {
	// ContactID is the account's contact the stakeholder is (stakeholder.go); "" in a record
	// from before stakeholders were contacts, whose contact the store finds by name.
	ContactID string `json:"contact_id,omitempty"`
	Name      string `json:"name"`
	Title     string `json:"title,omitempty"`
	Role      Role   `json:"role"`
	Stance    Stance `json:"stance"`
	Engaged   bool   `json:"engaged"`
	Influence int    `json:"influence,omitempty"` // 1–5, how much their word weighs
	Notes     string `json:"notes,omitempty"`
	// NotesRef is where the notes are kept (TextRef): the deal's record holds the reference, the
	// database the text. Set by kamflow, never taken from a caller.
	NotesRef   string    `json:"notes_ref,omitempty"`
	RecordedBy string    `json:"recorded_by,omitempty"`
	RecordedAt time.Time `json:"recorded_at"`
	// Stale is set while there has been no contact with the person (as the account's contact of
	// the same name) for the configured number of days, since StaleSince: a stale insider or
	// decision maker no longer counts toward the entry stage's key node.
	Stale      bool       `json:"stale,omitempty"`
	StaleSince *time.Time `json:"stale_since,omitempty"`
}

// Favours tells whom a purchasing criterion favours.
type Favours string

// Who a criterion favours.
const (
	FavoursUs         Favours = "us"
	FavoursNeutral    Favours = "neutral"
	FavoursCompetitor Favours = "competitor"
)

// Criterion is one of the customer's purchasing criteria (采购标准): a spec, a standard, a term.
type Criterion struct {
	Name    string  `json:"name"`
	Favours Favours `json:"favours"`
	Notes   string  `json:"notes,omitempty"`
	// NotesRef is where the notes are kept (see Stakeholder.NotesRef).
	NotesRef string `json:"notes_ref,omitempty"`
}

// ProposalWork records the written proposal handed to the customer.
type ProposalWork struct {
	SubmittedOn Date   `json:"submitted_on"`
	Summary     string `json:"summary,omitempty"`
	// SummaryRef is where the summary is kept (see Stakeholder.NotesRef).
	SummaryRef string    `json:"summary_ref,omitempty"`
	RecordedBy string    `json:"recorded_by"`
	RecordedAt time.Time `json:"recorded_at"`
}

// BidWork is our bid: cost, price and the gross margin between them.
type BidWork struct {
	Cost      Money   `json:"cost"`
	Price     Money   `json:"price"`
	MarginPct float64 `json:"margin_pct"` // gross margin in percent of price, two decimals
	// Floor is the margin floor in force when the bid was recorded. A bid below it needs a
	// director's approval, which a later change of cost or price withdraws.
	Floor            float64    `json:"floor"`
	Deadline         Date       `json:"deadline,omitempty"`
	Submitted        bool       `json:"submitted"`
	MarginApprovedBy string     `json:"margin_approved_by,omitempty"`
	MarginApprovedAt *time.Time `json:"margin_approved_at,omitempty"`
	RecordedBy       string     `json:"recorded_by"`
	RecordedAt       time.Time  `json:"recorded_at"`
}

// BelowFloor reports whether the bid's margin needs a director's approval.
func (b *BidWork) BelowFloor() bool { return b.MarginPct < b.Floor }

// Contract records approval (by a director) and signing. Signing wins the deal.
type Contract struct {
	ApprovedBy string     `json:"approved_by,omitempty"`
	ApprovedAt *time.Time `json:"approved_at,omitempty"`
	SignedOn   Date       `json:"signed_on,omitempty"`
	SignedBy   string     `json:"signed_by,omitempty"`
}

// AcceptanceResult is the outcome of the engineering acceptance test.
type AcceptanceResult string

// Acceptance outcomes.
const (
	AcceptancePass          AcceptanceResult = "pass"
	AcceptancePassPunchList AcceptanceResult = "pass_with_punch_list"
	AcceptanceFail          AcceptanceResult = "fail"
)

// Acceptance records the engineering acceptance (工程验收).
type Acceptance struct {
	Result     AcceptanceResult `json:"result"`
	Notes      string           `json:"notes,omitempty"`
	RecordedBy string           `json:"recorded_by"`
	RecordedAt time.Time        `json:"recorded_at"`
	// OpenPunchItems counts the punch list's open items (from the delivery plan): the project
	// closes only when it is zero.
	OpenPunchItems int `json:"open_punch_items,omitempty"`
}

// Force records a forced advance: who pushed the deal past which unmet gate, and why.
type Force struct {
	From    Stage     `json:"from"`
	To      Stage     `json:"to"`
	Missing []string  `json:"missing"`
	Reason  string    `json:"reason"`
	Actor   string    `json:"actor"`
	At      time.Time `json:"at"`
}

// Pause stops the stall clock until the deal is resumed or its resume date comes.
type Pause struct {
	Reason   string    `json:"reason"`
	ResumeOn Date      `json:"resume_on"`
	Since    time.Time `json:"since"`
	By       string    `json:"by"`
}

// Closing records how a deal ended without delivery: lost, withdrawn or abandoned.
type Closing struct {
	Outcome Status `json:"outcome"`
	// ReasonCode is the loss reason picked from the settings' list (or "other"); "" for a close
	// recorded before there was a list, and for withdrawn and abandoned deals.
	ReasonCode string    `json:"reason_code,omitempty"`
	Reason     string    `json:"reason"`
	Competitor string    `json:"competitor,omitempty"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
}

// Transition kinds recorded in the stage history.
const (
	TransitionCreated   = "created"
	TransitionAdvanced  = "advanced"
	TransitionForced    = "forced"
	TransitionWon       = "won"
	TransitionClosed    = "closed"
	TransitionDelivered = "delivered"
	// TransitionImported opens an imported deal at the stage it was at in the spreadsheet. It
	// does not begin a stay in the reports' sense: when the deal entered that stage is not known,
	// so the funnel and time in stage count the deal's stays from its first move in kamflow on.
	TransitionImported = "imported"
)

// StageTransition is one row of a deal's stage history: the moves between stages and the changes
// of status that end a stage's clock. Time in stage is exact because every move is recorded here.
type StageTransition struct {
	DealID     string    `json:"deal_id"`
	Seq        int64     `json:"seq"`
	Kind       string    `json:"kind"`
	FromStage  Stage     `json:"from_stage,omitempty"`
	ToStage    Stage     `json:"to_stage"`
	Status     Status    `json:"status"`
	Forced     bool      `json:"forced"`
	Reason     string    `json:"reason,omitempty"`
	ReasonCode string    `json:"reason_code,omitempty"` // a loss's reason from the settings' list (Closing.ReasonCode)
	Competitor string    `json:"competitor,omitempty"`
	Missing    []string  `json:"missing,omitempty"`
	Actor      string    `json:"actor"`
	At         time.Time `json:"at"`
}
