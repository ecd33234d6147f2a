//go:build !nodev

// The dev command, and with it the embedded Temporal server (package devserver, which links
// go.temporal.io/server), is left out of a build with -tags nodev: the production image's binary
// runs serve and worker only (dev_nodev.go).

package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/cmd/kamflow/internal/devserver"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/engine"
)

// runDev starts the embedded Temporal server, the worker and the API in one process.
func runDev(ctx context.Context, logger *slog.Logger, args []string) error {
	cfg, err := parseFlags("dev", args, true)
	if err != nil {
		return err
	}
	app, err := startDev(ctx, logger, cfg)
	if err != nil {
		return err
	}
	defer app.Close()
	go purgeExpired(ctx, logger, app.db)
	logger.Info("kamflow dev is up", "url", "http://"+displayAddr(cfg.addr), "temporal", app.temporal.HostPort(), "database", app.databaseURL)
	return serveHTTP(ctx, logger, cfg.addr, app.obs.http(app.api), cfg.shutdownTimeout)
}

// devApp is everything `kamflow dev` runs, less the HTTP listener.
type devApp struct {
	temporal    *devserver.Server
	db          *db.DB
	client      client.Client
	worker      worker.Worker
	api         *api.Server
	databaseURL string
	logger      *slog.Logger
	obs         *observability
	unlock      func()
}

func startDev(ctx context.Context, logger *slog.Logger, cfg config) (_ *devApp, err error) {
	app := &devApp{logger: logger, databaseURL: cfg.databaseURL}
	defer func() {
		if err != nil {
			app.Close()
		}
	}()
	if app.unlock, err = lockDataDir(cfg.dataDir); err != nil {
		return nil, err
	}
	if app.databaseURL == "" {
		app.databaseURL = filepath.Join(cfg.dataDir, "kamflow.db")
	}
	logger.Info("starting the embedded Temporal server", "data", filepath.Join(cfg.dataDir, "temporal"))
	app.temporal, err = devserver.Start(ctx, devserver.Options{
		DataDir: filepath.Join(cfg.dataDir, "temporal"), Port: cfg.temporalPort, Namespace: cfg.namespace,
		SearchAttributes: engine.SearchAttributes, Logger: temporalLogger(logger),
	})
	if err != nil {
		return nil, err
	}
	cfg.temporalAddress = app.temporal.HostPort()
	if app.db, err = db.Open(ctx, app.databaseURL); err != nil {
		return nil, err
	}
	if app.obs, err = newObservability(ctx, logger, "kamflow-dev", app.db, cfg.tracing); err != nil {
		return nil, err
	}
	cfg.obs = app.obs
	if app.client, err = dialTemporal(ctx, logger, cfg); err != nil {
		return nil, err
	}
	reg := app.obs.reg // one process: the API serves what the activities count
	app.worker = newWorker(app.client, app.db, cfg, reg)
	if err := app.worker.Start(); err != nil {
		app.worker = nil
		return nil, fmt.Errorf("start worker: %w", err)
	}
	ensureDigestSchedule(ctx, logger, app.client, cfg)
	if err := ensureDemoUsers(ctx, logger, app.db, cfg.demoPassword); err != nil {
		return nil, err
	}
	app.api = newAPI(logger, app.db, app.client, cfg, reg)
	return app, nil
}

// temporalLogger quiets the embedded Temporal server, which logs hundreds of lines at INFO while
// starting: it reports warnings and errors, and everything with KAMFLOW_LOG_LEVEL=debug.
func temporalLogger(logger *slog.Logger) *slog.Logger {
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		return logger.With("component", "temporal")
	}
	return slog.New(warnOnly{logger.Handler()}).With("component", "temporal")
}

type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(a []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(a)} }
func (h warnOnly) WithGroup(n string) slog.Handler      { return warnOnly{h.Handler.WithGroup(n)} }

// Close stops everything in the reverse order of starting: after the HTTP requests (which may
// wait on the workflows), the worker, whose running tasks have the shutdown timeout to finish.
func (a *devApp) Close() {
	if a.worker != nil {
		stopWorker(a.logger, a.worker)
	}
	if a.client != nil {
		a.client.Close()
	}
	if a.db != nil {
		if err := a.db.Close(); err != nil {
			a.logger.Warn("closing the database", "err", err)
		}
	}
	a.obs.close(a.logger)
	if a.temporal != nil {
		if err := a.temporal.Stop(); err != nil {
			a.logger.Warn("stopping the Temporal server", "err", err)
		}
	}
	if a.unlock != nil {
		a.unlock()
	}
}
