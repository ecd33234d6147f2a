package engine

import (
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/kamflow/kamflow"
)

// TestUpdateTimeoutIsUnavailable: an Update (or Update-With-Start) whose call's deadline passes
// before it completes, as under load on a real cluster, is EUNAVAILABLE (503: retry with the same
// Idempotency-Key), not an internal error.
func TestUpdateTimeoutIsUnavailable(t *testing.T) {
	c := &Client{}
	err := c.mapError(client.NewWorkflowUpdateServiceTimeoutOrCanceledError(serviceerror.NewDeadlineExceeded("context deadline exceeded")), "d1")
	if kamflow.ErrorCode(err) != kamflow.EUNAVAILABLE {
		t.Errorf("an Update's call timed out: %v (%s), want %s", err, kamflow.ErrorCode(err), kamflow.EUNAVAILABLE)
	}
}
