package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/workflows"
)

// fieldService stands in for the ERP / field-service system and the plan's projection: it keeps
// every step request and every projected plan, and fails the steps it is told to.
type fieldService struct {
	mu    sync.Mutex
	calls []activities.StepRequest
	plans []kamflow.DeliveryPlan
	// activityIDs are the step activities' IDs, which tie them to their steps for live progress.
	activityIDs []string
	audit       []kamflow.AuditEntry
	// fail says how a step request fails: "" succeeds, "retry" fails retryably, "reject" fails for
	// good.
	fail func(r activities.StepRequest, attempt int32) string
}

func (f *fieldService) RunDeliveryStep(ctx context.Context, r activities.StepRequest) (activities.StepResult, error) {
	f.mu.Lock()
	f.calls = append(f.calls, r)
	f.activityIDs = append(f.activityIDs, activity.GetInfo(ctx).ActivityID)
	how := ""
	if f.fail != nil {
		how = f.fail(r, activity.GetInfo(ctx).Attempt)
	}
	f.mu.Unlock()
	switch how {
	case "retry":
		return activities.StepResult{}, errors.New("field service: 503 Service Unavailable")
	case "reject":
		return activities.StepResult{}, temporal.NewNonRetryableApplicationError("no stock of drive 6SE7031", "FieldServiceRejected", nil)
	}
	ref := ""
	if !r.Undo && r.Step != kamflow.StepNotifyCustomer {
		ref = fmt.Sprintf("%s-%s-%d", strings.ToUpper(r.Step[:2]), r.Task, r.Run)
	}
	return activities.StepResult{Ref: ref}, nil
}

func (f *fieldService) ProjectDelivery(_ context.Context, p activities.DeliveryProjection) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plans = append(f.plans, p.Plan)
	if p.Audit != nil {
		f.audit = append(f.audit, *p.Audit)
	}
	return nil
}

// steps lists the step requests as "task/step" (undo: "task/step undo").
func (f *fieldService) steps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		s := c.Task + "/" + c.Step
		if c.Undo {
			s += " undo " + c.Ref
		}
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

// inbox keeps the in-app notifications, each once by its key, as the database does.
type inbox struct {
	mu    sync.Mutex
	notes []kamflow.Notification
}

func (b *inbox) Notify(_ context.Context, n []kamflow.Notification) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, x := range n {
		if x.Key != "" && slices.ContainsFunc(b.notes, func(y kamflow.Notification) bool { return y.Key == x.Key }) {
			continue
		}
		b.notes = append(b.notes, x)
	}
	return nil
}

func (b *inbox) Notifications(context.Context, string, int) ([]kamflow.Notification, error) {
	return nil, errors.New("not used")
}

func (b *inbox) kinds() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]int{}
	for _, n := range b.notes {
		out[n.Kind]++
	}
	return out
}

// of lists the notifications of a kind as "user: message".
func (b *inbox) of(kind string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, n := range b.notes {
		if n.Kind == kind {
			out = append(out, n.UserID+": "+n.Message)
		}
	}
	return out
}

type deliveryHarness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	fs    *fieldService
	rec   *inbox
	in    workflows.DeliveryInput
	clock time.Duration
	// told are the acceptance notices sent to the deal; holds the delivery holds.
	told  []workflows.AcceptanceNotice
	holds []kamflow.DeliveryHold
}

var (
	eng1     = kamflow.Actor{ID: "eng1", Role: kamflow.UserEngineer, Teams: []string{"east"}}
	kamEast  = kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM, Teams: []string{"east"}}
	dirEast  = kamflow.Actor{ID: "director", Role: kamflow.UserDirector, Teams: []string{"east"}}
	delStart = time.Date(2027, 2, 1, 9, 0, 0, 0, time.UTC)
)

// bothPaths runs a test on the delivery workflow as it now is (one input queue) and on its
// legacy code, which runs whose history lacks the queue's version marker go on with.
func bothPaths(t *testing.T, fn func(t *testing.T)) {
	t.Run("queue", fn)
	t.Run("legacy", fn)
}

func newDeliveryHarness(t *testing.T) *deliveryHarness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(delStart)
	h := &deliveryHarness{t: t, env: env, fs: &fieldService{}, rec: &inbox{}}
	env.RegisterWorkflowWithOptions(workflows.DeliveryWorkflow, workflow.RegisterOptions{Name: workflows.DeliveryWorkflowName})
	env.RegisterActivityWithOptions(h.fs.RunDeliveryStep, activity.RegisterOptions{Name: "RunDeliveryStep"})
	env.RegisterActivityWithOptions(h.fs.ProjectDelivery, activity.RegisterOptions{Name: "ProjectDelivery"})
	env.RegisterActivity(&activities.Activities{Notifications: h.rec})
	if strings.HasSuffix(t.Name(), "/legacy") { // (bothPaths)
		env.OnGetVersion("delivery-one-queue", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	env.OnSignalExternalWorkflow(mock.Anything, "deal-d1", "", workflows.AcceptanceSignal, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			h.told = append(h.told, arg.(workflows.AcceptanceNotice))
			return nil
		})
	env.OnSignalExternalWorkflow(mock.Anything, "deal-d1", "", workflows.DeliveryHoldSignal, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			h.holds = append(h.holds, arg.(kamflow.DeliveryHold))
			return nil
		})
	d := &kamflow.Deal{ID: "d1", AccountID: "a1", Title: "Hot strip mill drives", Owner: "kam1", TeamID: "east",
		Engineers: []string{"eng1"}, Stage: kamflow.Delivery, Status: kamflow.StatusWon}
	h.in = workflows.DeliveryInput{Plan: *kamflow.NewDeliveryPlan(d, delStart), Deal: *d, StepAttempts: 3}
	return h
}

