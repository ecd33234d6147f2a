package workflows_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/workflows"
)

// nextRun is the input the run continued as new with.
func nextRun(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.DealInput {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next workflows.DealInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	return next
}

// update sends an Update and records its outcome in *got.
func update(env *testsuite.TestWorkflowEnvironment, name string, got *error, arg any) {
	env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept:   func() {},
		OnReject:   func(err error) { *got = workflows.FromError(err) },
		OnComplete: func(_ any, err error) { *got = workflows.FromError(err) },
	}, arg)
}

// TestInputsInTheTaskOfAContinueAsNew: with one change per run, an Update and the signals that
// come in the same workflow task as the continue-as-new are all in the next run's deal.
func TestInputsInTheTaskOfAContinueAsNew(t *testing.T) {
	t.Run("assessment and escalation", func(t *testing.T) {
		h := newHarness(t, kamflow.DefaultSettings())
		h.in.MaxUpdatesPerRun = 1
		s := kamflow.DefaultSettings()
		s.SLA = map[kamflow.Stage]kamflow.Duration{kamflow.Development: kamflow.Duration(7 * kamflow.Day)}
		esc := kamflow.Escalation{Stages: map[kamflow.Stage]kamflow.StageEscalation{kamflow.Development: {DirectorAfter: 3}}}
		var assessed error
		h.at(time.Minute, func() {
			update(h.env, string(kamflow.CmdAssessment), &assessed, assess(4))
			h.env.SignalWorkflow(workflows.EscalationSignal, workflows.SettingsUpdate{Settings: s, Escalation: esc})
		})
		h.run()
		if assessed != nil {
			t.Fatalf("assessment: %v", assessed)
		}
		next := nextRun(t, h.env)
		if next.Deal.Assessment == nil {
			t.Error("the assessment is not in the next run")
		}
		if time.Duration(next.Deal.StageSLA) != 7*kamflow.Day || time.Duration(next.Settings.StageSLA(kamflow.Development)) != 7*kamflow.Day {
			t.Errorf("the SLA change is not in the next run: deal %v, settings %v", next.Deal.StageSLA, next.Settings.SLA)
		}
		if next.Escalation == nil || next.Escalation.DirectorAfter("east", kamflow.Development) != 3 {
			t.Errorf("the ladder is not in the next run: %+v", next.Escalation)
		}
		if next.ProjectedSeq != next.Deal.Seq || len(h.rec.projections) != 3 {
			t.Errorf("projected %d of seq %d; %d projections", next.ProjectedSeq, next.Deal.Seq, len(h.rec.projections))
		}
	})

	t.Run("delivery plan's signals and an engineers' change", func(t *testing.T) {
		h := newHarness(t, kamflow.DefaultSettings())
		st := inDelivery(t, h.in)
		h.in = workflows.DealInput{Deal: st.Deal, Settings: st.Settings, ProjectedSeq: st.Deal.Seq, DeliveryStarted: true, MaxUpdatesPerRun: 1}
		h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil)
		var assigned error
		h.at(time.Minute, func() {
			h.env.SignalWorkflow(workflows.AcceptanceSignal, workflows.AcceptanceNotice{Result: kamflow.AcceptancePassPunchList, OpenPunchItems: 1,
				Actor: kamflow.Actor{ID: "eng1", Role: kamflow.UserEngineer}})
			h.env.SignalWorkflow(workflows.DeliveryHoldSignal, kamflow.DeliveryHold{UndoFailed: []string{"work_order"}})
			update(h.env, string(kamflow.CmdAssignEngineers), &assigned,
				kamflow.Command{Kind: kamflow.CmdAssignEngineers, Actor: kam, Engineers: []string{"eng1", "eng2"}})
		})
		h.run()
		if assigned != nil {
			t.Fatalf("engineers: %v", assigned)
		}
		next := nextRun(t, h.env)
		d := next.Deal
		if d.Acceptance == nil || d.Acceptance.OpenPunchItems != 1 || !slices.Equal(d.UndoFailed, []string{"work_order"}) ||
			!slices.Equal(d.Engineers, []string{"eng1", "eng2"}) {
			t.Errorf("next run's deal: acceptance %+v, undo failed %v, engineers %v", d.Acceptance, d.UndoFailed, d.Engineers)
		}
		if next.ProjectedSeq != d.Seq || d.Seq != st.Deal.Seq+3 {
			t.Errorf("seq %d (was %d), projected %d", d.Seq, st.Deal.Seq, next.ProjectedSeq)
		}
	})
}

