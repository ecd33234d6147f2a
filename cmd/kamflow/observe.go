package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/kamflow/kamflow/metrics"
)

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