func (h *deliveryHarness) at(offset time.Duration, fn func()) {
	h.env.RegisterDelayedCallback(fn, offset)
	if offset > h.clock {
		h.clock = offset
	}
}

func (h *deliveryHarness) then(fn func()) { h.at(h.clock+time.Minute, fn) }

// send issues the delivery Update after the previous step and checks its outcome.
func (h *deliveryHarness) send(cmd kamflow.DeliveryCommand, check func(p kamflow.DeliveryPlan, err error)) {
	h.then(func() {
		h.env.UpdateWorkflow(workflows.DeliveryUpdate, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { check(kamflow.DeliveryPlan{}, workflows.FromError(err)) },
			OnComplete: func(v any, err error) {
				if err != nil {
					check(kamflow.DeliveryPlan{}, workflows.FromError(err))
					return
				}
				check(v.(kamflow.DeliveryPlan), nil)
			},
		}, cmd)
	})
}

func (h *deliveryHarness) ok(cmd kamflow.DeliveryCommand) {
	h.send(cmd, func(_ kamflow.DeliveryPlan, err error) {
		if err != nil {
			h.t.Errorf("%s %s: %v", cmd.Kind, cmd.Task, err)
		}
	})
}

func (h *deliveryHarness) refused(cmd kamflow.DeliveryCommand, code string) {
	h.send(cmd, func(_ kamflow.DeliveryPlan, err error) {
		if kamflow.ErrorCode(err) != code {
			h.t.Errorf("%s %s: %v, want %s", cmd.Kind, cmd.Task, err, code)
		}
	})
}

