package kamflow_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

var dt0 = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func deliveryDeal() *kamflow.Deal {
	return &kamflow.Deal{ID: "d1", AccountID: "a1", Title: "Hot strip mill drives", Owner: "kam1", TeamID: "east",
		Engineers: []string{"eng1", "eng2"}, Stage: kamflow.Delivery, Status: kamflow.StatusWon}
}

var eng1Actor = kamflow.Actor{ID: "eng1", Role: kamflow.UserEngineer, Teams: []string{"east"}}

func dcmd(kind kamflow.DeliveryCommandKind, task string) kamflow.DeliveryCommand {
	return kamflow.DeliveryCommand{Kind: kind, Actor: eng1Actor, Task: task}
}

func mustApply(t *testing.T, p *kamflow.DeliveryPlan, c kamflow.DeliveryCommand) {
	t.Helper()
	if err := p.Apply(c, dt0); err != nil {
		t.Fatalf("%s %s: %v", c.Kind, c.Task, err)
	}
}

func wantErr(t *testing.T, err error, code string, fragment string) {
	t.Helper()
	if kamflow.ErrorCode(err) != code || !strings.Contains(fmt.Sprint(err), fragment) {
		t.Errorf("error %v, want %s with %q", err, code, fragment)
	}
}

// runSteps does what the workflow does for a started task: every step succeeds.
func runSteps(p *kamflow.DeliveryPlan, task string) {
	for {
		s := p.Task(task).NextStep()
		if s == "" {
			return
		}
		p.StepStarted(task, s, dt0)
		p.StepDone(task, s, "ref-"+s, dt0)
	}
}

func finish(t *testing.T, p *kamflow.DeliveryPlan, task string, in *kamflow.CompleteInput) {
	t.Helper()
	mustApply(t, p, dcmd(kamflow.DelivStart, task))
	runSteps(p, task)
	c := dcmd(kamflow.DelivComplete, task)
	c.Complete = in
	mustApply(t, p, c)
}

func TestDefaultDeliveryPlan(t *testing.T) {
	p := kamflow.NewDeliveryPlan(deliveryDeal(), dt0)
	var keys []string
	for _, task := range p.Tasks {
		keys = append(keys, task.Key)
		if task.Assignee != "eng1" || task.Status != kamflow.TaskPending {
			t.Errorf("task %s: assignee %q status %s", task.Key, task.Assignee, task.Status)
		}
	}
	if strings.Join(keys, ",") != "site_survey,installation,commissioning,training,acceptance_test" {
		t.Errorf("tasks %v", keys)
	}
	if got := p.Task("acceptance_test").DependsOn; !slices.Equal(got, []string{"commissioning", "training"}) {
		t.Errorf("acceptance test depends on %v", got)
	}
	if !slices.Equal(kamflow.StepsOf("installation"), []string{"work_order", "reserve_parts", "notify_customer"}) ||
		!slices.Equal(kamflow.StepsOf("training"), []string{"work_order", "notify_customer"}) {
		t.Errorf("steps %v %v", kamflow.StepsOf("installation"), kamflow.StepsOf("training"))
	}
}

