// Package workflows runs each deal as one long-running Temporal workflow, the source of truth for
// its stage. Every change to a deal is a Workflow Update whose validator applies the domain's
// rules to the workflow's state, so a move that misses its key node is rejected synchronously and
// leaves no event in the history. A timer per stage marks the deal stalled when its SLA passes.
//
// The package must stay deterministic: no I/O, no wall clock, no goroutines. Side effects live in
// the activities package.
package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
)

// Names shared by the workflow and its clients.
const (
	TaskQueue          = "kamflow-deals"
	DealWorkflowName   = "DealWorkflow"
	SnapshotUpdate     = "snapshot" // waits until the deal is projected and returns it
	DealQuery          = "deal"
	SettingsSignal     = "settings"
	SearchAttrStage    = "KamflowStage"
	SearchAttrStatus   = "KamflowStatus"
	workflowIDPrefix   = "deal-"
	projectionAttempts = 0 // unlimited: a projection is retried until the database takes it
)

// WorkflowID is the workflow ID of a deal.
func WorkflowID(dealID string) string { return workflowIDPrefix + dealID }

var (
	stageKey  = temporal.NewSearchAttributeKeyKeyword(SearchAttrStage)
	statusKey = temporal.NewSearchAttributeKeyKeyword(SearchAttrStatus)
)

// DealInput starts (or continues) a deal's workflow.
type DealInput struct {
	Deal     kamflow.Deal     `json:"deal"`
	Settings kamflow.Settings `json:"settings"`
	// Created is the deal's first stage-history row, projected by the first run only.
	Created *kamflow.StageTransition `json:"created,omitempty"`
	// ProjectedSeq is the highest Seq the database is known to hold, carried across
	// Continue-As-New so the new run does not project again what is already there.
	ProjectedSeq int64 `json:"projected_seq"`
	// MaxUpdatesPerRun continues as new after this many accepted changes even if the server has
	// not suggested it yet; 0 waits for the server's suggestion. Tests use it.
	MaxUpdatesPerRun int `json:"max_updates_per_run,omitempty"`
}

// dealRun is the state of one run of a deal workflow.
type dealRun struct {
	in       DealInput
	deal     kamflow.Deal
	settings kamflow.Settings
	// projected is the Seq last written to the database.
	projected int64
	// changes counts accepted changes in this run; the main loop re-arms its timer when it moves.
	changes int
	// mu serialises handlers: each applies its change and waits for the projection before the
	// next one starts, so the database sees changes in order and a handler returns only after the
	// change is readable.
	mu workflow.Mutex
}

// DealWorkflow runs one deal from development to its end. It completes when the deal is final
// (won deals go on through delivery until the project is closed).
func DealWorkflow(ctx workflow.Context, in DealInput) (kamflow.Deal, error) {
	r := &dealRun{in: in, deal: in.Deal, settings: in.Settings, projected: in.ProjectedSeq, mu: workflow.NewMutex(ctx)}
	if err := r.register(ctx); err != nil {
		return r.deal, err
	}
	if r.projected < r.deal.Seq {
		var audit *kamflow.AuditEntry
		if in.Created != nil {
			audit = kamflow.CreatedAudit(&r.deal)
		}
		if err := r.locked(ctx, func() error { return r.project(ctx, in.Created, audit) }); err != nil {
			return r.deal, err
		}
	}
	for {
		seen := r.changes
		wake := r.nextWake()
		changed := func() bool { return r.changes != seen || r.canSuggested(ctx) || !r.deal.Active() }
		var err error
		fired := false
		if wake.IsZero() {
			err = workflow.Await(ctx, changed)
		} else if d := wake.Sub(workflow.Now(ctx)); d > 0 {
			var ok bool
			ok, err = workflow.AwaitWithTimeout(ctx, d, changed)
			fired = !ok
		} else {
			fired = true
		}
		if err != nil {
			return r.deal, err
		}
		if fired {
			if err := r.locked(ctx, func() error { return r.onTimer(ctx) }); err != nil {
				return r.deal, err
			}
		}
		if !r.deal.Active() || r.canSuggested(ctx) {
			// Let every accepted Update finish (and project) before the run ends.
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return r.deal, err
			}
			if !r.deal.Active() {
				return r.deal, nil
			}
			next := DealInput{Deal: r.deal, Settings: r.settings, ProjectedSeq: r.projected, MaxUpdatesPerRun: in.MaxUpdatesPerRun}
			return r.deal, workflow.NewContinueAsNewError(ctx, DealWorkflowName, next)
		}
	}
}

func (r *dealRun) register(ctx workflow.Context) error {
	for _, kind := range kamflow.CommandKinds {
		kind := kind
		err := workflow.SetUpdateHandlerWithOptions(ctx, string(kind),
			func(ctx workflow.Context, cmd kamflow.Command) (kamflow.Deal, error) { return r.handle(ctx, kind, cmd) },
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, cmd kamflow.Command) error {
				if cmd.Kind != kind {
					return toAppError(kamflow.Errorf(kamflow.EINVALID, "update %s carries a %q command", kind, cmd.Kind))
				}
				return toAppError(r.deal.Check(cmd, workflow.Now(ctx), r.settings))
			}})
		if err != nil {
			return err
		}
	}
	err := workflow.SetUpdateHandler(ctx, SnapshotUpdate, func(ctx workflow.Context) (kamflow.Deal, error) {
		err := workflow.Await(ctx, func() bool { return r.projected >= r.deal.Seq })
		return r.deal, err
	})
	if err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, DealQuery, func() (kamflow.Deal, error) { return r.deal, nil }); err != nil {
		return err
	}
	settings := workflow.GetSignalChannel(ctx, SettingsSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var s kamflow.Settings
			settings.Receive(ctx, &s)
			_ = r.locked(ctx, func() error {
				r.settings = s
				now := workflow.Now(ctx)
				if !r.deal.Active() || !r.deal.SetStageSLA(s, now) {
					return nil
				}
				r.changes++
				return r.project(ctx, nil, kamflow.SystemAudit("sla", fmt.Sprintf("SLA of the %s stage set to %s", r.deal.Stage, r.deal.StageSLA), &r.deal, now))
			})
		}
	})
	return nil
}

