package kamflow

import (
	"context"
	"strings"
	"time"
)

// Account is a customer company: the key account a KAM manages. Deals come and go; the account
// stays.
type Account struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Industry string `json:"industry,omitempty"`
	Region   string `json:"region,omitempty"`
	Address  string `json:"address,omitempty"`
	Owner    string `json:"owner"`
	TeamID   string `json:"team_id,omitempty"` // the account team: its KAMs share the account's deals
	Notes    string `json:"notes,omitempty"`
	// Profile is the customer's organisation, decision structure and business trends.
	Profile AccountProfile `json:"profile"`
	// Value holds the inputs of the value score; ValueScore and Segment are computed from them by
	// the store (ScoreValue) whenever they or the settings change, never taken from a caller.
	Value      AccountValue `json:"value"`
	ValueScore float64      `json:"value_score"`
	Segment    Segment      `json:"segment,omitempty"`
	// LifecycleOverride is a person's judgement over the derived lifecycle (see lifecycle.go);
	// only the store's SetLifecycleOverride changes it.
	LifecycleOverride *LifecycleOverride `json:"lifecycle_override,omitempty"`
	CreatedAt         time.Time          `json:"created_at"`
	UpdatedAt         time.Time          `json:"updated_at"`
	// Version is 1 when the account is created and one more with every change a person makes
	// (an edit, a handover, a lifecycle override), by UpdatedBy (see versions.go).
	Version   int64  `json:"version"`
	UpdatedBy string `json:"updated_by,omitempty"`
}

// AccountInput creates an account (every field) or patches one (the non-nil fields).
type AccountInput struct {
	Name     *string `json:"name,omitempty"`
	Industry *string `json:"industry,omitempty"`
	Region   *string `json:"region,omitempty"`
	Address  *string `json:"address,omitempty"`
	Owner    *string `json:"owner,omitempty"`
	Notes    *string `json:"notes,omitempty"`
	// Profile and Value patch the profile and the value inputs field by field.
	Profile *AccountProfileInput `json:"profile,omitempty"`
	Value   *AccountValueInput   `json:"value,omitempty"`
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
	if in.Profile != nil {
		if err := in.Profile.ApplyTo(&a.Profile); err != nil {
			return err
		}
	}
	if in.Value != nil {
		if err := in.Value.ApplyTo(&a.Value); err != nil {
			return err
		}
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
	// Segment and Lifecycle keep the accounts of a value segment and of a lifecycle phase (the
	// override's where there is one, else derived as of Now, or the time of the call when zero).
	Segment   Segment
	Lifecycle Phase
	Now       time.Time
	// Sort orders the list: by name (AccountsByName, the default) or by value score, highest
	// first (AccountsByValue).
	Sort string
	Page
}

// The orders of the account list.
const (
	AccountsByName  = "name"
	AccountsByValue = "value_score"
)

// AccountStore keeps accounts.
type AccountStore interface {
	// The audit entries given are appended in the same transaction as the change.
	CreateAccount(ctx context.Context, a *Account, audit ...*AuditEntry) error
	Account(ctx context.Context, id string) (*Account, error) // not_found when missing
	Accounts(ctx context.Context, f AccountFilter) ([]*Account, int, error)
	// UpdateAccount overwrites the stored account with a: all but its ID, creation time, value
	// score (recomputed) and lifecycle override.
	UpdateAccount(ctx context.Context, a *Account, audit ...*AuditEntry) error
	// PatchAccount changes the fields in sets (never the owner: that is a handover) on the
	// account as stored, read and written in one transaction, at the next version; the account
	// after. An Edit at another version is a VersionConflict with the account as it is. audit,
	// when not nil, gives the audit entry of the change from the account before and after it.
	PatchAccount(ctx context.Context, id string, in AccountInput, e Edit, audit func(before, after *Account) *AuditEntry) (*Account, error)
	// KeyAccountStore keeps the rest of the key-account record (keyaccount.go).
	KeyAccountStore
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
	// Active selects the active deals (open, or won and not yet delivered), as the board shows;
	// Status, when set, wins over it.
	Active bool
	TeamID string
	// CloseFrom and CloseTo select an expected close date in [CloseFrom, CloseTo) (ParseMonth).
	CloseFrom, CloseTo Date
	// Text selects the deals whose title or account's name contains it, whatever the case.
	Text string
	// Sort and Desc order the list (dealviews.go); the zero value is the most recently updated
	// first.
	Sort DealSort
	Desc bool
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
	// Weighted is the value weighted by each deal's win probability, per currency (Weighted).
	Weighted []CurrencyTotal `json:"weighted"`
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
	Key string `json:"key,omitempty"`
	// Params fill the kind's text in the reader's language (the UI's dictionaries, the e-mails);
	// Message is the English text, for notices stored before kinds carried their parameters.
	Params    map[string]string `json:"params,omitempty"`
	Message   string            `json:"message"`
	CreatedAt time.Time         `json:"created_at"`
	ReadAt    *time.Time        `json:"read_at,omitempty"`
	// Text is the notification in the reader's language, filled in where it is read (the API's
	// inbox, from the kind and params); never stored.
	Text string `json:"text,omitempty"`
}

// NotificationStore keeps in-app notifications.
type NotificationStore interface {
	Notify(ctx context.Context, n []Notification) error
	Notifications(ctx context.Context, userID string, limit int) ([]Notification, error)
}

// SettingsStore keeps the settings.
type SettingsStore interface {
	Settings(ctx context.Context) (Settings, error)                           // the defaults until something is saved
	SaveSettings(ctx context.Context, s Settings, audit ...*AuditEntry) error // audit appended with the change
	// SettingsEditor changes them field by field, with their version (versions.go).
	SettingsEditor
}

// IdempotentResponse is a stored answer to a write made with an Idempotency-Key, replayed when
// the same key comes again. Status 0 is a claim: the first request with the key is still being
// answered (Body then holds the claim's token).
type IdempotentResponse struct {
	Key         string    `json:"key"`
	Fingerprint string    `json:"fingerprint"` // method, path, query and body hash of the first request
	Status      int       `json:"status"`
	Body        []byte    `json:"body"`
	CreatedAt   time.Time `json:"created_at"`
}

// IdempotencyStore keeps answers to writes made with an Idempotency-Key.
type IdempotencyStore interface {
	IdempotentResponse(ctx context.Context, key string) (*IdempotentResponse, error) // nil, nil when unknown
	// SaveIdempotentResponse stores the answer under its key, in place of a claim; the first
	// answer stored under a key stays.
	SaveIdempotentResponse(ctx context.Context, r *IdempotentResponse) error
	// ClaimIdempotencyKey claims c.Key for the request c (Status 0, Body its token) before it
	// is answered, so that requests racing it with the same key are told it is in progress:
	// nil when claimed — nothing was stored under the key, or only a claim of the same request
	// made before staleBefore (its server gone), which c takes over. Otherwise what the key
	// holds: an answer, or another request's claim (Status 0).
	ClaimIdempotencyKey(ctx context.Context, c *IdempotentResponse, staleBefore time.Time) (*IdempotentResponse, error)
	// ReleaseIdempotencyKey removes the claim with this token (a request that failed: its retry
	// is tried again); an answer, or another's claim, stays.
	ReleaseIdempotencyKey(ctx context.Context, key string, token []byte) error
}