func TestDeliveryTaskGraph(t *testing.T) {
	p := kamflow.NewDeliveryPlan(deliveryDeal(), dt0)
	// No commissioning before installation.
	err := p.Check(dcmd(kamflow.DelivStart, "commissioning"))
	wantErr(t, err, kamflow.EGATENOTMET, "waits on installation")
	if e, _ := err.(*kamflow.Error); e == nil || !slices.Equal(e.Details["missing"].([]string), []string{"installation"}) {
		t.Errorf("missing %v", err)
	}
	wantErr(t, p.Check(dcmd(kamflow.DelivStart, "launch")), kamflow.ENOTFOUND, "no delivery task")
	wantErr(t, p.Check(dcmd(kamflow.DelivComplete, "site_survey")), kamflow.EWRONGSTAGE, "once its steps are done")

	mustApply(t, p, dcmd(kamflow.DelivStart, "site_survey"))
	task := p.Task("site_survey")
	if task.Status != kamflow.TaskRunning || task.Runs != 1 || len(task.Steps) != 2 || task.StartedBy != "eng1" {
		t.Fatalf("started task %+v", task)
	}
	wantErr(t, p.Check(dcmd(kamflow.DelivStart, "site_survey")), kamflow.EWRONGSTAGE, "is running")
	p.StepStarted("site_survey", "work_order", dt0)
	p.StepProgress("site_survey", "work_order", 50, dt0)
	if task.Progress != 25 {
		t.Errorf("progress %d with one step of two half done", task.Progress)
	}
	p.StepDone("site_survey", "work_order", "WO-1001", dt0)
	if task.Progress != 50 || task.Status != kamflow.TaskRunning || task.NextStep() != "notify_customer" {
		t.Errorf("after one step: %d%% %s next %q", task.Progress, task.Status, task.NextStep())
	}
	p.StepStarted("site_survey", "notify_customer", dt0)
	p.StepDone("site_survey", "notify_customer", "", dt0)
	if task.Status != kamflow.TaskActive || task.Progress != 100 || task.Steps[0].Ref != "WO-1001" {
		t.Errorf("after the steps: %+v", task)
	}
	c := dcmd(kamflow.DelivComplete, "site_survey")
	c.Complete = &kamflow.CompleteInput{Notes: "Foundations ready", Attachments: []kamflow.Attachment{{Name: "survey.pdf", Ref: "dms://survey/881"}}}
	mustApply(t, p, c)
	if task.Status != kamflow.TaskDone || task.CompletedBy != "eng1" || task.Notes != "Foundations ready" || len(task.Attachments) != 1 {
		t.Errorf("completed task %+v", task)
	}
	// Installation may start now.
	if err := p.Check(dcmd(kamflow.DelivStart, "installation")); err != nil {
		t.Errorf("installation after the survey: %v", err)
	}
	c = dcmd(kamflow.DelivComplete, "site_survey")
	wantErr(t, p.Check(c), kamflow.EWRONGSTAGE, "done")
	if p.Seq == 0 {
		t.Error("seq did not move")
	}
}

func TestDeliverySaga(t *testing.T) {
	p := kamflow.NewDeliveryPlan(deliveryDeal(), dt0)
	finish(t, p, "site_survey", nil)
	mustApply(t, p, dcmd(kamflow.DelivStart, "installation"))
	p.StepStarted("installation", "work_order", dt0)
	p.StepDone("installation", "work_order", "WO-7", dt0)
	p.StepStarted("installation", "reserve_parts", dt0)
	p.StepFailed("installation", "reserve_parts", "no stock of 6SE7031", dt0)
	task := p.Task("installation")
	if task.Status != kamflow.TaskUndoing || !slices.Equal(task.ToCompensate(), []string{"work_order"}) {
		t.Fatalf("after the failure: %s, to undo %v", task.Status, task.ToCompensate())
	}
	if !strings.Contains(task.Error, "reserve_parts failed: no stock") {
		t.Errorf("error %q", task.Error)
	}
	wantErr(t, p.Check(dcmd(kamflow.DelivRetry, "installation")), kamflow.EWRONGSTAGE, "only a failed task")
	p.StepCompensated("installation", "work_order", dt0)
	if task.Status != kamflow.TaskFailed || task.Steps[0].Status != kamflow.StepCompensated {
		t.Fatalf("after the undo: %+v", task)
	}
	mustApply(t, p, dcmd(kamflow.DelivRetry, "installation"))
	if task.Status != kamflow.TaskRunning || task.Runs != 2 || task.Error != "" || task.Steps[0].Status != kamflow.StepPending {
		t.Fatalf("retried: %+v", task)
	}
	runSteps(p, "installation")
	// Cancelling an active task undoes its work order and parts, not the customer notice.
	mustApply(t, p, dcmd(kamflow.DelivCancel, "installation"))
	if task.Status != kamflow.TaskUndoing || !slices.Equal(task.ToCompensate(), []string{"reserve_parts", "work_order"}) {
		t.Fatalf("cancelled: %s, to undo %v", task.Status, task.ToCompensate())
	}
	p.StepCompensated("installation", "reserve_parts", dt0)
	p.StepCompensated("installation", "work_order", dt0)
	if task.Status != kamflow.TaskCancelled || task.Error != "cancelled by eng1" {
		t.Fatalf("after the undo: %s %q", task.Status, task.Error)
	}
	wantErr(t, p.Check(dcmd(kamflow.DelivCancel, "installation")), kamflow.EWRONGSTAGE, "cancelled")
	// A cancelled task can be started again; a running one cancelled before any step is done ends at once.
	mustApply(t, p, dcmd(kamflow.DelivStart, "installation"))
	p.StepStarted("installation", "work_order", dt0)
	mustApply(t, p, dcmd(kamflow.DelivCancel, "installation"))
	if task.Status != kamflow.TaskCancelled {
		t.Errorf("cancelled with nothing done: %s", task.Status)
	}
	// The running work order got through before it heard of the cancellation: it is undone too.
	p.StepDone("installation", "work_order", "WO-9", dt0)
	if task.Status != kamflow.TaskUndoing || !slices.Equal(task.ToCompensate(), []string{"work_order"}) {
		t.Errorf("late step: %s, to undo %v", task.Status, task.ToCompensate())
	}
	p.StepCompensated("installation", "work_order", dt0)
	if task.Status != kamflow.TaskCancelled {
		t.Errorf("after undoing the late step: %s", task.Status)
	}
}

