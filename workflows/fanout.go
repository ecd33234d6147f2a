package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/requestid"
)

// The settings fan-out: one workflow (SettingsFanoutID) for the whole settings, which a change
// signals-with-start (SettingsFanoutSignal, the version it intends to save) before saving and again
// once saved. The workflow waits a while (FanoutInput.Wait after the last signal) for a version
// above what it has told, and tells every active deal the settings as stored — the newest — a page
// at a time, at a bounded rate. A newer version stored meanwhile supersedes the fan-out running:
// it begins again from the first page with the newer settings. Progress (told of total, the
// cursor) is the store's, so a worker killed mid-page is replaced and carries on from there.
const (
	SettingsFanoutWorkflowName = "SettingsFanoutWorkflow"
	// SettingsFanoutID is the fan-out's workflow ID: one at a time for the whole settings.
	SettingsFanoutID = kamflow.SettingsFanoutID
	// SettingsFanoutSignal carries a settings version (an int64) stored or about to be.
	SettingsFanoutSignal = "tell_settings"
)

// FanoutInput starts (or continues) the fan-out. The knobs are 0 for their defaults; the rest is
// carried across continue-as-new.
type FanoutInput struct {
	// Wait is how long the fan-out waits, after a signal, for a version above what it has told to
	// be stored: a change that failed or died before its save never shows, and the fan-out ends
	// with nothing done. Default one minute.
	Wait time.Duration `json:"wait,omitempty"`
	// PageSize is how many deals a page tells (default 100), Rate how many deals a second at most
	// (default 300), PagesPerRun how many pages a run tells before it continues as new (default
	// 100).
	PageSize    int `json:"page_size,omitempty"`
	Rate        int `json:"rate,omitempty"`
	PagesPerRun int `json:"pages_per_run,omitempty"`

	// Started is set once a signal has come: Told is then the highest version told (or, for the
	// first signal's run, the version before the one it named: no fan-out of it is asked for).
	Started bool  `json:"started,omitempty"`
	Told    int64 `json:"told,omitempty"`
	// Current is the version whose fan-out is running; Until is until when a save may still come.
	Current int64     `json:"current,omitempty"`
	Until   time.Time `json:"until,omitempty"`
	// RequestIDs are the IDs of the requests that signalled the versions not yet told, by
	// version, so that a version's fan-out and the deals' changes it causes log the ID of the
	// save behind it.
	RequestIDs []VersionRequest `json:"request_ids,omitempty"`
}

// VersionRequest is the ID of the request that signalled a settings version.
type VersionRequest struct {
	Version   int64  `json:"version"`
	RequestID string `json:"request_id"`
}

// requestID is the ID of the request that signalled version v, or "".
func (in FanoutInput) requestID(v int64) string {
	for _, r := range slices.Backward(in.RequestIDs) {
		if r.Version == v {
			return r.RequestID
		}
	}
	return ""
}

func (in FanoutInput) withDefaults() FanoutInput {
	if in.Wait <= 0 {
		in.Wait = time.Minute
	}
	if in.PageSize <= 0 {
		in.PageSize = 100
	}
	if in.Rate <= 0 {
		in.Rate = 300
	}
	if in.PagesPerRun <= 0 {
		in.PagesPerRun = 100
	}
	return in
}

// fanoutRetry retries the fan-out's activities while the database or Temporal is away, for hours.
var fanoutRetry = &temporal.RetryPolicy{
	InitialInterval:    time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    time.Minute,
	MaximumAttempts:    0, // unlimited, within ScheduleToCloseTimeout
}

// SettingsFanoutWorkflow tells every active deal the settings as stored, each newer version
// superseding the one before, and ends once Wait has passed since the last signal with every
// version stored told.
func SettingsFanoutWorkflow(ctx workflow.Context, in FanoutInput) error {
	st := in.withDefaults()
	ch := workflow.GetSignalChannel(ctx, SettingsFanoutSignal)
	drain := func() {
		var v int64
		for ch.ReceiveAsync(&v) {
			if id := requestid.Signalled(ctx, SettingsFanoutSignal); id != "" {
				st.RequestIDs = append(st.RequestIDs, VersionRequest{Version: v, RequestID: id})
			}
			if !st.Started {
				st.Started, st.Told = true, max(st.Told, v-1)
			}
			st.Until = workflow.Now(ctx).Add(st.Wait)
		}
	}
	var a *activities.Fanout
	beginCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    st.Wait + time.Minute,
		HeartbeatTimeout:       20 * time.Second,
		ScheduleToCloseTimeout: 6 * time.Hour,
		RetryPolicy:            fanoutRetry,
	})
	pageCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Minute,
		HeartbeatTimeout:       20 * time.Second,
		ScheduleToCloseTimeout: 6 * time.Hour,
		RetryPolicy:            fanoutRetry,
	})
	log := workflow.GetLogger(ctx)
	// check is set when the stored version is to be looked at once more even if no save is
	// awaited: a newer version was seen, or a fan-out just ended (a change saved while its last
	// page ran is told, however late that page ended).
	pages, check := 0, false
	for {
		drain()
		if st.Current == 0 {
			now := workflow.Now(ctx)
			if !check && !now.Before(st.Until) {
				if ch.Len() > 0 {
					continue
				}
				return nil // every version stored is told, and no save is awaited
			}
			until := st.Until
			if check && until.Before(now) {
				until = now // no wait: only what is stored now
			}
			check = false
			var begun activities.FanoutBegun
			if err := workflow.ExecuteActivity(beginCtx, a.BeginFanout, activities.FanoutBegin{After: st.Told, Until: until}).Get(ctx, &begun); err != nil {
				return err
			}
			switch {
			case begun.Version == 0:
				// Nothing was saved in time: the wait is over (whatever the workflow's clock says),
				// unless a signal came meanwhile.
				if ch.Len() == 0 {
					return nil
				}
				continue
			case begun.Status != kamflow.FanoutRunning:
				st.Told = max(st.Told, begun.Version) // told by an earlier run
				continue
			}
			st.Current = begun.Version
			workflow.GetLogger(requestid.WithWorkflow(ctx, st.requestID(st.Current))).
				Info("settings fan-out", "version", begun.Version, "deals", begun.Total)
		}
		if pages >= st.PagesPerRun {
			drain()
			in := st
			// only the versions still to tell
			in.RequestIDs = slices.DeleteFunc(slices.Clone(st.RequestIDs), func(r VersionRequest) bool { return r.Version <= st.Told })
			return workflow.NewContinueAsNewError(ctx, SettingsFanoutWorkflowName, in)
		}
		var res activities.FanoutPageResult
		err := workflow.ExecuteActivity(requestid.WithWorkflow(pageCtx, st.requestID(st.Current)), a.TellFanoutPage,
			activities.FanoutPageInput{Version: st.Current, PageSize: st.PageSize, Rate: st.Rate}).Get(ctx, &res)
		if err != nil {
			return err
		}
		pages++
		switch {
		case res.Newer > 0:
			log.Info("settings fan-out superseded", "version", st.Current, "newer", res.Newer)
			st.Current, check = 0, true
		case res.Done, res.Status == kamflow.FanoutDone:
			st.Told, st.Current, check = max(st.Told, st.Current), 0, true
		case res.Status == kamflow.FanoutSuperseded:
			st.Current, check = 0, true // by a newer version's fan-out: begin it here
		}
	}
}
