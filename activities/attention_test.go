package activities_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.temporal.io/sdk/temporal"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/metrics"
)

// projecting is a deal store whose projection answers err, and which keeps the deals needing
// attention (as the database does), saying whether each record is a new failure.
type projecting struct {
	kamflow.DealStore
	err error

	mu       sync.Mutex
	listed   map[string]kamflow.Attention
	recorded int
	cleared  []string
}

func (p *projecting) Project(context.Context, kamflow.Projection) error { return p.err }

func (p *projecting) RecordAttention(ctx context.Context, a kamflow.Attention) error {
	_, err := p.RecordNewAttention(ctx, a)
	return err
}

func (p *projecting) RecordNewAttention(_ context.Context, a kamflow.Attention) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.listed == nil {
		p.listed = map[string]kamflow.Attention{}
	}
	old, ok := p.listed[a.DealID]
	p.listed[a.DealID] = a
	p.recorded++
	return !ok || old.Seq != a.Seq, nil
}

func (p *projecting) ClearAttention(_ context.Context, deal string, _ time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.listed, deal)
	p.cleared = append(p.cleared, deal)
	return nil
}

func (p *projecting) Attentions(context.Context) ([]kamflow.Attention, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []kamflow.Attention{}
	for _, a := range p.listed {
		out = append(out, a)
	}
	return out, nil
}

// TestProjectDealRefused: a change the store refuses (a domain error) fails for good at once; the
// database away is retried.
func TestProjectDealRefused(t *testing.T) {
	store := &projecting{}
	a := &activities.Activities{Deals: store}
	env := activityEnv(t, a)
	p := kamflow.Projection{Deal: kamflow.Deal{ID: "d1", Seq: 3}}

	store.err = kamflow.Errorf(kamflow.EINVALID, "the database refused change 3 of deal d1: value too long")
	_, err := env.ExecuteActivity(a.ProjectDeal, p)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ProjectionRefused || !appErr.NonRetryable() {
		t.Fatalf("refused: %v, want a non-retryable %s", err, activities.ProjectionRefused)
	}
	var cause kamflow.Error
	if err := appErr.Details(&cause); err != nil || cause.Code != kamflow.EINVALID || cause.Message != "the database refused change 3 of deal d1: value too long" {
		t.Errorf("details %+v (%v), want the store's error", cause, err)
	}

	for _, e := range []error{errors.New("db: project deal d1: connection refused"), kamflow.Errorf(kamflow.EUNAVAILABLE, "database away")} {
		store.err = e
		_, err = env.ExecuteActivity(a.ProjectDeal, p)
		if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
			t.Errorf("%v: %v, want a retryable error", e, err)
		}
	}
	store.err = nil
	if _, err := env.ExecuteActivity(a.ProjectDeal, p); err != nil {
		t.Errorf("written: %v", err)
	}
}

// TestRecordAttention stores the deal needing attention (in Deals, when no Attention store is
// set), counts each new failure once by its reason, and clears it.
func TestRecordAttention(t *testing.T) {
	store := &projecting{}
	m := metrics.New(store)
	a := &activities.Activities{Deals: store, Metrics: m}
	env := activityEnv(t, a)
	count := func() map[string]float64 {
		t.Helper()
		fams, err := m.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, f := range fams {
			switch f.GetName() {
			case "kamflow_projection_failures_total":
				for _, s := range f.GetMetric() {
					out[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
				}
			case "kamflow_deals_needing_attention":
				out["gauge"] = f.GetMetric()[0].GetGauge().GetValue()
				if f.GetType() != dto.MetricType_GAUGE {
					t.Errorf("%s is a %v", f.GetName(), f.GetType())
				}
			}
		}
		return out
	}
	record := func(at kamflow.Attention) {
		t.Helper()
		if _, err := env.ExecuteActivity(a.RecordAttention, at); err != nil {
			t.Fatal(err)
		}
	}
	since := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	record(kamflow.Attention{DealID: "d1", Seq: 3, Pending: 1, Reason: kamflow.AttentionRefused, Error: "invalid: value too long", Since: since})
	record(kamflow.Attention{DealID: "d1", Seq: 3, Pending: 2, Reason: kamflow.AttentionRefused, Error: "invalid: value too long", Since: since})
	// No reason given: taken from the error.
	record(kamflow.Attention{DealID: "d2", Seq: 1, Pending: 1, Error: "db: connection refused", Since: since})
	record(kamflow.Attention{DealID: "d3", Seq: 9, Pending: 1, Error: "projection refused: invalid: check violation (type: projection_refused, retryable: false)", Since: since})
	if got := count(); got["refused"] != 2 || got["exhausted"] != 1 || got["gauge"] != 3 {
		t.Errorf("metrics %v, want refused 2 (d1 once), exhausted 1, 3 deals needing attention", got)
	}
	if store.recorded != 4 || store.listed["d1"].Pending != 2 || store.listed["d2"].Reason != kamflow.AttentionExhausted ||
		store.listed["d3"].Reason != kamflow.AttentionRefused {
		t.Errorf("stored %d times: %+v", store.recorded, store.listed)
	}
	if _, err := env.ExecuteActivity(a.ClearAttention, "d1", since.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := count(); len(store.cleared) != 1 || store.cleared[0] != "d1" || got["gauge"] != 2 || got["refused"] != 2 {
		t.Errorf("after the clear: cleared %v, metrics %v", store.cleared, got)
	}

	// Without a store for them, the activities fail for good (a wiring mistake no retry mends).
	bare := &activities.Activities{Deals: struct{ kamflow.DealStore }{}}
	env = activityEnv(t, bare)
	_, err := env.ExecuteActivity(bare.RecordAttention, kamflow.Attention{DealID: "d1"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() {
		t.Errorf("no store: %v", err)
	}
}
