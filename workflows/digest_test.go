package workflows_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
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

// dailyEnv is digestEnv without a stand-in for the marking of stale contacts, and with a record of
// when each activity attempt started, as "name@minutes after the start".
func dailyEnv(t *testing.T, start time.Time) (*testsuite.TestWorkflowEnvironment, *[]string) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.DigestWorkflow, workflow.RegisterOptions{Name: workflows.DigestWorkflowName})
	env.RegisterActivity(&activities.Activities{})
	env.RegisterActivity(&activities.Contacts{})
	env.SetStartTime(start)
	var mu sync.Mutex
	var starts []string
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		starts = append(starts, fmt.Sprintf("%s@%v", info.ActivityType.Name, env.Now().Sub(start).Round(time.Second)))
		// Activities started at the same time start in no set order.
		slices.SortStableFunc(starts, func(x, y string) int {
			_, tx, _ := strings.Cut(x, "@")
			_, ty, _ := strings.Cut(y, "@")
			dx, _ := time.ParseDuration(tx)
			dy, _ := time.ParseDuration(ty)
			if c := cmp.Compare(dx, dy); c != 0 {
				return c
			}
			return strings.Compare(x, y)
		})
	})
	return env, &starts
}

var dailyStart = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// TestDailyStepsMarkingFailsForGood: the stale contacts cannot be marked, for good; the digests go
// out all the same, and the run says what became of both.
func TestDailyStepsMarkingFailsForGood(t *testing.T) {
	env, starts := dailyEnv(t, dailyStart)
	var a *activities.Activities
	var c *activities.Contacts
	env.OnActivity(c.MarkStaleContacts, mock.Anything, mock.Anything).Return(activities.StaleResult{},
		temporal.NewNonRetryableApplicationError("contacts not listed", "test", nil)).Once()
	env.OnActivity(a.SendDigests, mock.Anything, mock.Anything).Return(
		activities.DigestResult{Date: "2026-11-02", Directors: 2, Digests: []string{"dir-a"}, Emailed: []string{}}, nil).Once()
	env.ExecuteWorkflow(workflows.DigestWorkflow, workflows.DigestInput{TimeZone: "UTC"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed %v, %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var res workflows.DailyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Directors != 2 || len(res.Digests) != 1 || res.StaleContacts != nil || !strings.Contains(res.StaleContactsError, "contacts not listed") {
		t.Fatalf("result %+v", res)
	}
	if want := []string{"MarkStaleContacts@0s", "SendDigests@0s"}; !slices.Equal(*starts, want) {
		t.Errorf("started %v, want %v", *starts, want)
	}
	env.AssertExpectations(t)
}

// TestDailyStepsDigestRetried: the digest's activity is retried while the marking (three hours of
// it) is still going; the digest does not wait for the marking, and its retry does not mark the
// contacts again.
func TestDailyStepsDigestRetried(t *testing.T) {
	env, starts := dailyEnv(t, dailyStart)
	var a *activities.Activities
	var c *activities.Contacts
	env.OnActivity(c.MarkStaleContacts, mock.Anything, mock.Anything).After(3 * time.Hour).Return(
		func(_ context.Context, at time.Time) (activities.StaleResult, error) {
			if !at.Equal(dailyStart) {
				return activities.StaleResult{}, fmt.Errorf("marking as of %v, want the run's start", at)
			}
			return activities.StaleResult{MarkedStale: 2, Failed: 1, FailedDeals: []string{"d9"}}, nil
		}).Once()
	var attempts int
	env.OnActivity(a.SendDigests, mock.Anything, mock.Anything).Return(
		func(_ context.Context, run activities.DigestRun) (activities.DigestResult, error) {
			attempts++
			if attempts == 1 {
				return activities.DigestResult{}, errors.New("database unavailable")
			}
			return activities.DigestResult{Date: run.Date, Directors: 1, Digests: []string{"dir-a"}, Emailed: []string{}}, nil
		}).Twice()
	env.ExecuteWorkflow(workflows.DigestWorkflow, workflows.DigestInput{TimeZone: "UTC"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed %v, %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var res workflows.DailyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Date != "2026-11-02" || len(res.Digests) != 1 || res.StaleContacts == nil || res.StaleContacts.MarkedStale != 2 ||
		res.StaleContacts.Failed != 1 || res.StaleContactsError != "" {
		t.Fatalf("result %+v (marking %+v)", res, res.StaleContacts)
	}
	// Both at the start; the digest's retry after its backoff (30s), long before the marking ends.
	if want := []string{"MarkStaleContacts@0s", "SendDigests@0s", "SendDigests@30s"}; !slices.Equal(*starts, want) {
		t.Errorf("started %v, want %v", *starts, want)
	}
	env.AssertExpectations(t)
}

// TestDailyStepsBeforeTheChange: a run from before the steps were independent replays as it ran,
// the contacts first and then the digest.
func TestDailyStepsBeforeTheChange(t *testing.T) {
	env, starts := dailyEnv(t, dailyStart)
	env.OnGetVersion("daily-steps-independent", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	var a *activities.Activities
	var c *activities.Contacts
	env.OnActivity(c.MarkStaleContacts, mock.Anything, mock.Anything).After(time.Hour).Return(activities.StaleResult{MarkedFresh: 1}, nil).Once()
	env.OnActivity(a.SendDigests, mock.Anything, mock.Anything).Return(activities.DigestResult{Date: "2026-11-02"}, nil).Once()
	env.ExecuteWorkflow(workflows.DigestWorkflow, workflows.DigestInput{TimeZone: "UTC"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed %v, %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if want := []string{"MarkStaleContacts@0s", "SendDigests@1h0m0s"}; !slices.Equal(*starts, want) {
		t.Errorf("started %v, want %v", *starts, want)
	}
}