func TestAcceptanceOutcomes(t *testing.T) {
	ready := func(t *testing.T) *kamflow.DeliveryPlan {
		p := kamflow.NewDeliveryPlan(deliveryDeal(), dt0)
		for _, k := range []string{"site_survey", "installation", "commissioning", "training"} {
			finish(t, p, k, nil)
		}
		mustApply(t, p, dcmd(kamflow.DelivStart, "acceptance_test"))
		runSteps(p, "acceptance_test")
		return p
	}
	p := ready(t)
	for _, tc := range []struct {
		in   kamflow.CompleteInput
		frag string
	}{
		{kamflow.CompleteInput{}, "result must be"},
		{kamflow.CompleteInput{Result: "great"}, "result must be"},
		{kamflow.CompleteInput{Result: kamflow.AcceptancePassPunchList}, "needs the punch list"},
		{kamflow.CompleteInput{Result: kamflow.AcceptanceFail}, "needs its issues"},
		{kamflow.CompleteInput{Result: kamflow.AcceptancePass, PunchList: []string{"x"}}, "a pass has no punch list"},
		{kamflow.CompleteInput{Result: kamflow.AcceptanceFail, Issues: []string{"x"}, PunchList: []string{"y"}}, "belongs to a pass"},
		{kamflow.CompleteInput{Result: kamflow.AcceptancePassPunchList, PunchList: []string{""}}, "punch_list"},
	} {
		c := dcmd(kamflow.DelivComplete, "acceptance_test")
		c.Complete = &tc.in
		wantErr(t, p.Check(c), kamflow.EINVALID, tc.frag)
	}
	// Only the acceptance test has a result.
	q := kamflow.NewDeliveryPlan(deliveryDeal(), dt0)
	mustApply(t, q, dcmd(kamflow.DelivStart, "site_survey"))
	runSteps(q, "site_survey")
	c := dcmd(kamflow.DelivComplete, "site_survey")
	c.Complete = &kamflow.CompleteInput{Result: kamflow.AcceptancePass}
	wantErr(t, q.Check(c), kamflow.EINVALID, "belong to the acceptance test")

	// Fail, then test again, then pass with a punch list resolved item by item.
	c = dcmd(kamflow.DelivComplete, "acceptance_test")
	c.Complete = &kamflow.CompleteInput{Result: kamflow.AcceptanceFail, Issues: []string{"Vibration over limit on stand F3"}}
	mustApply(t, p, c)
	if r, open := p.Acceptance(); r != kamflow.AcceptanceFail || open != 0 {
		t.Errorf("acceptance %s %d", r, open)
	}
	mustApply(t, p, dcmd(kamflow.DelivStart, "acceptance_test"))
	if r, _ := p.Acceptance(); r != "" {
		t.Errorf("a test under way has no result yet: %s", r)
	}
	runSteps(p, "acceptance_test")
	c.Complete = &kamflow.CompleteInput{Result: kamflow.AcceptancePassPunchList, PunchList: []string{"Label the cabinets", "Hand over the spare-parts list"}}
	mustApply(t, p, c)
	if r, open := p.Acceptance(); r != kamflow.AcceptancePassPunchList || open != 2 {
		t.Errorf("acceptance %s %d", r, open)
	}
	wantErr(t, p.Check(dcmd(kamflow.DelivStart, "acceptance_test")), kamflow.EWRONGSTAGE, "done")
	res := kamflow.DeliveryCommand{Kind: kamflow.DelivResolve, Actor: eng1Actor, Punch: "p2"}
	mustApply(t, p, res)
	wantErr(t, p.Check(res), kamflow.ECONFLICT, "resolved already")
	res.Punch = "p9"
	wantErr(t, p.Check(res), kamflow.ENOTFOUND, "no punch item")
	if _, open := p.Acceptance(); open != 1 {
		t.Errorf("open items %d", open)
	}
	if it := p.Task("acceptance_test").PunchList[1]; !it.Done || it.ResolvedBy != "eng1" {
		t.Errorf("resolved item %+v", it)
	}

	// The deal: a pass with open punch items meets the gate, but the project does not close.
	d := deliveryDeal()
	d.Acceptance = &kamflow.Acceptance{Result: kamflow.AcceptancePassPunchList, OpenPunchItems: 1}
	err := d.Check(kamflow.Command{Kind: kamflow.CmdCloseProject, Actor: eng1Actor}, dt0, kamflow.Settings{})
	wantErr(t, err, kamflow.EGATENOTMET, "punch list is cleared: 1 item(s) open")
	d.Acceptance.OpenPunchItems = 0
	if err := d.Check(kamflow.Command{Kind: kamflow.CmdCloseProject, Actor: eng1Actor}, dt0, kamflow.Settings{}); err != nil {
		t.Errorf("close with the punch list cleared: %v", err)
	}
}