func (h *deliveryHarness) plan() kamflow.DeliveryPlan {
	v, err := h.env.QueryWorkflow(workflows.DeliveryQuery)
	if err != nil {
		h.t.Fatalf("query: %v", err)
	}
	var p kamflow.DeliveryPlan
	if err := v.Get(&p); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// check looks at the plan after the previous step (and the activities it started) settled.
func (h *deliveryHarness) check(fn func(p kamflow.DeliveryPlan)) {
	h.at(h.clock+10*time.Minute, func() { fn(h.plan()) })
}

func (h *deliveryHarness) run() { h.env.ExecuteWorkflow(workflows.DeliveryWorkflowName, h.in) }

// end cancels the workflow after the last step: a delivery waits for its project's close and a
// year of service, which these tests do not need.
func (h *deliveryHarness) end() { h.at(h.clock+time.Hour, func() { h.env.CancelWorkflow() }) }

func task(kind kamflow.DeliveryCommandKind, key string) kamflow.DeliveryCommand {
	return kamflow.DeliveryCommand{Kind: kind, Actor: eng1, Task: key}
}

func complete(key string, in kamflow.CompleteInput) kamflow.DeliveryCommand {
	c := task(kamflow.DelivComplete, key)
	c.Complete = &in
	return c
}

// through starts and completes the tasks in order.
func (h *deliveryHarness) through(keys ...string) {
	for _, k := range keys {
		h.ok(task(kamflow.DelivStart, k))
		h.check(func(p kamflow.DeliveryPlan) {
			if s := p.Task(k).Status; s != kamflow.TaskActive {
				h.t.Errorf("task %s is %s after its steps, want active", k, s)
			}
		})
		h.ok(complete(k, kamflow.CompleteInput{Notes: k + " done"}))
	}
}

func statusOf(p kamflow.DeliveryPlan, key string) kamflow.TaskStatus { return p.Task(key).Status }

func TestDeliveryTaskGraphAndSteps(t *testing.T) { bothPaths(t, testDeliveryTaskGraphAndSteps) }

func testDeliveryTaskGraphAndSteps(t *testing.T) {
	h := newDeliveryHarness(t)
	h.refused(task(kamflow.DelivStart, kamflow.TaskCommissioning), kamflow.EGATENOTMET)
	h.refused(kamflow.DeliveryCommand{Kind: kamflow.DelivStart, Actor: kamEast, Task: kamflow.TaskSiteSurvey}, kamflow.EFORBIDDEN)
	h.refused(kamflow.DeliveryCommand{Kind: kamflow.DelivStart, Actor: kamflow.Actor{ID: "eng9", Role: kamflow.UserEngineer}, Task: kamflow.TaskSiteSurvey}, kamflow.ENOTFOUND)
	h.through(kamflow.TaskSiteSurvey, kamflow.TaskInstallation)
	h.check(func(p kamflow.DeliveryPlan) {
		inst := p.Task(kamflow.TaskInstallation)
		if inst.Status != kamflow.TaskDone || inst.Steps[0].Ref != "WO-installation-1" || inst.Steps[1].Ref != "RE-installation-1" || inst.Progress != 100 {
			t.Errorf("installation %+v", inst)
		}
	})
	// A KAM adjusts the plan: a cable-pulling task assigned to eng2 before commissioning.
	h.ok(kamflow.DeliveryCommand{Kind: kamflow.DelivPlan, Actor: kamEast, Plan: &kamflow.PlanInput{Tasks: []kamflow.TaskSpec{
		{Key: "site_survey", DependsOn: []string{}}, {Key: "installation", DependsOn: []string{"site_survey"}},
		{Key: "cable_pulling", Title: "Cable pulling", Assignee: "eng2", DependsOn: []string{"installation"}},
		{Key: "commissioning", DependsOn: []string{"cable_pulling"}}, {Key: "training", DependsOn: []string{"commissioning"}},
		{Key: "acceptance_test", DependsOn: []string{"training"}},
	}}})
	h.refused(task(kamflow.DelivStart, kamflow.TaskCommissioning), kamflow.EGATENOTMET)
	h.through("cable_pulling")
	h.end()
	h.run()
	want := []string{"site_survey/work_order", "site_survey/notify_customer",
		"installation/work_order", "installation/reserve_parts", "installation/notify_customer",
		"cable_pulling/work_order", "cable_pulling/notify_customer"}
	if got := h.fs.steps(); !slices.Equal(got, want) {
		t.Errorf("steps run\n%v\nwant\n%v", got, want)
	}
	if got := h.fs.activityIDs[:2]; !slices.Equal(got, []string{"step/site_survey/1/work_order", "step/site_survey/1/notify_customer"}) {
		t.Errorf("step activity IDs %v", got)
	}
	// Every projection moved the plan forward.
	for i := 1; i < len(h.fs.plans); i++ {
		if h.fs.plans[i].Seq <= h.fs.plans[i-1].Seq {
			t.Fatalf("projection %d has seq %d after %d", i, h.fs.plans[i].Seq, h.fs.plans[i-1].Seq)
		}
	}
}

func TestDeliveryStepFailsAndIsCompensated(t *testing.T) {
	bothPaths(t, testDeliveryStepFailsAndIsCompensated)
}

func testDeliveryStepFailsAndIsCompensated(t *testing.T) {
	h := newDeliveryHarness(t)
	rejectParts := true
	h.fs.fail = func(r activities.StepRequest, attempt int32) string {
		switch {
		case r.Undo:
			if attempt < 3 {
				return "retry" // an undo is retried until it gets through
			}
		case r.Task == kamflow.TaskInstallation && r.Step == kamflow.StepReserveParts && rejectParts:
			return "reject"
		case r.Task == kamflow.TaskCommissioning && r.Step == kamflow.StepReserveParts:
			return "retry" // never gets through: fails after StepAttempts
		}
		return ""
	}
	h.through(kamflow.TaskSiteSurvey)
	h.ok(task(kamflow.DelivStart, kamflow.TaskInstallation))
	h.check(func(p kamflow.DeliveryPlan) {
		inst := p.Task(kamflow.TaskInstallation)
		if inst.Status != kamflow.TaskFailed || !strings.Contains(inst.Error, "no stock of drive 6SE7031") {
			t.Errorf("installation after the rejection: %s %q", inst.Status, inst.Error)
		}
		if inst.Steps[0].Status != kamflow.StepCompensated || inst.Steps[1].Status != kamflow.StepFailed || inst.Steps[2].Status != kamflow.StepPending {
			t.Errorf("steps %+v", inst.Steps)
		}
		if n := h.rec.kinds()["task_failed"]; n != 2 {
			t.Errorf("%d failure notices, want the engineer's and the KAM's", n)
		}
		rejectParts = false
	})
	h.refused(task(kamflow.DelivStart, kamflow.TaskInstallation), kamflow.EWRONGSTAGE)
	h.ok(task(kamflow.DelivRetry, kamflow.TaskInstallation))
	h.check(func(p kamflow.DeliveryPlan) {
		if inst := p.Task(kamflow.TaskInstallation); inst.Status != kamflow.TaskActive || inst.Runs != 2 {
			t.Errorf("installation retried: %s, runs %d", inst.Status, inst.Runs)
		}
	})
	h.ok(complete(kamflow.TaskInstallation, kamflow.CompleteInput{}))
	h.ok(task(kamflow.DelivStart, kamflow.TaskCommissioning))
	h.check(func(p kamflow.DeliveryPlan) {
		if s := statusOf(p, kamflow.TaskCommissioning); s != kamflow.TaskFailed {
			t.Errorf("commissioning with parts never reserved: %s", s)
		}
	})
	h.end()
	h.run()
	want := []string{"site_survey/work_order", "site_survey/notify_customer",
		"installation/work_order", "installation/reserve_parts", "installation/work_order undo WO-installation-1",
		"installation/work_order", "installation/reserve_parts", "installation/notify_customer",
		"commissioning/work_order", "commissioning/reserve_parts", "commissioning/work_order undo WO-commissioning-1"}
	if got := h.fs.steps(); !slices.Equal(got, want) {
		t.Errorf("steps run\n%v\nwant\n%v", got, want)
	}
	// The parts step was attempted StepAttempts (3) times before the task failed.
	n := 0
	for _, c := range h.fs.calls {
		if c.Task == kamflow.TaskCommissioning && c.Step == kamflow.StepReserveParts {
			n++
		}
	}
	if n != 3 {
		t.Errorf("reserve_parts attempted %d times, want 3", n)
	}
}

func TestDeliveryTaskCancelled(t *testing.T) { bothPaths(t, testDeliveryTaskCancelled) }

func testDeliveryTaskCancelled(t *testing.T) {
	h := newDeliveryHarness(t)
	// The parts system keeps answering 503: the step is retried (every minute at most) until the
	// engineer gives up and cancels the task.
	h.in.StepAttempts = 1000
	h.fs.fail = func(r activities.StepRequest, _ int32) string {
		if r.Task == kamflow.TaskInstallation && r.Step == kamflow.StepReserveParts && !r.Undo {
			return "retry"
		}
		return ""
	}
	h.through(kamflow.TaskSiteSurvey)
	h.ok(task(kamflow.DelivStart, kamflow.TaskInstallation))
	h.check(func(p kamflow.DeliveryPlan) {
		inst := p.Task(kamflow.TaskInstallation)
		if inst.Status != kamflow.TaskRunning || inst.Steps[1].Status != kamflow.StepRunning {
			t.Errorf("installation while parts are reserved: %s %+v", inst.Status, inst.Steps)
		}
	})
	h.refused(task(kamflow.DelivCancel, kamflow.TaskCommissioning), kamflow.EWRONGSTAGE)
	h.ok(task(kamflow.DelivCancel, kamflow.TaskInstallation))
	h.check(func(p kamflow.DeliveryPlan) {
		inst := p.Task(kamflow.TaskInstallation)
		if inst.Status != kamflow.TaskCancelled || inst.Steps[0].Status != kamflow.StepCompensated || inst.Error != "cancelled by eng1" {
			t.Errorf("cancelled installation: %s %q %+v", inst.Status, inst.Error, inst.Steps)
		}
	})
	h.end()
	h.run()
	got := h.fs.steps()
	if !slices.Contains(got, "installation/work_order undo WO-installation-1") || slices.Contains(got, "installation/notify_customer") {
		t.Errorf("steps run %v: the work order is undone, the customer never told", got)
	}
}

func TestDeliveryOverdueNotices(t *testing.T) { bothPaths(t, testDeliveryOverdueNotices) }

func testDeliveryOverdueNotices(t *testing.T) {
	h := newDeliveryHarness(t)
	h.in.Plan.Tasks[0].Due = "2027-02-03"
	h.in.Plan.Tasks[1].Due = "2027-03-01"
	// Site survey is late: after the end of 2027-02-03 its engineer and the KAM are told, once.
	h.at(3*24*time.Hour, func() {
		if n := h.rec.kinds()["task_overdue"]; n != 2 {
			t.Errorf("%d overdue notices after the due date, want 2", n)
		}
	})
	h.at(10*24*time.Hour, func() {
		if n := h.rec.kinds()["task_overdue"]; n != 2 {
			t.Errorf("%d overdue notices a week later, want still 2", n)
		}
		h.ok(task(kamflow.DelivStart, kamflow.TaskSiteSurvey))
	})
	h.at(10*24*time.Hour+time.Hour, func() {
		h.ok(complete(kamflow.TaskSiteSurvey, kamflow.CompleteInput{}))
	})
	// Installation, due 2027-03-01, is late too.
	h.at(40*24*time.Hour, func() {
		var to []string
		for _, n := range h.rec.notes {
			if n.Kind == "task_overdue" {
				to = append(to, n.UserID+":"+strings.Fields(n.Message)[1])
			}
		}
		if !slices.Equal(to, []string{"eng1:site_survey", "kam1:site_survey", "eng1:installation", "kam1:installation"}) {
			t.Errorf("overdue notices %v", to)
		}
	})
	h.end()
	h.run()
}

func TestAcceptanceOutcomesTellTheDeal(t *testing.T) { bothPaths(t, testAcceptanceOutcomesTellTheDeal) }

func testAcceptanceOutcomesTellTheDeal(t *testing.T) {
	h := newDeliveryHarness(t)
	h.through(kamflow.TaskSiteSurvey, kamflow.TaskInstallation, kamflow.TaskCommissioning, kamflow.TaskTraining)
	h.ok(task(kamflow.DelivStart, kamflow.TaskAcceptanceTest))
	h.send(complete(kamflow.TaskAcceptanceTest, kamflow.CompleteInput{Result: kamflow.AcceptancePassPunchList}), func(_ kamflow.DeliveryPlan, err error) {
		if kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("pass with an empty punch list: %v", err)
		}
	})
	h.ok(complete(kamflow.TaskAcceptanceTest, kamflow.CompleteInput{Result: kamflow.AcceptanceFail, Issues: []string{"Vibration over limit on F3"}}))
	h.ok(task(kamflow.DelivStart, kamflow.TaskAcceptanceTest))
	h.ok(complete(kamflow.TaskAcceptanceTest, kamflow.CompleteInput{Result: kamflow.AcceptancePassPunchList,
		PunchList: []string{"Label the cabinets", "Spare-parts list"}, Notes: "72h run passed"}))
	h.ok(kamflow.DeliveryCommand{Kind: kamflow.DelivResolve, Actor: eng1, Punch: "p1"})
	h.ok(kamflow.DeliveryCommand{Kind: kamflow.DelivResolve, Actor: dirEast, Punch: "p2"})
	h.end()
	h.run()
	var got []string
	for _, n := range h.told {
		got = append(got, fmt.Sprintf("%s/%d/%s", n.Result, n.OpenPunchItems, n.Actor.ID))
	}
	want := []string{"fail/0/eng1", "pass_with_punch_list/2/eng1", "pass_with_punch_list/1/eng1", "pass_with_punch_list/0/director"}
	if !slices.Equal(got, want) {
		t.Errorf("the deal was told %v, want %v", got, want)
	}
}