// handle applies an accepted command. The validator already checked it, but another handler may
// have changed the deal while this one waited for the lock, so Apply checks again.
func (r *dealRun) handle(ctx workflow.Context, kind kamflow.CommandKind, cmd kamflow.Command) (kamflow.Deal, error) {
	var out kamflow.Deal
	err := r.locked(ctx, func() error {
		now := workflow.Now(ctx)
		before := r.deal.Clone()
		fx, err := r.deal.Apply(cmd, now, r.settings)
		if err != nil {
			return toAppError(err)
		}
		r.changes++
		if err := r.project(ctx, fx.Transition, kamflow.DealAudit(cmd, before, &r.deal, now)); err != nil {
			return err
		}
		out = r.deal
		return nil
	})
	return out, err
}

// onTimer handles the stall deadline or the resume date coming.
func (r *dealRun) onTimer(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	if r.deal.ResumeDue(now) {
		r.changes++
		if err := r.project(ctx, nil, kamflow.SystemAudit("resume", "resumed on the pause's resume date", &r.deal, now)); err != nil {
			return err
		}
	}
	if r.deal.MarkStalled(now) {
		r.changes++
		summary := fmt.Sprintf("stalled: no progress in the %s stage within its SLA of %s", r.deal.Stage, r.deal.StageSLA)
		if err := r.project(ctx, nil, kamflow.SystemAudit("stalled", summary, &r.deal, now)); err != nil {
			return err
		}
		return r.notifyStalled(ctx)
	}
	return nil
}

// nextWake is when the workflow must next look at the deal by itself: the stall deadline, or the
// pause's resume date. Zero when nothing is due.
func (r *dealRun) nextWake() time.Time {
	if !r.deal.Active() {
		return time.Time{}
	}
	if r.deal.Pause != nil {
		return r.deal.Pause.ResumeOn.Time()
	}
	if r.deal.Stalled {
		return time.Time{}
	}
	return r.deal.StallDeadline()
}

func (r *dealRun) canSuggested(ctx workflow.Context) bool {
	if r.in.MaxUpdatesPerRun > 0 && r.changes >= r.in.MaxUpdatesPerRun {
		return true
	}
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

func (r *dealRun) locked(ctx workflow.Context, fn func() error) error {
	if err := r.mu.Lock(ctx); err != nil {
		return err
	}
	defer r.mu.Unlock()
	return fn()
}

func activityCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    projectionAttempts,
		},
	})
}

// project writes the deal as it now stands to the database and updates the search attributes.
func (r *dealRun) project(ctx workflow.Context, t *kamflow.StageTransition, audit *kamflow.AuditEntry) error {
	var a *activities.Activities
	p := kamflow.Projection{Deal: r.deal, Transition: t, Audit: audit}
	if err := workflow.ExecuteActivity(activityCtx(ctx), a.ProjectDeal, p).Get(ctx, nil); err != nil {
		return fmt.Errorf("project deal %s seq %d: %w", r.deal.ID, r.deal.Seq, err)
	}
	r.projected = r.deal.Seq
	return workflow.UpsertTypedSearchAttributes(ctx,
		stageKey.ValueSet(string(r.deal.Stage)), statusKey.ValueSet(string(r.deal.Status)))
}

func (r *dealRun) notifyStalled(ctx workflow.Context) error {
	var a *activities.Activities
	d := r.deal
	n := []kamflow.Notification{{
		UserID: d.Owner, DealID: d.ID, Kind: "stalled",
		Key:       fmt.Sprintf("stalled:%s:%d", d.ID, d.Seq),
		Message:   fmt.Sprintf("%s has made no progress in the %s stage within its SLA of %s", d.Title, d.Stage, d.StageSLA),
		CreatedAt: workflow.Now(ctx),
	}}
	return workflow.ExecuteActivity(activityCtx(ctx), a.Notify, n).Get(ctx, nil)
}

// toAppError carries a domain error across Temporal as a non-retryable ApplicationError whose
// type is the error code and whose detail is the error's details; FromError turns it back.
func toAppError(err error) error {
	var e *kamflow.Error
	if err == nil || !errors.As(err, &e) {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(e.Message, e.Code, temporal.ApplicationErrorOptions{
		NonRetryable: true, Details: []any{e.Details},
	})
}

var domainCodes = map[string]bool{
	kamflow.EINVALID: true, kamflow.ENOTFOUND: true, kamflow.EGATENOTMET: true, kamflow.EWRONGSTAGE: true,
	kamflow.ECONFLICT: true, kamflow.EFORBIDDEN: true, kamflow.EUNAUTHORIZED: true,
}

// FromError turns an ApplicationError made by toAppError back into the domain's *Error; other
// errors are returned as they are.
func FromError(err error) error {
	var app *temporal.ApplicationError
	if err == nil || !errors.As(err, &app) || !domainCodes[app.Type()] {
		return err
	}
	e := &kamflow.Error{Code: app.Type(), Message: app.Message()}
	if app.HasDetails() {
		var details map[string]any
		if app.Details(&details) == nil && len(details) > 0 {
			e.Details = details
		}
	}
	return e
}
