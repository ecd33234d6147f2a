package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/workflows"
)

func digestEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.DigestWorkflow, workflow.RegisterOptions{Name: workflows.DigestWorkflowName})
	env.RegisterActivity(&activities.Activities{})
	// The daily run first marks stale contacts on their deals (activities_test covers what it does).
	var c *activities.Contacts
	env.RegisterActivity(c)
	env.OnActivity(c.MarkStaleContacts, mock.Anything, mock.Anything).Return(activities.StaleResult{}, nil)
	return env
}

// TestDigestWorkflowDigestsTheScheduledDate: the date is the scheduled time's in the schedule's
// time zone, not the (late) start's; a failed attempt is retried.
func TestDigestWorkflowDigestsTheScheduledDate(t *testing.T) {
	env := digestEnv(t)
	// Scheduled for 08:00 in Shanghai on 2 November (00:00 UTC), started 17 hours late by an outage:
	// 01:00 on 3 November in Shanghai.
	scheduled := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	env.SetStartTime(scheduled.Add(17 * time.Hour))
	if err := env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
		temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime").ValueSet(scheduled))); err != nil {
		t.Fatal(err)
	}
	var a *activities.Activities
	var runs []activities.DigestRun
	env.OnActivity(a.SendDigests, mock.Anything, mock.Anything).Return(
		func(_ context.Context, run activities.DigestRun) (activities.DigestResult, error) {
			runs = append(runs, run)
			if len(runs) == 1 {
				return activities.DigestResult{}, errors.New("database unavailable")
			}
			return activities.DigestResult{Date: run.Date, Directors: 2, Digests: []string{"dir-a"}, Emailed: []string{}}, nil
		})
	env.ExecuteWorkflow(workflows.DigestWorkflowName, workflows.DigestInput{TimeZone: "Asia/Shanghai"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed %v, %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var res activities.DigestResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	want := activities.DigestRun{Date: "2026-11-02", Location: "Asia/Shanghai"}
	if len(runs) != 2 || runs[0] != want || runs[1] != want || res.Date != "2026-11-02" || res.Directors != 2 {
		t.Fatalf("runs %+v, result %+v", runs, res)
	}
}

// TestDigestWorkflowWithoutSchedule: a run no schedule started digests the date of its start in
// the time zone (the default one when none is given), or the date it is given.
func TestDigestWorkflowWithoutSchedule(t *testing.T) {
	for _, c := range []struct {
		in   workflows.DigestInput
		want activities.DigestRun
	}{
		{workflows.DigestInput{}, activities.DigestRun{Date: "2026-11-03", Location: "Asia/Shanghai"}},
		{workflows.DigestInput{TimeZone: "UTC"}, activities.DigestRun{Date: "2026-11-02", Location: "UTC"}},
		{workflows.DigestInput{TimeZone: "UTC", Date: "2026-10-30"}, activities.DigestRun{Date: "2026-10-30", Location: "UTC"}},
	} {
		env := digestEnv(t)
		env.SetStartTime(time.Date(2026, 11, 2, 20, 0, 0, 0, time.UTC)) // 04:00 on the 3rd in Shanghai
		var got activities.DigestRun
		var a *activities.Activities
		env.OnActivity(a.SendDigests, mock.Anything, mock.Anything).Return(
			func(_ context.Context, run activities.DigestRun) (activities.DigestResult, error) {
				got = run
				return activities.DigestResult{Date: run.Date}, nil
			})
		env.ExecuteWorkflow(workflows.DigestWorkflow, c.in)
		if err := env.GetWorkflowError(); err != nil || got != c.want {
			t.Errorf("%+v: ran %+v, want %+v (%v)", c.in, got, c.want, err)
		}
	}
}

// TestDigestWorkflowUnknownZone fails at once, without running the activity.
func TestDigestWorkflowUnknownZone(t *testing.T) {
	env := digestEnv(t)
	var a *activities.Activities
	env.OnActivity(a.SendDigests, mock.Anything, mock.Anything).Return(activities.DigestResult{}, nil).Never()
	env.ExecuteWorkflow(workflows.DigestWorkflow, workflows.DigestInput{TimeZone: "Mars/Olympus"})
	var app *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &app) || app.Type() != activities.InvalidDigestRun {
		t.Fatalf("workflow error %v", err)
	}
}
