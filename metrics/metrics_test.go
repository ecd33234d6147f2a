package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/metrics"
)

// store is an AttentionStore listing n deals, or failing.
type store struct {
	mu  sync.Mutex
	n   int
	err error
}

func (s *store) set(n int, err error) {
	s.mu.Lock()
	s.n, s.err = n, err
	s.mu.Unlock()
}

func (s *store) RecordAttention(context.Context, kamflow.Attention) error { return nil }
func (s *store) ClearAttention(context.Context, string, time.Time) error  { return nil }
func (s *store) Attentions(context.Context) ([]kamflow.Attention, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return make([]kamflow.Attention, s.n), s.err
}

// gather reads the registry's families by name.
func gather(t *testing.T, g prometheus.Gatherer) (map[string]*dto.MetricFamily, error) {
	t.Helper()
	fams, err := g.Gather()
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out, err
}

func failures(t *testing.T, fams map[string]*dto.MetricFamily) map[string]float64 {
	t.Helper()
	f := fams["kamflow_projection_failures_total"]
	if f == nil || f.GetType() != dto.MetricType_COUNTER {
		t.Fatalf("no counter kamflow_projection_failures_total: %v", f)
	}
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != "reason" {
			t.Fatalf("labels %v, want reason", m.GetLabel())
		}
		out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	return out
}

func gauge(t *testing.T, fams map[string]*dto.MetricFamily) float64 {
	t.Helper()
	f := fams["kamflow_deals_needing_attention"]
	if f == nil || f.GetType() != dto.MetricType_GAUGE || len(f.GetMetric()) != 1 {
		t.Fatalf("no gauge kamflow_deals_needing_attention: %v", f)
	}
	return f.GetMetric()[0].GetGauge().GetValue()
}

// TestProjectionFailures counts the failures by reason, both reasons from 0; a reason the metric
// does not know counts as exhausted.
func TestProjectionFailures(t *testing.T) {
	r := metrics.New(nil)
	fams, err := gather(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(t, fams); len(got) != 2 || got["refused"] != 0 || got["exhausted"] != 0 {
		t.Fatalf("at the start %v, want both reasons at 0", got)
	}
	if _, ok := fams["kamflow_deals_needing_attention"]; ok {
		t.Errorf("a gauge without a store")
	}
	r.ProjectionFailed(metrics.ReasonRefused)
	r.ProjectionFailed(kamflow.AttentionRefused)
	r.ProjectionFailed(metrics.ReasonExhausted)
	r.ProjectionFailed("")
	fams, _ = gather(t, r)
	if got := failures(t, fams); got["refused"] != 2 || got["exhausted"] != 2 || len(got) != 2 {
		t.Fatalf("counted %v, want refused 2, exhausted 2", got)
	}
	var none *metrics.Registry
	none.ProjectionFailed(metrics.ReasonRefused) // counts nothing, and does not panic
	def, err := gather(t, prometheus.DefaultGatherer)
	if err != nil {
		t.Fatal(err)
	}
	for name := range def {
		if strings.HasPrefix(name, "kamflow_") {
			t.Errorf("%s is on the default registry", name)
		}
	}
}

// TestDealsNeedingAttention reads the store at each scrape; a store that does not answer leaves
// the gauge out of that scrape, and the other metrics in.
func TestDealsNeedingAttention(t *testing.T) {
	s := &store{n: 3}
	r := metrics.New(s)
	fams, err := gather(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if g := gauge(t, fams); g != 3 {
		t.Fatalf("gauge %v, want 3", g)
	}
	s.set(1, nil)
	fams, _ = gather(t, r)
	if g := gauge(t, fams); g != 1 {
		t.Fatalf("gauge %v after a deal is cleared, want 1", g)
	}
	s.set(0, errors.New("database away"))
	fams, err = gather(t, r)
	if err == nil || !strings.Contains(err.Error(), "database away") {
		t.Errorf("gather error %v, want the store's", err)
	}
	if _, ok := fams["kamflow_deals_needing_attention"]; ok {
		t.Errorf("gauge reported while the store failed")
	}
	failures(t, fams)

	// The handler serves them in the text format, the gauge left out while the store fails.
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || !strings.Contains(string(body), `kamflow_projection_failures_total{reason="refused"} 0`) ||
		strings.Contains(string(body), "kamflow_deals_needing_attention ") {
		t.Errorf("GET /metrics while the store fails: %d\n%s", rec.Code, body)
	}
	s.set(2, nil)
	rec = httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if body, _ := io.ReadAll(rec.Body); rec.Code != 200 || !strings.Contains(string(body), "kamflow_deals_needing_attention 2") ||
		!strings.Contains(string(body), "go_goroutines") {
		t.Errorf("GET /metrics: %d\n%s", rec.Code, body)
	}
}
