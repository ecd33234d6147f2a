package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/importer"
)

// An import's run is a workflow on the worker (ImportWorkflowID): its request starts it before
// storing what it works on — the import's record and file, or a director's approval — and the
// workflow's first step waits a while for that to be there, ending with nothing done when it never
// comes. Then it plans the rows, commits the pending ones and finishes the import, each step an
// activity of activities.Imports whose progress is the database's, so that a worker killed
// mid-run is replaced and the run carries on from its last committed batch. ImportCancelSignal
// cancels the commit: it stops after its current batch and the run finishes cancelled.
const (
	ImportWorkflowName = "ImportWorkflow"
	// ImportCancelSignal (no payload) asks the run to stop.
	ImportCancelSignal = "cancel_import"
)

// ImportWorkflowID is the workflow ID of an import's run: import-<id> for its first run,
// import-<id>-approved for the run of its held rows after a director's approval.
func ImportWorkflowID(importID, run string) string {
	if run == "" {
		return "import-" + importID
	}
	return "import-" + importID + "-" + run
}

// ImportInput starts an import's run: the import, the run ("" or importer.RunApproved) and whose
// rows they are.
type ImportInput struct {
	ImportID string        `json:"import_id"`
	Run      string        `json:"run,omitempty"`
	By       kamflow.Actor `json:"by"`
}

// importRetry retries an import's steps while the database or Temporal is away, for hours.
var importRetry = &temporal.RetryPolicy{
	InitialInterval:    time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    time.Minute,
	MaximumAttempts:    0, // unlimited, within ScheduleToCloseTimeout
}

// ImportWorkflow runs one run of an import: await, plan, commit (if rows are pending and no
// cancel came), finish.
func ImportWorkflow(ctx workflow.Context, in ImportInput) error {
	step := activities.ImportStep{ImportID: in.ImportID, Run: in.Run, By: in.By}
	var a *activities.Imports
	opts := func(startToClose, scheduleToClose time.Duration) workflow.ActivityOptions {
		return workflow.ActivityOptions{StartToCloseTimeout: startToClose, HeartbeatTimeout: 20 * time.Second,
			ScheduleToCloseTimeout: scheduleToClose, RetryPolicy: importRetry, WaitForCancellation: true}
	}
	cancelled := false
	commitCtx, cancelCommit := workflow.WithCancel(ctx)
	commitCtx = workflow.WithActivityOptions(commitCtx, opts(12*time.Hour, 24*time.Hour))
	workflow.Go(ctx, func(ctx workflow.Context) {
		workflow.GetSignalChannel(ctx, ImportCancelSignal).Receive(ctx, nil)
		cancelled = true
		cancelCommit()
	})

	var ready bool
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts(5*time.Minute, 30*time.Minute)),
		a.AwaitImport, step).Get(ctx, &ready); err != nil {
		return err
	}
	if !ready {
		workflow.GetLogger(ctx).Info("import never stored: nothing to do", "import", in.ImportID, "run", in.Run)
		return nil
	}
	finish := activities.ImportFinish{ImportStep: step}
	var planned importer.Planned
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts(time.Hour, 12*time.Hour)), a.PlanImport, step).Get(ctx, &planned)
	if err == nil && planned.Pending && !cancelled {
		err = workflow.ExecuteActivity(commitCtx, a.CommitImport, step).Get(ctx, nil)
		var ce *temporal.CanceledError
		if errors.As(err, &ce) {
			err = nil
		}
	}
	if err != nil {
		finish.Failure = failure(err)
	}
	finish.Cancelled = cancelled
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts(10*time.Minute, 24*time.Hour)),
		a.FinishImport, finish).Get(ctx, nil)
}

// failure is what the user reads of why a step stopped the run: a refusal's own message, else
// (the database or Temporal away for hours) that the database refused the rows.
func failure(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == activities.ImportRefused {
		return app.Message()
	}
	return "the database refused the rows"
}