func TestServiceCadenceOverAYear(t *testing.T) { bothPaths(t, testServiceCadenceOverAYear) }

func testServiceCadenceOverAYear(t *testing.T) {
	h := newDeliveryHarness(t)
	day := 24 * time.Hour
	closed := delStart.Add(day)
	h.at(day, func() { h.env.SignalWorkflow(workflows.ProjectClosedSignal, closed) })
	h.at(2*day, func() {
		h.refused(task(kamflow.DelivStart, kamflow.TaskSiteSurvey), kamflow.EWRONGSTAGE)
	})
	report := func(round int, at time.Duration, faults, unresolved int) {
		h.at(at, func() {
			p := h.plan()
			if len(p.Visits) != round {
				t.Errorf("at day %d: %d visits, want %d", int(at/day), len(p.Visits), round)
				return
			}
			v := p.Visits[round-1]
			wantDue := kamflow.DateOf(closed.Add(time.Duration(kamflow.DefaultServiceCadence[round-1])))
			if v.Due != wantDue || v.Assignee != "eng1" || v.Status != kamflow.VisitDue || v.Site != "Hot strip mill drives" {
				t.Errorf("visit %d: %+v, want due %s", round, v, wantDue)
			}
			h.ok(kamflow.DeliveryCommand{Kind: kamflow.DelivReport, Actor: eng1, Visit: v.ID, Report: &kamflow.VisitReport{
				VisitedOn: v.Due, FaultsFound: faults, FaultsUnresolved: unresolved, Satisfaction: kamflow.Satisfied}})
		})
	}
	// Each visit is looked at a day after it is due: 31, 91, 181 and 366 days after the close.
	report(1, 32*day, 2, 1)
	report(2, 92*day, 1, 0)
	report(3, 182*day, 0, 0)
	report(4, 367*day, 0, 0)
	h.run()
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("the delivery did not end after the last visit was reported")
	}
	var p kamflow.DeliveryPlan
	if err := h.env.GetWorkflowResult(&p); err != nil {
		t.Fatal(err)
	}
	if len(p.Visits) != 4 || !p.ServiceDone() {
		t.Errorf("ended with %d visits, service done %v", len(p.Visits), p.ServiceDone())
	}
	if n := h.rec.kinds()["service_visit"]; n != 4 {
		t.Errorf("%d visit notices, want 4", n)
	}
	last := h.fs.plans[len(h.fs.plans)-1]
	if last.Visits[0].Report == nil || last.Visits[0].Report.FaultsUnresolved != 1 {
		t.Errorf("the first visit's report was not projected: %+v", last.Visits[0])
	}
}

