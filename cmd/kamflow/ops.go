package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"go.temporal.io/sdk/client"

	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/engine"
	"github.com/kamflow/kamflow/health"
)

// newLogger is the process's logger on w: KAMFLOW_LOG_FORMAT=json for one JSON object a line
// (for a log pipeline), text (the default) for key=value lines; at KAMFLOW_LOG_LEVEL.
func newLogger(w io.Writer) (*slog.Logger, error) {
	o := &slog.HandlerOptions{Level: logLevel()}
	switch f := os.Getenv("KAMFLOW_LOG_FORMAT"); f {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	default:
		return nil, fmt.Errorf("KAMFLOW_LOG_FORMAT=%q: give text or json", f)
	}
}

// temporalConnFlags reads how to reach a secured Temporal (engine.Connection) for serve and
// worker: the files and names as flags with their environment variables, the API key from the
// environment only (a flag would show it in ps).
func temporalConnFlags(fs *flag.FlagSet, c *engine.Connection) {
	fs.BoolVar(&c.TLS, "temporal-tls", os.Getenv("TEMPORAL_TLS") == "true", "connect to Temporal over TLS, verified against the system's roots; implied by any other TLS setting and by TEMPORAL_API_KEY (TEMPORAL_TLS=true)")
	fs.StringVar(&c.CertFile, "temporal-tls-cert", os.Getenv("TEMPORAL_TLS_CERT"), "PEM file of the client certificate for mTLS to Temporal, with --temporal-tls-key (TEMPORAL_TLS_CERT)")
	fs.StringVar(&c.KeyFile, "temporal-tls-key", os.Getenv("TEMPORAL_TLS_KEY"), "PEM file of the client certificate's private key (TEMPORAL_TLS_KEY)")
	fs.StringVar(&c.CAFile, "temporal-tls-ca", os.Getenv("TEMPORAL_TLS_CA"), "PEM file of the CAs that Temporal's server certificate is verified against, in place of the system's (TEMPORAL_TLS_CA)")
	fs.StringVar(&c.ServerName, "temporal-tls-server-name", os.Getenv("TEMPORAL_TLS_SERVER_NAME"), "name Temporal's server certificate must carry, when not the host of --temporal-address (TEMPORAL_TLS_SERVER_NAME)")
	c.APIKey = os.Getenv("TEMPORAL_API_KEY") // a secret: environment only, never a flag in ps
}

// readyChecks are the readiness checks of serve and worker: the database answers, every
// migration of this kamflow is applied, the Temporal frontend answers; and then extra.
func readyChecks(d *db.DB, tc client.Client, extra ...health.Check) []health.Check {
	return append([]health.Check{
		{Name: "database", Fn: d.Ping},
		{Name: "migrations", Fn: d.CheckMigrations},
		{Name: "temporal", Fn: func(ctx context.Context) error {
			_, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}},
	}, extra...)
}

// workerProbes adds the worker's probes to its HTTP mux: GET /livez, and GET /readyz (and
// /healthz) with checks, which include that the worker has started polling and is not stopping.
func workerProbes(logger *slog.Logger, mux *http.ServeMux, checks []health.Check) *http.ServeMux {
	ready := health.Ready(logger, checks)
	mux.Handle("GET /livez", health.Live())
	mux.Handle("GET /readyz", ready)
	mux.Handle("GET /healthz", ready)
	return mux
}
