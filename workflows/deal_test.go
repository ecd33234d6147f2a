package workflows_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/workflows"
)

// recorder stands in for the database: it keeps every projection and notification the workflow
// sends, in order.
type recorder struct {
	kamflow.DealStore // only Project is used; the rest panics if called
	mu                sync.Mutex
	projections       []kamflow.Projection
	notes             []kamflow.Notification
}

func (r *recorder) Project(_ context.Context, p kamflow.Projection) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.projections = append(r.projections, p)
	return nil
}

// Notify keeps each notification once by its key, as the database does.
func (r *recorder) Notify(_ context.Context, n []kamflow.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range n {
		if x.Key != "" && slices.ContainsFunc(r.notes, func(y kamflow.Notification) bool { return y.Key == x.Key }) {
			continue
		}
		r.notes = append(r.notes, x)
	}
	return nil
}

// mockDelivery stands in for the delivery workflow that a deal starts when it enters delivery
// (delivery_test.go tests the real one): it records its input and ends at once.
func mockDelivery(env *testsuite.TestWorkflowEnvironment) *[]workflows.DeliveryInput {
	var started []workflows.DeliveryInput
	env.RegisterWorkflowWithOptions(workflows.DeliveryWorkflow, workflow.RegisterOptions{Name: workflows.DeliveryWorkflowName})
	env.OnWorkflow(workflows.DeliveryWorkflowName, mock.Anything, mock.Anything).Return(
		func(_ workflow.Context, in workflows.DeliveryInput) (kamflow.DeliveryPlan, error) {
			started = append(started, in)
			return in.Plan, nil
		})
	return &started
}

func (r *recorder) Notifications(context.Context, string, int) ([]kamflow.Notification, error) {
	return r.notes, nil
}

var start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

type harness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	rec   *recorder
	in    workflows.DealInput
	clock time.Duration // offset of the next scripted step
	// deliveries are the inputs of the delivery workflows the deal started.
	deliveries *[]workflows.DeliveryInput
}

func newHarness(t *testing.T, s kamflow.Settings) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	rec := &recorder{}
	env.RegisterWorkflowWithOptions(workflows.DealWorkflow, workflow.RegisterOptions{Name: workflows.DealWorkflowName})
	env.RegisterActivity(&activities.Activities{Deals: rec, Notifications: rec})
	h := &harness{t: t, env: env, rec: rec}
	h.deliveries = mockDelivery(env)
	d, created, err := kamflow.NewDeal("d1", kamflow.NewDealInput{
		AccountID: "a1", Title: "Boiler feed pumps for Line 3", Value: 120000000, Currency: "CNY", TeamID: "east",
	}, kamflow.Actor{ID: "kam1"}, start, s)
	if err != nil {
		t.Fatal(err)
	}
	h.in = workflows.DealInput{Deal: *d, Settings: s, Created: created}
	return h
}

// at runs fn once the workflow clock reaches start+offset.
func (h *harness) at(offset time.Duration, fn func()) {
	h.env.RegisterDelayedCallback(fn, offset)
	if offset > h.clock {
		h.clock = offset
	}
}

// then runs fn a minute after the previous step.
func (h *harness) then(fn func()) { h.at(h.clock+time.Minute, fn) }

// send issues an Update and hands its outcome to check: the deal after it, or the rejection or
// failure.
func (h *harness) send(cmd kamflow.Command, check func(d kamflow.Deal, err error)) {
	h.then(func() {
		h.env.UpdateWorkflow(string(cmd.Kind), "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { check(kamflow.Deal{}, workflows.FromError(err)) },
			OnComplete: func(v any, err error) {
				if err != nil {
					check(kamflow.Deal{}, workflows.FromError(err))
					return
				}
				check(v.(kamflow.Deal), nil)
			},
		}, cmd)
	})
}

// ok sends cmd and fails the test unless it is accepted.
func (h *harness) ok(cmd kamflow.Command) {
	h.send(cmd, func(_ kamflow.Deal, err error) {
		if err != nil {
			h.t.Errorf("%s: unexpected error %v", cmd.Kind, err)
		}
	})
}

