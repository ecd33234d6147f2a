package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/workflows"
)

// fanoutHarness runs the settings fan-out's workflow on the test environment with its real
// activities, on a SQLite database holding the deals; the deals' workflows are their domain
// states, each told by the activities' signal (ApplyEscalation) as DealWorkflow takes it.
type fanoutHarness struct {
	t     *testing.T
	db    *db.DB
	env   *testsuite.TestWorkflowEnvironment
	mu    sync.Mutex
	deals map[string]*kamflow.DealState
	told  int // signals sent
	// onTell, when set, runs after each signal with the number sent so far.
	onTell func(n int)
}

func newFanoutHarness(t *testing.T, n int) *fanoutHarness {
	h := &fanoutHarness{t: t, db: dbtest.SQLite(t), deals: map[string]*kamflow.DealState{}}
	ctx := context.Background()
	v, err := h.db.VersionedSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	for i := range n {
		d, created, err := kamflow.NewDeal(fmt.Sprintf("deal-%02d", i+1), kamflow.NewDealInput{AccountID: "acc-1", Title: "Boiler retrofit",
			Currency: "CNY", Owner: "kam1"}, kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM}, t0, v.Settings)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := kamflow.OpenDeal(*d, created, v.Settings, v.Escalation)
		st.SettingsVersion = v.Version
		if err := h.db.Project(ctx, kamflow.Projection{Deal: st.Deal, Transition: created}); err != nil {
			t.Fatal(err)
		}
		h.deals[d.ID] = st
	}
	h.newEnv()
	return h
}

func (h *fanoutHarness) newEnv() {
	var s testsuite.WorkflowTestSuite
	h.env = s.NewTestWorkflowEnvironment()
	// The activities do real database work: on a loaded machine the test suite's default bound
	// (3 s of wall time for a run) is too short for a run of thousands of rows.
	h.env.SetTestTimeout(time.Minute)
	h.env.RegisterWorkflowWithOptions(workflows.SettingsFanoutWorkflow, workflow.RegisterOptions{Name: workflows.SettingsFanoutWorkflowName})
	h.env.RegisterActivity(&activities.Fanout{Settings: h.db, Store: h.db, Deals: h, Poll: 5 * time.Millisecond})
}

// ApplyEscalation is the escalation signal to each deal, taken by its state as its workflow takes it.
func (h *fanoutHarness) ApplyEscalation(_ context.Context, v kamflow.VersionedSettings, dealIDs []string) error {
	for _, id := range dealIDs {
		h.mu.Lock()
		st := h.deals[id]
		if _, err := st.Handle(kamflow.DealEvent{Kind: kamflow.EvSettings, Settings: &v.Settings, Escalation: &v.Escalation,
			SettingsVersion: v.Version}, time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)); err != nil {
			h.mu.Unlock()
			return err
		}
		h.told++
		n, hook := h.told, h.onTell
		h.mu.Unlock()
		if hook != nil {
			hook(n)
		}
	}
	return nil
}

// setSLA saves the development SLA as days and returns the settings' version.
func (h *fanoutHarness) setSLA(days int) int64 {
	h.t.Helper()
	v, err := h.db.EditSettings(context.Background(), kamflow.Edit{By: "admin", At: time.Now()}, func(s *kamflow.Settings, _ *kamflow.Escalation) ([]*kamflow.AuditEntry, error) {
		s.SLA = map[kamflow.Stage]kamflow.Duration{kamflow.Development: kamflow.Duration(time.Duration(days) * kamflow.Day)}
		return nil, nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return v.Version
}

// run starts the fan-out with in, signalled with version as a change signals-with-start it.
func (h *fanoutHarness) run(in workflows.FanoutInput, version int64) error {
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(workflows.SettingsFanoutSignal, version) }, 0)
	h.env.ExecuteWorkflow(workflows.SettingsFanoutWorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("the fan-out did not end")
	}
	return h.env.GetWorkflowError()
}

// everyDeal checks that every deal holds version with a development SLA of days.
func (h *fanoutHarness) everyDeal(version int64, days int) {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, st := range h.deals {
		if st.SettingsVersion != version || time.Duration(st.Deal.StageSLA) != time.Duration(days)*kamflow.Day {
			h.t.Errorf("deal %s holds version %d with an SLA of %s, want version %d and %dd", id, st.SettingsVersion, st.Deal.StageSLA, version, days)
		}
	}
}

