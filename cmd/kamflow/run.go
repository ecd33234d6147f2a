package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/smtp"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/engine"
	"github.com/kamflow/kamflow/health"
	"github.com/kamflow/kamflow/importer"
	"github.com/kamflow/kamflow/metrics"
	"github.com/kamflow/kamflow/requestid"
	"github.com/kamflow/kamflow/ui"
	"github.com/kamflow/kamflow/workflows"
)

// runServe runs the HTTP API only. It is stateless: run as many as the load needs.
func runServe(ctx context.Context, logger *slog.Logger, args []string) error {
	cfg, d, tc, err := connect(ctx, logger, "serve", args)
	if err != nil {
		return err
	}
	defer cfg.obs.close(logger) // last: the spans of the stop are exported too
	defer d.Close()
	defer tc.Close()
	go purgeExpired(ctx, logger, d)
	return serveHTTP(ctx, logger, cfg.addr, cfg.obs.http(newAPI(logger, d, tc, cfg, cfg.obs.reg)), cfg.shutdownTimeout)
}

// runWorker runs the deal workflows and activities only. Run several for throughput and
// availability: Temporal spreads the work among them.
func runWorker(ctx context.Context, logger *slog.Logger, args []string) error {
	cfg, d, tc, err := connect(ctx, logger, "worker", args)
	if err != nil {
		return err
	}
	defer cfg.obs.close(logger)
	defer d.Close()
	defer tc.Close()
	if err := engine.EnsureSearchAttributes(ctx, tc, cfg.namespace); err != nil {
		return err
	}
	reg := cfg.obs.reg
	polling := health.NewFlag("the worker has not started")
	probes := workerProbes(logger, workerHTTP(reg), readyChecks(d, tc, health.Check{Name: "worker", Fn: polling.Check})) // ops.go
	stopHTTP, err := listenHTTP(logger, "worker metrics and probes", cfg.workerAddr, probes, 5*time.Second)
	if err != nil {
		return err
	}
	defer stopHTTP() // after the worker's stop: scraped and probed while it drains
	w := newWorker(tc, d, cfg, reg)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	ensureDigestSchedule(ctx, logger, tc, cfg)
	polling.Set(true, "")
	logger.Info("kamflow worker is up", "temporal", cfg.temporalAddress, "task_queue", workflows.TaskQueue)
	<-ctx.Done()
	polling.Set(false, "the worker is stopping")
	stopWorker(logger, w)
	return nil
}

// connect reads the production commands' flags and opens the database and the Temporal client.
func connect(ctx context.Context, logger *slog.Logger, name string, args []string) (config, *db.DB, client.Client, error) {
	cfg, err := parseFlags(name, args, false)
	if err != nil {
		return cfg, nil, nil, err
	}
	d, err := db.Open(ctx, cfg.databaseURL)
	if err != nil {
		return cfg, nil, nil, err
	}
	if cfg.obs, err = newObservability(ctx, logger, "kamflow-"+name, d, cfg.tracing); err != nil {
		d.Close()
		return cfg, nil, nil, err
	}
	tc, err := dialTemporal(ctx, logger, cfg)
	if err != nil {
		d.Close()
		return cfg, nil, nil, err
	}
	return cfg, d, tc, nil
}

func dialTemporal(ctx context.Context, logger *slog.Logger, cfg config) (client.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	o := client.Options{
		HostPort: cfg.temporalAddress, Namespace: cfg.namespace,
		MetricsHandler: cfg.obs.clientMetrics(), Interceptors: cfg.obs.clientInterceptors(), // observe.go
		Logger: tlog.NewStructuredLogger(logger.With("component", "temporal-client")),
	}
	// The request ID of a change rides in the headers of the Updates, Signals and Starts, and
	// its workflows' and activities' loggers carry it (package requestid).
	o.ContextPropagators = []workflow.ContextPropagator{requestid.Propagator()}
	o.Interceptors = append(o.Interceptors, requestid.Interceptor())
	if err := cfg.temporalConn.Apply(&o); err != nil { // TLS, API key (engine/connect.go)
		return nil, err
	}
	tc, err := client.DialContext(dctx, o)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", cfg.temporalAddress, err)
	}
	return tc, nil
}

