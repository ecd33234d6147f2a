package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
)

// The handover of an account (kamflow.HandoverService): one workflow per account at a time
// (HandoverWorkflowID), started by the request once it has validated the handover. Its first
// activity records the handover — new owner, audit entry, record with the deals to reassign — in
// one transaction, or records it as a conflict if the account changed owner meanwhile; then each
// deal is reassigned through its own workflow by an activity of its own, a few at a time, retried
// while Temporal or the database is away. Progress is the store's: every step is idempotent and a
// run that continues as new (or a retried step) reads what is left from the record.
const (
	HandoverWorkflowName = "HandoverWorkflow"
	handoverIDPrefix     = "handover-"
	// defaultHandoverConcurrency is how many deals are reassigned at a time: each is an Update on
	// a deal's workflow, which a few at a time keep quick without crowding the worker.
	defaultHandoverConcurrency = 4
	// defaultHandoverDealsPerRun bounds the deals a run reassigns before it continues as new,
	// which keeps the history of a handover of thousands of deals small.
	defaultHandoverDealsPerRun = 500
)

// HandoverWorkflowID is the workflow ID of the handovers of an account: one runs at a time.
func HandoverWorkflowID(accountID string) string { return handoverIDPrefix + accountID }

// HandoverRun starts (or continues) a handover's workflow.
type HandoverRun struct {
	Handover kamflow.Handover `json:"handover"`
	// By is the director: each deal is reassigned as them, and so recorded on the deal.
	By kamflow.Actor `json:"by"`
	// Concurrency (default 4) and DealsPerRun (default 500) are knobs; 0 for the defaults.
	Concurrency int `json:"concurrency,omitempty"`
	DealsPerRun int `json:"deals_per_run,omitempty"`
}

// handoverRetry retries a handover's steps while the database or Temporal is away, for hours
// (bounded by the activities' ScheduleToCloseTimeout); a step the store or a deal refuses with a
// domain error is not retried (activities.HandoverRefused, or recorded as the deal's refusal).
var handoverRetry = &temporal.RetryPolicy{
	InitialInterval:        time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        time.Minute,
	MaximumAttempts:        0, // unlimited, within ScheduleToCloseTimeout
	NonRetryableErrorTypes: []string{activities.HandoverRefused},
}

// HandoverWorkflow records the handover and reassigns its deals, and returns the record as the
// last step left it: done, done_with_refusals, or conflict (nothing changed).
func HandoverWorkflow(ctx workflow.Context, in HandoverRun) (*kamflow.HandoverRecord, error) {
	if in.Concurrency <= 0 {
		in.Concurrency = defaultHandoverConcurrency
	}
	if in.DealsPerRun <= 0 {
		in.DealsPerRun = defaultHandoverDealsPerRun
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            handoverRetry,
	})
	var a *activities.Handovers
	var rec *kamflow.HandoverRecord
	if err := workflow.ExecuteActivity(actx, a.RecordHandover, in.Handover).Get(ctx, &rec); err != nil {
		return nil, err
	}
	if rec.Status != kamflow.HandoverRunning {
		return rec, nil // a conflict, a handover without deals, or one a run before has finished
	}
	log := workflow.GetLogger(ctx)
	pending := rec.Pending()
	more := len(pending) > in.DealsPerRun
	if more {
		pending = pending[:in.DealsPerRun]
	}
	log.Info("handover", "account", in.Handover.AccountID, "deals", rec.Total, "left", len(pending))

	sel := workflow.NewSelector(ctx)
	var failure error
	running := 0
	reassign := func(deal string) {
		din := activities.HandoverDealInput{Handover: in.Handover, DealID: deal, By: in.By}
		running++
		sel.AddFuture(workflow.ExecuteActivity(actx, a.ReassignHandoverDeal, din), func(f workflow.Future) {
			running--
			var r *kamflow.HandoverRecord
			err := f.Get(ctx, &r)
			if err != nil {
				// Retried to its bound, or refused by the store: the deal is given up as
				// unavailable, so that the handover ends and says what is left to do by hand.
				log.Error("handover: a deal could not be reassigned", "deal", deal, "err", err)
				err = workflow.ExecuteActivity(actx, a.GiveUpHandoverDeal, din, givenUpBecause(err)).Get(ctx, &r)
			}
			if err != nil {
				if failure == nil {
					failure = err
				}
				return
			}
			if r.Done+r.Refused >= rec.Done+rec.Refused { // the most advanced of those come back
				rec = r
			}
		})
	}
	for _, deal := range pending {
		for running >= in.Concurrency {
			sel.Select(ctx)
		}
		if failure != nil {
			break
		}
		reassign(deal)
	}
	for running > 0 {
		sel.Select(ctx)
	}
	if failure != nil {
		return nil, failure
	}
	if more {
		return nil, workflow.NewContinueAsNewError(ctx, HandoverWorkflowName, in)
	}
	return rec, nil
}

// givenUpBecause is why a deal was given up, as the account page shows it: the last answer of the
// deal (or of the store), without the activity's wrapping that names its type and event ids.
func givenUpBecause(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "no answer from the deal's workflow in time (" + timeout.TimeoutType().String() + ")"
	}
	return err.Error()
}
