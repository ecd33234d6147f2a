package kamflow

import (
	"context"
	"time"
)

// Channels of the notices delivered outside kamflow.
const (
	ChannelWebhook = "webhook"
	ChannelEmail   = "email"
)

// Events of the notices delivered outside kamflow.
const (
	EventStalled   = "deal.stalled"   // the deal passed its SLA: its KAM is told
	EventEscalated = "deal.escalated" // the deal passed the director's rung: its team's directors are told
)

// Notice is a rung of the escalation ladder reached by a deal, as the webhook receives it (the
// request's JSON body) and as the e-mail tells it.
type Notice struct {
	// ID is unique to the notice and the same on every retry (the receiver drops repeats by it).
	ID    string `json:"id"`
	Event string `json:"event"` // EventStalled or EventEscalated
	// Level is who is told: "kam" or "director"; Recipients are their usernames.
	Level         string     `json:"level"`
	Recipients    []string   `json:"recipients"`
	DealID        string     `json:"deal_id"`
	Title         string     `json:"title"`
	AccountID     string     `json:"account_id"`
	Stage         Stage      `json:"stage"`
	TeamID        string     `json:"team_id,omitempty"`
	Owner         string     `json:"owner"`
	SLA           Duration   `json:"sla"`
	DirectorAfter float64    `json:"director_after"`
	StalledSince  *time.Time `json:"stalled_since,omitempty"`
	Message       string     `json:"message"`
	At            time.Time  `json:"at"`
}

// OutboundNotice is a notice to deliver on one channel: the workflow retries each until it is
// delivered, and carries the undelivered ones across continue-as-new.
type OutboundNotice struct {
	Channel string `json:"channel"` // ChannelWebhook or ChannelEmail
	Notice  Notice `json:"notice"`
}

// Key identifies the delivery.
func (d OutboundNotice) Key() string { return d.Channel + ":" + d.Notice.ID }

// DirectorNotice asks for the directors of a deal's team to be told, in the app, that the deal
// passed the director's rung of its escalation ladder; the answer is who was told.
type DirectorNotice struct {
	DealID  string    `json:"deal_id"`
	TeamID  string    `json:"team_id"`
	Key     string    `json:"key"` // the notice's key; each director's notification is keyed Key + ":" + username
	Message string    `json:"message"`
	At      time.Time `json:"at"`
	// Kind is the notifications' kind, NoticeEscalated when empty (the rung of the ladder, as
	// before kinds were told); Params are their parameters.
	Kind   string            `json:"kind,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

// AcceptanceNotice is what a deal's delivery plan tells the deal: the acceptance test's outcome,
// and the punch items still open. It reaches the deal by its own signal, never as a user's
// command, and the deal applies it under the acceptance rules as recorded by Actor.
type AcceptanceNotice struct {
	Result         AcceptanceResult `json:"result"`
	Notes          string           `json:"notes,omitempty"`
	OpenPunchItems int              `json:"open_punch_items"`
	Actor          Actor            `json:"actor"`
}

// Attention is a deal whose change could not be written to the database for good (the store
// refused it, or every retry failed): the deal's workflow holds the change and every later one,
// refuses new commands, and writes them all once an admin has fixed the cause and retried.
type Attention struct {
	DealID string `json:"deal_id"`
	// Title and Owner say which deal it is, for the admin's list.
	Title string `json:"title,omitempty"`
	Owner string `json:"owner,omitempty"`
	// Seq is the deal's sequence number whose projection failed; Pending how many changes wait.
	Seq     int64     `json:"seq"`
	Pending int       `json:"pending"`
	Error   string    `json:"error"`
	Since   time.Time `json:"since"`
	// Reason says why the change could not be written: AttentionRefused or AttentionExhausted.
	Reason string `json:"reason,omitempty"`
	// Attempts counts the retries an admin asked for.
	Attempts int `json:"attempts"`
}

// Why a deal needs attention (Attention.Reason).
const (
	// AttentionRefused: the store refused the change (data it can never accept); retrying alone
	// does not help, the cause must be fixed first.
	AttentionRefused = "refused"
	// AttentionExhausted: every retry of the projection failed (the database was away too long).
	AttentionExhausted = "exhausted"
)

// AttentionStore keeps the deals that need attention.
type AttentionStore interface {
	// RecordAttention stores (or, for a deal already listed, updates) a deal needing attention and
	// tells every enabled admin in the app, once per deal and Seq.
	RecordAttention(ctx context.Context, a Attention) error
	// ClearAttention removes the deal from the list: its changes are written.
	ClearAttention(ctx context.Context, dealID string, at time.Time) error
	// Attentions lists the deals needing attention, the oldest first.
	Attentions(ctx context.Context) ([]Attention, error)
}

// NoticeAttention is the kind of the admins' notification of a deal needing attention.
const NoticeAttention = "attention"

// DeliveryHold is what a deal's delivery plan tells the deal whenever the tasks whose undo failed
// change: the tasks whose work must still be cleaned up by hand. While any is listed the deal's
// project cannot close (Deal.UndoFailed).
type DeliveryHold struct {
	UndoFailed []string `json:"undo_failed"`
}