func (h *harness) query() kamflow.Deal {
	v, err := h.env.QueryWorkflow(workflows.DealQuery)
	if err != nil {
		h.t.Fatalf("query: %v", err)
	}
	var d kamflow.Deal
	if err := v.Get(&d); err != nil {
		h.t.Fatal(err)
	}
	return d
}

func (h *harness) run() {
	h.env.ExecuteWorkflow(workflows.DealWorkflowName, h.in)
}

func (h *harness) finish() kamflow.Deal {
	h.t.Helper()
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	var d kamflow.Deal
	if err := h.env.GetWorkflowResult(&d); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	return d
}

var kam = kamflow.Actor{ID: "kam1", Role: "kam", Teams: []string{"east"}}
var director = kamflow.Actor{ID: "director", Role: "director", Teams: []string{"east"}}

func allScores(v int) map[kamflow.Factor]int {
	m := map[kamflow.Factor]int{}
	for _, f := range kamflow.Factors {
		m[f] = v
	}
	return m
}

func assess(score int) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdAssessment, Actor: kam, Assessment: &kamflow.AssessmentInput{
		Scores: allScores(score), ExpectedClose: "2027-03-31", Likelihood: 75,
	}}
}

func advance() kamflow.Command { return kamflow.Command{Kind: kamflow.CmdAdvance, Actor: kam} }

func stakeholder(name string, role kamflow.Role, engaged bool) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdStakeholder, Actor: kam, Stakeholder: &kamflow.Stakeholder{
		Name: name, Role: role, Stance: kamflow.StanceSupporter, Engaged: engaged,
	}}
}

func closeLost() kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdClose, Actor: kam, Close: &kamflow.CloseInput{Outcome: kamflow.StatusLost, Reason: "price", Competitor: "Acme Pumps"}}
}

func codeOf(err error) string { return kamflow.ErrorCode(err) }

func TestDealWalksAllSixStages(t *testing.T) {
	h := newHarness(t, kamflow.DefaultSettings())
	h.ok(assess(4))
	h.ok(advance())
	h.ok(stakeholder("Wang Gong", kamflow.RoleInsider, true))
	h.ok(stakeholder("Director Li", kamflow.RoleDecisionMaker, true))
	h.ok(advance())
	h.ok(kamflow.Command{Kind: kamflow.CmdCriteria, Actor: kam, Criteria: []kamflow.Criterion{
		{Name: "API 610 compliance", Favours: kamflow.FavoursUs}, {Name: "Delivery in 16 weeks", Favours: kamflow.FavoursNeutral},
	}})
	h.ok(kamflow.Command{Kind: kamflow.CmdProposal, Actor: kam, Proposal: &kamflow.ProposalInput{SubmittedOn: "2026-12-01"}})
	h.ok(advance())
	h.ok(kamflow.Command{Kind: kamflow.CmdBid, Actor: kam, Bid: &kamflow.BidInput{Cost: 80000000, Price: 100000000, Submitted: true}})
	h.ok(advance())
	h.ok(kamflow.Command{Kind: kamflow.CmdApproveContract, Actor: director})
	h.ok(kamflow.Command{Kind: kamflow.CmdSignContract, Actor: kam, Sign: &kamflow.SignInput{SignedOn: "2027-02-01"}})
	h.ok(advance())
	// With a delivery plan, the plan's acceptance test records the acceptance, not a command.
	h.send(kamflow.Command{Kind: kamflow.CmdAcceptance, Actor: kam, Acceptance: &kamflow.AcceptanceInput{Result: kamflow.AcceptancePass}},
		func(_ kamflow.Deal, err error) {
			if codeOf(err) != kamflow.EWRONGSTAGE {
				t.Errorf("acceptance past the delivery plan: %v", err)
			}
		})
	h.then(func() {
		h.env.SignalWorkflow(workflows.AcceptanceSignal, workflows.AcceptanceNotice{Result: kamflow.AcceptancePass, Actor: kam})
	})
	h.ok(kamflow.Command{Kind: kamflow.CmdCloseProject, Actor: kam})
	h.run()
	d := h.finish()
	if d.Status != kamflow.StatusDelivered || d.Stage != kamflow.Delivery {
		t.Fatalf("deal ended %s in %s, want delivered in delivery", d.Status, d.Stage)
	}
	// One projection per accepted change, in order, none skipped.
	for i, p := range h.rec.projections {
		if p.Deal.Seq != int64(i+1) {
			t.Fatalf("projection %d has seq %d: the database would see changes out of order", i, p.Deal.Seq)
		}
	}
	var kinds []string
	var stages []kamflow.Stage
	for _, p := range h.rec.projections {
		if p.Transition != nil {
			kinds = append(kinds, p.Transition.Kind)
			stages = append(stages, p.Transition.ToStage)
		}
	}
	want := []string{"created", "advanced", "advanced", "advanced", "advanced", "won", "advanced", "delivered"}
	if len(kinds) != len(want) {
		t.Fatalf("stage history %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("stage history %v, want %v", kinds, want)
		}
	}
	if stages[len(stages)-1] != kamflow.Delivery {
		t.Errorf("last transition to %s", stages[len(stages)-1])
	}
}

