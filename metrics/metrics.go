// Package metrics holds kamflow's Prometheus metrics, on a registry of their own: nothing is
// registered on the client library's default registry, at import time or ever. cmd/kamflow makes
// one Registry per process and hands it to the activities (which count what the workflows did),
// to the API (which counts its requests and serves it at GET /metrics) and to the Temporal
// client's metrics handler (package telemetry: the SDK's temporal_* metrics).
//
// Counted by the process that saw the event, once per event (sum them over the replicas):
//
//	kamflow_http_request_duration_seconds{method,route,status}  histogram of the API's answers, by
//	                                           Echo's route template ("/api/v1/deals/:id/advance";
//	                                           "unmatched" when none matched) and status code
//	kamflow_stage_moves_total{stage}           deals moved into stage (advanced or forced), counted
//	                                           by the worker that wrote the move, once per move
//	kamflow_stage_forced_moves_total{stage}    of those, the forced moves (past an unmet gate)
//	kamflow_gate_refusals_total{item}          advances refused for the gate item not met, counted by
//	                                           the API that answered the refusal
//	kamflow_projection_failures_total{reason}  the deals' changes the database could not write for
//	                                           good and that made their deal need attention:
//	                                           reason "refused" (the store refused the data) or
//	                                           "exhausted" (every retry failed); counted once per
//	                                           deal and change, by the process that recorded it
//	kamflow_notice_delivery_failures_total{channel}  attempts to deliver a stall or escalation
//	                                           notice by webhook or e-mail that failed (the workflow
//	                                           retries them until delivered)
//	kamflow_notices_delivered_total{channel}   notices delivered by webhook or e-mail
//
// Read from the store at each scrape (every process reports the same: take max, not sum):
//
//	kamflow_deals_needing_attention            the deals needing attention now
//	kamflow_deals_open{stage}                  the open deals in each stage
//	kamflow_deals_stalled{stage}               of those, the stalled ones (past their stage's SLA)
//	kamflow_import_rows{outcome}               the spreadsheet imports' rows, by outcome (imported,
//	                                           skipped, rejected, held, not_imported)
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
	httpDuration       *prometheus.HistogramVec
	stageMoves         *prometheus.CounterVec
	forcedMoves        *prometheus.CounterVec
	gateRefusals       *prometheus.CounterVec
	noticeFailures     *prometheus.CounterVec
	noticesDelivered   *prometheus.CounterVec
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
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kamflow_http_request_duration_seconds",
			Help:    "Time to answer the API's HTTP requests, by method, route (Echo's route template) and status code; its _count is the requests answered.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route", "status"}),
		stageMoves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kamflow_stage_moves_total",
			Help: "Deals moved into a stage (advanced or forced), by the stage moved into; counted once per move, by the worker that wrote it.",
		}, []string{"stage"}),
		forcedMoves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kamflow_stage_forced_moves_total",
			Help: "Deals forced into a stage past an unmet gate, by the stage moved into.",
		}, []string{"stage"}),
		gateRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kamflow_gate_refusals_total",
			Help: "Commands refused because a gate item was not met, by item (a refusal counts once for each item it names).",
		}, []string{"item"}),
		noticeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kamflow_notice_delivery_failures_total",
			Help: "Failed attempts to deliver a stall or escalation notice outside kamflow, by channel (webhook, email); the workflow retries them.",
		}, []string{"channel"}),
		noticesDelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kamflow_notices_delivered_total",
			Help: "Stall and escalation notices delivered outside kamflow, by channel (webhook, email).",
		}, []string{"channel"}),
	}
	for _, st := range kamflow.Stages {
		r.stageMoves.WithLabelValues(string(st))
		r.forcedMoves.WithLabelValues(string(st))
	}
	for _, ch := range []string{kamflow.ChannelWebhook, kamflow.ChannelEmail} {
		r.noticeFailures.WithLabelValues(ch)
		r.noticesDelivered.WithLabelValues(ch)
	}
	// Both series exist from the start, at 0, so that rate() and alerts see the first failure.
	r.projectionFailures.WithLabelValues(ReasonRefused)
	r.projectionFailures.WithLabelValues(ReasonExhausted)
	r.MustRegister(r.projectionFailures, r.httpDuration, r.stageMoves, r.forcedMoves, r.gateRefusals,
		r.noticeFailures, r.noticesDelivered,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if attention != nil {
		r.MustRegister(&attentionCollector{store: attention, desc: prometheus.NewDesc("kamflow_deals_needing_attention",
			"Deals whose changes could not be written to the database and wait for an admin to retry them.", nil, nil)})
	}
	if s, ok := attention.(OpenDealCounter); ok {
		r.MustRegister(&openDealsCollector{store: s,
			open:    prometheus.NewDesc("kamflow_deals_open", "Open deals, by stage, read from the database at the scrape.", []string{"stage"}, nil),
			stalled: prometheus.NewDesc("kamflow_deals_stalled", "Open deals stalled past their stage's SLA, by stage, read from the database at the scrape.", []string{"stage"}, nil)})
	}
	if s, ok := attention.(ImportRowCounter); ok {
		r.MustRegister(&importRowsCollector{store: s,
			desc: prometheus.NewDesc("kamflow_import_rows", "Rows of the spreadsheet imports, by outcome, read from the database at the scrape.", []string{"outcome"}, nil)})
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