func TestDeliveryPlanChanges(t *testing.T) {
	spec := func(key string, deps ...string) kamflow.TaskSpec {
		if deps == nil {
			deps = []string{}
		}
		return kamflow.TaskSpec{Key: key, DependsOn: deps}
	}
	plan := func(specs ...kamflow.TaskSpec) kamflow.DeliveryCommand {
		return kamflow.DeliveryCommand{Kind: kamflow.DelivPlan, Actor: kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM}, Plan: &kamflow.PlanInput{Tasks: specs}}
	}
	p := kamflow.NewDeliveryPlan(deliveryDeal(), dt0)
	finish(t, p, "site_survey", nil)
	// Add a task (cable pulling before installation), reorder, assign and date.
	c := plan(spec("site_survey"), spec("cable_pulling", "site_survey"), spec("installation", "site_survey", "cable_pulling"),
		spec("commissioning", "installation"), spec("acceptance_test", "commissioning"), spec("training", "commissioning"))
	c.Plan.Tasks[1].Title, c.Plan.Tasks[1].Assignee, c.Plan.Tasks[1].Due = "Cable pulling", "eng2", "2026-06-20"
	mustApply(t, p, c)
	var keys []string
	for _, task := range p.Tasks {
		keys = append(keys, task.Key)
	}
	if strings.Join(keys, ",") != "site_survey,cable_pulling,installation,commissioning,acceptance_test,training" {
		t.Errorf("order %v", keys)
	}
	if cp := p.Task("cable_pulling"); cp.Assignee != "eng2" || cp.Due != "2026-06-20" || cp.Status != kamflow.TaskPending || cp.Title != "Cable pulling" {
		t.Errorf("new task %+v", cp)
	}
	if s := p.Task("site_survey"); s.Status != kamflow.TaskDone {
		t.Errorf("a done task kept its state: %s", s.Status)
	}
	wantErr(t, p.Check(dcmd(kamflow.DelivStart, "installation")), kamflow.EGATENOTMET, "waits on cable_pulling")

	for _, tc := range []struct {
		name string
		c    kamflow.DeliveryCommand
		code string
		frag string
	}{
		{"circle", plan(spec("site_survey"), spec("a", "b"), spec("b", "a"), spec("acceptance_test")), kamflow.EINVALID, "a → b → a"},
		{"unknown dependency", plan(spec("site_survey"), spec("acceptance_test", "nope")), kamflow.EINVALID, `depends on "nope"`},
		{"self dependency", plan(spec("site_survey"), spec("acceptance_test", "acceptance_test")), kamflow.EINVALID, "depends on"},
		{"no acceptance test", plan(spec("site_survey")), kamflow.EINVALID, "must keep the acceptance test"},
		{"done task removed", plan(spec("acceptance_test")), kamflow.EWRONGSTAGE, "only a pending task can be removed"},
		{"twice", plan(spec("site_survey"), spec("site_survey"), spec("acceptance_test")), kamflow.EINVALID, "listed twice"},
		{"bad key", plan(spec("site_survey"), spec("Site Survey"), spec("acceptance_test")), kamflow.EINVALID, "lower-case"},
		{"started task's dependencies", plan(spec("site_survey", "acceptance_test"), spec("acceptance_test")), kamflow.EWRONGSTAGE, "dependencies cannot change"},
		{"empty", plan(), kamflow.EINVALID, "1 to 50 tasks"},
		{"bad due", func() kamflow.DeliveryCommand {
			c := plan(spec("site_survey"), spec("acceptance_test"))
			c.Plan.Tasks[1].Due = "June"
			return c
		}(), kamflow.EINVALID, ""},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, p.Check(tc.c), tc.code, tc.frag) })
	}
	// Pending tasks may go.
	mustApply(t, p, plan(spec("site_survey"), spec("acceptance_test", "site_survey")))
	if len(p.Tasks) != 2 {
		t.Errorf("tasks %d", len(p.Tasks))
	}
}