func TestUnmetGateIsRejectedWithoutTrace(t *testing.T) {
	h := newHarness(t, kamflow.DefaultSettings())
	var before int
	h.then(func() { before = len(h.rec.projections) })
	h.send(advance(), func(_ kamflow.Deal, err error) {
		if codeOf(err) != kamflow.EGATENOTMET {
			t.Fatalf("advance with nothing recorded: got %v, want gate_not_met", err)
		}
		if m := kamflow.MissingKeys(err); len(m) != 2 || m[0] != "assessment_passed" || m[1] != "graded" {
			t.Errorf("missing = %v, want [assessment_passed graded]", m)
		}
	})
	h.send(assess(1), func(d kamflow.Deal, err error) { // score 0: recorded, but fails the threshold
		if err != nil || d.Assessment.Passed {
			t.Fatalf("poor assessment: %v passed=%v", err, d.Assessment != nil && d.Assessment.Passed)
		}
	})
	h.send(advance(), func(_ kamflow.Deal, err error) {
		if m := kamflow.MissingKeys(err); codeOf(err) != kamflow.EGATENOTMET || len(m) != 1 || m[0] != "assessment_passed" {
			t.Fatalf("advance after failed assessment: %v", err)
		}
	})
	h.send(kamflow.Command{Kind: kamflow.CmdBid, Actor: kam, Bid: &kamflow.BidInput{Cost: 1, Price: 2}}, func(_ kamflow.Deal, err error) {
		if codeOf(err) != kamflow.EWRONGSTAGE {
			t.Fatalf("bid in development: %v, want wrong_stage", err)
		}
	})
	h.then(func() {
		// Only the creation and the assessment reached the database; the rejections left nothing.
		if got := len(h.rec.projections) - before; got != 1 {
			t.Errorf("%d projections after rejected moves, want 1 (the assessment)", got)
		}
		if d := h.query(); d.Seq != 2 || d.Stage != kamflow.Development {
			t.Errorf("deal at seq %d in %s, want seq 2 in development", d.Seq, d.Stage)
		}
	})
	h.ok(closeLost())
	h.run()
	if d := h.finish(); d.Status != kamflow.StatusLost || d.Closing.Competitor != "Acme Pumps" {
		t.Fatalf("closed deal: %+v", d.Closing)
	}
}

func TestForcedAdvanceIsRecordedAndCutsProbability(t *testing.T) {
	h := newHarness(t, kamflow.DefaultSettings())
	h.ok(assess(4))
	h.ok(advance())
	var before int
	h.send(stakeholder("Wang Gong", kamflow.RoleInsider, true), func(d kamflow.Deal, err error) {
		before = d.WinProbability().Value
	})
	h.send(kamflow.Command{Kind: kamflow.CmdAdvance, Actor: director, Advance: &kamflow.AdvanceInput{Force: true}}, func(_ kamflow.Deal, err error) {
		if codeOf(err) != kamflow.EINVALID {
			t.Fatalf("force without reason: %v, want invalid", err)
		}
	})
	h.send(kamflow.Command{Kind: kamflow.CmdAdvance, Actor: director, Advance: &kamflow.AdvanceInput{Force: true, Reason: "tender published early"}}, func(d kamflow.Deal, err error) {
		if err != nil {
			t.Fatal(err)
		}
		if d.Stage != kamflow.Proposal || !d.Forced || len(d.Forces) != 1 {
			t.Fatalf("forced deal: stage %s forced %v forces %v", d.Stage, d.Forced, d.Forces)
		}
		f := d.Forces[0]
		if f.Actor != "director" || f.Reason != "tender published early" || len(f.Missing) != 1 || f.Missing[0] != kamflow.GateKeyPersonEngaged {
			t.Errorf("force record %+v", f)
		}
		// 35 base for proposal, nothing met yet, halved: 18 (rounded), below the 28 it had in entry.
		if got := d.WinProbability().Value; got != 18 || got >= before {
			t.Errorf("win probability after force = %d (before %d), want 18", got, before)
		}
	})
	h.ok(closeLost())
	h.run()
	h.finish()
	var forced *kamflow.StageTransition
	for _, p := range h.rec.projections {
		if p.Transition != nil && p.Transition.Forced {
			forced = p.Transition
		}
	}
	if forced == nil || forced.Actor != "director" || forced.Reason != "tender published early" || forced.FromStage != kamflow.Entry {
		t.Fatalf("forced transition in stage history: %+v", forced)
	}
}