// inDelivery walks in's deal, through the domain's state machine, into delivery.
func inDelivery(t *testing.T, in workflows.DealInput) *kamflow.DealState {
	t.Helper()
	st, _ := kamflow.OpenDeal(in.Deal, in.Created, in.Settings, kamflow.Escalation{})
	at := start
	for _, c := range []kamflow.Command{
		assess(4), advance(),
		stakeholder("Wang Gong", kamflow.RoleInsider, true), stakeholder("Director Li", kamflow.RoleDecisionMaker, true), advance(),
		{Kind: kamflow.CmdCriteria, Actor: kam, Criteria: []kamflow.Criterion{{Name: "API 610 compliance", Favours: kamflow.FavoursUs}}},
		{Kind: kamflow.CmdProposal, Actor: kam, Proposal: &kamflow.ProposalInput{SubmittedOn: "2026-11-03"}}, advance(),
		{Kind: kamflow.CmdBid, Actor: kam, Bid: &kamflow.BidInput{Cost: 80000000, Price: 100000000, Submitted: true}}, advance(),
		{Kind: kamflow.CmdApproveContract, Actor: director}, {Kind: kamflow.CmdSignContract, Actor: kam, Sign: &kamflow.SignInput{SignedOn: "2026-11-04"}},
		{Kind: kamflow.CmdAssignEngineers, Actor: kam, Engineers: []string{"eng1"}}, advance(),
	} {
		c := c
		at = at.Add(-time.Hour) // before the workflow's clock starts
		if _, err := st.Handle(kamflow.DealEvent{Kind: kamflow.EvCommand, Command: &c}, at); err != nil {
			t.Fatalf("%s: %v", c.Kind, err)
		}
	}
	if st.Deal.Stage != kamflow.Delivery {
		t.Fatalf("stage %s", st.Deal.Stage)
	}
	return st
}

// TestWorkflowFailsClosed: Updates sent straight to the workflow, past the API, are refused
// without a role, with kamflow's own role, with an unknown role or from outside the deal's team;
// kamflow's own stale-contact mark comes by its own Update.
func TestWorkflowFailsClosed(t *testing.T) {
	h := newHarness(t, kamflow.DefaultSettings())
	h.ok(assess(4))
	h.ok(advance())
	h.ok(stakeholder("Wang Gong", kamflow.RoleInsider, true))
	force := kamflow.Command{Kind: kamflow.CmdAdvance, Advance: &kamflow.AdvanceInput{Force: true, Reason: "push"}}
	reassign := kamflow.Command{Kind: kamflow.CmdReassign, Reassign: &kamflow.ReassignInput{Owner: "kam9"}}
	stale := kamflow.Command{Kind: kamflow.CmdContactStale, ContactStale: &kamflow.ContactStaleInput{Name: "Wang Gong", Stale: true, Days: 99}}
	for _, tc := range []struct {
		cmd  kamflow.Command
		by   kamflow.Actor
		code string
	}{
		{force, kamflow.Actor{ID: "nobody"}, kamflow.EFORBIDDEN},
		{reassign, kamflow.Actor{ID: "nobody", Teams: []string{"east"}}, kamflow.EFORBIDDEN},
		{force, kamflow.Actor{ID: "kamflow", Role: kamflow.UserSystem}, kamflow.EFORBIDDEN},
		{reassign, kamflow.Actor{ID: "kamflow", Role: kamflow.UserSystem}, kamflow.EFORBIDDEN},
		{stale, kamflow.Actor{ID: "kamflow", Role: kamflow.UserSystem}, kamflow.EFORBIDDEN},
		{stale, director, kamflow.EFORBIDDEN},
		{force, kamflow.Actor{ID: "root", Role: "root", Teams: []string{"east"}}, kamflow.EFORBIDDEN},
		{reassign, kamflow.Actor{ID: "director", Role: kamflow.UserDirector}, kamflow.ENOTFOUND},
		{force, kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM}, kamflow.EFORBIDDEN},
	} {
		tc := tc
		h.send(as(tc.cmd, tc.by), func(_ kamflow.Deal, err error) {
			if codeOf(err) != tc.code {
				t.Errorf("%s by %+v: %v, want %s", tc.cmd.Kind, tc.by, err, tc.code)
			}
		})
	}
	var marked error
	h.then(func() {
		update(h.env, workflows.MarkContactUpdate, &marked, kamflow.ContactStaleInput{Name: "Wang Gong", Stale: true, Days: 99})
	})
	h.then(func() {
		d := h.query()
		if marked != nil || !d.Stakeholders[0].Stale || d.Owner != "kam1" || d.Forced || d.Seq != 5 {
			t.Errorf("after the refusals and kamflow's mark: marked %v, stale %v, owner %s, forced %v, seq %d",
				marked, d.Stakeholders[0].Stale, d.Owner, d.Forced, d.Seq)
		}
	})
	h.ok(closeLost())
	h.run()
	h.finish()
	if last := h.rec.projections[len(h.rec.projections)-2].Audit; last.Actor != kamflow.SystemActorID || last.Action != "deal.contact_stale" {
		t.Errorf("the mark's audit entry %+v", last)
	}
}