func (h *fanoutHarness) fanout(version int64) kamflow.FanoutProgress {
	h.t.Helper()
	p, err := h.db.Fanout(context.Background(), version)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// TestFanoutTellsEveryDealInPages: the change saved, every active deal is told its settings and
// version, a page at a time, and the fan-out is recorded done with every deal told.
func TestFanoutTellsEveryDealInPages(t *testing.T) {
	h := newFanoutHarness(t, 7)
	v := h.setSLA(12)
	var pages int
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "TellFanoutPage" {
			pages++
		}
	})
	if err := h.run(workflows.FanoutInput{PageSize: 3, Wait: 200 * time.Millisecond}, v); err != nil {
		t.Fatal(err)
	}
	h.everyDeal(v, 12)
	if p := h.fanout(v); p.Status != kamflow.FanoutDone || p.Total != 7 || p.Told != 7 || p.FinishedAt == nil {
		t.Errorf("fan-out %+v, want done with 7 of 7 told", p)
	}
	if pages != 3 || h.told != 7 {
		t.Errorf("%d pages, %d signals: want 3 pages of up to 3, each deal told once", pages, h.told)
	}
}

// TestFanoutNewerVersionSupersedes: a change saved while the fan-out of the one before is running
// supersedes it: the fan-out begins again from the first page with the newer settings, the older
// is recorded superseded, and every deal ends with the newer.
func TestFanoutNewerVersionSupersedes(t *testing.T) {
	h := newFanoutHarness(t, 7)
	v1 := h.setSLA(12)
	var v2 int64
	h.onTell = func(n int) {
		if n == 2 { // the first page told: the second change is saved
			v2 = h.setSLA(8)
		}
	}
	if err := h.run(workflows.FanoutInput{PageSize: 2, Wait: 200 * time.Millisecond}, v1); err != nil {
		t.Fatal(err)
	}
	h.everyDeal(v2, 8)
	if p := h.fanout(v1); p.Status != kamflow.FanoutSuperseded || p.Told != 2 {
		t.Errorf("the older fan-out %+v, want superseded after its first page", p)
	}
	if p := h.fanout(v2); p.Status != kamflow.FanoutDone || p.Told != 7 {
		t.Errorf("the newer fan-out %+v, want done with 7 told", p)
	}
}

// TestFanoutWaitsForTheSaveBounded: told of a change that is never saved (its request failed or
// died between the intent and the save), the fan-out waits Wait and ends with nothing done.
func TestFanoutWaitsForTheSaveBounded(t *testing.T) {
	h := newFanoutHarness(t, 3)
	v, _ := h.db.VersionedSettings(context.Background())
	start := time.Now()
	if err := h.run(workflows.FanoutInput{Wait: 300 * time.Millisecond}, v.Version+1); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 300*time.Millisecond || took > 10*time.Second {
		t.Errorf("the fan-out ended after %v, want after its wait of 300ms", took)
	}
	if _, ok, err := h.db.LatestFanout(context.Background()); err != nil || ok || h.told != 0 {
		t.Errorf("a fan-out recorded (%v, %v) or deals told (%d) for a change never saved", ok, err, h.told)
	}
}

// TestFanoutContinuesAsNew: past PagesPerRun the run continues as new with where it stands, and
// the next run carries on from the cursor the store holds: every deal told once.
func TestFanoutContinuesAsNew(t *testing.T) {
	h := newFanoutHarness(t, 7)
	v := h.setSLA(12)
	err := h.run(workflows.FanoutInput{PageSize: 2, PagesPerRun: 2, Wait: 200 * time.Millisecond}, v)
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) || can.WorkflowType.Name != workflows.SettingsFanoutWorkflowName {
		t.Fatalf("the run ended with %v, want continue-as-new", err)
	}
	var next workflows.FanoutInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if !next.Started || next.Current != v || next.Told != v-1 || next.PageSize != 2 || next.PagesPerRun != 2 || next.Until.IsZero() {
		t.Fatalf("next run's input %+v", next)
	}
	if p := h.fanout(v); p.Status != kamflow.FanoutRunning || p.Told != 4 {
		t.Fatalf("after the first run %+v, want running with 4 told", p)
	}
	next.Until = time.Now().Add(200 * time.Millisecond)
	h.newEnv()
	h.env.ExecuteWorkflow(workflows.SettingsFanoutWorkflowName, next)
	if err := h.env.GetWorkflowError(); !h.env.IsWorkflowCompleted() || err != nil {
		t.Fatalf("the second run: completed %v, %v", h.env.IsWorkflowCompleted(), err)
	}
	h.everyDeal(v, 12)
	if p := h.fanout(v); p.Status != kamflow.FanoutDone || p.Told != 7 || h.told != 7 {
		t.Errorf("fan-out %+v after %d signals, want done with every deal told once", p, h.told)
	}
}
