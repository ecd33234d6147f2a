package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// latencyBuckets are the bounds, in seconds, of the Temporal SDK's latency histograms (OpenTelemetry's
// default bounds are meant for milliseconds).
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// TemporalMetrics is a Temporal client's metrics handler (client.Options.MetricsHandler) that
// puts the SDK's client and worker metrics on reg, through the OpenTelemetry Prometheus exporter:
// temporal_request_total, temporal_request_latency_seconds, temporal_workflow_task_*,
// temporal_activity_execution_latency_seconds, temporal_worker_task_slots_available… (the SDK's
// names, with Prometheus' unit and _total suffixes). onError, when set, is told of an instrument
// the meter could not make (nil: ignored; the SDK's default panics).
func TemporalMetrics(reg prometheus.Registerer, onError func(error)) (client.MetricsHandler, error) {
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp),
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: latencyBuckets}})))
	if onError == nil {
		onError = func(error) {}
	}
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter: mp.Meter("go.temporal.io/sdk"), UseMonotonicCounters: true, OnError: onError,
	}), nil
}

func noopMeterProvider() metric.MeterProvider { return metricnoop.NewMeterProvider() }