// refusingStore refuses the projection of the deal's changes while broken, as a database
// refusing invalid data does, and keeps the deals needing attention.
type refusingStore struct {
	*recorder
	mu        sync.Mutex
	broken    bool
	transient bool // fail with a plain (retryable) error instead
	attention []kamflow.Attention
	cleared   int
}

func (s *refusingStore) Project(ctx context.Context, p kamflow.Projection) error {
	s.mu.Lock()
	broken, transient := s.broken, s.transient
	s.mu.Unlock()
	if broken && transient {
		return errors.New("connection refused")
	}
	if broken {
		return kamflow.Errorf(kamflow.EINVALID, "value too long for type character varying(200)")
	}
	return s.recorder.Project(ctx, p)
}

func (s *refusingStore) set(broken bool) { s.mu.Lock(); s.broken = broken; s.mu.Unlock() }

func (s *refusingStore) RecordAttention(_ context.Context, a kamflow.Attention) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attention = append(s.attention, a)
	return nil
}

func (s *refusingStore) ClearAttention(context.Context, string, time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleared++
	return nil
}

func (s *refusingStore) Attentions(context.Context) ([]kamflow.Attention, error) {
	return s.attention, nil
}

// TestProjectionRefusedPutsTheDealInAttention: a change the store refuses is not retried for ever
// under the deal's lock. The deal needs attention: the change is held, later commands are refused
// with why, the stall still happens and is held too; once the cause is fixed an admin's retry
// writes both in order and the deal takes changes again.
func TestProjectionRefusedPutsTheDealInAttention(t *testing.T) {
	for _, transient := range []bool{false, true} {
		name := map[bool]string{false: "refused", true: "retries exhausted"}[transient]
		t.Run(name, func(t *testing.T) {
			s := kamflow.DefaultSettings()
			s.SLA = map[kamflow.Stage]kamflow.Duration{kamflow.Development: kamflow.Duration(2 * kamflow.Day)}
			h := newHarness(t, s)
			store := &refusingStore{recorder: h.rec, transient: transient}
			h.env.RegisterActivity(&activities.Activities{Deals: store, Notifications: h.rec, Attention: store})
			var first, second, byDirector, retried, after error
			h.at(time.Minute, func() {
				store.set(true)
				update(h.env, string(kamflow.CmdAssessment), &first, assess(4))
			})
			h.at(time.Hour, func() {
				update(h.env, string(kamflow.CmdStakeholder), &second, stakeholder("Wang Gong", kamflow.RoleInsider, true))
			})
			// The stall (two days after the assessment) happens while the deal needs attention.
			h.at(3*kamflow.Day, func() {
				store.set(false)
				update(h.env, workflows.RetryUpdate, &byDirector, director)
			})
			h.at(3*kamflow.Day+time.Minute, func() {
				update(h.env, workflows.RetryUpdate, &retried, kamflow.Actor{ID: "admin", Role: kamflow.UserAdmin})
			})
			h.at(3*kamflow.Day+2*time.Minute, func() {
				update(h.env, string(kamflow.CmdStakeholder), &after, stakeholder("Wang Gong", kamflow.RoleInsider, true))
			})
			h.at(3*kamflow.Day+3*time.Minute, func() { update(h.env, string(kamflow.CmdClose), new(error), closeLost()) })
			h.run()
			h.finish()
			if codeOf(first) != kamflow.EUNAVAILABLE || !strings.Contains(first.Error(), "needs attention") {
				t.Errorf("the refused change is answered %v", first)
			}
			if codeOf(second) != kamflow.EUNAVAILABLE {
				t.Errorf("a command while the deal needs attention: %v", second)
			}
			if codeOf(byDirector) != kamflow.EFORBIDDEN || retried != nil || after != nil {
				t.Errorf("retry by a director %v, by an admin %v, the next command %v", byDirector, retried, after)
			}
			want := map[bool]string{false: kamflow.AttentionRefused, true: kamflow.AttentionExhausted}[transient]
			if len(store.attention) < 2 || store.attention[0].Seq != 2 || store.attention[0].Reason != want ||
				store.attention[len(store.attention)-1].Pending != 2 || store.cleared != 1 {
				t.Fatalf("attention %+v, cleared %d", store.attention, store.cleared)
			}
			var actions []string
			for _, p := range h.rec.projections {
				actions = append(actions, p.Audit.Action)
			}
			if !slices.Equal(actions, []string{"deal.create", "deal.assessment", "deal.stalled", "deal.stakeholder", "deal.close"}) {
				t.Errorf("projected %v", actions)
			}
			for i := 1; i < len(h.rec.projections); i++ {
				if h.rec.projections[i].Deal.Seq != h.rec.projections[i-1].Deal.Seq+1 {
					t.Errorf("projection %d has seq %d after %d", i, h.rec.projections[i].Deal.Seq, h.rec.projections[i-1].Deal.Seq)
				}
			}
		})
	}
}