// TestValidatorEnforcesRoles sends Updates straight to the workflow, as a caller bypassing the
// API would: a KAM's forced advance and an engineer's bid are refused by the validator, and leave
// nothing behind.
func TestValidatorEnforcesRoles(t *testing.T) {
	h := newHarness(t, kamflow.DefaultSettings())
	kamEast := kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM, Teams: []string{"east"}}
	engineer := kamflow.Actor{ID: "e1", Role: kamflow.UserEngineer, Teams: []string{"east"}}
	outsider := kamflow.Actor{ID: "kam3", Role: kamflow.UserKAM, Teams: []string{"west"}}
	var before int
	h.then(func() { before = len(h.rec.projections) })
	h.send(kamflow.Command{Kind: kamflow.CmdAdvance, Actor: kamEast, Advance: &kamflow.AdvanceInput{Force: true, Reason: "because"}}, func(_ kamflow.Deal, err error) {
		if codeOf(err) != kamflow.EFORBIDDEN {
			t.Errorf("KAM forcing: %v, want forbidden", err)
		}
	})
	h.send(kamflow.Command{Kind: kamflow.CmdStakeholder, Actor: engineer, Stakeholder: &kamflow.Stakeholder{Name: "X", Role: kamflow.RoleUser, Stance: kamflow.StanceNeutral}}, func(_ kamflow.Deal, err error) {
		if codeOf(err) != kamflow.ENOTFOUND {
			t.Errorf("unassigned engineer: %v, want not_found", err)
		}
	})
	h.send(as(stakeholder("Wang", kamflow.RoleInsider, true), outsider), func(_ kamflow.Deal, err error) {
		if codeOf(err) != kamflow.ENOTFOUND {
			t.Errorf("KAM of another team: %v, want not_found", err)
		}
	})
	h.then(func() {
		if got := len(h.rec.projections) - before; got != 0 {
			t.Errorf("refused Updates wrote %d projections", got)
		}
		if d := h.query(); d.Seq != 1 || d.Forced {
			t.Errorf("deal after refusals: seq %d forced %v", d.Seq, d.Forced)
		}
	})
	h.ok(closeLost())
	h.run()
	h.finish()
}

func TestStalledAfterSLAAndOwnerNotified(t *testing.T) {
	s := kamflow.DefaultSettings()
	s.SLA[kamflow.Development] = kamflow.Duration(48 * time.Hour)
	h := newHarness(t, s)
	h.at(47*time.Hour, func() {
		if h.query().Stalled {
			t.Error("stalled before the SLA passed")
		}
	})
	h.at(49*time.Hour, func() {
		d := h.query()
		if !d.Stalled || d.StalledSince == nil || !d.StalledSince.Equal(start.Add(48*time.Hour)) {
			t.Errorf("after SLA: stalled=%v since=%v, want stalled since start+48h", d.Stalled, d.StalledSince)
		}
		if len(h.rec.notes) != 1 || h.rec.notes[0].UserID != "kam1" || h.rec.notes[0].Kind != "stalled" {
			t.Errorf("notifications %+v, want one stall notice to kam1", h.rec.notes)
		}
	})
	// Recording stage work is progress: it lifts the stall and restarts the clock.
	h.send(assess(4), func(d kamflow.Deal, err error) {
		if err != nil || d.Stalled {
			t.Errorf("after progress: stalled=%v err=%v", d.Stalled, err)
		}
	})
	h.at(49*time.Hour+47*time.Hour, func() {
		if h.query().Stalled {
			t.Error("stalled again before a full SLA since the progress")
		}
	})
	h.at(49*time.Hour+50*time.Hour, func() {
		if !h.query().Stalled {
			t.Error("not stalled a full SLA after the last progress")
		}
	})
	h.ok(closeLost())
	h.run()
	h.finish()
	if len(h.rec.notes) != 2 {
		t.Errorf("%d stall notices, want 2", len(h.rec.notes))
	}
}

