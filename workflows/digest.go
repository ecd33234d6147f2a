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

// DigestWorkflow is the daily run: it marks the key contacts gone stale (or in contact again) on
// their open deals (see activities.Contacts.MarkStaleContacts) and sends the directors the daily
// digest of one date (see activities.SendDigests). The two steps run at the same time and are
// retried each on its own: a slow or failing marking never delays or fails the digest, and a
// retried digest does not mark the contacts again. The result reports both; the run fails only
// when the digest does.
func DigestWorkflow(ctx workflow.Context, in DigestInput) (DailyResult, error) {
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
			return DailyResult{}, err
		}
		if r.Err != "" {
			return DailyResult{}, temporal.NewNonRetryableApplicationError("digest: time zone "+strconv.Quote(tz)+": "+r.Err,
				activities.InvalidDigestRun, nil)
		}
		date = r.Date
	}
	ao := workflow.WithActivityOptions(ctx, digestActivityOptions)
	var a *activities.Activities
	var c *activities.Contacts
	var res DailyResult
	run := activities.DigestRun{Date: date, Location: tz}
	if workflow.GetVersion(ctx, staleContactsChange, workflow.DefaultVersion, 1) == 1 {
		if workflow.GetVersion(ctx, dailyStepsChange, workflow.DefaultVersion, 1) == 1 {
			// Both steps at once, each waited for: the run ends only once neither is still going,
			// so that neither is cut short by the other's end.
			marking := workflow.ExecuteActivity(ao, c.MarkStaleContacts, workflow.Now(ctx))
			digest := workflow.ExecuteActivity(ao, a.SendDigests, run)
			err := digest.Get(ctx, &res.DigestResult)
			var marked activities.StaleResult
			if merr := marking.Get(ctx, &marked); merr != nil {
				workflow.GetLogger(ctx).Error("daily run: the stale contacts were not marked; the digest went its own way", "err", merr)
				res.StaleContactsError = merr.Error()
			} else {
				res.StaleContacts = &marked
			}
			return res, err
		}
		// Runs from before: the contacts first, then the digest.
		var marked activities.StaleResult
		if err := workflow.ExecuteActivity(ao, c.MarkStaleContacts, workflow.Now(ctx)).Get(ctx, &marked); err != nil {
			return DailyResult{}, err
		}
		res.StaleContacts = &marked
	}
	err := workflow.ExecuteActivity(ao, a.SendDigests, run).Get(ctx, &res.DigestResult)
	return res, err
}

// zonedDate is the date of a time in a time zone, or why the zone did not load.
type zonedDate struct {
	Date kamflow.Date `json:"date,omitempty"`
	Err  string       `json:"err,omitempty"`
}
