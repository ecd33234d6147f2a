// Package metrics holds kamflow's Prometheus metrics, on a registry of their own: nothing is
// registered on the client library's default registry, at import time or ever. cmd/kamflow makes
// one Registry per process and hands it to the activities (which count the projection failures)
// and to the API (which serves it at GET /metrics).
//
//	kamflow_projection_failures_total{reason}  the deals' changes the database could not write for
//	                                           good and that made their deal need attention:
//	                                           reason "refused" (the store refused the data) or
//	                                           "exhausted" (every retry failed); counted once per
//	                                           deal and change, by the process that recorded it
//	kamflow_deals_needing_attention            the deals needing attention now, read from the store
//	                                           at each scrape (so every process reports the same)
//
// The Go runtime's and the process's standard metrics are on the registry too.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kamflow/kamflow"
)

// The reasons of kamflow_projection_failures_total: kamflow.Attention's.
const (
	ReasonRefused   = kamflow.AttentionRefused
	ReasonExhausted = kamflow.AttentionExhausted
)

// scrapeTimeout bounds the store's answer to one scrape.
const scrapeTimeout = 5 * time.Second

// Registry is a Prometheus registry with kamflow's metrics on it. More collectors may be
// registered on it (it is a *prometheus.Registry).
type Registry struct {
	*prometheus.Registry
	projectionFailures *prometheus.CounterVec
}

// New makes a registry with kamflow's metrics. The gauge of the deals needing attention reads
// attention at each scrape; nil leaves the gauge out.
func New(attention kamflow.AttentionStore) *Registry {
	r := &Registry{
		Registry: prometheus.NewRegistry(),
		projectionFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kamflow_projection_failures_total",
			Help: "Changes of deals that could not be written to the database for good, making their deal need attention, by reason: refused (the database refused the data) or exhausted (every retry failed).",
		}, []string{"reason"}),
	}
	// Both series exist from the start, at 0, so that rate() and alerts see the first failure.
	r.projectionFailures.WithLabelValues(ReasonRefused)
	r.projectionFailures.WithLabelValues(ReasonExhausted)
	r.MustRegister(r.projectionFailures,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if attention != nil {
		r.MustRegister(&attentionCollector{store: attention, desc: prometheus.NewDesc("kamflow_deals_needing_attention",
			"Deals whose changes could not be written to the database and wait for an admin to retry them.", nil, nil)})
	}
	return r
}

// ProjectionFailed counts a deal's change that could not be written for good, for the reason
// given (ReasonRefused; anything else counts as ReasonExhausted). A nil Registry counts nothing.
func (r *Registry) ProjectionFailed(reason string) {
	if r == nil {
		return
	}
	if reason != ReasonRefused {
		reason = ReasonExhausted
	}
	r.projectionFailures.WithLabelValues(reason).Inc()
}

// Handler serves the metrics in the Prometheus exposition formats. A metric that cannot be read
// (the store not answering) is left out of the answer and logged by the handler's own error
// counter, rather than failing the whole scrape.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Registry: r})
}

// attentionCollector is kamflow_deals_needing_attention: the store's count at the scrape.
type attentionCollector struct {
	store kamflow.AttentionStore
	desc  *prometheus.Desc
}

// counter is a store that counts the deals needing attention without listing them (the database).
type counter interface {
	CountAttentions(ctx context.Context) (int, error)
}

func (c *attentionCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *attentionCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	var n int
	var err error
	if s, ok := c.store.(counter); ok {
		n, err = s.CountAttentions(ctx)
	} else {
		var as []kamflow.Attention
		as, err = c.store.Attentions(ctx)
		n = len(as)
	}
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
}
