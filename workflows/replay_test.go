package workflows_test

import (
	"log/slog"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow/workflows"
)

// TestReplayRecordedHistory replays the history of a deal walked through all six stages on a real
// server (recorded by `go test ./cmd/kamflow -run TestDevWalks -args -record-history`). If a
// change to DealWorkflow would make running deals fail to replay, this fails: such a change needs
// a workflow.GetVersion branch instead.
func TestReplayRecordedHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.DealWorkflow, workflow.RegisterOptions{Name: workflows.DealWorkflowName})
	logger := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	if err := r.ReplayWorkflowHistoryFromJSONFile(logger, "testdata/deal_history.json"); err != nil {
		t.Fatalf("replaying the recorded deal history: %v", err)
	}
}