func TestDeliveryContinuesAsNew(t *testing.T) { bothPaths(t, testDeliveryContinuesAsNew) }

func testDeliveryContinuesAsNew(t *testing.T) {
	h := newDeliveryHarness(t)
	h.in.MaxChangesPerRun = 4 // the site survey's start, two steps and completion
	h.through(kamflow.TaskSiteSurvey)
	h.run()
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("not ended")
	}
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) || can.WorkflowType.Name != workflows.DeliveryWorkflowName {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	if last := h.fs.plans[len(h.fs.plans)-1]; statusOf(last, kamflow.TaskSiteSurvey) != kamflow.TaskDone {
		t.Errorf("the survey was not done and projected before continuing: %s", statusOf(last, kamflow.TaskSiteSurvey))
	}
}

// TestReplayDeliveryLegacyHistory replays the history of a delivery recorded on a real server
// from the code before the one input queue (a plan adjusted, a task started, cancelled and undone,
// started again, every task completed, the acceptance with a punch list, the deal's signal, the
// project closed, the first service visit reported). Such a run lacks the queue's version marker:
// it must go on, and replay, on the legacy code.
func TestReplayDeliveryLegacyHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.DeliveryWorkflow, workflow.RegisterOptions{Name: workflows.DeliveryWorkflowName})
	logger := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	if err := r.ReplayWorkflowHistoryFromJSONFile(logger, "testdata/delivery_legacy_history.json"); err != nil {
		t.Fatalf("replaying the recorded delivery history: %v", err)
	}
}

