// Package telemetry is kamflow's OpenTelemetry: the traces a process exports, and the Temporal
// SDK's metrics on kamflow's Prometheus registry. cmd/kamflow sets it up, once per process, and
// hands it to what it wires; no other package needs it, and nothing here sets OpenTelemetry's
// global providers.
//
// Traces are exported only when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, over OTLP: gRPC by default, HTTP with
// OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf. The exporters read the rest of the standard
// OTEL_EXPORTER_OTLP_* variables themselves (headers, TLS, timeout), and the SDK OTEL_TRACES_SAMPLER
// and OTEL_RESOURCE_ATTRIBUTES; OTEL_SERVICE_NAME overrides the service's name. Without an
// endpoint there is no exporter: every span is OpenTelemetry's no-op, and the HTTP handler, the
// Temporal client and the database are not instrumented at all.
//
// One trace follows a change from the HTTP request (its span named by the API's route) through
// the Temporal client's Update, the workflow's handling of it and the activities it runs, to the
// SQL statements they send (one span each, the statement's text without its arguments).
package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// Tracing is a process's tracer provider: an exporting one, or none (Enabled false).
type Tracing struct {
	provider trace.TracerProvider
	enabled  bool
	shutdown func(context.Context) error
}

// propagator carries a trace into kamflow's HTTP requests (W3C traceparent and baggage).
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// FromEnv makes the process's tracing from the OTEL_* environment: an OTLP exporter when an
// endpoint is set, named service (such as "kamflow-serve") unless OTEL_SERVICE_NAME says
// otherwise; otherwise none.
func FromEnv(ctx context.Context, service string) (*Tracing, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return Disabled(), nil
	}
	var exp sdktrace.SpanExporter
	var err error
	switch p := protocol(); p {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	case "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: kamflow exports traces over grpc or http/protobuf", p)
	}
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv()) // last: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	if err != nil && res == nil {
		return nil, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{provider: tp, enabled: true, shutdown: tp.Shutdown}, nil
}

// protocol is the OTLP protocol of the traces, as OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or
// OTEL_EXPORTER_OTLP_PROTOCOL say; grpc by default.
func protocol() string {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return v
		}
	}
	return "grpc"
}

// New traces to tp, which the caller owns (a test's, with an in-memory exporter): Shutdown leaves
// it alone.
func New(tp trace.TracerProvider) *Tracing { return &Tracing{provider: tp, enabled: true} }

// Disabled is no tracing: nothing is instrumented.
func Disabled() *Tracing { return &Tracing{provider: noop.NewTracerProvider()} }

// Enabled reports whether spans are recorded and exported. A nil Tracing is disabled.
func (t *Tracing) Enabled() bool { return t != nil && t.enabled }

// Tracer is a tracer of the provider (a no-op one when disabled).
func (t *Tracing) Tracer(name string) trace.Tracer {
	if !t.Enabled() {
		return noop.NewTracerProvider().Tracer(name)
	}
	return t.provider.Tracer(name)
}

// Shutdown exports the spans still buffered and stops the exporter; ctx bounds the wait.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.shutdown == nil {
		return nil
	}
	return t.shutdown(ctx)
}

// TemporalInterceptor is the Temporal SDK's OpenTelemetry tracing interceptor, for the client's
// options (the workers made from the client use it too): the client's calls, the workflows'
// handling of Updates and signals, and the activities get spans, carried from one to the next in
// the Temporal headers. spanKey is the workflow-context key the interceptor keeps the current span
// under (workflows.TraceSpanKey: the deal loop carries an Update's span onto its change with it).
// Nil when disabled.
func (t *Tracing) TemporalInterceptor(spanKey any) (interceptor.Interceptor, error) {
	if !t.Enabled() {
		return nil, nil
	}
	return temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer:            t.provider.Tracer("go.temporal.io/sdk"),
		TextMapPropagator: propagator,
		SpanContextKey:    spanKey,
	})
}

// HTTP wraps an HTTP handler in a server span per request, continuing a trace the request carries
// (traceparent). The span is named by the method until the handler names it by its route
// (the API does). h itself when disabled.
func (t *Tracing) HTTP(h http.Handler) http.Handler {
	if !t.Enabled() {
		return h
	}
	return otelhttp.NewHandler(h, "http",
		otelhttp.WithTracerProvider(t.provider),
		otelhttp.WithPropagators(propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
		// The metrics of the HTTP side are kamflow's own (package metrics), on Prometheus.
		otelhttp.WithMeterProvider(noopMeterProvider()))
}
