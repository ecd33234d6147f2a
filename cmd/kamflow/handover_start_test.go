package main

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/cmd/kamflow/internal/devserver"
	"github.com/kamflow/kamflow/engine"
	"github.com/kamflow/kamflow/workflows"
)

// TestHandoverOneAtATime: on a real Temporal server, a second handover of an account while one
// runs is refused as a conflict (the API's 409), and once the first has ended the account may be
// handed over again. No worker polls, so the first handover stays running for as long as the test
// needs.
func TestHandoverOneAtATime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{DataDir: t.TempDir(), Port: 0,
		SearchAttributes: engine.SearchAttributes, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	tc, err := client.DialContext(ctx, client.Options{HostPort: srv.HostPort(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	c := &engine.Client{Temporal: tc}
	director := kamflow.Actor{ID: "dir-zhao", Role: kamflow.UserDirector}
	h := kamflow.Handover{ID: "h-1", AccountID: "acc-1", From: "kam-li", To: "kam-zhou", Reason: "moves north", By: "dir-zhao", At: time.Now().UTC()}
	if err := c.StartHandover(ctx, h, director); err != nil {
		t.Fatal(err)
	}
	second := h
	second.ID, second.To = "h-2", "kam-wang"
	if err := c.StartHandover(ctx, second, director); kamflow.ErrorCode(err) != kamflow.ECONFLICT {
		t.Fatalf("a second handover while one runs: %v, want conflict", err)
	}
	// Another account's handover is not held up by it.
	other := second
	other.AccountID = "acc-2"
	if err := c.StartHandover(ctx, other, director); err != nil {
		t.Fatalf("another account's handover: %v", err)
	}
	if err := tc.TerminateWorkflow(ctx, workflows.HandoverWorkflowID("acc-1"), "", "test: the first handover ends"); err != nil {
		t.Fatal(err)
	}
	if err := c.StartHandover(ctx, second, director); err != nil {
		t.Fatalf("a handover once the previous one ended: %v", err)
	}
}