// undoFailure: installation's parts are refused, and so is the undo of its work order.
func undoFailure(r activities.StepRequest, _ int32) string {
	switch {
	case r.Task != kamflow.TaskInstallation:
		return ""
	case r.Undo && r.Step == kamflow.StepWorkOrder:
		return "reject"
	case !r.Undo && r.Step == kamflow.StepReserveParts:
		return "reject"
	}
	return ""
}

func (h *deliveryHarness) auditActions() []string {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	var out []string
	for _, e := range h.fs.audit {
		out = append(out, e.Action)
	}
	return out
}

func holdsOf(hs []kamflow.DeliveryHold) []string {
	var out []string
	for _, x := range hs {
		out = append(out, "["+strings.Join(x.UndoFailed, ",")+"]")
	}
	return out
}

func TestDeliveryUndoFailsThenResolvedByHand(t *testing.T) {
	h := newDeliveryHarness(t)
	h.fs.fail = undoFailure
	h.through(kamflow.TaskSiteSurvey)
	h.ok(task(kamflow.DelivStart, kamflow.TaskInstallation))
	h.check(func(p kamflow.DeliveryPlan) {
		inst := p.Task(kamflow.TaskInstallation)
		if inst.Status != kamflow.TaskUndoFailed || inst.UndoTo != kamflow.TaskFailed {
			t.Fatalf("installation whose undo was refused: %s (to %s)", inst.Status, inst.UndoTo)
		}
		if !strings.Contains(inst.Error, "reserve_parts failed") {
			t.Errorf("the task's error %q is no longer why it failed", inst.Error)
		}
		want := []kamflow.UndoFailure{{Step: kamflow.StepWorkOrder, Ref: "WO-installation-1", Error: "no stock of drive 6SE7031", At: inst.UndoFailures[0].At}}
		if !slices.Equal(inst.UndoFailures, want) {
			t.Errorf("undo failures %+v, want %+v", inst.UndoFailures, want)
		}
		if s := inst.Steps[0].Status; s != kamflow.StepUndoFailed {
			t.Errorf("the work order's step is %s", s)
		}
		if got := p.UndoFailedTasks(); !slices.Equal(got, []string{kamflow.TaskInstallation}) {
			t.Errorf("undo_failed tasks %v", got)
		}
		// The engineer and the KAM are told what to clean up by hand, once each.
		got := h.rec.of(kamflow.NoticeUndoFailed)
		if len(got) != 2 || !strings.HasPrefix(got[0], "eng1: ") || !strings.HasPrefix(got[1], "kam1: ") ||
			!strings.Contains(got[0], "work_order WO-installation-1 (no stock of drive 6SE7031)") {
			t.Errorf("undo_failed notices %q", got)
		}
		if got := holdsOf(h.holds); !slices.Equal(got, []string{"[installation]"}) {
			t.Errorf("the deal was told %v", got)
		}
		if !slices.Contains(h.auditActions(), "delivery.undo_failed") {
			t.Errorf("no undo_failed entry on the timeline: %v", h.auditActions())
		}
	})
	// Nothing moves the task on but the hand clean-up, which only an engineer or a director
	// records, with a note.
	h.refused(task(kamflow.DelivRetry, kamflow.TaskInstallation), kamflow.EWRONGSTAGE)
	h.refused(task(kamflow.DelivCancel, kamflow.TaskInstallation), kamflow.EWRONGSTAGE)
	h.refused(task(kamflow.DelivResolveUndo, kamflow.TaskInstallation), kamflow.EINVALID)
	h.refused(kamflow.DeliveryCommand{Kind: kamflow.DelivResolveUndo, Actor: kamEast, Task: kamflow.TaskInstallation, Note: "done"}, kamflow.EFORBIDDEN)
	h.refused(kamflow.DeliveryCommand{Kind: kamflow.DelivResolveUndo, Actor: eng1, Task: kamflow.TaskSiteSurvey, Note: "done"}, kamflow.EWRONGSTAGE)
	resolve := kamflow.DeliveryCommand{Kind: kamflow.DelivResolveUndo, Actor: eng1, Task: kamflow.TaskInstallation,
		Note: "Work order WO-installation-1 closed by phone with the ERP team"}
	h.send(resolve, func(p kamflow.DeliveryPlan, err error) {
		if err != nil {
			t.Fatalf("resolve_undo: %v", err)
		}
		inst := p.Task(kamflow.TaskInstallation)
		if inst.Status != kamflow.TaskFailed || len(inst.UndoFailures) != 0 || inst.Steps[0].Status != kamflow.StepCompensated {
			t.Errorf("resolved installation: %s %+v %+v", inst.Status, inst.UndoFailures, inst.Steps)
		}
		if len(inst.Cleanups) != 1 || inst.Cleanups[0].By != "eng1" || inst.Cleanups[0].Note != resolve.Note ||
			len(inst.Cleanups[0].Steps) != 1 || inst.Cleanups[0].Steps[0].Ref != "WO-installation-1" {
			t.Errorf("clean-up record %+v", inst.Cleanups)
		}
	})
	h.check(func(kamflow.DeliveryPlan) {
		if got := holdsOf(h.holds); !slices.Equal(got, []string{"[installation]", "[]"}) {
			t.Errorf("the deal was told %v", got)
		}
		acts := h.auditActions()
		if acts[len(acts)-1] != "delivery.resolve_undo" {
			t.Errorf("timeline %v", acts)
		}
		h.fs.fail = nil
	})
	h.ok(task(kamflow.DelivRetry, kamflow.TaskInstallation))
	h.check(func(p kamflow.DeliveryPlan) {
		if s := statusOf(p, kamflow.TaskInstallation); s != kamflow.TaskActive {
			t.Errorf("installation retried after the clean-up: %s", s)
		}
	})
	h.end()
	h.run()
}

