// Package activities holds the side effects of the deal workflows: writing each accepted change
// of a deal to the database projection and delivering notifications — in-app, by outgoing webhook
// and by e-mail — and the directors' daily digest (SendDigests). Every activity is idempotent,
// because Temporal retries them and may run one more than once.
package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/metrics"
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
	// Attention keeps the deals needing attention (RecordAttention, ClearAttention). Nil: Deals, if
	// it is one (the database is).
	Attention kamflow.AttentionStore
	// Metrics counts the projection failures that make a deal need attention; nil counts nothing.
	Metrics *metrics.Registry
	// Now is the clock of the webhook's timestamp and the e-mail's date; nil is time.Now.
	Now func() time.Time
	// NoticeEmail writes the e-mail of a notice in the recipient's language (User.Language, ""
	// for English) — its subject and body —, showing people by nameOf(username); cmd/kamflow
	// wires ui.NoticeEmail, so that the activities need not know the UI's dictionaries. Nil: the
	// e-mails are in English, from the notice's Message.
	NoticeEmail func(lang string, n kamflow.Notification, nameOf func(username string) string) (subject, body string)
	// Users finds the recipients' language and the names of the people the e-mails name. Nil:
	// Notifications or Directory, if either is one (the database is).
	Users UserFinder
}

// UserFinder finds a user by username (kamflow.UserStore's): not_found when there is none.
type UserFinder interface {
	UserByUsername(ctx context.Context, username string) (*kamflow.User, error)
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

func (a *Activities) attention() kamflow.AttentionStore {
	if a.Attention != nil {
		return a.Attention
	}
	s, _ := a.Deals.(kamflow.AttentionStore)
	return s
}

// ProjectionRefused is the type of ProjectDeal's non-retryable error: the store refused the change
// (kamflow.EINVALID, say: data the database can never accept), so that no retry can write it and
// Temporal stops retrying at once. The error's details hold the store's *kamflow.Error.
const ProjectionRefused = "projection_refused"

// ProjectDeal writes one accepted change of a deal (and its stage-history row, if any) to the
// store. The store's sequence guard makes retries and reordered deliveries harmless. A change the
// store refuses with a domain error fails for good (ProjectionRefused); any other failure (the
// database away, a timeout) is retried.
func (a *Activities) ProjectDeal(ctx context.Context, p kamflow.Projection) error {
	var err error
	if s, ok := a.Deals.(newProjection); ok && a.Metrics != nil {
		var fresh bool
		if fresh, err = s.ProjectNew(ctx, p); fresh {
			countMove(a.Metrics, p.Transition)
		}
	} else {
		err = a.Deals.Project(ctx, p)
	}
	if err == nil {
		activity.GetLogger(ctx).Debug("deal projected", "deal", p.Deal.ID, "seq", p.Deal.Seq, "stage", p.Deal.Stage)
	}
	var e *kamflow.Error
	if errors.As(err, &e) && e.Code != kamflow.EUNAVAILABLE && e.Code != kamflow.EINTERNAL {
		return temporal.NewNonRetryableApplicationError("projection refused: "+err.Error(), ProjectionRefused, err, e)
	}
	return err
}

// newProjection is a store that says whether a projection's transition is new (the database):
// a move is counted once, however often its projection is retried.
type newProjection interface {
	ProjectNew(ctx context.Context, p kamflow.Projection) (bool, error)
}

// countMove counts a stage move (advanced or forced) in kamflow_stage_moves_total and
// kamflow_stage_forced_moves_total; other transitions (created, won, closed…) are no moves.
func countMove(m *metrics.Registry, t *kamflow.StageTransition) {
	if t != nil && (t.Kind == kamflow.TransitionAdvanced || t.Kind == kamflow.TransitionForced) {
		m.StageMoved(t.ToStage, t.Kind == kamflow.TransitionForced)
	}
}

// newAttention is a store that says whether a recorded attention is a new failure (the database).
type newAttention interface {
	RecordNewAttention(ctx context.Context, a kamflow.Attention) (bool, error)
}

// RecordAttention lists a deal as needing attention, which tells the admins (once per deal and
// change), and counts the failure in kamflow_projection_failures_total by its Reason — once per
// deal and change as well, when the store says whether it is new (the database does); a retried
// call or a new count of pending changes is not a new failure. An Attention without a Reason
// takes it from its Error: refused when the store refused the change, exhausted otherwise.
func (a *Activities) RecordAttention(ctx context.Context, at kamflow.Attention) error {
	s := a.attention()
	if s == nil {
		return temporal.NewNonRetryableApplicationError("no store keeps the deals needing attention", "no_attention_store", nil)
	}
	if at.Reason == "" {
		at.Reason = kamflow.AttentionExhausted
		if strings.Contains(at.Error, ProjectionRefused) || strings.HasPrefix(at.Error, kamflow.EINVALID+":") {
			at.Reason = kamflow.AttentionRefused
		}
	}
	fresh := true
	var err error
	if n, ok := s.(newAttention); ok {
		fresh, err = n.RecordNewAttention(ctx, at)
	} else {
		err = s.RecordAttention(ctx, at)
	}
	if err != nil {
		return fmt.Errorf("record deal %s needing attention: %w", at.DealID, err)
	}
	if fresh {
		a.Metrics.ProjectionFailed(at.Reason)
		activity.GetLogger(ctx).Error("a deal needs attention: its change could not be written", "deal", at.DealID, "seq", at.Seq,
			"reason", at.Reason, "pending", at.Pending, "err", at.Error)
	}
	return nil
}

// ClearAttention takes a deal off the list of those needing attention, its changes written; the
// deal's timeline says so. Clearing a deal not listed does nothing.
func (a *Activities) ClearAttention(ctx context.Context, dealID string, at time.Time) error {
	s := a.attention()
	if s == nil {
		return temporal.NewNonRetryableApplicationError("no store keeps the deals needing attention", "no_attention_store", nil)
	}
	if err := s.ClearAttention(ctx, dealID, at); err != nil {
		return fmt.Errorf("clear deal %s needing attention: %w", dealID, err)
	}
	return nil
}

// Notify stores in-app notifications; each carries a key, so a retry stores nothing twice.
func (a *Activities) Notify(ctx context.Context, n []kamflow.Notification) error {
	return a.Notifications.Notify(ctx, n)
}

// DirectorNotice asks NotifyDirectors to tell the directors of a deal's team (kamflow's).
type DirectorNotice = kamflow.DirectorNotice

// NotifyDirectors stores an in-app notification (of n's kind, kamflow.NoticeEscalated by default,
// with n's params) for each enabled director of the deal's team and returns their usernames, in order. A retry stores nothing twice.
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
	kind := n.Kind
	if kind == "" {
		kind = kamflow.NoticeEscalated
	}
	for _, u := range users {
		told = append(told, u.Username)
		ns = append(ns, kamflow.Notification{UserID: u.Username, DealID: n.DealID, Kind: kind,
			Key: n.Key + ":" + u.Username, Params: n.Params, Message: n.Message, CreatedAt: n.At})
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

// Channels and events of the notices delivered outside kamflow (the domain's).
const (
	ChannelWebhook = kamflow.ChannelWebhook
	ChannelEmail   = kamflow.ChannelEmail
	EventStalled   = kamflow.EventStalled
	EventEscalated = kamflow.EventEscalated
)

// Notice is a rung of the escalation ladder reached by a deal (kamflow's).
type Notice = kamflow.Notice

// Delivery is a notice to deliver on one channel (kamflow's OutboundNotice).
type Delivery = kamflow.OutboundNotice
