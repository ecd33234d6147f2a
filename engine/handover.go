package engine

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/workflows"
)

var _ kamflow.HandoverService = (*Client)(nil)

// StartHandover starts the account's handover workflow (workflows.HandoverWorkflow). One runs at
// a time per account: while one runs, another is a conflict; once it has ended, the account may
// be handed over again.
func (c *Client) StartHandover(ctx context.Context, h kamflow.Handover, by kamflow.Actor) error {
	_, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.HandoverWorkflowID(h.AccountID),
		TaskQueue:                c.taskQueue(),
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		// Without it the SDK answers with the running handover's run, as if this one had started.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.HandoverWorkflowName, workflows.HandoverRun{Handover: h, By: by})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return kamflow.Errorf(kamflow.ECONFLICT, "a handover of account %s is still running: wait for it to end", h.AccountID)
	} else if err != nil {
		return fmt.Errorf("temporal: start the handover of account %s: %w", h.AccountID, err)
	}
	return nil
}