func TestDeliveryAuthorization(t *testing.T) {
	d := deliveryDeal()
	cases := []struct {
		actor kamflow.Actor
		kind  kamflow.DeliveryCommandKind
		code  string
	}{
		{kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM, Teams: []string{"east"}}, kamflow.DelivPlan, ""},
		{kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM, Teams: []string{"east"}}, kamflow.DelivStart, kamflow.EFORBIDDEN},
		{kamflow.Actor{ID: "dir", Role: kamflow.UserDirector, Teams: []string{"east"}}, kamflow.DelivStart, ""},
		{kamflow.Actor{ID: "dir", Role: kamflow.UserDirector, Teams: []string{"east"}}, kamflow.DelivPlan, ""},
		{eng1Actor, kamflow.DelivStart, ""},
		{eng1Actor, kamflow.DelivReport, ""},
		{eng1Actor, kamflow.DelivPlan, kamflow.EFORBIDDEN},
		{kamflow.Actor{ID: "eng9", Role: kamflow.UserEngineer, Teams: []string{"east"}}, kamflow.DelivStart, kamflow.ENOTFOUND},
		{kamflow.Actor{ID: "kam9", Role: kamflow.UserKAM, Teams: []string{"west"}}, kamflow.DelivPlan, kamflow.ENOTFOUND},
		{kamflow.Actor{ID: "admin", Role: kamflow.UserAdmin}, kamflow.DelivPlan, kamflow.ENOTFOUND},
	}
	for _, c := range cases {
		err := c.actor.AuthorizeDelivery(kamflow.DeliveryCommand{Kind: c.kind}, d)
		if kamflow.ErrorCode(err) != c.code {
			t.Errorf("%s (%s) %s: %v, want %q", c.actor.ID, c.actor.Role, c.kind, err, c.code)
		}
	}
}

