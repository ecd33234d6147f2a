package engine

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/importer"
	"github.com/kamflow/kamflow/workflows"
)

var _ kamflow.ImportService = (*Client)(nil)

// StartImport starts the import's run (workflows.ImportWorkflow). A run of the same ID still
// running is the one asked for (a retried request); one that ended may be started again, and
// finds its work done.
func (c *Client) StartImport(ctx context.Context, importID, run string, by kamflow.Actor) error {
	_, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.ImportWorkflowID(importID, run),
		TaskQueue:                c.taskQueue(),
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, workflows.ImportWorkflowName, workflows.ImportInput{ImportID: importID, Run: run, By: by})
	if err != nil {
		return fmt.Errorf("temporal: start import %s: %w", importID, err)
	}
	return nil
}

// CancelImport signals the import's running run to stop: the approved run's, else the first's.
func (c *Client) CancelImport(ctx context.Context, importID string) error {
	for _, run := range []string{importer.RunApproved, importer.RunFirst} {
		err := c.Temporal.SignalWorkflow(ctx, workflows.ImportWorkflowID(importID, run), "", workflows.ImportCancelSignal, nil)
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			continue
		}
		if err != nil {
			return fmt.Errorf("temporal: %w", err)
		}
		return nil
	}
	return kamflow.Errorf(kamflow.ECONFLICT, "import %s is not running", importID)
}