// newWorker registers the deal workflow and its activities on the deals task queue.
func newWorker(tc client.Client, d *db.DB, cfg config, reg *metrics.Registry) worker.Worker {
	w := newGracefulWorker(tc, workflows.TaskQueue, cfg.shutdownTimeout) // shutdown.go
	w.RegisterWorkflowWithOptions(workflows.DealWorkflow, workflow.RegisterOptions{Name: workflows.DealWorkflowName})
	w.RegisterActivity(newActivities(d, cfg, reg))
	w.RegisterWorkflowWithOptions(workflows.DigestWorkflow, workflow.RegisterOptions{Name: workflows.DigestWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.DeliveryWorkflow, workflow.RegisterOptions{Name: workflows.DeliveryWorkflowName})
	delivery := &activities.DeliveryActivities{Store: d}
	if cfg.fieldServiceURL != "" {
		delivery.FieldService = &activities.FieldService{URL: cfg.fieldServiceURL, Secret: cfg.fieldServiceSecret}
	}
	w.RegisterActivity(delivery)
	// The daily run marks stale key contacts on their deals through the deals' workflows.
	w.RegisterActivity(&activities.Contacts{Store: d, Deals: d, Service: &engine.Client{Temporal: tc, Escalations: d}})
	// A settings change reaches every running deal by the fan-out, which signals them.
	w.RegisterWorkflowWithOptions(workflows.SettingsFanoutWorkflow, workflow.RegisterOptions{Name: workflows.SettingsFanoutWorkflowName})
	w.RegisterActivity(&activities.Fanout{Settings: d, Store: d, Deals: &engine.Client{Temporal: tc}})
	// An account's handover records the new owner and reassigns its deals through their workflows.
	w.RegisterWorkflowWithOptions(workflows.HandoverWorkflow, workflow.RegisterOptions{Name: workflows.HandoverWorkflowName})
	w.RegisterActivity(&activities.Handovers{Store: d, Deals: d, Service: &engine.Client{Temporal: tc}})
	// Imports run here, their file and progress in the database (package importer).
	w.RegisterWorkflowWithOptions(workflows.ImportWorkflow, workflow.RegisterOptions{Name: workflows.ImportWorkflowName})
	w.RegisterActivity(&activities.Imports{Importer: &importer.Importer{Imports: d, Users: d, Settings: d, Deals: d, Audit: d,
		Notifications: d, Service: &engine.Client{Temporal: tc, Escalations: d, Settings: d, MaxUpdatesPerRun: maxUpdatesPerRunKnob()}}})
	return w
}

// ensureDigestSchedule creates or updates the Temporal Schedule of the daily digest. A failure is
// logged, not fatal: the deals do not wait for the digest.
func ensureDigestSchedule(ctx context.Context, logger *slog.Logger, tc client.Client, cfg config) {
	o, err := engine.DigestScheduleAt(cfg.digestTime, cfg.digestTZ)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		err = engine.EnsureDigestSchedule(sctx, tc, o)
	}
	if err != nil {
		logger.Error("the directors' daily digest is not scheduled", "err", err)
		return
	}
	logger.Info("daily digest scheduled", "schedule", engine.DigestScheduleID, "at", fmt.Sprintf("%02d:%02d", o.Hour, o.Minute), "time_zone", o.TimeZone)
}

// newActivities wires the activities to the database and to the configured notice channels.
func newActivities(d *db.DB, cfg config, reg *metrics.Registry) *activities.Activities {
	a := &activities.Activities{Deals: d, Notifications: d, Directory: d, Directors: d, Escalations: d, Attention: d, Metrics: reg}
	if cfg.webhookURL != "" {
		a.Webhook = &activities.Webhook{URL: cfg.webhookURL, Secret: cfg.webhookSecret}
	}
	if cfg.smtpAddr != "" {
		a.Mail = &activities.Mailer{Addr: cfg.smtpAddr, From: cfg.smtpFrom}
		a.NoticeEmail = ui.NoticeEmail // in each recipient's language, from the UI's dictionaries
		if cfg.smtpUsername != "" {
			host, _, _ := net.SplitHostPort(cfg.smtpAddr)
			a.Mail.Auth = smtp.PlainAuth("", cfg.smtpUsername, cfg.smtpPassword, host)
		}
	}
	return a
}

// purgeExpired deletes, hourly, what only matters for a while: stored answers to
// Idempotency-Keys after a day (a client retries within minutes, and the deals' workflows
// deduplicate their own retries anyway), sessions a week after they ended, and failed sign-ins
// once they no longer count against anyone. Every API process runs it; the deletes are harmless
// to repeat.
func purgeExpired(ctx context.Context, logger *slog.Logger, d *db.DB) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		for _, p := range []struct {
			what  string
			purge func(context.Context, time.Time) (int64, error)
			keep  time.Duration
		}{
			{"idempotency keys", d.PurgeIdempotentResponses, 24 * time.Hour},
			{"sessions", d.PurgeSessions, 7 * 24 * time.Hour},
			{"login failures", d.PurgeLoginFailures, 24 * time.Hour},
		} {
			if n, err := p.purge(ctx, now.Add(-p.keep)); err != nil {
				logger.Warn("purging "+p.what, "err", err)
			} else if n > 0 {
				logger.Debug("purged "+p.what, "count", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func newAPI(logger *slog.Logger, d *db.DB, tc client.Client, cfg config, reg *metrics.Registry) *api.Server {
	svc := &engine.Client{Temporal: tc, Escalations: d, Settings: d, MaxUpdatesPerRun: maxUpdatesPerRunKnob()}
	return api.New(api.Config{
		Accounts: d, Deals: d, Notifications: d, Settings: d, Idempotency: d, Users: d, Sessions: d, Audit: d,
		Service: svc, Fanout: svc, Handover: svc, Reports: d, Escalations: d, Emails: d, Deliveries: d, Delivery: svc, DeliveryLive: svc,
		Attention: d, Metrics: reg, Import: svc, Readiness: readyChecks(d, tc),
		Logger: logger, SecureCookies: cfg.secureCookies, TrustProxy: cfg.trustProxy,
		UI: ui.Handler(), NoticeText: ui.NoticeText,
	})
}

// serveHTTP serves h on addr until ctx ends, then stops listening and lets the requests under way
// be answered, for drain at most. The requests' contexts are not ctx's: a request is not cut short
// by the signal, only by the drain's end.
func serveHTTP(ctx context.Context, logger *slog.Logger, addr string, h http.Handler, drain time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	logger.Info("HTTP listening", "addr", ln.Addr().String())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	logger.Info("stopping HTTP: no new connections; the requests under way have until the shutdown timeout", "timeout", drain)
	t0 := time.Now()
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		srv.Close() // cut what is still open: the process is about to end anyway
		return fmt.Errorf("HTTP requests were still under way after the shutdown timeout (%s), and were cut: %w", drain, err)
	}
	logger.Info("HTTP stopped: every request answered", "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		return "localhost:" + port
	}
	return addr
}
