package kamflow

import (
	"context"
	"strings"
	"time"
)

// Account is a customer company: the key account a KAM manages. Deals come and go; the account
// stays.
type Account struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Industry  string    `json:"industry,omitempty"`
	Region    string    `json:"region,omitempty"`
	Address   string    `json:"address,omitempty"`
	Owner     string    `json:"owner"`
	TeamID    string    `json:"team_id,omitempty"` // the account team: its KAMs share the account's deals
	Notes     string    `json:"notes,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AccountInput creates an account (every field) or patches one (the non-nil fields).
type AccountInput struct {
	Name     *string `json:"name,omitempty"`
	Industry *string `json:"industry,omitempty"`
	Region   *string `json:"region,omitempty"`
	Address  *string `json:"address,omitempty"`
	Owner    *string `json:"owner,omitempty"`
	Notes    *string `json:"notes,omitempty"`
}

// ApplyTo checks the input and copies its set fields onto a.
func (in AccountInput) ApplyTo(a *Account) error {
	fields := []struct {
		name     string
		v        *string
		dst      *string
		required bool
		max      int
	}{
		{"name", in.Name, &a.Name, true, maxName},
		{"industry", in.Industry, &a.Industry, false, maxName},
		{"region", in.Region, &a.Region, false, maxName},
		{"address", in.Address, &a.Address, false, maxText},
		{"owner", in.Owner, &a.Owner, true, maxName},
		{"notes", in.Notes, &a.Notes, false, maxText},
	}
	for _, f := range fields {
		if f.v == nil {
			continue
		}
		v := strings.TrimSpace(*f.v)
		if err := checkText(f.name, v, f.required, f.max); err != nil {
			return err
		}
		*f.dst = v
	}
	if strings.TrimSpace(a.Name) == "" {
		return Errorf(EINVALID, "name is required").WithDetail("field", "name")
	}
	return nil
}

// Page asks for one page of a list.
type Page struct {
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// AccountFilter selects accounts.
type AccountFilter struct {
	// Viewer limits the accounts to those the actor may see (nil: every account).
	Viewer *Actor
	Owner  string
	Query  string // matches the name, case-insensitively
	Page
}

// AccountStore keeps accounts.
type AccountStore interface {
	CreateAccount(ctx context.Context, a *Account) error
	Account(ctx context.Context, id string) (*Account, error) // not_found when missing
	Accounts(ctx context.Context, f AccountFilter) ([]*Account, int, error)
	UpdateAccount(ctx context.Context, a *Account) error
}

// DealFilter selects deals. Empty fields select everything.
type DealFilter struct {
	// Viewer limits the deals to those the actor may see (nil: every deal).
	Viewer    *Actor
	AccountID string
	Stage     Stage
	Status    Status
	Owner     string
	Grade     Grade
	Stalled   *bool
	Page
}

// Projection is one accepted change of a deal as written to the database: the deal as it now
// stands and, for a move, the stage-history row.
type Projection struct {
	Deal       Deal             `json:"deal"`
	Transition *StageTransition `json:"transition,omitempty"`
	// Audit is the audit-trail entry of the change, written with it.
	Audit *AuditEntry `json:"audit,omitempty"`
}

// DealStore is the queryable projection of the deals. The workflows own the deals; this store
// only follows them.
type DealStore interface {
	// Project writes p idempotently: the deal row only moves forward in Seq and a transition is
	// written once, however often the write is retried or reordered.
	Project(ctx context.Context, p Projection) error
	Deal(ctx context.Context, id string) (*Deal, error) // not_found when missing
	Deals(ctx context.Context, f DealFilter) ([]*Deal, int, error)
	StageHistory(ctx context.Context, dealID string) ([]StageTransition, error)
	// StalledDeals lists the stalled deals the viewer may see (nil: all), oldest stall first.
	StalledDeals(ctx context.Context, viewer *Actor) ([]*Deal, error)
	// Pipeline sums the active (open or won) deals matching f by stage: the board's column heads.
	// Every stage is present, in order, even when empty. Page and Status are ignored.
	Pipeline(ctx context.Context, f DealFilter) ([]StageSummary, error)
	// ActiveDealIDs lists the active deals in a stage ("" for every stage).
	ActiveDealIDs(ctx context.Context, st Stage) ([]string, error)
}

// StageSummary is one column of the pipeline: how many active deals a stage holds, how many of
// them are stalled, and their value per currency (amounts in different currencies are never
// added together).
type StageSummary struct {
	Stage   Stage           `json:"stage"`
	Count   int             `json:"count"`
	Stalled int             `json:"stalled"`
	Value   []CurrencyTotal `json:"value"`
}

// CurrencyTotal is a sum of money in one currency.
type CurrencyTotal struct {
	Currency string `json:"currency"`
	Total    Money  `json:"total"`
}

// Notification is an in-app message to a user.
type Notification struct {
	ID     int64  `json:"id"`
	UserID string `json:"user_id"`
	DealID string `json:"deal_id,omitempty"`
	Kind   string `json:"kind"` // e.g. "stalled"
	// Key makes delivery idempotent: a notification with a key already stored is not stored again.
	Key       string     `json:"key,omitempty"`
	Message   string     `json:"message"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at,omitempty"`
}

// NotificationStore keeps in-app notifications.
type NotificationStore interface {
	Notify(ctx context.Context, n []Notification) error
	Notifications(ctx context.Context, userID string, limit int) ([]Notification, error)
}

// SettingsStore keeps the settings.
type SettingsStore interface {
	Settings(ctx context.Context) (Settings, error) // the defaults until something is saved
	SaveSettings(ctx context.Context, s Settings) error
}

// IdempotentResponse is a stored answer to a write made with an Idempotency-Key, replayed when
// the same key comes again.
type IdempotentResponse struct {
	Key         string    `json:"key"`
	Fingerprint string    `json:"fingerprint"` // method, path and body hash of the first request
	Status      int       `json:"status"`
	Body        []byte    `json:"body"`
	CreatedAt   time.Time `json:"created_at"`
}

// IdempotencyStore keeps answers to writes made with an Idempotency-Key.
type IdempotencyStore interface {
	IdempotentResponse(ctx context.Context, key string) (*IdempotentResponse, error) // nil, nil when unknown
	SaveIdempotentResponse(ctx context.Context, r *IdempotentResponse) error
}