func TestServiceCadence(t *testing.T) {
	p := kamflow.NewDeliveryPlan(deliveryDeal(), dt0)
	if due, _ := p.NextVisitDue(); !due.IsZero() {
		t.Errorf("a visit before the close: %v", due)
	}
	closed := dt0.Add(100 * kamflow.Day)
	p.CloseProject(closed)
	wantErr(t, p.Check(dcmd(kamflow.DelivStart, "site_survey")), kamflow.EWRONGSTAGE, "closed")
	var dues []string
	for {
		due, round := p.NextVisitDue()
		if round == 0 {
			break
		}
		dues = append(dues, fmt.Sprintf("%d:%s", round, due.Format(time.DateOnly)))
		v := p.AddVisit("eng1", due)
		if v.ID != fmt.Sprintf("d1-v%d", round) || v.Status != kamflow.VisitDue || v.Site != "Hot strip mill drives" || v.AccountID != "a1" {
			t.Errorf("visit %+v", v)
		}
	}
	// 30, 90, 180 and 365 days after 2026-09-09.
	if strings.Join(dues, " ") != "1:2026-10-09 2:2026-12-08 3:2027-03-08 4:2027-09-09" {
		t.Errorf("visits due %v", dues)
	}
	if p.AddVisit("eng1", closed) != nil || p.ServiceDone() {
		t.Error("a fifth visit, or service done before the reports")
	}
	report := func(id string, r kamflow.VisitReport, as kamflow.Actor) error {
		return p.Apply(kamflow.DeliveryCommand{Kind: kamflow.DelivReport, Actor: as, Visit: id, Report: &r}, closed)
	}
	good := kamflow.VisitReport{VisitedOn: "2026-10-10", FaultsFound: 2, FaultsUnresolved: 1, Satisfaction: kamflow.Satisfied}
	wantErr(t, report("d1-v1", kamflow.VisitReport{VisitedOn: "2026-10-10", FaultsFound: 1, FaultsUnresolved: 2, Satisfaction: kamflow.Satisfied}, eng1Actor), kamflow.EINVALID, "faults_unresolved")
	wantErr(t, report("d1-v1", kamflow.VisitReport{VisitedOn: "2026-10-10", Satisfaction: "happy"}, eng1Actor), kamflow.EINVALID, "satisfaction")
	wantErr(t, report("d1-v1", kamflow.VisitReport{Satisfaction: kamflow.Neutral}, eng1Actor), kamflow.EINVALID, "visited_on")
	wantErr(t, report("d1-v1", good, kamflow.Actor{ID: "eng2", Role: kamflow.UserEngineer}), kamflow.EFORBIDDEN, "assigned to eng1")
	wantErr(t, report("d1-v9", good, eng1Actor), kamflow.ENOTFOUND, "no service visit")
	for _, id := range []string{"d1-v1", "d1-v2", "d1-v3", "d1-v4"} {
		if err := report(id, good, eng1Actor); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, report("d1-v1", good, eng1Actor), kamflow.ECONFLICT, "reported already")
	if v := p.Visit("d1-v1"); v.Status != kamflow.VisitReported || v.Report.ReportedBy != "eng1" {
		t.Errorf("reported visit %+v", v)
	}
	if !p.ServiceDone() {
		t.Error("service not done after every visit")
	}

	for _, tc := range []struct {
		c  []kamflow.Duration
		ok bool
	}{
		{kamflow.DefaultServiceCadence, true},
		{[]kamflow.Duration{kamflow.Duration(7 * kamflow.Day)}, true},
		{nil, false},
		{[]kamflow.Duration{kamflow.Duration(90 * kamflow.Day), kamflow.Duration(30 * kamflow.Day)}, false},
		{[]kamflow.Duration{kamflow.Duration(2 * time.Second)}, true},
		{[]kamflow.Duration{0}, false},
		{[]kamflow.Duration{kamflow.Duration(4000 * kamflow.Day)}, false},
	} {
		if err := kamflow.ValidateCadence(tc.c); (err == nil) != tc.ok {
			t.Errorf("cadence %v: %v", tc.c, err)
		}
	}
}

