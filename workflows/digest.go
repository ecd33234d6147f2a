package workflows

import (
	"strconv"
	"time"
	_ "time/tzdata" // the digest's time zone must load on every worker, even one without zoneinfo files

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
)

// The daily digest runs as a Temporal Schedule (see package engine) that starts DigestWorkflow
// every day at a set time of a set time zone; the workflow runs activities.SendDigests for the
// date the run was scheduled for, however late it started, and gives up before the next day's run
// is due.

// Names of the daily digest.
const (
	DigestWorkflowName = "DigestWorkflow"
	// DefaultDigestTimeZone is the schedule's time zone when none is set: the sales teams' own.
	DefaultDigestTimeZone = "Asia/Shanghai"
	// DefaultDigestTime is when the digest goes out, in its time zone, when no time is set.
	DefaultDigestTime = "08:00"
)

// staleContactsChange is the GetVersion of the daily run's stale-contacts step.
const staleContactsChange = "stale-contacts"

// scheduledStartTime is the search attribute a Temporal Schedule sets on the workflows it starts:
// the time the run was scheduled for (without jitter), however late it started.
var scheduledStartTime = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// DigestInput is DigestWorkflow's input.
type DigestInput struct {
	// TimeZone is the IANA time zone of the schedule: the date digested is the scheduled time's
	// date there, and the digest's dates are written in it. "" is DefaultDigestTimeZone.
	TimeZone string `json:"time_zone,omitempty"`
	// Date, when set, is the date to digest (a run started by hand); otherwise it is the date of
	// the scheduled time (or, for a run no schedule started, of the workflow's start).
	Date kamflow.Date `json:"date,omitempty"`
}

// digestActivityOptions retry the digest with backoff for up to 20 hours, so that a run gives up
// before the next day's is due; a run no retry mends (activities.InvalidDigestRun) fails at once.
// The heartbeat timeout lets a retry start soon after a worker died mid-run.
var digestActivityOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    time.Hour,
	ScheduleToCloseTimeout: 20 * time.Hour,
	HeartbeatTimeout:       2 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        30 * time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        30 * time.Minute,
		NonRetryableErrorTypes: []string{activities.InvalidDigestRun},
	},
}

// DigestWorkflow sends the directors the daily digest of one date (see activities.SendDigests).
func DigestWorkflow(ctx workflow.Context, in DigestInput) (activities.DigestResult, error) {
	tz := in.TimeZone
	if tz == "" {
		tz = DefaultDigestTimeZone
	}
	date := in.Date
	if date == "" {
		at, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStartTime)
		if !ok {
			at = workflow.Now(ctx)
		}
		// The zone's rules come from the worker's time zone data, which an update may change: the
		// date is recorded as a side effect, so that a replay reads it back rather than recomputes.
		var r zonedDate
		err := workflow.SideEffect(ctx, func(workflow.Context) any {
			loc, err := time.LoadLocation(tz)
			if err != nil {
				return zonedDate{Err: err.Error()}
			}
			return zonedDate{Date: kamflow.DateOf(at.In(loc))}
		}).Get(&r)
		if err != nil {
			return activities.DigestResult{}, err
		}
		if r.Err != "" {
			return activities.DigestResult{}, temporal.NewNonRetryableApplicationError("digest: time zone "+strconv.Quote(tz)+": "+r.Err,
				activities.InvalidDigestRun, nil)
		}
		date = r.Date
	}
	// The daily run first marks the key contacts gone stale (or in contact again) on their open
	// deals, so that the digest and the deals' key nodes agree with the contacts' record.
	if workflow.GetVersion(ctx, staleContactsChange, workflow.DefaultVersion, 1) == 1 {
		var c *activities.Contacts
		var marked activities.StaleResult
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, digestActivityOptions), c.MarkStaleContacts,
			workflow.Now(ctx)).Get(ctx, &marked); err != nil {
			return activities.DigestResult{}, err
		}
	}
	var a *activities.Activities
	var res activities.DigestResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, digestActivityOptions), a.SendDigests,
		activities.DigestRun{Date: date, Location: tz}).Get(ctx, &res)
	return res, err
}

// zonedDate is the date of a time in a time zone, or why the zone did not load.
type zonedDate struct {
	Date kamflow.Date `json:"date,omitempty"`
	Err  string       `json:"err,omitempty"`
}
