package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/kamflow/kamflow"
)

// Fanout are the activities of the settings fan-out (workflows.SettingsFanoutWorkflow): they
// find the settings version to tell, and tell the active deals a page at a time. Progress is the
// store's: a page retried after a worker died carries on from the cursor the store holds (and
// tells again, harmlessly, the deals of a page whose record did not commit: a deal ignores a
// version it holds).
type Fanout struct {
	Settings kamflow.SettingsEditor
	Store    kamflow.SettingsFanoutStore
	Deals    kamflow.EscalationService
	// Poll is how often BeginFanout reads the settings while it waits for a version; 0 is 250 ms.
	Poll time.Duration
	// Now is the clock of the records; nil is time.Now.
	Now func() time.Time
}

func (f *Fanout) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// heartbeat records details when ctx is an activity's (the API's tests run these functions on
// their own).
func heartbeat(ctx context.Context, details any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details)
	}
}

// FanoutBegin asks for the fan-out of a settings version above After, waiting for one until Until.
type FanoutBegin struct {
	After int64     `json:"after"`
	Until time.Time `json:"until"`
}

// FanoutBegun is the fan-out begun: the version it tells (0: none above After was stored in time)
// and its record's status (done: told already, by an earlier run).
type FanoutBegun struct {
	Version int64  `json:"version"`
	Status  string `json:"status,omitempty"`
	Total   int    `json:"total"`
}

// BeginFanout waits (until in.Until) for the settings stored to be at a version above in.After,
// then records the fan-out of that version — the newest stored — with the active deals to tell,
// superseding any older one still running. None stored in time: the change it was asked for was
// never saved, and nothing is recorded.
func (f *Fanout) BeginFanout(ctx context.Context, in FanoutBegin) (FanoutBegun, error) {
	poll := f.Poll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	for {
		v, err := f.Settings.VersionedSettings(ctx)
		if err != nil {
			return FanoutBegun{}, err
		}
		if v.Version > in.After {
			total, err := f.Store.CountActiveDeals(ctx)
			if err != nil {
				return FanoutBegun{}, err
			}
			p, err := f.Store.BeginFanout(ctx, v.Version, total, f.now())
			if err != nil {
				return FanoutBegun{}, err
			}
			return FanoutBegun{Version: p.Version, Status: p.Status, Total: p.Total}, nil
		}
		if !f.now().Before(in.Until) {
			return FanoutBegun{}, nil
		}
		heartbeat(ctx, v.Version)
		select {
		case <-ctx.Done():
			return FanoutBegun{}, ctx.Err()
		case <-time.After(min(poll, max(time.Millisecond, in.Until.Sub(f.now())))):
		}
	}
}

// FanoutPageInput is one page of the fan-out of Version: up to PageSize deals, told at no more
// than Rate a second (0: no bound).
type FanoutPageInput struct {
	Version  int64 `json:"version"`
	PageSize int   `json:"page_size"`
	Rate     int   `json:"rate"`
}

// FanoutPageResult is a page told: how many deals, and whether the fan-out is over — every deal
// told (Done), a newer version stored (Newer, which supersedes this one), or the fan-out no
// longer running (Status, done or superseded).
type FanoutPageResult struct {
	Told   int    `json:"told"`
	Done   bool   `json:"done,omitempty"`
	Newer  int64  `json:"newer,omitempty"`
	Status string `json:"status,omitempty"`
}

// fanoutChunk is how many deals are told between two heartbeats (and rate checks).
const fanoutChunk = 50

// TellFanoutPage tells the next page of active deals after the fan-out's cursor the settings as
// stored, and records the page told (its deals, the cursor after them) in one write. Settings
// stored at a newer version than the fan-out's are not told here: the result names them, and the
// workflow begins their fan-out instead.
func (f *Fanout) TellFanoutPage(ctx context.Context, in FanoutPageInput) (FanoutPageResult, error) {
	p, err := f.Store.Fanout(ctx, in.Version)
	if err != nil {
		return FanoutPageResult{}, err
	}
	if p.Status != kamflow.FanoutRunning {
		return FanoutPageResult{Status: p.Status}, nil
	}
	v, err := f.Settings.VersionedSettings(ctx)
	if err != nil {
		return FanoutPageResult{}, err
	}
	switch {
	case v.Version > in.Version:
		return FanoutPageResult{Newer: v.Version}, nil
	case v.Version < in.Version:
		return FanoutPageResult{}, fmt.Errorf("the settings stored are at version %d, below the fan-out's %d", v.Version, in.Version)
	}
	size := in.PageSize
	if size <= 0 {
		size = 100
	}
	ids, err := f.Store.ActiveDealIDsAfter(ctx, p.Cursor, size)
	if err != nil {
		return FanoutPageResult{}, err
	}
	start := time.Now()
	for i := 0; i < len(ids); i += fanoutChunk {
		chunk := ids[i:min(i+fanoutChunk, len(ids))]
		if err := f.Deals.ApplyEscalation(ctx, v, chunk); err != nil {
			return FanoutPageResult{}, err
		}
		heartbeat(ctx, i+len(chunk))
		if in.Rate > 0 {
			// The bounded rate: the deals told so far may not have taken less than their share.
			due := start.Add(time.Duration(i+len(chunk)) * time.Second / time.Duration(in.Rate))
			select {
			case <-ctx.Done():
				return FanoutPageResult{}, ctx.Err()
			case <-time.After(time.Until(due)):
			}
		}
	}
	cursor, done := p.Cursor, len(ids) < size
	if len(ids) > 0 {
		cursor = ids[len(ids)-1]
	}
	if err := f.Store.FanoutTold(ctx, in.Version, len(ids), cursor, done, f.now()); err != nil {
		return FanoutPageResult{}, err
	}
	return FanoutPageResult{Told: len(ids), Done: done}, nil
}