func TestPauseStopsTheClockAndResumesOnItsDate(t *testing.T) {
	s := kamflow.DefaultSettings()
	s.SLA[kamflow.Development] = kamflow.Duration(5 * kamflow.Day)
	h := newHarness(t, s)
	// Day 2: paused until 2026-11-20 (18 days after start) waiting on the customer's budget.
	h.at(2*kamflow.Day, func() {
		h.env.UpdateWorkflow(string(kamflow.CmdPause), "", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { t.Fatal(err) }, OnComplete: func(any, error) {},
		}, kamflow.Command{Kind: kamflow.CmdPause, Actor: kam, Pause: &kamflow.PauseInput{Reason: "budget approval", ResumeOn: "2026-11-20"}})
	})
	h.at(10*kamflow.Day, func() {
		d := h.query()
		if d.Stalled || d.Pause == nil {
			t.Errorf("day 10 while paused: stalled=%v paused=%v", d.Stalled, d.Pause != nil)
		}
	})
	// Resumed by itself on 2026-11-20 00:00 (17d15h after start). 2 days were used before the
	// pause, so the SLA of 5 days passes 3 days after the resume.
	h.at(18*kamflow.Day, func() {
		d := h.query()
		if d.Pause != nil || d.Stalled {
			t.Errorf("day 18: paused=%v stalled=%v, want resumed and not stalled", d.Pause != nil, d.Stalled)
		}
	})
	h.at(21*kamflow.Day, func() {
		if !h.query().Stalled {
			t.Error("day 21: not stalled though 5 unpaused days have passed")
		}
	})
	h.ok(closeLost())
	h.run()
	h.finish()
}

func TestSLAChangeReachesDealsInFlight(t *testing.T) {
	h := newHarness(t, kamflow.DefaultSettings()) // development SLA 30 days
	h.at(3*kamflow.Day, func() {
		s := kamflow.DefaultSettings()
		s.SLA[kamflow.Development] = kamflow.Duration(2 * kamflow.Day)
		h.env.SignalWorkflow(workflows.SettingsSignal, s)
	})
	h.at(3*kamflow.Day+time.Hour, func() {
		d := h.query()
		if !d.Stalled || d.StageSLA != kamflow.Duration(2*kamflow.Day) {
			t.Errorf("after SLA cut to 2d on day 3: stalled=%v sla=%s", d.Stalled, d.StageSLA)
		}
	})
	h.ok(closeLost())
	h.run()
	h.finish()
}

func TestContinueAsNewCarriesTheDeal(t *testing.T) {
	h := newHarness(t, kamflow.DefaultSettings())
	h.in.MaxUpdatesPerRun = 3
	h.ok(assess(4))
	h.ok(stakeholder("Wang Gong", kamflow.RoleInsider, true))
	h.ok(advance())
	h.run()
	err := h.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next workflows.DealInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Deal.Seq != 4 || next.ProjectedSeq != 4 || next.Deal.Stage != kamflow.Entry || next.Created != nil {
		t.Fatalf("carried input: seq %d projected %d stage %s created %v", next.Deal.Seq, next.ProjectedSeq, next.Deal.Stage, next.Created)
	}
	if len(next.Deal.Stakeholders) != 1 || next.Deal.Assessment == nil {
		t.Fatal("the deal's evidence was not carried over")
	}
}

func as(cmd kamflow.Command, a kamflow.Actor) kamflow.Command {
	cmd.Actor = a
	return cmd
}

