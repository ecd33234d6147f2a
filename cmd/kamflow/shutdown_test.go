package main

import (
	"reflect"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"
)

// TestWorkflowPollersReachTheTaskQueue: the workflow tasks' worker scales its pollers. With the
// SDK's default (a simple maximum of two, "mixed" pollers) every poll goes to the worker's sticky
// queue while that queue reports a backlog, which a busy worker's always does, and the first task
// of a new workflow — on the task queue itself — waits: in the cluster test the delivery plans of
// deals that entered delivery showed up 25 s to more than 2 min later (40 of 100 not within 2 min).
// The autoscaling behaviour always keeps a poll on the task queue itself.
func TestWorkflowPollersReachTheTaskQueue(t *testing.T) {
	o := workflowWorkerOptions(2 * time.Second)
	want := reflect.TypeOf(worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}))
	if got := reflect.TypeOf(o.WorkflowTaskPollerBehavior); got != want {
		t.Fatalf("workflow task pollers: %v, want the autoscaling behaviour %v", got, want)
	}
	if o.MaxConcurrentWorkflowTaskPollers != 0 {
		t.Fatalf("MaxConcurrentWorkflowTaskPollers %d: it excludes the poller behaviour", o.MaxConcurrentWorkflowTaskPollers)
	}
	if !o.LocalActivityWorkerOnly || o.WorkerStopTimeout != 2*time.Second {
		t.Fatalf("options %+v: want workflow tasks only, stopping within 2s", o)
	}
}
