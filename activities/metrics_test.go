package activities_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/metrics"
)

// movesOnce is a store whose transitions are new the first time only, as the database's.
type movesOnce struct {
	kamflow.DealStore
	seen map[int64]bool
}

func (s *movesOnce) Project(ctx context.Context, p kamflow.Projection) error {
	_, err := s.ProjectNew(ctx, p)
	return err
}

func (s *movesOnce) ProjectNew(_ context.Context, p kamflow.Projection) (bool, error) {
	if p.Transition == nil || s.seen[p.Transition.Seq] {
		return false, nil
	}
	s.seen[p.Transition.Seq] = true
	return true, nil
}

// TestProjectDealCountsMovesOnce counts a stage move once however often its projection is
// retried, a forced one in both counters, and no other transition (a creation); a notice's
// webhook attempts are counted delivered or failed.
func TestProjectDealCountsMovesOnce(t *testing.T) {
	m := metrics.New(nil)
	a := &activities.Activities{Deals: &movesOnce{seen: map[int64]bool{}}, Metrics: m}
	env := activityEnv(t, a)
	project := func(seq int64, kind string, to kamflow.Stage) {
		t.Helper()
		p := kamflow.Projection{Deal: kamflow.Deal{ID: "d1", Seq: seq},
			Transition: &kamflow.StageTransition{DealID: "d1", Seq: seq, Kind: kind, ToStage: to, Forced: kind == kamflow.TransitionForced}}
		if _, err := env.ExecuteActivity(a.ProjectDeal, p); err != nil {
			t.Fatal(err)
		}
	}
	project(1, kamflow.TransitionCreated, kamflow.Development)
	project(2, kamflow.TransitionAdvanced, kamflow.Entry)
	project(2, kamflow.TransitionAdvanced, kamflow.Entry) // a retry
	project(3, kamflow.TransitionForced, kamflow.Proposal)
	project(3, kamflow.TransitionForced, kamflow.Proposal)
	got := series(t, m)
	for k, want := range map[string]float64{
		"kamflow_stage_moves_total/entry": 1, "kamflow_stage_moves_total/proposal": 1, "kamflow_stage_moves_total/development": 0,
		"kamflow_stage_moves_total/bid": 0, "kamflow_stage_forced_moves_total/proposal": 1, "kamflow_stage_forced_moves_total/entry": 0,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}

	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	a.Webhook = &activities.Webhook{URL: srv.URL, Secret: "s"}
	n := activities.Notice{ID: "n1", Event: activities.EventStalled, DealID: "d1"}
	if _, err := env.ExecuteActivity(a.SendWebhook, n); err == nil {
		t.Fatal("a 503 delivered the notice")
	}
	status = http.StatusOK
	if _, err := env.ExecuteActivity(a.SendWebhook, n); err != nil {
		t.Fatal(err)
	}
	got = series(t, m)
	for k, want := range map[string]float64{
		"kamflow_notice_delivery_failures_total/webhook": 1, "kamflow_notices_delivered_total/webhook": 1,
		"kamflow_notice_delivery_failures_total/email": 0, "kamflow_notices_delivered_total/email": 0,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
}

// series are the registry's counters as name/label-value → value (one label each).
func series(t *testing.T, m *metrics.Registry) map[string]float64 {
	t.Helper()
	fams, err := m.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			if len(s.GetLabel()) == 1 && s.GetCounter() != nil {
				out[f.GetName()+"/"+s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
			}
		}
	}
	return out
}
