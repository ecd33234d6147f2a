package workflows_test

import (
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow/workflows"
)

// TestReplayRecordedHistories replays every history recorded under testdata (each a JSON file,
// in subdirectories by workflow type; see the README, "Recording workflow histories"), one
// subtest per file, on today's workflow code with every workflow type registered. The
// histories are of runs on a real server, made by the code of their day: if a change to a
// workflow would make a run like them fail to replay (nondeterminism), this fails, and the change
// needs a workflow.GetVersion branch that keeps the old behaviour for the old runs.
func TestReplayRecordedHistories(t *testing.T) {
	var files []string
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories under testdata")
	}
	logger := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	for _, path := range files {
		name := strings.TrimSuffix(filepath.ToSlash(strings.TrimPrefix(path, "testdata"+string(filepath.Separator))), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.DealWorkflow, workflow.RegisterOptions{Name: workflows.DealWorkflowName})
			r.RegisterWorkflowWithOptions(workflows.DeliveryWorkflow, workflow.RegisterOptions{Name: workflows.DeliveryWorkflowName})
			r.RegisterWorkflowWithOptions(workflows.DigestWorkflow, workflow.RegisterOptions{Name: workflows.DigestWorkflowName})
			r.RegisterWorkflowWithOptions(workflows.SettingsFanoutWorkflow, workflow.RegisterOptions{Name: workflows.SettingsFanoutWorkflowName})
			r.RegisterWorkflowWithOptions(workflows.ImportWorkflow, workflow.RegisterOptions{Name: workflows.ImportWorkflowName})
			r.RegisterWorkflowWithOptions(workflows.HandoverWorkflow, workflow.RegisterOptions{Name: workflows.HandoverWorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(logger, path); err != nil {
				t.Fatalf("replaying %s: %v", path, err)
			}
		})
	}
}