// An undo is retried for UndoTimeout, not for ever: a field-service system that stays away leaves
// the task undo_failed, and the task's other steps are still undone.
func TestDeliveryUndoGivesUpAfterItsTimeout(t *testing.T) {
	h := newDeliveryHarness(t)
	h.in.UndoTimeout = kamflow.Duration(3 * time.Hour)
	h.in.UndoAttempts = 10000 // (the test environment's default is 10)
	h.fs.fail = func(r activities.StepRequest, _ int32) string {
		if r.Undo && r.Step == kamflow.StepReserveParts {
			return "retry"
		}
		return ""
	}
	h.through(kamflow.TaskSiteSurvey)
	h.ok(task(kamflow.DelivStart, kamflow.TaskInstallation))
	h.check(func(p kamflow.DeliveryPlan) {
		if s := statusOf(p, kamflow.TaskInstallation); s != kamflow.TaskActive {
			t.Errorf("installation %s", s)
		}
	})
	h.ok(task(kamflow.DelivCancel, kamflow.TaskInstallation))
	h.at(h.clock+time.Hour, func() {
		if s := statusOf(h.plan(), kamflow.TaskInstallation); s != kamflow.TaskUndoing {
			t.Errorf("installation an hour into its undo: %s", s)
		}
	})
	h.at(h.clock+4*time.Hour, func() {
		p := h.plan()
		inst := p.Task(kamflow.TaskInstallation)
		if inst.Status != kamflow.TaskUndoFailed || inst.UndoTo != kamflow.TaskCancelled {
			t.Fatalf("installation after its undo's timeout: %s (to %s)", inst.Status, inst.UndoTo)
		}
		if len(inst.UndoFailures) != 1 || inst.UndoFailures[0].Step != kamflow.StepReserveParts || inst.UndoFailures[0].Ref != "RE-installation-1" ||
			inst.UndoFailures[0].Error != "not undone within 3h: field service: 503 Service Unavailable" {
			t.Errorf("undo failures %+v", inst.UndoFailures)
		}
		// The work order was still cancelled.
		if inst.Steps[0].Status != kamflow.StepCompensated || inst.Steps[1].Status != kamflow.StepUndoFailed {
			t.Errorf("steps %+v", inst.Steps)
		}
		if n := h.rec.kinds()[kamflow.NoticeUndoFailed]; n != 2 {
			t.Errorf("%d undo_failed notices", n)
		}
		if got := holdsOf(h.holds); !slices.Equal(got, []string{"[installation]"}) {
			t.Errorf("the deal was told %v", got)
		}
	})
	h.send(kamflow.DeliveryCommand{Kind: kamflow.DelivResolveUndo, Actor: dirEast, Task: kamflow.TaskInstallation, Note: "Parts released in the warehouse system"},
		func(p kamflow.DeliveryPlan, err error) {
			if err != nil || statusOf(p, kamflow.TaskInstallation) != kamflow.TaskCancelled {
				t.Errorf("resolved by the director: %v %s", err, statusOf(p, kamflow.TaskInstallation))
			}
		})
	h.end()
	h.run()
	if got := holdsOf(h.holds); !slices.Equal(got, []string{"[installation]", "[]"}) {
		t.Errorf("the deal was told %v", got)
	}
}

// continuedWith is the input the run continued as new with.
func (h *deliveryHarness) continuedWith() workflows.DeliveryInput {
	h.t.Helper()
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("not ended")
	}
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) || can.WorkflowType.Name != workflows.DeliveryWorkflowName {
		h.t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next workflows.DeliveryInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		h.t.Fatal(err)
	}
	return next
}

