package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"

	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/metrics"
	"github.com/kamflow/kamflow/telemetry"
	"github.com/kamflow/kamflow/workflows"
)

// observability is a process's metrics and traces: kamflow's registry (with the Temporal SDK's
// metrics on it) and the tracing of package telemetry, on the HTTP handler, the Temporal client
// (and so its workers) and the database.
type observability struct {
	reg             *metrics.Registry
	tracing         *telemetry.Tracing
	temporalMetrics client.MetricsHandler
	interceptors    []interceptor.ClientInterceptor
}

// newObservability sets up the metrics and traces of a process named service ("kamflow-serve"),
// on d: traces to tracing when set (a test's), otherwise as the OTEL_* environment says.
func newObservability(ctx context.Context, logger *slog.Logger, service string, d *db.DB, tracing *telemetry.Tracing) (*observability, error) {
	o := &observability{reg: metrics.New(d), tracing: tracing}
	var err error
	if o.tracing == nil {
		if o.tracing, err = telemetry.FromEnv(ctx, service); err != nil {
			return nil, err
		}
	}
	if o.temporalMetrics, err = telemetry.TemporalMetrics(o.reg, func(err error) {
		logger.Warn("a Temporal SDK metric could not be made", "err", err)
	}); err != nil {
		return nil, fmt.Errorf("the Temporal SDK's metrics: %w", err)
	}
	if o.tracing.Enabled() {
		system := map[string]string{db.DialectPostgres: "postgresql", db.DialectSQLite: "sqlite"}[d.Dialect()]
		if err := d.Use(o.tracing.GORM(system)); err != nil {
			return nil, err
		}
		ti, err := o.tracing.TemporalInterceptor(workflows.TraceSpanKey)
		if err != nil {
			return nil, fmt.Errorf("the Temporal client's tracing: %w", err)
		}
		o.interceptors = append(o.interceptors, ti)
		logger.Info("exporting OpenTelemetry traces", "service", service)
	}
	return o, nil
}

// clientMetrics and clientInterceptors are the Temporal client's options (none for a nil o).
func (o *observability) clientMetrics() client.MetricsHandler {
	if o == nil {
		return nil
	}
	return o.temporalMetrics
}

func (o *observability) clientInterceptors() []interceptor.ClientInterceptor {
	if o == nil {
		return nil
	}
	return o.interceptors
}

// http is h traced (h itself without traces).
func (o *observability) http(h http.Handler) http.Handler {
	if o == nil {
		return h
	}
	return o.tracing.HTTP(h)
}

// close exports the spans still buffered, for a few seconds at most.
func (o *observability) close(logger *slog.Logger) {
	if o == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.tracing.Shutdown(ctx); err != nil {
		logger.Warn("exporting the last traces", "err", err)
	}
}

// defaultWorkerAddr is the worker's HTTP listen address (--listen, KAMFLOW_WORKER_ADDR): its
// metrics and probes, never the API.
const defaultWorkerAddr = ":9090"

// workerHTTP is what `kamflow worker` serves on its listen address: GET /metrics (kamflow's and
// the Temporal SDK's worker metrics, from reg). Add the worker's other routes (its probes) here.
func workerHTTP(reg *metrics.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg.Handler())
	return mux
}

// listenHTTP starts serving h on addr in the background, the listener open when it returns (an
// address in use is an error at start, not a log line later). stop closes it, letting the
// requests under way finish for up to drain.
func listenHTTP(logger *slog.Logger, what, addr string, h http.Handler, drain time.Duration) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (%s): %w", addr, what, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("HTTP server stopped", "what", what, "addr", ln.Addr().String(), "err", err)
		}
	}()
	logger.Info("HTTP listening", "what", what, "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), drain)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		<-done
	}, nil
}
