package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/kamflow/kamflow/engine"
	"github.com/kamflow/kamflow/workflows"
)

func TestParseDigestTime(t *testing.T) {
	for in, want := range map[string][2]int{"08:00": {8, 0}, "8:05": {8, 5}, "00:00": {0, 0}, "23:59": {23, 59}, " 07:30 ": {7, 30}} {
		h, m, err := engine.ParseDigestTime(in)
		if err != nil || h != want[0] || m != want[1] {
			t.Errorf("%q: %d:%d %v", in, h, m, err)
		}
	}
	for _, in := range []string{"", "8", "24:00", "12:60", "12:5", "+8:00", "-1:00", "08:00:00", "8h", "０8:00"} {
		if _, _, err := engine.ParseDigestTime(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}

// TestDigestSchedule: every day at the time in the zone, the digest workflow on the task queue
// with the zone as its input, no overlap, a day's catch-up.
func TestDigestSchedule(t *testing.T) {
	o, err := engine.DigestSchedule(engine.DigestScheduleOptions{Hour: 7, Minute: 45})
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "kamflow-daily-digest" || o.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP || o.CatchupWindow != 24*time.Hour || o.Paused {
		t.Errorf("options %+v", o)
	}
	if len(o.Spec.Calendars) != 1 || o.Spec.TimeZoneName != "Asia/Shanghai" || len(o.Spec.CronExpressions)+len(o.Spec.Intervals) != 0 {
		t.Fatalf("spec %+v", o.Spec)
	}
	cal := o.Spec.Calendars[0]
	if len(cal.Hour) != 1 || cal.Hour[0] != (client.ScheduleRange{Start: 7}) || len(cal.Minute) != 1 || cal.Minute[0] != (client.ScheduleRange{Start: 45}) ||
		cal.DayOfMonth != nil || cal.Month != nil || cal.DayOfWeek != nil || cal.Year != nil {
		t.Errorf("calendar %+v", cal)
	}
	act, ok := o.Action.(*client.ScheduleWorkflowAction)
	if !ok || act.Workflow != workflows.DigestWorkflowName || act.TaskQueue != workflows.TaskQueue || act.ID != "kamflow-daily-digest" ||
		len(act.Args) != 1 || act.Args[0] != (workflows.DigestInput{TimeZone: "Asia/Shanghai"}) || act.WorkflowExecutionTimeout <= 20*time.Hour {
		t.Errorf("action %+v", o.Action)
	}
	o2, err := engine.DigestSchedule(engine.DigestScheduleOptions{Hour: 9, TimeZone: "Europe/Berlin", TaskQueue: "q"})
	if err != nil {
		t.Fatal(err)
	}
	if o2.Spec.TimeZoneName != "Europe/Berlin" || o2.Action.(*client.ScheduleWorkflowAction).TaskQueue != "q" ||
		o2.Action.(*client.ScheduleWorkflowAction).Args[0] != (workflows.DigestInput{TimeZone: "Europe/Berlin"}) ||
		o2.Spec.Calendars[0].Comment == cal.Comment {
		t.Errorf("options of another time %+v", o2)
	}
	for _, bad := range []engine.DigestScheduleOptions{{Hour: 24}, {Minute: 60}, {Hour: -1}, {TimeZone: "Mars/Olympus"}, {TimeZone: "Local"}} {
		if _, err := engine.DigestSchedule(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// fakeTemporal is a Temporal client with only its schedule API.
type fakeTemporal struct {
	client.Client
	s *fakeSchedules
}

func (f fakeTemporal) ScheduleClient() client.ScheduleClient { return f.s }

// fakeSchedules is the schedule API over one schedule, as the server answers.
type fakeSchedules struct {
	client.ScheduleClient
	client.ScheduleHandle
	exists  bool
	creates int
	updates int // updates that changed the schedule
	// raceOnCreate makes the first Create find the schedule created by another worker meanwhile.
	raceOnCreate *client.ScheduleOptions
	current      client.Schedule
}

func (f *fakeSchedules) GetHandle(context.Context, string) client.ScheduleHandle { return f }

func (f *fakeSchedules) Create(_ context.Context, o client.ScheduleOptions) (client.ScheduleHandle, error) {
	if f.raceOnCreate != nil {
		o, f.raceOnCreate = *f.raceOnCreate, nil
		f.store(o)
	}
	if f.exists {
		return nil, temporal.ErrScheduleAlreadyRunning
	}
	f.creates++
	f.store(o)
	return f, nil
}

func (f *fakeSchedules) store(o client.ScheduleOptions) {
	f.exists = true
	f.current = client.Schedule{Spec: &o.Spec, Action: o.Action,
		Policy: &client.SchedulePolicies{Overlap: o.Overlap, CatchupWindow: o.CatchupWindow}, State: &client.ScheduleState{}}
}

func (f *fakeSchedules) Update(_ context.Context, o client.ScheduleUpdateOptions) error {
	if !f.exists {
		return serviceerror.NewNotFound("schedule not found")
	}
	u, err := o.DoUpdate(client.ScheduleUpdateInput{Description: client.ScheduleDescription{Schedule: f.current}})
	if errors.Is(err, temporal.ErrSkipScheduleUpdate) {
		return nil
	}
	if err != nil {
		return err
	}
	f.updates++
	f.current = *u.Schedule
	return nil
}

// TestEnsureDigestSchedule creates the schedule once; later calls change nothing unless the time
// or the zone changed, and then keep the schedule's state (an operator's pause); a call that
// loses the race to create it updates the winner's.
func TestEnsureDigestSchedule(t *testing.T) {
	ctx := context.Background()
	f := &fakeSchedules{}
	eight := engine.DigestScheduleOptions{Hour: 8}
	for range 2 {
		if err := engine.EnsureDigestSchedule(ctx, fakeTemporal{s: f}, eight); err != nil {
			t.Fatal(err)
		}
	}
	if f.creates != 1 || f.updates != 0 {
		t.Fatalf("created %d, updated %d times", f.creates, f.updates)
	}
	f.current.State = &client.ScheduleState{Paused: true, Note: "paused for the holidays"}
	if err := engine.EnsureDigestSchedule(ctx, fakeTemporal{s: f}, engine.DigestScheduleOptions{Hour: 9, Minute: 30, TimeZone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	if f.updates != 1 || f.current.Spec.TimeZoneName != "UTC" || f.current.Spec.Calendars[0].Hour[0].Start != 9 ||
		f.current.Spec.Calendars[0].Minute[0].Start != 30 || !f.current.State.Paused ||
		f.current.Action.(*client.ScheduleWorkflowAction).Args[0] != (workflows.DigestInput{TimeZone: "UTC"}) ||
		f.current.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Fatalf("after a change of time: %d updates, %+v %+v", f.updates, f.current.Spec, f.current.State)
	}

	// Another worker, configured for 08:00, creates the schedule just before this one, for 09:30.
	other, _ := engine.DigestSchedule(eight)
	raced := &fakeSchedules{raceOnCreate: &other}
	if err := engine.EnsureDigestSchedule(ctx, fakeTemporal{s: raced}, engine.DigestScheduleOptions{Hour: 9, Minute: 30}); err != nil {
		t.Fatal(err)
	}
	if raced.creates != 0 || raced.updates != 1 || raced.current.Spec.Calendars[0].Hour[0].Start != 9 {
		t.Fatalf("after a lost race: created %d, updated %d, %+v", raced.creates, raced.updates, raced.current.Spec)
	}
	if err := engine.EnsureDigestSchedule(ctx, fakeTemporal{s: raced}, engine.DigestScheduleOptions{Hour: 24}); err == nil {
		t.Error("an invalid time accepted")
	}
}

// TestDigestScheduleAt reads the configured time and zone, with their defaults, and refuses what
// is not a time of day or a time zone.
func TestDigestScheduleAt(t *testing.T) {
	if o, err := engine.DigestScheduleAt("", ""); err != nil || o != (engine.DigestScheduleOptions{Hour: 8, TimeZone: "Asia/Shanghai"}) {
		t.Errorf("defaults: %+v %v", o, err)
	}
	if o, err := engine.DigestScheduleAt("17:30", "Europe/Berlin"); err != nil ||
		o != (engine.DigestScheduleOptions{Hour: 17, Minute: 30, TimeZone: "Europe/Berlin"}) {
		t.Errorf("17:30 Berlin: %+v %v", o, err)
	}
	for _, c := range [][2]string{{"25:00", ""}, {"08:00", "Asia/Nowhere"}, {"8 am", "UTC"}} {
		if _, err := engine.DigestScheduleAt(c[0], c[1]); err == nil {
			t.Errorf("%q %q accepted", c[0], c[1])
		}
	}
}