// With one change per run, the Update and both signals come in the workflow task of the change
// that calls for the continue-as-new: every one of them is in the next run's input, answered and
// projected, none lost.
func TestDeliveryContinuesAsNewWithNothingLost(t *testing.T) {
	for _, how := range []string{"same instant", "from the update"} {
		t.Run(how, func(t *testing.T) {
			h := newDeliveryHarness(t)
			h.in.MaxChangesPerRun = 1
			closedAt := delStart.Add(time.Hour)
			later := h.in.Deal
			later.Engineers = []string{"eng1", "eng2"}
			answered := false
			plan := kamflow.DeliveryCommand{Kind: kamflow.DelivPlan, Actor: kamEast, Plan: &kamflow.PlanInput{Tasks: []kamflow.TaskSpec{
				{Key: "site_survey", Due: "2027-02-10", DependsOn: []string{}}, {Key: "installation", DependsOn: []string{"site_survey"}},
				{Key: "commissioning", DependsOn: []string{"installation"}}, {Key: "training", DependsOn: []string{"commissioning"}},
				{Key: "acceptance_test", DependsOn: []string{"commissioning", "training"}},
			}}}
			signals := func() {
				h.env.SignalWorkflow(workflows.DeliveryDealSignal, later)
				h.env.SignalWorkflow(workflows.ProjectClosedSignal, closedAt)
			}
			update := func(onAccept func()) {
				h.env.UpdateWorkflow(workflows.DeliveryUpdate, "", &testsuite.TestUpdateCallback{
					OnAccept: onAccept,
					OnReject: func(err error) { t.Errorf("plan refused: %v", err) },
					OnComplete: func(v any, err error) {
						if err != nil {
							t.Errorf("plan: %v", err)
						}
						answered = true
					},
				}, plan)
			}
			if how == "same instant" {
				h.at(time.Hour, func() { update(func() {}) })
				h.at(time.Hour, signals)
			} else {
				h.at(time.Hour, func() { update(signals) })
			}
			h.run()
			next := h.continuedWith()
			if !answered {
				t.Error("the update was not answered before the run continued as new")
			}
			if next.Plan.Tasks[0].Due != "2027-02-10" {
				t.Errorf("the plan's change is lost: %+v", next.Plan.Tasks[0])
			}
			if next.Plan.ClosedAt == nil || !next.Plan.ClosedAt.Equal(closedAt) {
				t.Errorf("the project's close is lost: %v", next.Plan.ClosedAt)
			}
			if !slices.Equal(next.Deal.Engineers, []string{"eng1", "eng2"}) {
				t.Errorf("the deal's change is lost: %v", next.Deal.Engineers)
			}
			last := h.fs.plans[len(h.fs.plans)-1]
			if next.ProjectedSeq != next.Plan.Seq || last.Seq != next.Plan.Seq || last.ClosedAt == nil {
				t.Errorf("continued at seq %d, projected %d (last projection seq %d)", next.Plan.Seq, next.ProjectedSeq, last.Seq)
			}
		})
	}
}

// The hold the deal was told goes on with the run: the next run tells it again only when it
// changes.
func TestDeliveryHoldCarriedAcrossContinueAsNew(t *testing.T) {
	h := newDeliveryHarness(t)
	h.fs.fail = undoFailure
	h.in.MaxChangesPerRun = 8 // through the installation's undo_failed
	h.through(kamflow.TaskSiteSurvey)
	h.ok(task(kamflow.DelivStart, kamflow.TaskInstallation))
	h.run()
	next := h.continuedWith()
	if statusOf(next.Plan, kamflow.TaskInstallation) != kamflow.TaskUndoFailed || !slices.Equal(next.Held, []string{kamflow.TaskInstallation}) {
		t.Fatalf("continued with installation %s, held %v", statusOf(next.Plan, kamflow.TaskInstallation), next.Held)
	}
	h2 := newDeliveryHarness(t)
	h2.in = next
	h2.in.MaxChangesPerRun = 0
	h2.ok(kamflow.DeliveryCommand{Kind: kamflow.DelivResolveUndo, Actor: eng1, Task: kamflow.TaskInstallation, Note: "closed by hand"})
	h2.end()
	h2.run()
	if got := holdsOf(h2.holds); !slices.Equal(got, []string{"[]"}) {
		t.Errorf("the next run told the deal %v", got)
	}
}

// A task cancelled while its step runs, and started again before the step has stopped: the new
// run waits for it, then runs its steps.
func TestDeliveryStartedAgainWhileItsStepStops(t *testing.T) {
	h := newDeliveryHarness(t)
	h.in.StepAttempts = 1000
	h.fs.fail = func(r activities.StepRequest, _ int32) string {
		if r.Task == kamflow.TaskSiteSurvey && r.Step == kamflow.StepWorkOrder && r.Run == 1 {
			return "retry"
		}
		return ""
	}
	h.ok(task(kamflow.DelivStart, kamflow.TaskSiteSurvey))
	h.check(func(p kamflow.DeliveryPlan) {
		if s := statusOf(p, kamflow.TaskSiteSurvey); s != kamflow.TaskRunning {
			t.Errorf("site survey %s", s)
		}
	})
	send := func(cmd kamflow.DeliveryCommand) {
		h.env.UpdateWorkflow(workflows.DeliveryUpdate, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { t.Errorf("%s refused: %v", cmd.Kind, err) },
			OnComplete: func(_ any, err error) {
				if err != nil {
					t.Errorf("%s: %v", cmd.Kind, err)
				}
			},
		}, cmd)
	}
	h.then(func() {
		send(task(kamflow.DelivCancel, kamflow.TaskSiteSurvey))
		send(task(kamflow.DelivStart, kamflow.TaskSiteSurvey))
	})
	h.check(func(p kamflow.DeliveryPlan) {
		s := p.Task(kamflow.TaskSiteSurvey)
		if s.Status != kamflow.TaskActive || s.Runs != 2 {
			t.Errorf("site survey started again: %s, run %d", s.Status, s.Runs)
		}
	})
	h.end()
	h.run()
}