// toDelivery scripts a deal from development into delivery, with engineer eng1 assigned.
func (h *harness) toDelivery() {
	h.ok(assess(4))
	h.ok(advance())
	h.ok(stakeholder("Wang Gong", kamflow.RoleInsider, true))
	h.ok(stakeholder("Director Li", kamflow.RoleDecisionMaker, true))
	h.ok(advance())
	h.ok(kamflow.Command{Kind: kamflow.CmdCriteria, Actor: kam, Criteria: []kamflow.Criterion{{Name: "API 610 compliance", Favours: kamflow.FavoursUs}}})
	h.ok(kamflow.Command{Kind: kamflow.CmdProposal, Actor: kam, Proposal: &kamflow.ProposalInput{SubmittedOn: "2026-12-01"}})
	h.ok(advance())
	h.ok(kamflow.Command{Kind: kamflow.CmdBid, Actor: kam, Bid: &kamflow.BidInput{Cost: 80000000, Price: 100000000, Submitted: true}})
	h.ok(advance())
	h.ok(kamflow.Command{Kind: kamflow.CmdApproveContract, Actor: director})
	h.ok(kamflow.Command{Kind: kamflow.CmdSignContract, Actor: kam, Sign: &kamflow.SignInput{SignedOn: "2027-02-01"}})
	h.ok(kamflow.Command{Kind: kamflow.CmdAssignEngineers, Actor: kam, Engineers: []string{"eng1"}})
	h.ok(advance())
}

// TestDeliveryStartsAndAcceptanceDecidesTheGate: entering delivery starts the delivery workflow
// with the default plan; the acceptance it reports decides the accepted gate item, and a punch
// list keeps the project open until it is cleared. (That the close reaches the delivery, which
// then schedules the service visits, is tested against a real server in cmd/kamflow: the test
// environment routes signals to a mocked child past any mock of them.)
func TestDeliveryStartsAndAcceptanceDecidesTheGate(t *testing.T) {
	h := newHarness(t, kamflow.DefaultSettings())
	h.toDelivery()
	accept := func(r kamflow.AcceptanceResult, open int) {
		h.then(func() {
			h.env.SignalWorkflow(workflows.AcceptanceSignal, workflows.AcceptanceNotice{Result: r, OpenPunchItems: open, Notes: "72h run",
				Actor: kamflow.Actor{ID: "eng1", Role: kamflow.UserEngineer, Teams: []string{"east"}}})
		})
	}
	closeProject := kamflow.Command{Kind: kamflow.CmdCloseProject, Actor: kam}
	h.send(closeProject, func(_ kamflow.Deal, err error) {
		if codeOf(err) != kamflow.EGATENOTMET {
			t.Errorf("close before acceptance: %v", err)
		}
	})
	accept(kamflow.AcceptancePassPunchList, 2)
	h.then(func() {
		d := h.query()
		if d.Acceptance == nil || d.Acceptance.Result != kamflow.AcceptancePassPunchList || d.Acceptance.OpenPunchItems != 2 ||
			d.Acceptance.RecordedBy != "eng1" || !d.Gate().Met {
			t.Errorf("acceptance %+v, gate met %v", d.Acceptance, d.Gate().Met)
		}
	})
	h.send(closeProject, func(_ kamflow.Deal, err error) {
		if codeOf(err) != kamflow.EGATENOTMET || !strings.Contains(err.Error(), "2 item(s) open") {
			t.Errorf("close with the punch list open: %v", err)
		}
	})
	accept(kamflow.AcceptancePassPunchList, 0)
	h.ok(closeProject)
	h.run()
	d := h.finish()
	if d.Status != kamflow.StatusDelivered {
		t.Fatalf("deal %s", d.Status)
	}
	if len(*h.deliveries) != 1 {
		t.Fatalf("%d deliveries started", len(*h.deliveries))
	}
	in := (*h.deliveries)[0]
	if in.Plan.DealID != "d1" || len(in.Plan.Tasks) != 5 || in.Plan.Tasks[0].Assignee != "eng1" || len(in.Plan.Cadence) != 4 ||
		in.Deal.Stage != kamflow.Delivery || !slices.Equal(in.Deal.Engineers, []string{"eng1"}) {
		t.Errorf("delivery started with %+v", in.Plan)
	}
}
