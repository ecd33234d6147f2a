package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the configured time zone is checked even on a host without zoneinfo files

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/kamflow/kamflow/workflows"
)

// The daily digest runs as a Temporal Schedule (DigestScheduleID) that starts
// workflows.DigestWorkflow every day at a set time of a set time zone. A run delayed by an outage
// is still taken within the catch-up window (a day) and still digests its own date; runs never
// overlap (a run still going when the next is due makes the next one skipped), and a run gives up
// before the next day's is due.

// DigestScheduleID is the ID of the digest's Temporal Schedule, and the prefix of its runs'
// workflow IDs.
const DigestScheduleID = "kamflow-daily-digest"

// DigestScheduleOptions says when the daily digest goes out.
type DigestScheduleOptions struct {
	// Hour (0–23) and Minute (0–59) are the time of day in TimeZone; the zero value is midnight.
	Hour, Minute int
	// TimeZone is an IANA time zone; "" is workflows.DefaultDigestTimeZone. Temporal fires at the
	// clock time as it reads there, with no special handling of daylight saving time.
	TimeZone string
	// TaskQueue is where the workflow runs; "" is workflows.TaskQueue.
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
// as the DigestScheduleOptions on workflows.TaskQueue, and checks them.
func DigestScheduleAt(clock, timeZone string) (DigestScheduleOptions, error) {
	if clock == "" {
		clock = workflows.DefaultDigestTime
	}
	if timeZone == "" {
		timeZone = workflows.DefaultDigestTimeZone
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
		o.TimeZone = workflows.DefaultDigestTimeZone
	}
	if _, err := time.LoadLocation(o.TimeZone); err != nil || o.TimeZone == "Local" {
		return client.ScheduleOptions{}, fmt.Errorf("digest time zone %q is not an IANA time zone such as Asia/Shanghai", o.TimeZone)
	}
	if o.TaskQueue == "" {
		o.TaskQueue = workflows.TaskQueue
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
			Workflow:  workflows.DigestWorkflowName,
			Args:      []any{workflows.DigestInput{TimeZone: o.TimeZone}},
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

// scheduleExists tells whether Create failed because the schedule exists already, which the SDK
// reports in its own error or passes on as the server's.
func scheduleExists(err error) bool {
	var exists *serviceerror.AlreadyExists
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.Is(err, temporal.ErrScheduleAlreadyRunning) || errors.As(err, &exists) || errors.As(err, &started)
}
