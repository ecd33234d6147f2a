package workflows

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the digest's time zone must load on every worker, even one without zoneinfo files

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
)

// The daily digest runs as a Temporal Schedule (DigestScheduleID) that starts DigestWorkflow every
// day at a set time of a set time zone; the workflow runs activities.SendDigests for the date the
// run was scheduled for. A run delayed by an outage is still taken within the catch-up window (a
// day) and still digests its own date; runs never overlap (a run still going when the next is due
// makes the next one skipped), and a run gives up before the next day's is due.

// Names of the daily digest.
const (
	DigestWorkflowName = "DigestWorkflow"
	DigestScheduleID   = "kamflow-daily-digest"
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

// DigestScheduleOptions says when the daily digest goes out.
type DigestScheduleOptions struct {
	// Hour (0–23) and Minute (0–59) are the time of day in TimeZone; the zero value is midnight.
	Hour, Minute int
	// TimeZone is an IANA time zone; "" is DefaultDigestTimeZone. Temporal fires at the clock time
	// as it reads there, with no special handling of daylight saving time.
	TimeZone string
	// TaskQueue is where the workflow runs; "" is TaskQueue.
	TaskQueue string
}

// ParseDigestTime parses a time of day "HH:MM" (24-hour clock) into hour and minute.
func ParseDigestTime(s string) (hour, minute int, err error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	digits := func(v string, min, max int) bool {
		return len(v) >= min && len(v) <= max && strings.Trim(v, "0123456789") == ""
	}
	if !ok || !digits(h, 1, 2) || !digits(m, 2, 2) {
		return 0, 0, fmt.Errorf("digest time %q is not a time of day HH:MM such as 08:00", s)
	}
	hour, _ = strconv.Atoi(h)
	minute, _ = strconv.Atoi(m)
	if hour > 23 || minute > 59 {
		return 0, 0, fmt.Errorf("digest time %q is not a time of day HH:MM such as 08:00", s)
	}
	return hour, minute, nil
}

// DigestScheduleAt reads the digest's time of day ("HH:MM") and time zone, "" for either's default,
// as the DigestScheduleOptions on TaskQueue, and checks them.
func DigestScheduleAt(clock, timeZone string) (DigestScheduleOptions, error) {
	if clock == "" {
		clock = DefaultDigestTime
	}
	if timeZone == "" {
		timeZone = DefaultDigestTimeZone
	}
	h, m, err := ParseDigestTime(clock)
	if err != nil {
		return DigestScheduleOptions{}, err
	}
	o := DigestScheduleOptions{Hour: h, Minute: m, TimeZone: timeZone}
	if _, err := DigestSchedule(o); err != nil {
		return DigestScheduleOptions{}, err
	}
	return o, nil
}

// DigestSchedule returns the options of the digest's Temporal Schedule: every day at o's time in
// o's time zone, skipping a run while the last is still going, catching up on runs missed within
// the last day.
func DigestSchedule(o DigestScheduleOptions) (client.ScheduleOptions, error) {
	if o.Hour < 0 || o.Hour > 23 || o.Minute < 0 || o.Minute > 59 {
		return client.ScheduleOptions{}, fmt.Errorf("digest time %d:%02d is not a time of day", o.Hour, o.Minute)
	}
	if o.TimeZone == "" {
		o.TimeZone = DefaultDigestTimeZone
	}
	if _, err := time.LoadLocation(o.TimeZone); err != nil || o.TimeZone == "Local" {
		return client.ScheduleOptions{}, fmt.Errorf("digest time zone %q is not an IANA time zone such as Asia/Shanghai", o.TimeZone)
	}
	if o.TaskQueue == "" {
		o.TaskQueue = TaskQueue
	}
	return client.ScheduleOptions{
		ID: DigestScheduleID,
		Spec: client.ScheduleSpec{
			// Seconds, days, months and weekdays are left to their defaults: second 0 of every day.
			Calendars: []client.ScheduleCalendarSpec{{
				Hour:    []client.ScheduleRange{{Start: o.Hour}},
				Minute:  []client.ScheduleRange{{Start: o.Minute}},
				Comment: digestComment(o),
			}},
			TimeZoneName: o.TimeZone,
		},
		Action: &client.ScheduleWorkflowAction{
			ID:        DigestScheduleID, // the server appends the scheduled time
			Workflow:  DigestWorkflowName,
			Args:      []any{DigestInput{TimeZone: o.TimeZone}},
			TaskQueue: o.TaskQueue,
			// The activity gives up after 20 hours; this bounds the run should anything else hang.
			WorkflowExecutionTimeout: 22 * time.Hour,
		},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: 24 * time.Hour,
	}, nil
}

// digestComment describes the schedule in its calendar's comment. The server keeps the comment as
// it is given (unlike the ranges, which it rewrites in its own form), so EnsureDigestSchedule
// tells by it whether the schedule is already the one wanted. "v1" stands for the rest of the
// options: change it when they change, so that existing schedules are updated.
func digestComment(o DigestScheduleOptions) string {
	return fmt.Sprintf("kamflow daily digest v1: %02d:%02d %s, task queue %s", o.Hour, o.Minute, o.TimeZone, o.TaskQueue)
}

// EnsureDigestSchedule creates the digest's Temporal Schedule, or updates the existing one to o
// (its spec, action and policies; a pause set by an operator stays). It changes nothing when the
// schedule is already as o says. Every worker calls it at start-up, several at once: whichever
// creates the schedule first wins, and the others find it and update it if need be.
func EnsureDigestSchedule(ctx context.Context, c client.Client, o DigestScheduleOptions) error {
	opts, err := DigestSchedule(o)
	if err != nil {
		return err
	}
	want := opts.Spec.Calendars[0].Comment
	sc := c.ScheduleClient()
	for attempt := 1; ; attempt++ {
		_, err := sc.Create(ctx, opts)
		if err == nil {
			return nil
		}
		if !scheduleExists(err) {
			return fmt.Errorf("create the digest schedule: %w", err)
		}
		err = sc.GetHandle(ctx, DigestScheduleID).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				s := in.Description.Schedule
				if s.Spec != nil && len(s.Spec.Calendars) == 1 && s.Spec.Calendars[0].Comment == want && len(s.Spec.Intervals) == 0 {
					return nil, temporal.ErrSkipScheduleUpdate
				}
				state := s.State
				if state == nil {
					state = &client.ScheduleState{} // the SDK reads it: never nil
				}
				return &client.ScheduleUpdate{Schedule: &client.Schedule{
					Spec:   &opts.Spec,
					Action: opts.Action,
					Policy: &client.SchedulePolicies{Overlap: opts.Overlap, CatchupWindow: opts.CatchupWindow},
					State:  state,
				}}, nil
			},
		})
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) && attempt < 3 {
			continue // deleted since: create it again
		}
		if err != nil {
			return fmt.Errorf("update the digest schedule: %w", err)
		}
		return nil
	}
}

func scheduleExists(err error) bool {
	var exists *serviceerror.AlreadyExists
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.Is(err, temporal.ErrScheduleAlreadyRunning) || errors.As(err, &exists) || errors.As(err, &started)
}
