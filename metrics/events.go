package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kamflow/kamflow"
)

// ObserveHTTP records an answered HTTP request: its method, Echo's route template ("" when no
// route matched: "unmatched"), status and how long it took. A nil Registry records nothing.
func (r *Registry) ObserveHTTP(method, route string, status int, took time.Duration) {
	if r == nil {
		return
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
	default:
		method = "other" // a client's made-up method is no label of its own
	}
	if route == "" {
		route = "unmatched"
	}
	r.httpDuration.WithLabelValues(method, route, strconv.Itoa(status)).Observe(took.Seconds())
}

// StageMoved counts a deal's move into stage, forced or not: call it once per move, once the move
// is written (the store says whether it is new). A nil Registry counts nothing.
func (r *Registry) StageMoved(stage kamflow.Stage, forced bool) {
	if r == nil {
		return
	}
	r.stageMoves.WithLabelValues(string(stage)).Inc()
	if forced {
		r.forcedMoves.WithLabelValues(string(stage)).Inc()
	}
}

// GateRefused counts a command refused for the gate items not met, once for each item.
func (r *Registry) GateRefused(items []string) {
	if r == nil {
		return
	}
	for _, it := range items {
		r.gateRefusals.WithLabelValues(it).Inc()
	}
}

// NoticeDelivery counts an attempt to deliver a notice on channel: delivered, or failed.
func (r *Registry) NoticeDelivery(channel string, delivered bool) {
	if r == nil {
		return
	}
	if delivered {
		r.noticesDelivered.WithLabelValues(channel).Inc()
	} else {
		r.noticeFailures.WithLabelValues(channel).Inc()
	}
}

// OpenDealCounter is a store that counts the open deals by stage (Count, and Stalled of them);
// New's store, when it is one (the database is), gives kamflow_deals_open and
// kamflow_deals_stalled.
type OpenDealCounter interface {
	CountOpenDeals(ctx context.Context) ([]kamflow.StageSummary, error)
}

// ImportRowCounter is a store that adds up the imports' rows by outcome, as the imports record
// them: "imported", "skipped", "rejected", "held", "not_imported" (kamflow_import_rows).
type ImportRowCounter interface {
	CountImportRows(ctx context.Context) (map[string]int, error)
}

type openDealsCollector struct {
	store         OpenDealCounter
	open, stalled *prometheus.Desc
}

func (c *openDealsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.open; ch <- c.stalled }

func (c *openDealsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	sums, err := c.store.CountOpenDeals(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.open, err)
		ch <- prometheus.NewInvalidMetric(c.stalled, err)
		return
	}
	by := map[kamflow.Stage]kamflow.StageSummary{}
	for _, s := range sums {
		by[s.Stage] = s
	}
	for _, st := range kamflow.Stages { // every stage, 0 when empty
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(by[st].Count), string(st))
		ch <- prometheus.MustNewConstMetric(c.stalled, prometheus.GaugeValue, float64(by[st].Stalled), string(st))
	}
}

type importRowsCollector struct {
	store ImportRowCounter
	desc  *prometheus.Desc
}

// importOutcomes are the outcomes always reported, 0 when none.
var importOutcomes = []string{"imported", string(kamflow.OutcomeSkipped), string(kamflow.OutcomeRejected),
	string(kamflow.OutcomeHeld), string(kamflow.OutcomeNotImported)}

func (c *importRowsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *importRowsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	n, err := c.store.CountImportRows(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	seen := map[string]bool{}
	for _, o := range importOutcomes {
		seen[o] = true
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n[o]), o)
	}
	for o, v := range n {
		if !seen[o] {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v), o)
		}
	}
}