// TestServiceReportOfTheSeed: the seeds' first round of proactive service — 100 sites visited, 27
// with faults, 11 of them unresolved, 85% good feedback.
func TestServiceReportOfTheSeed(t *testing.T) {
	var visits []kamflow.ServiceVisit
	for i := range 100 {
		r := &kamflow.VisitReport{VisitedOn: "2026-10-01", Satisfaction: kamflow.Satisfied}
		if i < 27 {
			r.FaultsFound = 1 + i%3
		}
		if i < 11 {
			r.FaultsUnresolved = 1
		}
		if i >= 85 {
			r.Satisfaction = kamflow.Neutral
			if i >= 95 {
				r.Satisfaction = kamflow.Dissatisfied
			}
		}
		visits = append(visits, kamflow.ServiceVisit{ID: fmt.Sprintf("s%03d-v1", i), DealID: fmt.Sprintf("s%03d", i), Site: fmt.Sprintf("Site %03d", i),
			Round: 1, Status: kamflow.VisitReported, Report: r})
	}
	// A second round at site 0 (resolved now, not satisfied) and a visit not yet reported.
	visits = append(visits,
		kamflow.ServiceVisit{ID: "s000-v2", DealID: "s000", Site: "Site 000", Round: 2, Status: kamflow.VisitReported,
			Report: &kamflow.VisitReport{VisitedOn: "2027-01-01", Satisfaction: kamflow.Neutral}},
		kamflow.ServiceVisit{ID: "s001-v2", DealID: "s001", Site: "Site 001", Round: 2, Status: kamflow.VisitDue})

	first := kamflow.BuildServiceReport("hq", 1, visits)
	if first.SitesVisited != 100 || first.SitesWithFaults != 27 || first.SitesUnresolved != 11 || first.Satisfied != 85 ||
		first.FaultRate != 0.27 || first.SatisfactionRate != 0.85 || len(first.Sites) != 100 || first.Sites[0].Site != "Site 000" {
		t.Errorf("first round: %+v", first)
	}
	// Every round: each site by its latest report.
	latest := kamflow.BuildServiceReport("hq", 0, visits)
	if latest.SitesVisited != 100 || latest.SitesWithFaults != 26 || latest.SitesUnresolved != 10 || latest.Satisfied != 84 || latest.Sites[0].Round != 2 {
		t.Errorf("latest: %d sites, %d with faults, %d unresolved, %d satisfied", latest.SitesVisited, latest.SitesWithFaults, latest.SitesUnresolved, latest.Satisfied)
	}
	if empty := kamflow.BuildServiceReport("none", 0, nil); empty.SitesVisited != 0 || empty.FaultRate != 0 || empty.Sites == nil {
		t.Errorf("empty report %+v", empty)
	}
}

