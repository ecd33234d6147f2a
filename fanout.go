package kamflow

import (
	"context"
	"time"
)

// A settings change reaches every running deal by a fan-out: one job for the whole settings
// (not one per request), run on the worker, that tells every active deal the settings as stored,
// a page of deals at a time, and records how far it has come. Each deal keeps the version of the
// settings it holds (DealState.SettingsVersion) and ignores a settings input at or below it, so
// that a deal told twice, or told an older change after a newer one, ends with the newest.

// SettingsFanoutID names the fan-out job (its workflow's ID): one for the whole settings.
const SettingsFanoutID = "settings-fanout"

// The states of a fan-out.
const (
	FanoutRunning    = "running"    // deals are being told
	FanoutDone       = "done"       // every active deal was told
	FanoutSuperseded = "superseded" // a newer version was saved meanwhile: its fan-out tells every deal instead
)

// FanoutProgress is how far the fan-out of one settings version has come: Told of the Total
// active deals counted when it began (deals opened meanwhile start with the new settings, and
// may be counted in Told too).
type FanoutProgress struct {
	Version    int64      `json:"version"`
	Status     string     `json:"status"`
	Total      int        `json:"total"`
	Told       int        `json:"told"`
	StartedAt  time.Time  `json:"started_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Cursor is the last deal ID told ("" before the first page): the deals are told in ID
	// order, and a fan-out interrupted carries on after it.
	Cursor string `json:"-"`
}

// SettingsFanoutStore keeps the fan-outs' progress and pages through the active deals.
type SettingsFanoutStore interface {
	// CountActiveDeals counts the open and won deals: how many a fan-out will tell.
	CountActiveDeals(ctx context.Context) (int, error)
	// ActiveDealIDsAfter lists up to limit active deals whose ID comes after after, by ID.
	ActiveDealIDsAfter(ctx context.Context, after string, limit int) ([]string, error)
	// BeginFanout records the fan-out of version (running, of total deals) unless it is recorded
	// already, and records every older fan-out still running as superseded, at now; it returns
	// the fan-out as recorded (a run interrupted carries on after its Cursor).
	BeginFanout(ctx context.Context, version int64, total int, now time.Time) (FanoutProgress, error)
	// FanoutTold records a page told: told grows by n and the cursor moves to cursor, in one
	// transaction; a fan-out no longer running is left alone. done also finishes it.
	FanoutTold(ctx context.Context, version int64, n int, cursor string, done bool, now time.Time) error
	// Fanout reads the fan-out of version; not_found when there is none.
	Fanout(ctx context.Context, version int64) (FanoutProgress, error)
	// LatestFanout reads the fan-out of the highest version; ok false when there has been none.
	LatestFanout(ctx context.Context) (p FanoutProgress, ok bool, err error)
}

// SettingsFanout runs the fan-out. A change of the settings tells it first what it intends
// (TellSettings with the version it will save: the stored version read before the change, plus
// one), then saves, then tells it the version saved. It waits a while for the version named to be
// stored (a change that failed or died between the two is never told), then tells every deal the
// settings as stored — the newest, which supersedes a fan-out of an older version still running.
type SettingsFanout interface {
	TellSettings(ctx context.Context, version int64) error
}
