// Package activities holds the side effects of the deal workflows: writing each accepted change
// of a deal to the database projection and delivering notifications — in-app, by outgoing webhook
// and by e-mail — and the directors' daily digest (SendDigests). Every activity is idempotent,
// because Temporal retries them and may run one more than once.
package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/kamflow/kamflow"
)

// Activities are registered on the worker; their stores are the database's.
type Activities struct {
	Deals         kamflow.DealStore
	Notifications kamflow.NotificationStore
	// Directory finds a team's directors and users' e-mail addresses. Nil: Notifications, if it is
	// one (the database is), so that a worker wired before the escalation ladder still tells
	// directors.
	Directory kamflow.Directory
	// Webhook, when set, receives every notice of the escalation ladder, signed; Mail, when set,
	// sends each by e-mail to its recipients that have an address. Unset, the notices are in-app
	// only.
	Webhook *Webhook
	Mail    *Mailer
	// Directors and Escalations serve the daily digest (SendDigests): who the directors are, and
	// the escalation ladder in force. Nil: Notifications or Deals, if either is one (the database
	// is both).
	Directors   kamflow.DigestDirectory
	Escalations kamflow.EscalationStore
	// Now is the clock of the webhook's timestamp and the e-mail's date; nil is time.Now.
	Now func() time.Time
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Activities) directory() kamflow.Directory {
	if a.Directory != nil {
		return a.Directory
	}
	d, _ := a.Notifications.(kamflow.Directory)
	return d
}

// ProjectDeal writes one accepted change of a deal (and its stage-history row, if any) to the
// store. The store's sequence guard makes retries and reordered deliveries harmless.
func (a *Activities) ProjectDeal(ctx context.Context, p kamflow.Projection) error {
	return a.Deals.Project(ctx, p)
}

// Notify stores in-app notifications; each carries a key, so a retry stores nothing twice.
func (a *Activities) Notify(ctx context.Context, n []kamflow.Notification) error {
	return a.Notifications.Notify(ctx, n)
}

// DirectorNotice asks NotifyDirectors to tell the directors of a deal's team that the deal passed
// the director's rung of its escalation ladder.
type DirectorNotice struct {
	DealID  string    `json:"deal_id"`
	TeamID  string    `json:"team_id"`
	Key     string    `json:"key"` // the notice's key; each director's notification is keyed Key + ":" + username
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// NotifyDirectors stores an in-app notification (kind kamflow.NoticeEscalated) for each enabled
// director of the deal's team and returns their usernames, in order. A retry stores nothing twice.
// A deal without a team, or a team without a director, tells no one (and says so in the log).
func (a *Activities) NotifyDirectors(ctx context.Context, n DirectorNotice) ([]string, error) {
	dir := a.directory()
	if dir == nil {
		activity.GetLogger(ctx).Error("no directory to find directors in: the directors were not told", "deal", n.DealID, "team", n.TeamID)
		return []string{}, nil
	}
	users, err := dir.Directors(ctx, n.TeamID)
	if err != nil {
		return nil, fmt.Errorf("directors of team %q: %w", n.TeamID, err)
	}
	told := []string{}
	var ns []kamflow.Notification
	for _, u := range users {
		told = append(told, u.Username)
		ns = append(ns, kamflow.Notification{UserID: u.Username, DealID: n.DealID, Kind: kamflow.NoticeEscalated,
			Key: n.Key + ":" + u.Username, Message: n.Message, CreatedAt: n.At})
	}
	if len(ns) == 0 {
		activity.GetLogger(ctx).Warn("the deal's team has no director to tell", "deal", n.DealID, "team", n.TeamID)
		return told, nil
	}
	if err := a.Notifications.Notify(ctx, ns); err != nil {
		return nil, err
	}
	return told, nil
}

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
	Level         string           `json:"level"`
	Recipients    []string         `json:"recipients"`
	DealID        string           `json:"deal_id"`
	Title         string           `json:"title"`
	AccountID     string           `json:"account_id"`
	Stage         kamflow.Stage    `json:"stage"`
	TeamID        string           `json:"team_id,omitempty"`
	Owner         string           `json:"owner"`
	SLA           kamflow.Duration `json:"sla"`
	DirectorAfter float64          `json:"director_after"`
	StalledSince  *time.Time       `json:"stalled_since,omitempty"`
	Message       string           `json:"message"`
	At            time.Time        `json:"at"`
}

// Delivery is a notice to deliver on one channel: the workflow retries each until it is delivered,
// and carries the undelivered ones across continue-as-new.
type Delivery struct {
	Channel string `json:"channel"` // ChannelWebhook or ChannelEmail
	Notice  Notice `json:"notice"`
}

// Key identifies the delivery.
func (d Delivery) Key() string { return d.Channel + ":" + d.Notice.ID }