// TestStaleContactReopensTheEntryGate: a stale insider or decision maker no longer counts toward
// the entry stage's key node; contact again restores it. Only kamflow itself marks them.
func TestStaleContactReopensTheEntryGate(t *testing.T) {
	d := &kamflow.Deal{ID: "d9", Owner: "kam1", TeamID: "east", Stage: kamflow.Entry, Status: kamflow.StatusOpen,
		Stakeholders: []kamflow.Stakeholder{
			{Name: "Wang Gong", Role: kamflow.RoleInsider, Stance: kamflow.StanceSupporter, Engaged: true},
			{Name: "Li Zong", Role: kamflow.RoleDecisionMaker, Stance: kamflow.StanceNeutral, Engaged: true},
		}}
	if !d.Gate().Met {
		t.Fatalf("entry gate with an insider and an engaged decision maker: %+v", d.Gate())
	}
	// The mark is kamflow's own input (EvContact), never a person's command: a director cannot
	// send it, nor can a payload that claims to be kamflow.
	st := &kamflow.DealState{Deal: *d}
	d = &st.Deal
	system := kamflow.Actor{}
	mark := func(name string, stale bool, as kamflow.Actor) error {
		in := &kamflow.ContactStaleInput{Name: name, Stale: stale, Days: 95}
		ev := kamflow.DealEvent{Kind: kamflow.EvContact, Contact: in}
		if as.Role != "" {
			ev = kamflow.DealEvent{Kind: kamflow.EvCommand, Command: &kamflow.Command{Kind: kamflow.CmdContactStale, Actor: as, ContactStale: in}}
		}
		if err := st.Check(ev, dt0); err != nil {
			return err
		}
		before := d.Seq
		fx, err := st.Handle(ev, dt0)
		if err == nil && (len(fx) != 1 || fx[0].Kind != kamflow.FxProject || fx[0].Projection.Transition != nil || d.Seq != before+1) {
			t.Errorf("marking a contact stale is one projected change, no stage move: %+v", fx)
		}
		if err == nil && fx[0].Projection.Audit.Actor != kamflow.SystemActorID {
			t.Errorf("the mark is recorded as %q", fx[0].Projection.Audit.Actor)
		}
		return err
	}
	wantErr(t, mark("wang gong", true, kamflow.Actor{ID: "kamflow", Role: kamflow.UserSystem}), kamflow.EFORBIDDEN, "never comes as a command")
	wantErr(t, mark("wang gong", true, kamflow.Actor{ID: "dir", Role: kamflow.UserDirector, Teams: []string{"east"}}), kamflow.EFORBIDDEN, "itself")
	if err := mark("wang gong", true, system); err != nil {
		t.Fatal(err)
	}
	g := d.Gate()
	if g.Met || !slices.Equal(g.Missing(), []string{kamflow.GateInsiderIdentified}) || !strings.Contains(g.Items[0].Detail, "insider gone stale") {
		t.Errorf("gate with a stale insider: %+v", g)
	}
	if s := d.Stakeholders[0]; !s.Stale || s.StaleSince == nil || !s.StaleSince.Equal(dt0.Add(-95*kamflow.Day)) {
		t.Errorf("stale stakeholder %+v", s)
	}
	wantErr(t, mark("Wang Gong", true, system), kamflow.ECONFLICT, "already")
	wantErr(t, mark("Zhao", true, system), kamflow.ENOTFOUND, "no stakeholder")
	if err := mark("Li Zong", true, system); err != nil {
		t.Fatal(err)
	}
	if g := d.Gate(); !slices.Equal(g.Missing(), []string{kamflow.GateInsiderIdentified, kamflow.GateKeyPersonEngaged}) {
		t.Errorf("both stale: missing %v", g.Missing())
	}
	if err := mark("Wang Gong", false, system); err != nil {
		t.Fatal(err)
	}
	if err := mark("Li Zong", false, system); err != nil {
		t.Fatal(err)
	}
	if !d.Gate().Met || d.Stakeholders[0].StaleSince != nil {
		t.Errorf("in contact again: %+v", d.Gate())
	}
}

// TestLiveSteps: what the engine knows of a running step (its attempt, heartbeat, last failure)
// is shown on the plan; a step no longer running, or of an earlier run, keeps what was projected.
func TestLiveSteps(t *testing.T) {
	id := kamflow.StepActivityID("installation", 2, "reserve_parts")
	if task, run, step, ok := kamflow.ParseStepActivityID(id); !ok || task != "installation" || run != 2 || step != "reserve_parts" {
		t.Errorf("activity id %q read back as %s %d %s %v", id, task, run, step, ok)
	}
	for _, bad := range []string{"", "step/x/y/z", "deal/a/1/b", "step/a/1"} {
		if _, _, _, ok := kamflow.ParseStepActivityID(bad); ok {
			t.Errorf("%q read as a step's activity", bad)
		}
	}
	p := kamflow.NewDeliveryPlan(deliveryDeal(), dt0)
	finish(t, p, "site_survey", nil)
	mustApply(t, p, dcmd(kamflow.DelivStart, "installation"))
	p.StepStarted("installation", "work_order", dt0)
	p.StepDone("installation", "work_order", "WO-1", dt0)
	p.StepStarted("installation", "reserve_parts", dt0)
	if !p.Running() {
		t.Fatal("a plan with a running task is not running")
	}
	p.Live([]kamflow.StepLive{
		{Task: "installation", Run: 1, Step: "reserve_parts", Attempt: 3, Progress: 50, LastFailure: "field service: 503 Service Unavailable"},
		{Task: "installation", Run: 1, Step: "work_order", Attempt: 9},    // done already
		{Task: "installation", Run: 0, Step: "reserve_parts", Attempt: 7}, // an earlier run
	})
	task := p.Task("installation")
	if s := task.Steps[1]; s.Attempts != 3 || s.Progress != 50 || s.Error != "field service: 503 Service Unavailable" {
		t.Errorf("live step %+v", s)
	}
	if task.Steps[0].Attempts != 1 || task.Progress != 50 {
		t.Errorf("done step %+v, task progress %d", task.Steps[0], task.Progress)
	}
}
