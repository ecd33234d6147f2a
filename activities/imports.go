package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/importer"
)

// Imports are the activities of an import's workflow (workflows.ImportWorkflow), each one step of
// package importer. What a step has done is the store's, so a step retried — its worker killed —
// carries on from there. The steps heartbeat while they run (every few seconds, whatever they are
// doing), so that a dead worker's step is retried within the workflow's HeartbeatTimeout and a
// cancelled commit hears of it.
type Imports struct {
	Importer *importer.Importer
	// Wait is how long AwaitImport waits for the record; 0 is one minute.
	Wait time.Duration
}

// ImportStep names an import's run: the import, which run, whose rows.
type ImportStep struct {
	ImportID string        `json:"import_id"`
	Run      string        `json:"run,omitempty"`
	By       kamflow.Actor `json:"by"`
}

// ImportRefused is the type of an import step's non-retryable error: a domain refusal (a file
// that cannot be read, rows the database refuses as invalid) that no retry changes. Its message
// is what the user reads.
const ImportRefused = "import_refused"

// beating heartbeats ctx's activity every few seconds until the returned stop is called.
func beating(ctx context.Context) (beat func(), stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}, func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { activity.RecordHeartbeat(ctx) }, func() { close(done) }
}

// importError makes a domain refusal non-retryable; the database or Temporal away (internal,
// unavailable) and a cancellation are returned as they are, to be retried (or to end the step).
func importError(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	if importer.Retryable(err) {
		return err
	}
	return temporal.NewNonRetryableApplicationError(kamflow.ErrorMessage(err), ImportRefused, err)
}

// AwaitImport waits for the run's record (importer.Importer.Await): false when it never came.
func (a *Imports) AwaitImport(ctx context.Context, in ImportStep) (bool, error) {
	wait := a.Wait
	if wait <= 0 {
		wait = time.Minute
	}
	beat, stop := beating(ctx)
	defer stop()
	ok, err := a.Importer.Await(ctx, in.ImportID, in.Run, wait, beat)
	return ok, importError(ctx, err)
}

// PlanImport plans the run's rows (importer.Importer.Plan).
func (a *Imports) PlanImport(ctx context.Context, in ImportStep) (importer.Planned, error) {
	_, stop := beating(ctx)
	defer stop()
	p, err := a.Importer.Plan(ctx, in.ImportID, in.Run, in.By)
	return p, importError(ctx, err)
}

// CommitImport commits the run's pending rows (importer.Importer.Commit), heartbeating after
// each batch; cancelled, it stops after the batch it is in.
func (a *Imports) CommitImport(ctx context.Context, in ImportStep) error {
	beat, stop := beating(ctx)
	defer stop()
	return importError(ctx, a.Importer.Commit(ctx, in.ImportID, in.By, beat))
}

// ImportFinish is how the run ended (importer.FinishInput) with the run.
type ImportFinish struct {
	ImportStep
	importer.FinishInput
}

// FinishImport ends the run (importer.Importer.Finish).
func (a *Imports) FinishImport(ctx context.Context, in ImportFinish) error {
	_, err := a.Importer.Finish(ctx, in.ImportID, in.Run, in.By, in.FinishInput)
	return importError(ctx, err)
}
